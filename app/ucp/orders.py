"""The UCP order capability: the order view, platform updates, the shipping simulation, and
the order hook that records a UCP order and queues its ``order_placed`` webhook.

Money and line items are the core's order (what was sold and charged); UCP adds the
post-purchase record: fulfillment expectations (from the destination and option chosen
at checkout), fulfillment events and adjustments. A platform's ``PUT`` may append events
and adjustments, each validated against the spec's types (422 when one is malformed);
what the business decides (items, totals, ids) is not taken from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from commerce.checkout.orders import OrderPlaced, OrderRecorder, order_page_url
from reelcart.db import Database
from reelcart.models import CheckoutSession, Order, UcpOrder, UcpWebhook, new_id, utcnow
from reelcart.settings import Settings

from .envelope import UcpError, response_meta
from .fulfillment import Method
from .profiles import ProfileCache, signing_keys

__all__ = ["OrderDesk", "ucp_order_hook", "ucp_order_recorder"]


class _LineRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=255)
    quantity: int


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=255)
    occurred_at: AwareDatetime
    type: str = Field(min_length=1, max_length=64)
    line_items: list[_LineRef]
    tracking_number: str | None = Field(default=None, max_length=255)
    tracking_url: str | None = Field(default=None, max_length=2048)
    carrier: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=2000)


class _Adjustment(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    status: Literal["pending", "completed", "failed"]
    amount: int | None = None
    description: str | None = Field(default=None, max_length=2000)


_EVENTS = TypeAdapter(list[_Event])
_ADJUSTMENTS = TypeAdapter(list[_Adjustment])


def _validated(adapter: TypeAdapter[Any], raw: Any, where: str) -> list[dict[str, Any]]:
    try:
        items = adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise UcpError(
            422, "invalid_input", f"{where}{loc}: {first['msg']}", path=f"$.{where}{loc}"
        ) from None
    if len(items) > 200:
        raise UcpError(422, "invalid_input", f"{where} holds more than 200 entries")
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def _expectations(cs: CheckoutSession) -> list[dict[str, Any]]:
    ucp = cs.extra.get("ucp") or {}
    method = Method.from_json(ucp.get("method"))
    chosen = method.selected() if method else None
    if chosen is None:
        return []
    fulfillment = ucp.get("fulfillment") or {}
    groups = ((fulfillment.get("methods") or [{}])[0]).get("groups") or [{}]
    selected = groups[0].get("selected_option_id")
    option = next((o for o in groups[0].get("options") or [] if o["id"] == selected), None)
    destination = {
        "street_address": chosen.street_address,
        "address_locality": chosen.locality,
        "address_region": chosen.region,
        "postal_code": chosen.postal_code,
        "address_country": chosen.country,
    }
    expectation: dict[str, Any] = {
        "id": "exp_1",
        "line_items": [{"id": li["id"], "quantity": li["quantity"]} for li in cs.line_items],
        "method_type": "shipping",
        "destination": destination,
        "fulfillable_on": "now",
    }
    if option is not None:
        expectation["description"] = option["title"]
    return [expectation]


def order_view(order: Order, record: UcpOrder, base_url: str) -> dict[str, Any]:
    """The UCP ``Order`` (also the body of order webhooks), with a snapshot of the
    checkout's attribution."""
    shipped: dict[str, int] = {}
    for event in record.fulfillment.get("events") or []:
        if event.get("type") in ("shipped", "delivered"):
            for ref in event.get("line_items") or []:
                shipped[ref["id"]] = max(shipped.get(ref["id"], 0), int(ref["quantity"]))
    lines = []
    for line in order.line_items:
        total = 0 if order.status == "canceled" else line["quantity"]
        fulfilled = min(shipped.get(line["id"], 0), total)
        amounts = {t["type"]: t["amount"] for t in line["totals"]}
        lines.append(
            {
                "id": line["id"],
                "item": {
                    "id": line["item"]["id"],
                    "title": line["name"],
                    "price": line["unit_amount"],
                },
                "quantity": {"original": line["quantity"], "total": total, "fulfilled": fulfilled},
                "totals": [
                    {"type": "subtotal", "amount": amounts.get("items_base_amount", 0)},
                    {"type": "total", "amount": amounts.get("total", 0)},
                ],
                "status": "removed"
                if total == 0
                else "fulfilled"
                if fulfilled == total
                else "partial"
                if fulfilled
                else "processing",
            }
        )
    view: dict[str, Any] = {
        "ucp": response_meta(["dev.ucp.shopping.order"]),
        "id": order.id,
        "label": order.id.removeprefix("ord_")[:12].upper(),
        "checkout_id": record.checkout_session_id,
        "permalink_url": order_page_url(order, base_url),
        "currency": order.currency.upper(),
        "line_items": lines,
        "fulfillment": {
            "expectations": list(record.fulfillment.get("expectations") or []),
            "events": list(record.fulfillment.get("events") or []),
        },
        "adjustments": list(record.adjustments or []),
        "totals": list(order.totals),
    }
    session = object_session(order)
    cs = session.get(CheckoutSession, record.checkout_session_id) if session else None
    attribution = ((cs.extra or {}).get("ucp") or {}).get("attribution") if cs else None
    if attribution:
        view["attribution"] = dict(attribution)
    return view


