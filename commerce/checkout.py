"""The ACP checkout core shared by REST and MCP: the session state machine.

``not_ready_for_payment`` → (items priced, address known, stock held) ``ready_for_payment``
→ ``complete_in_progress`` (a payment whose outcome is not known yet: nothing about the
session may change until it is) → ``completed``; or ``canceled`` /
``expired``; ``authentication_required`` when the card needs 3-D Secure. Every method
takes an ACP request body (a dict) and returns an ACP ``CheckoutSession`` (a dict) or
raises :class:`AcpError`. Prices and totals come only from the catalog and settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import CheckoutSession, Order, new_id, utcnow
from reelcart.settings import Settings

from . import checkout_inventory as inventory
from . import checkout_session as recompute
from .checkout_errors import AcpError, from_validation_error, payment_in_progress
from .checkout_orders import OrderHook, order_view
from .checkout_payments import aware
from .checkout_pricing import requested_codes
from .checkout_requests import CancelRequest, CreateRequest, UpdateRequest, merge_items
from .checkout_session import session_view
from .checkout_settle import settle_in_progress

__all__ = ["API_VERSION", "OPEN_STATUSES", "CheckoutService"]

log = logging.getLogger(__name__)

API_VERSION = "2026-04-17"
OPEN_STATUSES = ("not_ready_for_payment", "ready_for_payment", "authentication_required")
Req = TypeVar("Req", bound=BaseModel)


def parse(model: type[Req], body: Any) -> Req:
    """Validate a request body; errors become ``invalid_request`` with a JSONPath."""
    if not isinstance(body, dict):
        raise AcpError(400, "invalid", "the request body must be a JSON object", param="$")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


class CheckoutService:
    """Checkout sessions over one database, one media store and (optionally) Stripe."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        store: MediaStore,
        payments: StripePayments | None = None,
        *,
        order_hooks: Sequence[OrderHook] = (),
        on_order_event: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.store = store
        self.payments = payments
        self.order_hooks = list(order_hooks)
        # Called after an order event is queued (the webhook dispatcher's wake-up).
        self.on_order_event = on_order_event
        self.ttl = timedelta(seconds=settings.acp_session_ttl_seconds)
        # How long one worker may ask Stripe about a payment before another may take over.
        self.payment_lease = timedelta(seconds=settings.acp_payment_lease_seconds)
        self.base_url = settings.resolved_public_base_url

    # -- plumbing ---------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with inventory.write_lock(self.db), self.db.session() as session:
            yield session

    def _load(self, session: Session, checkout_id: str, now: datetime) -> CheckoutSession:
        cs = session.get(CheckoutSession, checkout_id, with_for_update=True, populate_existing=True)
        if cs is None:
            raise AcpError(404, "session_not_found", "Checkout session not found", param="$.id")
        expires = aware(cs.expires_at) if cs.expires_at else None
        if cs.status in OPEN_STATUSES and expires is not None and expires <= now:
            cs.status = "expired"
            cs.messages = [_message("expired", "This checkout session has expired.")]
            inventory.release_holds(session, cs.id, "expired")
        return cs

    def _view(self, session: Session, cs: CheckoutSession) -> dict[str, Any]:
        order = session.scalar(select(Order).where(Order.checkout_session_id == cs.id))
        return session_view(
            cs, self.settings, order_view(order, self.base_url) if order is not None else None
        )

    # -- operations -------------------------------------------------------------------
    def create(self, body: Any) -> dict[str, Any]:
        """``POST /checkout_sessions``: a new session priced from the catalog."""
        request = parse(CreateRequest, body)
        now = utcnow()
        metadata = request.metadata or {}
        subject = metadata.get("shopper_id")
        with self._tx() as session:
            catalog_currency = recompute.catalog_currency(session)
            if catalog_currency and request.currency.lower() != catalog_currency.lower():
                raise AcpError(
                    400,
                    "unsupported_currency",
                    f"this store sells in {catalog_currency.lower()}",
                    param="$.currency",
                )
            items = merge_items(request.line_items)
            recompute.check_items(session, items)
            cs = CheckoutSession(
                id=new_id("cs"),
                status="not_ready_for_payment",
                currency=request.currency.lower(),
                items=items,
                subject=str(subject)[:255] if subject else None,
                buyer=request.buyer.model_dump(exclude_none=True) if request.buyer else {},
                fulfillment=(
                    request.fulfillment_details.model_dump(exclude_none=True)
                    if request.fulfillment_details
                    else {}
                ),
                extra={
                    "capabilities": recompute.negotiate(request.capabilities, self.settings),
                    "selected_fulfillment_options": [],
                    "order_notes": request.order_notes,
                    "locale": request.locale,
                    "metadata": metadata,
                    "affiliate_attribution": request.affiliate_attribution,
                }
                | ({"discounts": codes} if (codes := requested_codes(request.discounts)) else {}),
                created_at=now,
                expires_at=now + self.ttl,
            )
            session.add(cs)
            session.flush()
            recompute.recompute(session, cs, self.settings, self.store, now)
            return self._view(session, cs)

    def retrieve(self, checkout_id: str) -> dict[str, Any]:
        """``GET /checkout_sessions/{id}``: the authoritative state."""
        with self._tx() as session:
            return self._view(session, self._load(session, checkout_id, utcnow()))

    def update(self, checkout_id: str, body: Any) -> dict[str, Any]:
        """``POST /checkout_sessions/{id}``: change items, buyer, address or shipping."""
        request = parse(UpdateRequest, body)
        settle_in_progress(self, checkout_id)
        now = utcnow()
        with self._tx() as session:
            cs = self._load(session, checkout_id, now)
            _require_open(cs, now)
            if request.line_items is not None:
                items = merge_items(request.line_items)
                recompute.check_items(session, items)
                cs.items = items
            if request.buyer is not None:
                cs.buyer = request.buyer.model_dump(exclude_none=True)
            if request.fulfillment_details is not None:
                cs.fulfillment = request.fulfillment_details.model_dump(exclude_none=True)
            extra = dict(cs.extra)
            if request.selected_fulfillment_options is not None:
                extra["selected_fulfillment_options"] = recompute.check_selection(
                    cs, [s.model_dump() for s in request.selected_fulfillment_options]
                )
            if request.order_notes is not None:
                extra["order_notes"] = request.order_notes
            if (codes := requested_codes(request.discounts)) is not None:
                extra["discounts"] = codes
            cs.extra = extra
            cs.status = "not_ready_for_payment"
            recompute.recompute(session, cs, self.settings, self.store, now)
            return self._view(session, cs)

    def cancel(self, checkout_id: str, body: Any) -> dict[str, Any]:
        """``POST …/cancel``: release the stock; a paid session is refunded."""
        request = parse(CancelRequest, body if body is not None else {})
        # A payment whose outcome is unknown is found out first: a charge is never orphaned.
        settle_in_progress(self, checkout_id)
        now = utcnow()
        with self._tx() as session:
            cs = self._load(session, checkout_id, now)
            if cs.status in ("canceled", "expired"):
                raise AcpError(405, "not_cancelable", f"the session is already {cs.status}")
            _require_settled(cs)
            paid = cs.status == "completed"
            if not paid:
                inventory.release_holds(session, cs.id)
                cs.status = "canceled"
                cs.extra = {**cs.extra, "intent_trace": request.intent_trace}
                cs.messages = []
                return self._view(session, cs)
            payment_intent = (cs.payment or {}).get("payment_intent")
        from .checkout_complete import refund_session

        return refund_session(self, checkout_id, payment_intent, request.intent_trace)

    def complete(self, checkout_id: str, body: Any) -> dict[str, Any]:
        """``POST …/complete``: charge through Stripe, commit the stock, create the order."""
        from .checkout_complete import complete_session

        return complete_session(self, checkout_id, body)

    def expire_due(self) -> int:
        """Expire open sessions past their time and release their holds; returns how many."""
        now = utcnow()
        with self._tx() as session:
            due = session.scalars(
                select(CheckoutSession.id).where(
                    CheckoutSession.status.in_(OPEN_STATUSES), CheckoutSession.expires_at <= now
                )
            ).all()
            for checkout_id in due:
                self._load(session, checkout_id, now)
            return len(due)


def _message(code: str, content: str, param: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "error",
        "code": code,
        "content_type": "plain",
        "content": content,
    }
    if param:
        message["param"] = param
    return message


def _require_settled(cs: CheckoutSession) -> None:
    if cs.status == "complete_in_progress":
        raise payment_in_progress()


def _require_open(cs: CheckoutSession, now: datetime) -> None:
    _require_settled(cs)
    if cs.status in ("completed", "canceled", "expired"):
        raise AcpError(400, "invalid_state", f"the session is {cs.status} and cannot change")
