"""Orders: created when a checkout completes, attributed to the creative the shopper saw.

Attribution is decided here, on the server, from the impressions ``show_creative``
recorded for this shopper and product; a creative the agent quotes counts only when those
impressions confirm the shopper was shown it. Each order
records ``checkout`` and ``purchase`` events (deduplicated) for the experiment statistics.

After an order is committed, every registered :data:`OrderHook` is called with an
:class:`OrderPlaced` (e.g. the Shopify write-back); a failing hook is logged, never undoes
the sale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from experiments.events import record_event
from experiments.tracking import find_exposure
from reelcart.domain import EventKind
from reelcart.models import CheckoutSession, Order, OrderWebhook, utcnow

__all__ = [
    "OrderHook",
    "OrderPlaced",
    "OrderRecorder",
    "attributed_creative",
    "create_order",
    "enqueue_order_event",
    "order_page_url",
    "order_view",
    "quoted_creative",
    "record_checkout_events",
    "run_order_hooks",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderPlaced:
    """What an order hook gets: ids, money in minor units, and the lines as sold."""

    order_id: str
    checkout_session_id: str
    currency: str
    total_minor: int
    line_items: list[dict[str, Any]]
    buyer: dict[str, Any] = field(default_factory=dict)
    fulfillment_details: dict[str, Any] = field(default_factory=dict)
    payment_reference: str | None = None
    kind: str = "created"  # created | canceled


# A hook returns an external order id (e.g. Shopify's) or None.
OrderHook = Callable[[OrderPlaced], str | None]
# What a door records about a new order, in the transaction that creates it: its own order
# record and its outbox events commit with the order or not at all (a crash right after
# the commit loses nothing: the outbox delivers them on the next start).
OrderRecorder = Callable[[Session, Order, CheckoutSession], None]


def attributed_creative(
    session: Session, subject: str | None, product_id: str, quoted: str | None = None
) -> str | None:
    """The creative this shopper was shown for the product (the experiments' attribution rule).

    Decided from the impressions recorded on the server: a creative the agent quotes (a
    protocol's attribution field) counts only when this shopper was shown it for this
    product within the window; otherwise the last one shown does.
    """
    if not subject:
        return None
    now = utcnow()
    if quoted and (found := find_exposure(session, subject, product_id, now, quoted)):
        return found
    return find_exposure(session, subject, product_id, now)


def quoted_creative(cs: CheckoutSession) -> str | None:
    """The creative a protocol's attribution fields named for this session, if any."""
    quoted = (cs.extra or {}).get("attribution", {}).get("creative_id")
    return str(quoted) if quoted else None


def _line_amount(line: dict[str, Any], kind: str) -> int:
    return sum(t["amount"] for t in line["totals"] if t["type"] == kind)


def record_checkout_events(session: Session, cs: CheckoutSession) -> None:
    """One ``checkout`` event per product of the session (first time it has items)."""
    for line in cs.line_items:
        product_id = line["product_id"]
        record_event(
            session,
            EventKind.CHECKOUT,
            dedupe_key=f"checkout:{cs.id}:{product_id}",
            creative_id=attributed_creative(session, cs.subject, product_id, quoted_creative(cs)),
            product_id=product_id,
            subject=cs.subject,
            amount_minor=_line_amount(line, "subtotal"),
            currency=cs.currency.upper(),
            data={"checkout_session_id": cs.id},
        )


def create_order(session: Session, cs: CheckoutSession, payment_reference: str) -> Order:
    """The order of a paid session, plus one ``purchase`` event per product.

    A purchase event's ``amount_minor`` is the line subtotal (before tax and shipping): the
    revenue a creative earned.
    """
    total = next(t["amount"] for t in cs.totals if t["type"] == "total")
    creatives = {
        line["product_id"]: attributed_creative(
            session, cs.subject, line["product_id"], quoted_creative(cs)
        )
        for line in cs.line_items
    }
    order = Order(
        checkout_session_id=cs.id,
        status="confirmed",
        currency=cs.currency.upper(),
        total_minor=total,
        line_items=list(cs.line_items),
        totals=list(cs.totals),
        # The order's headline creative: the first attributed line's.
        creative_id=next((c for c in creatives.values() if c), None),
        payment_reference=payment_reference,
        subject=cs.subject,
    )
    session.add(order)
    session.flush()
    for line in cs.line_items:
        product_id = line["product_id"]
        record_event(
            session,
            EventKind.PURCHASE,
            dedupe_key=f"purchase:{order.id}:{product_id}",
            creative_id=creatives[product_id],
            product_id=product_id,
            subject=cs.subject,
            amount_minor=_line_amount(line, "subtotal"),
            currency=order.currency,
            data={"order_id": order.id, "checkout_session_id": cs.id, "quantity": line["quantity"]},
        )
    return order


def order_page_url(order: Order, base_url: str) -> str:
    """``permalink_url``: the buyer's page of this order (its random page token, so the
    URL opens this order and no other; see ``app/order_page.py``)."""
    return f"{base_url}/order-status/{order.page_token}"


def order_view(order: Order, base_url: str) -> dict[str, Any]:
    """The ACP ``Order`` object (also the ``data`` of order webhooks)."""
    totals = list(order.totals)
    if order.refunded_minor:
        totals.append(
            {"type": "amount_refunded", "display_text": "Refunded", "amount": order.refunded_minor}
        )
    return {
        "type": "order",
        "id": order.id,
        "checkout_session_id": order.checkout_session_id or "",
        "order_number": order.id.removeprefix("ord_")[:12].upper(),
        "permalink_url": order_page_url(order, base_url),
        "status": order.status,
        "line_items": [
            {
                "id": line["id"],
                "title": line.get("name", ""),
                "product_id": line["product_id"],
                "quantity": {
                    "ordered": line["quantity"],
                    "current": 0 if order.status == "canceled" else line["quantity"],
                    "fulfilled": 0,
                },
                "unit_price": line["unit_amount"],
                "subtotal": _line_amount(line, "subtotal"),
                "status": "removed" if order.status == "canceled" else "processing",
            }
            for line in order.line_items
        ],
        "totals": totals,
    }


def enqueue_order_event(session: Session, order: Order, event_type: str, base_url: str) -> None:
    """Put an ``order_create``/``order_update`` webhook in the outbox (same transaction)."""
    session.add(
        OrderWebhook(
            order_id=order.id,
            event_type=event_type,
            payload={"type": event_type, "data": order_view(order, base_url)},
            next_attempt_at=utcnow(),
        )
    )


def run_order_hooks(hooks: Iterable[OrderHook], placed: OrderPlaced) -> str | None:
    """Call each hook; the first external order id returned is kept. Errors are logged."""
    external: str | None = None
    for hook in hooks:
        try:
            result = hook(placed)
        except Exception:  # a hook must never undo a sale that is already paid
            log.exception(
                "order hook %s failed for %s", getattr(hook, "__name__", hook), placed.order_id
            )
            continue
        external = external or result
    return external
