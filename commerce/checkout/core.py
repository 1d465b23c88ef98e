"""What every checkout step stands on: the service's parts and its three primitives.

:class:`CheckoutCore` holds the database, settings, media store, payments and hooks, and
offers the primitives the operations are written with: a write transaction
(:meth:`~CheckoutCore.tx`), loading a session for update (expiring it when its time is
up, :meth:`~CheckoutCore.load`) and its ACP view (:meth:`~CheckoutCore.view`). The
operations build on it in one direction: :mod:`commerce.checkout.service` (create, update,
cancel) and :mod:`commerce.checkout.complete` / :mod:`commerce.checkout.settle` (moving
money) import this module, and it imports none of them.
"""

from __future__ import annotations

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
from reelcart.models import CheckoutSession, Order
from reelcart.settings import Settings

from . import inventory
from .errors import CheckoutError, from_validation_error, payment_in_progress
from .orders import OrderHook, OrderRecorder, order_view
from .session import session_view

__all__ = [
    "ACP_OWNER",
    "OPEN_STATUSES",
    "CheckoutCore",
    "message",
    "parse",
    "require_open",
    "require_settled",
]

OPEN_STATUSES = ("not_ready_for_payment", "ready_for_payment", "authentication_required")
# The owner of sessions made through ACP (REST, its MCP binding, the MCP App): the holder of
# the bearer token. A UCP session's owner is its platform (``"ucp <profile URL>"``).
ACP_OWNER = "acp"
Req = TypeVar("Req", bound=BaseModel)


def parse(model: type[Req], body: Any) -> Req:
    """Validate a request body; errors become ``invalid_request`` with a JSONPath."""
    if not isinstance(body, dict):
        raise CheckoutError(400, "invalid", "the request body must be a JSON object", param="$")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def message(code: str, content: str, param: str | None = None) -> dict[str, Any]:
    """An ACP error ``Message`` for the session's ``messages``."""
    result: dict[str, Any] = {
        "type": "error",
        "code": code,
        "content_type": "plain",
        "content": content,
    }
    if param:
        result["param"] = param
    return result


def require_settled(cs: CheckoutSession) -> None:
    """Nothing about a session changes while its payment outcome is unknown."""
    if cs.status == "complete_in_progress":
        raise payment_in_progress()


def require_open(cs: CheckoutSession) -> None:
    """Only an open, settled session may change."""
    require_settled(cs)
    if cs.status in ("completed", "canceled", "expired"):
        raise CheckoutError(400, "invalid_state", f"the session is {cs.status} and cannot change")


class CheckoutCore:
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
        # Run inside the transaction that creates an order (the doors' records and events).
        self.order_recorders: list[OrderRecorder] = []
        # Called after an order event is queued (the webhook dispatcher's wake-up).
        self.on_order_event = on_order_event
        self.ttl = timedelta(seconds=settings.acp_session_ttl_seconds)
        # How long one worker may ask Stripe about a payment before another may take over.
        self.payment_lease = timedelta(seconds=settings.acp_payment_lease_seconds)
        self.base_url = settings.resolved_public_base_url

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A write transaction under the inventory lock."""
        with inventory.write_lock(self.db), self.db.session() as session:
            yield session

    def load(
        self, session: Session, checkout_id: str, now: datetime, owner: str | None = None
    ) -> CheckoutSession:
        """The session, locked for update; an open one past its time is expired first.

        With ``owner``, a session another party created is not found: it answers only to
        the party that created it (``None``: the server's own work, e.g. reconciliation).
        """
        cs = session.get(CheckoutSession, checkout_id, with_for_update=True, populate_existing=True)
        if cs is None or (owner is not None and cs.owner != owner):
            raise CheckoutError(
                404, "session_not_found", "Checkout session not found", param="$.id"
            )
        if cs.status in OPEN_STATUSES and cs.expires_at is not None and cs.expires_at <= now:
            cs.status = "expired"
            cs.messages = [message("expired", "This checkout session has expired.")]
            inventory.release_holds(session, cs.id, "expired")
        return cs

    def check_open_limit(self, session: Session, owner: str, now: datetime) -> None:
        """A client may keep only so many checkouts open at once (each can hold stock)."""
        limit = self.settings.checkout_max_open_per_client
        if inventory.client_open_checkouts(session, owner, now) >= limit:
            raise CheckoutError(
                429,
                "too_many_open_checkouts",
                f"at most {limit} checkouts may be open at once: complete or cancel one",
                headers={"Retry-After": "60"},
            )

    def check_owner(self, checkout_id: str, owner: str | None) -> None:
        """Refuse (not found) before anything is done for a party that does not own it."""
        if owner is None:
            return
        with self.db.session() as session:
            found = session.scalar(
                select(CheckoutSession.owner).where(CheckoutSession.id == checkout_id)
            )
        if found != owner:
            raise CheckoutError(
                404, "session_not_found", "Checkout session not found", param="$.id"
            )

    def order(self, order_id: str, owner: str = ACP_OWNER) -> dict[str, Any]:
        """The ACP ``Order`` of one of ``owner``'s checkouts; any other is not found."""
        with self.db.session() as session:
            order = session.get(Order, order_id)
            cs = session.get(CheckoutSession, order.checkout_session_id) if order else None
            if order is None or cs is None or cs.owner != owner:
                raise CheckoutError(
                    404,
                    "order_not_found",
                    f"No order {order_id[:64]!r}; use the order.id the completed checkout gave",
                    param="$.order_id",
                )
            return order_view(order, self.base_url)

    def view(self, session: Session, cs: CheckoutSession) -> dict[str, Any]:
        """The ACP ``CheckoutSession`` (with its order once there is one)."""
        order = session.scalar(select(Order).where(Order.checkout_session_id == cs.id))
        return session_view(
            cs, self.settings, order_view(order, self.base_url) if order is not None else None
        )
