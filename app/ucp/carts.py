"""The UCP cart capability (``cart.md``, ``cart-rest.md``): create, get, update, cancel.

A cart is what a platform means to buy, priced as an estimate from the catalog (items,
discount codes, tax; no shipping until a destination is known at checkout). It holds no
stock and takes no payment: ``POST /checkout-sessions`` with its ``cart_id`` makes a
checkout of its contents (line items, buyer, discount codes), which then goes the usual
way. A cart answers only to the platform that made it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from commerce.checkout.session import catalog_currency
from commerce.pricing.quote import quote
from reelcart.db import Database
from reelcart.models import UcpCart, new_id, utcnow
from reelcart.settings import Settings

from .checkout import read_buyer, read_codes, read_items
from .checkout_state import applied_discounts, line_view, price_lines, resolve_lines, totals_view
from .envelope import UcpError, response_meta

__all__ = ["CART_CAPABILITIES", "CartDesk"]

CART_CAPABILITIES = ["dev.ucp.shopping.cart", "dev.ucp.shopping.discount"]
CART_TTL = timedelta(days=7)


class CartDesk:
    """Carts for the REST door, and their contents for a checkout made from one."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def _load(self, session: Session, cart_id: str, profile: str | None) -> UcpCart:
        cart = session.get(UcpCart, cart_id, with_for_update=True, populate_existing=True)
        if cart is None or cart.platform_profile != profile or cart.expires_at <= utcnow():
            raise UcpError(404, "not_found", "Cart not found", path="$.id")
        return cart

    def _view(self, session: Session, cart: UcpCart) -> dict[str, Any]:
        now = utcnow()
        lines = resolve_lines(session, cart.items)
        priced = quote(session, self.settings, lines, codes=cart.discount_codes, now=now)
        messages = [
            {
                "type": "warning",
                "code": rejected.reason,
                "content": rejected.message,
                "path": f"$.discounts.codes[{rejected.index}]",
            }
            for rejected in priced.rejected
        ]
        view: dict[str, Any] = {
            "ucp": response_meta(CART_CAPABILITIES),
            "id": cart.id,
            "status": cart.status,
            "currency": cart.currency.upper(),
            "line_items": [line_view(line) for line in price_lines(priced)],
            "totals": totals_view(priced),
            "discounts": {"codes": list(cart.discount_codes), "applied": applied_discounts(priced)},
            "messages": messages,
        }
        if cart.buyer:
            view["buyer"] = dict(cart.buyer)
        return view

    def _apply(self, session: Session, cart: UcpCart, body: dict[str, Any]) -> None:
        if "line_items" in body:
            cart.items = read_items(body["line_items"])
            resolve_lines(session, cart.items)  # an unknown item is refused here
        if body.get("buyer") is not None:
            cart.buyer = read_buyer(body["buyer"])
        if "discounts" in body:
            cart.discount_codes = read_codes(body["discounts"])

    def create(self, body: Any, profile: str | None) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        with self.db.session() as session:
            currency = catalog_currency(session) or "usd"
            cart = UcpCart(
                id=new_id("cart"),
                platform_profile=profile,
                currency=currency.lower(),
                items=read_items(body.get("line_items")),
                expires_at=utcnow() + CART_TTL,
            )
            resolve_lines(session, cart.items)
            self._apply(session, cart, {k: v for k, v in body.items() if k != "line_items"})
            session.add(cart)
            session.flush()
            return 201, self._view(session, cart)

    def get(self, cart_id: str, profile: str | None) -> dict[str, Any]:
        with self.db.session() as session:
            return self._view(session, self._load(session, cart_id, profile))

    def update(self, cart_id: str, body: Any, profile: str | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        with self.db.session() as session:
            cart = self._load(session, cart_id, profile)
            if cart.status != "active":
                raise UcpError(409, "invalid_state", f"the cart is {cart.status}")
            self._apply(session, cart, body)
            return self._view(session, cart)

    def cancel(self, cart_id: str, profile: str | None) -> dict[str, Any]:
        with self.db.session() as session:
            cart = self._load(session, cart_id, profile)
            cart.status = "canceled"
            return self._view(session, cart)

    def checkout_request(self, body: Any, profile: str | None) -> Any:
        """A checkout create request; one naming a ``cart_id`` takes the cart's contents."""
        if not isinstance(body, dict) or "cart_id" not in body:
            return body
        rest = {k: v for k, v in body.items() if k != "cart_id"}
        return {**rest, **self.contents(body["cart_id"], profile)}

    def contents(self, cart_id: Any, profile: str | None) -> dict[str, Any]:
        """What a checkout made from the cart takes (``cart.md``: its line items and buyer
        win over the same fields of the checkout request)."""
        if not isinstance(cart_id, str) or not 0 < len(cart_id) <= 255:
            raise UcpError(400, "invalid_input", "cart_id must name a cart", path="$.cart_id")
        with self.db.session() as session:
            cart = self._load(session, cart_id, profile)
            if cart.status != "active":
                raise UcpError(409, "invalid_state", f"the cart is {cart.status}")
            contents: dict[str, Any] = {
                "currency": cart.currency.upper(),
                "line_items": [
                    {"item": {"id": item["id"]}, "quantity": item["quantity"]}
                    for item in cart.items
                ],
            }
            if cart.buyer:
                contents["buyer"] = dict(cart.buyer)
            if cart.discount_codes:
                contents["discounts"] = {"codes": list(cart.discount_codes)}
            return contents
