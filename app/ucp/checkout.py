"""UCP checkout operations over the shared checkout core (REST and MCP call these).

A UCP checkout is a ``checkout_sessions`` row like an ACP one, so stock holds, payment
attempts, orders and reconciliation are the same code for both protocols; what is UCP's
(the request and response shapes, fulfillment methods, discount codes, consent,
attribution) lives in the row's ``extra["ucp"]``. Completion goes through
:meth:`commerce.checkout.service.CheckoutService.complete`, the durable payment-attempt path.

Requests are read leniently, as the spec asks (fields a platform may not set, such as
``totals`` or an item's ``price``, are ignored: prices come from the catalog), but every
field that is used is type-checked and bounded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from commerce.checkout import inventory
from commerce.checkout.errors import CheckoutError
from commerce.checkout.payments import total_minor
from commerce.checkout.service import OPEN_STATUSES, CheckoutService
from commerce.checkout.session import catalog_currency
from commerce.store.customers import SignedInShopper
from reelcart.models import CheckoutSession, new_id, utcnow

from .checkout_state import checkout_view, recompute, resolve_lines
from .envelope import UcpError, error_response, from_checkout_error
from .fulfillment import Method, resolve_method
from .payments import core_payment, payment_handlers, public_instruments

__all__ = ["UcpCheckout", "read_buyer", "read_codes", "read_items", "ucp_owner"]

MISSING_FULFILLMENT = "Fulfillment address and option must be selected before completing."
_BUYER_TEXT = ("first_name", "last_name", "full_name", "email", "phone_number")
_CONSENT = ("analytics", "preferences", "marketing", "sale_of_data")


def read_items(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 100:
        raise UcpError(
            400, "invalid_input", "line_items must list 1 to 100 items", path="$.line_items"
        )
    merged: dict[str, int] = {}
    for index, line in enumerate(raw):
        item = line.get("item") if isinstance(line, dict) else None
        item_id = item.get("id") if isinstance(item, dict) else None
        quantity = line.get("quantity", 1) if isinstance(line, dict) else None
        if not isinstance(item_id, str) or not 1 <= len(item_id) <= 255:
            raise UcpError(
                400, "invalid_input", "item.id is required", path=f"$.line_items[{index}]"
            )
        if type(quantity) is not int or not 1 <= quantity <= 100_000:
            raise UcpError(
                400,
                "invalid_input",
                "quantity must be an integer >= 1",
                path=f"$.line_items[{index}]",
            )
        merged[item_id] = merged.get(item_id, 0) + quantity
    return [{"id": k, "quantity": v} for k, v in merged.items()]


def read_buyer(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UcpError(400, "invalid_input", "buyer must be an object", path="$.buyer")
    buyer = {k: raw[k] for k in _BUYER_TEXT if isinstance(raw.get(k), str) and len(raw[k]) <= 320}
    if isinstance(raw.get("fullName"), str) and "full_name" not in buyer:
        buyer["full_name"] = raw["fullName"][:320]  # the camel-case spelling some platforms send
    consent = raw.get("consent")
    if isinstance(consent, dict):
        buyer["consent"] = {k: consent[k] for k in _CONSENT if isinstance(consent.get(k), bool)}
    return buyer


def read_codes(raw: Any) -> list[str]:
    codes = raw.get("codes") if isinstance(raw, dict) else None
    if codes is None:
        return []
    if not isinstance(codes, list) or len(codes) > 20:
        raise UcpError(400, "invalid_input", "discounts.codes must list at most 20 codes")
    return [c[:64] for c in codes if isinstance(c, str) and c.strip()]


def _attribution(raw: Any) -> dict[str, str]:
    """The platform's attribution parameters (strings, as in a URL query), bounded."""
    if not isinstance(raw, dict):
        return {}
    return {k[:64]: v[:512] for k, v in list(raw.items())[:32] if k and isinstance(v, str)}