def enqueue(
    session: Session, order: Order, record: UcpOrder, event: str, base_url: str
) -> str | None:
    """Queue an order event for the platform (same transaction as the change it reports)."""
    if not record.platform_profile:
        return None
    webhook_id = new_id("uwh")
    session.add(
        UcpWebhook(
            id=webhook_id,
            order_id=order.id,
            event_type=event,
            platform_profile=record.platform_profile,
            payload=order_view(order, record, base_url),
            next_attempt_at=utcnow(),
        )
    )
    return webhook_id


def ucp_order_recorder(settings: Settings) -> OrderRecorder:
    """Records a UCP checkout's order (its UCP record and the queued ``order_placed``) in
    the transaction that creates the order: committed with it, delivered by the outbox."""
    base_url = settings.resolved_public_base_url

    def record(session: Session, order: Order, cs: CheckoutSession) -> None:
        if "ucp" not in (cs.extra or {}) or session.get(UcpOrder, order.id) is not None:
            return
        ucp_record = UcpOrder(
            order_id=order.id,
            checkout_session_id=cs.id,
            platform_profile=(cs.extra["ucp"] or {}).get("profile"),
            fulfillment={"expectations": _expectations(cs), "events": []},
            adjustments=[],
        )
        session.add(ucp_record)
        session.flush()
        enqueue(session, order, ucp_record, "order_placed", base_url)

    return record


def ucp_order_hook(db: Database, send: Callable[[str], None]) -> Any:
    """An order hook (after the commit): the first delivery of the ``order_placed`` the
    order's transaction queued; should it never run, the outbox sends it all the same."""

    def hook(placed: OrderPlaced) -> str | None:
        if placed.kind != "created":
            return None
        with db.session() as session:
            queued = session.scalars(
                select(UcpWebhook.id).where(
                    UcpWebhook.order_id == placed.order_id,
                    UcpWebhook.event_type == "order_placed",
                    UcpWebhook.delivered_at.is_(None),
                )
            ).all()
        for webhook_id in queued:
            send(webhook_id)
        return None

    return hook


class OrderDesk:
    """GET/PUT of UCP orders and the test-only shipping simulation."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        send: Callable[[str], None],
        profiles: ProfileCache,
    ) -> None:
        self.db = db
        self.base_url = settings.resolved_public_base_url
        self.send = send
        self.profiles = profiles

    def _load(
        self, session: Session, order_id: str, profile: str | None, signed: bool
    ) -> tuple[Order, UcpOrder]:
        order = session.get(Order, order_id, with_for_update=True)
        record = session.get(UcpOrder, order_id, with_for_update=True) if order else None
        # Only the platform that placed the order may read or change it ...
        if order is None or record is None or (record.platform_profile or None) != profile:
            raise UcpError(404, "not_found", "Order not found", path="$.id")
        # ... and one that publishes signing keys proves it is that platform by signing.
        if not signed and profile and signing_keys(self.profiles.get(profile)):
            raise UcpError(
                401,
                "signature_missing",
                "this platform's profile publishes signing keys: sign requests for its orders",
            )
        return order, record

    def get(self, order_id: str, profile: str | None, *, signed: bool = False) -> dict[str, Any]:
        with self.db.session() as session:
            order, record = self._load(session, order_id, profile, signed)
            return order_view(order, record, self.base_url)

    def update(
        self, order_id: str, body: Any, profile: str | None, *, signed: bool = False
    ) -> dict[str, Any]:
        """Append the platform's fulfillment events and adjustments (validated)."""
        if not isinstance(body, dict):
            raise UcpError(422, "invalid_input", "the order must be a JSON object")
        fulfillment = body.get("fulfillment") or {}
        if not isinstance(fulfillment, dict):
            raise UcpError(422, "invalid_input", "fulfillment must be an object")
        events = _validated(_EVENTS, fulfillment.get("events") or [], "fulfillment.events")
        adjustments = _validated(_ADJUSTMENTS, body.get("adjustments") or [], "adjustments")
        with self.db.session() as session:
            order, record = self._load(session, order_id, profile, signed)
            known = {e["id"] for e in record.fulfillment.get("events") or []}
            record.fulfillment = {
                **record.fulfillment,
                "events": [
                    *record.fulfillment.get("events", []),
                    *[e for e in events if e["id"] not in known],
                ],
            }
            seen = {a["id"] for a in record.adjustments}
            record.adjustments = [
                *record.adjustments,
                *[a for a in adjustments if a["id"] not in seen],
            ]
            record.updated_at = utcnow()
            return order_view(order, record, self.base_url)

    def simulate_shipping(self, order_id: str) -> dict[str, Any]:
        """Test only: the whole order ships now (event ``shipped``, webhook ``order_shipped``)."""
        now: datetime = utcnow()
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            record = session.get(UcpOrder, order_id, with_for_update=True) if order else None
            if order is None or record is None:
                raise UcpError(404, "not_found", "Order not found", path="$.id")
            event = {
                "id": new_id("evt"),
                "occurred_at": now.isoformat(),
                "type": "shipped",
                "line_items": [
                    {"id": li["id"], "quantity": li["quantity"]} for li in order.line_items
                ],
                "tracking_number": f"SIM{order.id[-10:].upper()}",
                "tracking_url": f"{self.base_url}/orders/{order.id}",
                "description": "Shipped (simulated)",
            }
            record.fulfillment = {
                **record.fulfillment,
                "events": [*record.fulfillment.get("events", []), event],
            }
            record.updated_at = now
            session.flush()
            queued = enqueue(session, order, record, "order_shipped", self.base_url)
            view = order_view(order, record, self.base_url)
        if queued:
            self.send(queued)
        return view
