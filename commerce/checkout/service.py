"""The checkout state machine every door drives (ACP REST and MCP, UCP, the shopping tools).

``not_ready_for_payment`` → (items priced, address known, stock held) ``ready_for_payment``
→ ``complete_in_progress`` (a payment whose outcome is not known yet: nothing about the
session may change until it is) → ``completed``; or ``canceled`` /
``expired``; ``authentication_required`` when the card needs 3-D Secure. Its interface is
ACP's, the first door's: every method takes an ACP request body (a dict) and returns an ACP
``CheckoutSession`` (a dict) or raises :class:`CheckoutError`; the UCP door translates
onto it. Prices and totals come only from the catalog and settings.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from reelcart.models import CheckoutSession, new_id, utcnow

from . import inventory
from . import session as recompute
from .acp_render import requested_codes
from .acp_requests import CancelRequest, CreateRequest, UpdateRequest, merge_items
from .attribution import merge_attribution
from .complete import complete_session
from .core import ACP_OWNER, OPEN_STATUSES, CheckoutCore, parse, require_open, require_settled
from .errors import CheckoutError
from .handoff import close_hosted, refresh_hosted
from .session import API_VERSION
from .settle import settle_in_progress

__all__ = ["ACP_OWNER", "API_VERSION", "OPEN_STATUSES", "CheckoutService"]

log = logging.getLogger(__name__)


class CheckoutService(CheckoutCore):
    """The ACP operations on checkout sessions (the parts and primitives: ``CheckoutCore``).

    Each operation acts for ``owner`` (the ACP bearer unless a door says otherwise) and
    finds only that owner's sessions: another party's session is ``session_not_found``.
    """

    # -- operations -------------------------------------------------------------------
    def create(self, body: Any, owner: str = ACP_OWNER) -> dict[str, Any]:
        """``POST /checkout_sessions``: a new session priced from the catalog."""
        request = parse(CreateRequest, body)
        now = utcnow()
        metadata = request.metadata or {}
        attribution = merge_attribution(
            None, metadata.get("shopper_id"), request.affiliate_attribution
        )
        subject = attribution.get("shopper_id")
        with self.tx() as session:
            catalog_currency = recompute.catalog_currency(session)
            if catalog_currency and request.currency.lower() != catalog_currency.lower():
                raise CheckoutError(
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
                    "attribution": attribution,
                }
                | ({"discounts": codes} if (codes := requested_codes(request.discounts)) else {}),
                created_at=now,
                expires_at=now + self.ttl,
                owner=owner,
            )
            session.add(cs)
            session.flush()
            recompute.recompute(session, cs, self.settings, self.store, now)
            return self.view(session, cs)

    def retrieve(self, checkout_id: str, owner: str | None = ACP_OWNER) -> dict[str, Any]:
        """``GET /checkout_sessions/{id}``: the authoritative state (a payment made on the
        store's page whose webhook has not come yet is asked of Stripe first)."""
        self.check_owner(checkout_id, owner)
        refresh_hosted(self, checkout_id)
        with self.tx() as session:
            return self.view(session, self.load(session, checkout_id, utcnow(), owner))

    def update(self, checkout_id: str, body: Any, owner: str | None = ACP_OWNER) -> dict[str, Any]:
        """``POST /checkout_sessions/{id}``: change items, buyer, address or shipping."""
        request = parse(UpdateRequest, body)
        self.check_owner(checkout_id, owner)
        refresh_hosted(self, checkout_id)  # paid on the store's page meanwhile?
        settle_in_progress(self, checkout_id)
        now = utcnow()
        with self.tx() as session:
            cs = self.load(session, checkout_id, now, owner)
            require_open(cs)
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
            return self.view(session, cs)

    def cancel(self, checkout_id: str, body: Any, owner: str | None = ACP_OWNER) -> dict[str, Any]:
        """``POST …/cancel``: release the stock of a session not yet completed.

        A completed or canceled session is 405 (the RFC's cancel): a placed order is
        refunded through its own lifecycle (and the order webhooks that report it), never by
        cancelling the checkout that made it.
        """
        request = parse(CancelRequest, body if body is not None else {})
        self.check_owner(checkout_id, owner)
        # A payment whose outcome is unknown is found out first: a charge is never orphaned.
        refresh_hosted(self, checkout_id)
        settle_in_progress(self, checkout_id)
        now = utcnow()
        with self.tx() as session:
            cs = self.load(session, checkout_id, now, owner)
            if cs.status in ("canceled", "expired", "completed"):
                raise CheckoutError(405, "not_cancelable", f"the session is already {cs.status}")
            require_settled(cs)
            inventory.release_holds(session, cs.id)
            cs.status = "canceled"
            cs.extra = {**cs.extra, "intent_trace": request.intent_trace}
            cs.messages = []
            canceled = self.view(session, cs)
        # Its payment pages close; one paid meanwhile is refunded.
        close_hosted(self, checkout_id)
        return canceled

    def complete(
        self,
        checkout_id: str,
        body: Any,
        request_key: str | None = None,
        owner: str | None = ACP_OWNER,
    ) -> dict[str, Any]:
        """``POST …/complete``: charge through Stripe, commit the stock, create the order.
        ``request_key``: the agent's idempotency key (its re-sent request is answered with
        what its charge became)."""
        self.check_owner(checkout_id, owner)
        return complete_session(self, checkout_id, body, request_key)

    def expire_due(self) -> int:
        """Expire open sessions past their time and release their holds; returns how many."""
        now = utcnow()
        with self.tx() as session:
            due = session.scalars(
                select(CheckoutSession.id).where(
                    CheckoutSession.status.in_(OPEN_STATUSES), CheckoutSession.expires_at <= now
                )
            ).all()
            for checkout_id in due:
                self.load(session, checkout_id, now)
            return len(due)
