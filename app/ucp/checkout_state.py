"""A UCP checkout's derived state and its JSON, from the shared checkout row.

:func:`recompute` prices the session with the one pricing core
(:func:`commerce.pricing.quote.quote`) and writes what the checkout core reads when it
charges and places the order: ACP-shaped
``line_items`` and ``totals`` (so one order path serves both protocols), the core status
(``ready_for_payment`` once items are in stock, a destination and an option are chosen and
the stock is held), messages. :func:`checkout_view` renders the UCP ``Checkout``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.checkout import inventory
from commerce.checkout.handoff_link import continue_url
from commerce.checkout.orders import order_page_url, record_checkout_events
from commerce.pricing.quote import (
    CartLine,
    PricedCart,
    PricedLine,
    UnknownItem,
    quote,
    resolve_items,
)
from reelcart.models import CheckoutSession, Order
from reelcart.models.base import as_utc
from reelcart.settings import Settings

from .embedded import checkout_services
from .envelope import UcpError, error_message, response_meta
from .fulfillment import Method, method_view, shipping_address

__all__ = [
    "STATUS",
    "applied_discounts",
    "checkout_view",
    "line_view",
    "order_confirmation",
    "price_lines",
    "recompute",
    "resolve_lines",
    "totals_view",
]

# The checkout core's status -> UCP checkout status.
STATUS = {
    "not_ready_for_payment": "incomplete",
    "ready_for_payment": "ready_for_complete",
    "authentication_required": "requires_escalation",
    "complete_in_progress": "complete_in_progress",
    "completed": "completed",
    "canceled": "canceled",
    "expired": "canceled",
}
CHECKOUT_CAPABILITIES = [
    "dev.ucp.shopping.checkout",
    "dev.ucp.shopping.fulfillment",
    "dev.ucp.shopping.discount",
    "dev.ucp.shopping.buyer_consent",
]


def resolve_lines(session: Session, items: list[dict[str, Any]]) -> list[CartLine]:
    """Every requested item in the catalog, or ``not_found`` naming the first unknown one."""
    try:
        resolved = resolve_items(session, items)
    except UnknownItem as unknown:
        raise UcpError(
            404,
            "not_found",
            f"Item {unknown.item_id!r} was not found in this store's catalog.",
            path=f"$.line_items[{unknown.index}]",
        ) from None
    return [
        CartLine(found, int(item["quantity"])) for found, item in zip(resolved, items, strict=True)
    ]


def _core_line(line: PricedLine, priced: PricedCart) -> dict[str, Any]:
    """The line as the checkout core stores it (orders, events and write-backs read it)."""
    return {
        "id": line.id,
        "item": {"id": line.item.item_id},
        "quantity": line.quantity,
        "name": line.title,
        "unit_amount": line.unit_amount,
        "product_id": line.item.product.id,
        "variant_id": line.item.variant.id,
        "totals": [
            {"type": "items_base_amount", "display_text": "Base Amount", "amount": line.base},
            {"type": "discount", "display_text": "Discount", "amount": line.discount},
            {"type": "subtotal", "display_text": "Subtotal", "amount": line.subtotal},
            {"type": "tax", "display_text": "Tax", "amount": line.tax},
            {"type": "total", "display_text": "Total", "amount": line.total},
        ],
    }


def price_lines(priced: PricedCart) -> list[dict[str, Any]]:
    """The priced lines as the checkout core stores them (a cart's estimate reads them)."""
    return [_core_line(line, priced) for line in priced.lines]


def totals_view(priced: PricedCart) -> list[dict[str, Any]]:
    """The ``totals`` of a checkout or cart."""
    return _totals(priced)


def line_view(line: dict[str, Any]) -> dict[str, Any]:
    """A stored line as a UCP ``line_item``."""
    return _line_view(line, None)


def _totals(priced: PricedCart) -> list[dict[str, Any]]:
    totals: list[dict[str, Any]] = [
        {"type": "subtotal", "display_text": "Subtotal", "amount": priced.items_base}
    ]
    if priced.items_discount:
        totals.append(
            {"type": "discount", "display_text": "Discount", "amount": -priced.items_discount}
        )
    if priced.fulfillment is not None:
        totals.append(
            {"type": "fulfillment", "display_text": "Shipping", "amount": priced.fulfillment}
        )
    totals.append({"type": "tax", "display_text": "Tax", "amount": priced.tax})
    totals.append({"type": "total", "display_text": "Total", "amount": priced.total})
    return totals


def recompute(
    session: Session, cs: CheckoutSession, settings: Settings, now: datetime
) -> PricedCart:
    """Price the session again, check stock, hold it when payable; returns the quote."""
    ucp = dict(cs.extra.get("ucp") or {})
    lines = resolve_lines(session, cs.items)
    method = Method.from_json(ucp.get("method"))
    destination = method.selected() if method else None
    priced = quote(
        session,
        settings,
        lines,
        codes=ucp.get("discount_codes") or [],
        country=destination.country if destination else None,
        selected_option_id=method.selected_option_id if method else None,
        now=now,
    )
    messages: list[dict[str, Any]] = []
    for line in priced.lines:
        if line.quantity > inventory.available(session, line.item.variant, cs.id, now):
            # How many are free is not told: it would let anyone measure the stock.
            messages.append(
                error_message(
                    "out_of_stock",
                    f"{line.title} is out of stock for the quantity asked.",
                    path=f"$.line_items[{line.index}]",
                )
            )
        elif line.quantity > settings.acp_max_quantity:
            messages.append(
                error_message(
                    "quantity_exceeded",
                    f"At most {settings.acp_max_quantity} of {line.title} per order.",
                    path=f"$.line_items[{line.index}]",
                )
            )
    for rejected in priced.rejected:
        messages.append(
            {
                "type": "warning",
                "code": rejected.reason,
                "content": rejected.message,
                "path": f"$.discounts.codes[{rejected.index}]",
            }
        )
    payable = not any(m["type"] == "error" for m in messages) and (
        priced.digital or priced.selected is not None
    )
    if payable:
        needs: dict[str, int] = {}
        for line in priced.lines:
            needs[line.item.variant.id] = needs.get(line.item.variant.id, 0) + line.quantity
        try:
            short = inventory.reserve(
                session,
                cs.id,
                needs,
                now=now,
                expires_at=inventory.ready_hold_until(
                    now, cs.expires_at, settings.checkout_hold_seconds
                ),
                owner=cs.owner,
                max_units=settings.checkout_max_held_units_per_client,
            )
        except inventory.HoldLimitReached as limit:
            short, payable = {}, False
            messages.append(error_message("maximum_exceeded", str(limit), path="$.line_items"))
        for line in priced.lines:
            if line.item.variant.id in short:
                payable = False
                messages.append(
                    error_message(
                        "out_of_stock",
                        f"{line.title} is out of stock (short by {short[line.item.variant.id]}).",
                        path=f"$.line_items[{line.index}]",
                    )
                )
    else:
        inventory.release_holds(session, cs.id)
    cs.line_items = [_core_line(line, priced) for line in priced.lines]
    cs.totals = _totals(priced)
    cs.messages = messages
    cs.status = "ready_for_payment" if payable else "not_ready_for_payment"
    cs.fulfillment = shipping_address(method, cs.buyer or {})
    line_ids = [line.id for line in priced.lines]
    ucp["applied_discounts"] = applied_discounts(priced)
    # What a payment redeems (commerce.checkout.redemptions), in the core's own terms.
    cs.extra = {**cs.extra, "discount_ids": [d.id for d in priced.discounts]}
    ucp["fulfillment"] = method_view(method, line_ids, priced, now) if method else None
    cs.extra = {**cs.extra, "ucp": ucp}
    cs.updated_at = now
    session.flush()
    record_checkout_events(session, cs)
    return priced


def _line_view(line: dict[str, Any], image: str | None) -> dict[str, Any]:
    amounts = {t["type"]: t["amount"] for t in line["totals"]}
    item: dict[str, Any] = {
        "id": line["item"]["id"],
        "title": line["name"],
        "price": line["unit_amount"],
    }
    if image:
        item["image_url"] = image
    totals = [
        {"type": "subtotal", "display_text": "Subtotal", "amount": amounts["items_base_amount"]}
    ]
    if amounts.get("discount"):
        totals.append(
            {"type": "items_discount", "display_text": "Discount", "amount": -amounts["discount"]}
        )
    totals.append({"type": "tax", "display_text": "Tax", "amount": amounts["tax"]})
    totals.append({"type": "total", "display_text": "Total", "amount": amounts["total"]})
    return {"id": line["id"], "item": item, "quantity": line["quantity"], "totals": totals}


def applied_discounts(priced: PricedCart) -> list[dict[str, Any]]:
    """``discounts.applied`` entries for a quote (kept on the session for its views)."""
    return [
        {
            "code": d.code,
            "title": d.title,
            "amount": d.amount,
            "automatic": False,
            "method": d.method,
            "priority": d.priority,
            "allocations": [
                {"path": f"$.line_items[{index}]", "amount": amount}
                for index, amount in d.allocations
            ],
        }
        for d in priced.discounts
    ]


def order_confirmation(
    session: Session, cs: CheckoutSession, base_url: str
) -> dict[str, Any] | None:
    order = session.scalar(select(Order).where(Order.checkout_session_id == cs.id))
    if order is None:
        return None
    return {
        "id": order.id,
        "label": order.id.removeprefix("ord_")[:12].upper(),
        "permalink_url": order_page_url(order, base_url),
    }


def checkout_view(
    session: Session,
    cs: CheckoutSession,
    settings: Settings,
    handlers: dict[str, Any],
    images: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The UCP ``Checkout`` of a session, with the ``ucp`` response metadata."""
    ucp = cs.extra.get("ucp") or {}
    base = settings.resolved_public_base_url
    view: dict[str, Any] = {
        "ucp": response_meta(CHECKOUT_CAPABILITIES, handlers),
        "id": cs.id,
        "status": STATUS.get(cs.status, "incomplete"),
        "currency": cs.currency.upper(),
        "line_items": [
            _line_view(li, (images or {}).get(li["product_id"])) for li in cs.line_items
        ],
        "totals": cs.totals,
        "messages": list(cs.messages),
        "links": [
            {"type": "privacy_policy", "url": f"{base}/policies/privacy"},
            {"type": "terms_of_service", "url": f"{base}/policies/terms"},
            {"type": "refund_policy", "url": f"{base}/policies/returns"},
            {"type": "shipping_policy", "url": f"{base}/policies/shipping"},
        ],
        "payment": {"instruments": list(ucp.get("instruments") or [])},
        "discounts": {
            "codes": list(ucp.get("discount_codes") or []),
            "applied": list(ucp.get("applied_discounts") or []),
        },
    }
    services = checkout_services(settings, view["status"])
    if services is not None:  # the page can be embedded (``embedded-checkout.md``)
        view["ucp"]["services"] = services
    if cs.expires_at is not None:
        view["expires_at"] = as_utc(cs.expires_at).isoformat()
    # The buyer can always finish on the store's page; required at requires_escalation.
    view["continue_url"] = continue_url(base, cs.id)
    if cs.buyer:
        view["buyer"] = dict(cs.buyer)
    if ucp.get("fulfillment"):
        view["fulfillment"] = ucp["fulfillment"]
    if ucp.get("attribution"):
        view["attribution"] = ucp["attribution"]
    confirmation = order_confirmation(session, cs, base)
    if confirmation is not None:
        view["order"] = confirmation
    return view