class UcpCheckout:
    """The checkout capability (create, get, update, complete, cancel) in UCP terms."""

    def __init__(self, service: CheckoutService) -> None:
        self.service = service
        self.db = service.db
        self.settings = service.settings
        self.identity_platforms = frozenset(
            p.strip() for p in self.settings.ucp_identity_platforms.split(",") if p.strip()
        )

    def _load(
        self,
        session: Session,
        checkout_id: str,
        now: datetime,
        profile: str | None,
        *,
        any_owner: bool = False,
    ) -> CheckoutSession:
        """The platform's own checkout, locked; another party's is not found (``any_owner``:
        the buyer's page, whose key is the checkout id the platform handed over)."""
        cs = session.get(CheckoutSession, checkout_id, with_for_update=True, populate_existing=True)
        mine = any_owner or (cs is not None and cs.owner == ucp_owner(profile))
        if cs is None or "ucp" not in (cs.extra or {}) or not mine:
            raise UcpError(404, "not_found", "Checkout session not found", path="$.id")
        if cs.status in OPEN_STATUSES and cs.expires_at is not None and cs.expires_at <= now:
            cs.status = "expired"
            inventory.release_holds(session, cs.id, "expired")
        return cs

    def _shopper(self, cs: CheckoutSession) -> SignedInShopper | None:
        """The buyer as a signed-in shopper, only when the platform is configured as one that
        links identities; any other platform's ``buyer.email`` is typed and proves nobody."""
        email = (cs.buyer or {}).get("email")
        profile = (cs.extra.get("ucp") or {}).get("profile")
        if not email or profile not in self.identity_platforms:
            return None
        return SignedInShopper(email)

    def _view(self, session: Session, cs: CheckoutSession) -> dict[str, Any]:
        return checkout_view(session, cs, self.settings, payment_handlers(self.settings))

    def _apply(self, session: Session, cs: CheckoutSession, body: dict[str, Any]) -> None:
        ucp = dict(cs.extra.get("ucp") or {})
        if "line_items" in body:
            cs.items = read_items(body["line_items"])
            resolve_lines(session, cs.items)
        if body.get("buyer") is not None:
            cs.buyer = read_buyer(body["buyer"])
        if "discounts" in body:
            ucp["discount_codes"] = read_codes(body["discounts"])
        if isinstance(body.get("payment"), dict) and "instruments" in body["payment"]:
            ucp["instruments"] = public_instruments(body["payment"]["instruments"])
        if "attribution" in body:
            ucp["attribution"] = _attribution(body["attribution"])
            shopper = ucp["attribution"].get("shopper_id")
            cs.subject = shopper[:255] if shopper else cs.subject
        if "fulfillment" in body:
            previous = Method.from_json(ucp.get("method"))
            method = resolve_method(session, self._shopper(cs), body["fulfillment"], previous)
            ucp["method"] = method.to_json() if method else None
        cs.extra = {**cs.extra, "ucp": ucp}

    # -- operations -------------------------------------------------------------------
    def create(self, body: Any, profile: str | None) -> tuple[int, dict[str, Any]]:
        """A new checkout (201), or an in-band error response when none can be made."""
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        now = utcnow()
        try:
            with self.service.tx() as session:
                store_currency = catalog_currency(session)
                currency = body.get("currency") or store_currency or ""
                if not isinstance(currency, str) or (
                    store_currency and currency.upper() != store_currency.upper()
                ):
                    raise UcpError(
                        400,
                        "invalid_input",
                        f"this store sells in {store_currency}",
                        path="$.currency",
                    )
                items = read_items(body.get("line_items"))
                lines = resolve_lines(session, items)
                if all(
                    inventory.available(session, line.item.variant, "", now) <= 0 for line in lines
                ):
                    raise UcpError(
                        409,
                        "out_of_stock",
                        "Every requested item is out of stock.",
                        path="$.line_items",
                    )
                try:
                    self.service.check_open_limit(session, ucp_owner(profile), now)
                except CheckoutError as error:
                    raise from_checkout_error(error) from None
                cs = CheckoutSession(
                    id=new_id("cs"),
                    status="not_ready_for_payment",
                    currency=currency.lower(),
                    items=items,
                    buyer={},
                    extra={"protocol": "ucp", "ucp": {"profile": profile}},
                    created_at=now,
                    expires_at=now + self.service.ttl,
                    owner=ucp_owner(profile),
                )
                session.add(cs)
                session.flush()
                self._apply(session, cs, {k: v for k, v in body.items() if k != "line_items"})
                recompute(session, cs, self.settings, now)
                return 201, self._view(session, cs)
        except UcpError as error:
            if error.code in ("not_found", "out_of_stock"):
                # No resource could be made: the spec's in-band error response.
                return 200, error_response(error)
            raise

    def get(self, checkout_id: str, profile: str | None) -> dict[str, Any]:
        with self.service.tx() as session:
            return self._view(session, self._load(session, checkout_id, utcnow(), profile))

    def buyer_view(self, checkout_id: str) -> dict[str, Any]:
        """The checkout as the buyer's page shows it to an embedding host, whoever made it."""
        with self.service.tx() as session:
            cs = self._load(session, checkout_id, utcnow(), None, any_owner=True)
            return self._view(session, cs)

    def update(self, checkout_id: str, body: Any, profile: str | None) -> dict[str, Any]:
        """Replace what the body names (line items, buyer, fulfillment, discounts, payment)."""
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        now = utcnow()
        with self.service.tx() as session:
            cs = self._load(session, checkout_id, now, profile)
            _require_open(cs)
            try:
                self._apply(session, cs, body)
            except UcpError as error:
                if error.status == 404:  # an unknown item in a known checkout
                    error.status = 400
                raise
            recompute(session, cs, self.settings, now)
            return self._view(session, cs)

    def cancel(self, checkout_id: str, profile: str | None) -> dict[str, Any]:
        """Cancel an open checkout (its stock goes back); a completed one is refused."""
        with self.service.tx() as session:
            cs = self._load(session, checkout_id, utcnow(), profile)
            _require_open(cs)
            inventory.release_holds(session, cs.id)
            cs.status = "canceled"
            return self._view(session, cs)

    def complete(self, checkout_id: str, body: Any, profile: str | None) -> dict[str, Any]:
        """Pay through the core's payment-attempt path; the order follows."""
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        with self.service.tx() as session:
            cs = self._load(session, checkout_id, utcnow(), profile)
            if cs.status in ("completed", "canceled", "expired"):
                raise UcpError(409, "invalid_state", f"the checkout is {cs.status}")
            ucp = cs.extra.get("ucp") or {}
            if cs.status == "not_ready_for_payment":
                errors = [m for m in cs.messages if m.get("type") == "error"]
                if errors:
                    raise UcpError(409, errors[0]["code"], errors[0]["content"])
                raise UcpError(400, "fulfillment_required", MISSING_FULFILLMENT)
            _check_binding(body, checkout_id)
            if "attribution" in body:
                attribution = {
                    **(ucp.get("attribution") or {}),
                    **_attribution(body["attribution"]),
                }
                cs.extra = {**cs.extra, "ucp": {**ucp, "attribution": attribution}}
                if attribution.get("shopper_id"):
                    cs.subject = attribution["shopper_id"][:255]
            amount = total_minor(cs)
            currency = cs.currency
            in_progress = cs.status == "complete_in_progress"
        payment: dict[str, Any] = {}
        if not in_progress:
            payment = core_payment(self.service, checkout_id, amount, currency, body)
        try:
            self.service.complete(
                checkout_id,
                {"payment_data": payment} if payment else {},
                owner=ucp_owner(profile),
            )
        except CheckoutError as error:
            raise from_checkout_error(error) from None
        return self.get(checkout_id, profile)


def ucp_owner(profile: str | None) -> str:
    """The owner of the sessions a UCP platform creates: its profile URL."""
    return f"ucp {profile or ''}"[:512]


def _require_open(cs: CheckoutSession) -> None:
    if cs.status == "complete_in_progress":
        raise UcpError(
            409,
            "payment_in_progress",
            "a payment for this checkout is being settled; retry",
            headers={"Retry-After": "2"},
        )
    if cs.status not in OPEN_STATUSES:
        status = "canceled" if cs.status == "expired" else cs.status
        raise UcpError(409, "invalid_state", f"the checkout is {status} and cannot change")


def _check_binding(body: dict[str, Any], checkout_id: str) -> None:
    """A token bound to another checkout (``credential.binding``) is refused."""
    payment = body.get("payment")
    if not isinstance(payment, dict):
        return
    for instrument in payment.get("instruments") or []:
        credential = instrument.get("credential") if isinstance(instrument, dict) else None
        binding = credential.get("binding") if isinstance(credential, dict) else None
        if isinstance(binding, dict) and binding.get("checkout_id") not in (None, checkout_id):
            raise UcpError(
                400,
                "invalid_input",
                "the payment credential is bound to another checkout",
                path="$.payment.instruments[0].credential.binding",
            )
