"""Applying what Stripe said about a payment attempt to its checkout session, exactly once.

Whoever learned the outcome — the agent's own request, an update or cancel that had to wait
for it, or the reconciler — calls :func:`apply_outcome`. It locks the session and the
attempt and acts only on an attempt whose outcome was still open, so two workers that both
asked Stripe write one order (or one refund). A charge the session no longer wants (it is
paid already, canceled or expired) is refunded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connectors.stripe import PaymentError
from reelcart.models import (
    CheckoutSession,
    DelegatedPaymentToken,
    Order,
    PaymentAttempt,
    utcnow,
)

from . import inventory
from .attempts import OPEN_STATES, AttemptCall, Outcome, ask_stripe, claim, open_attempt
from .core import CheckoutCore
from .errors import payment_in_progress
from .orders import OrderPlaced, create_order, enqueue_order_event, run_order_hooks

__all__ = [
    "Applied",
    "after_order",
    "apply_outcome",
    "declined_message",
    "refund_attempt",
    "settle_attempt",
    "settle_in_progress",
]

# While an outcome is unknown the stock stays held, however long finding out takes.
UNKNOWN_HOLD = timedelta(days=2)


@dataclass(frozen=True)
class Applied:
    """The attempt's state after applying, and the session's ACP view."""

    state: str
    view: dict[str, Any]
    detail: str | None = None


def declined_message(content: str) -> dict[str, Any]:
    return {
        "type": "error",
        "code": "payment_declined",
        "severity": "high",
        "resolution": "requires_buyer_input",
        "param": "$.payment_data",
        "content_type": "plain",
        "content": content,
    }


def _place_order(
    service: CheckoutCore, session: Any, cs: CheckoutSession, attempt: PaymentAttempt
) -> OrderPlaced:
    now = utcnow()
    inventory.commit_holds(session, cs.id)
    order = create_order(session, cs, str(attempt.payment_intent_id))
    vault = session.get(DelegatedPaymentToken, attempt.credential)
    if vault is not None:
        vault.used_at = now
    if "ucp" not in (cs.extra or {}):  # a UCP platform hears of it by UCP's own webhooks
        enqueue_order_event(session, order, "order_create", service.base_url)
    for record in service.order_recorders:
        record(session, order, cs)
    cs.status = "completed"
    cs.completed_at = now
    cs.messages = []
    cs.payment = {
        **(cs.payment or {}),
        "payment_intent": attempt.payment_intent_id,
        "attempt": attempt.id,
    }
    return OrderPlaced(
        order_id=order.id,
        checkout_session_id=cs.id,
        currency=order.currency,
        total_minor=order.total_minor,
        line_items=list(order.line_items),
        buyer=dict(cs.buyer),
        fulfillment_details=dict(cs.fulfillment),
        payment_reference=attempt.payment_intent_id,
    )


def _failed(
    service: CheckoutCore, session: Any, cs: CheckoutSession, detail: str, by_agent: bool
) -> None:
    now = utcnow()
    if by_agent:
        # The agent is here to try again: keep the items held for a fresh session lifetime.
        cs.status = "ready_for_payment"
        cs.expires_at = now + service.ttl
        inventory.hold_until(session, cs.id, cs.expires_at)
    else:
        # Found out in the background: nobody is waiting, so the stock goes back on sale.
        inventory.release_holds(session, cs.id)
        cs.status = "not_ready_for_payment"
    reason = f"Your payment was not completed ({detail})." if detail else "Payment failed."
    cs.messages = [m for m in cs.messages if m.get("code") != "payment_declined"]
    cs.messages = [*cs.messages, declined_message(reason)]


def apply_outcome(
    service: CheckoutCore, call: AttemptCall, outcome: Outcome, *, by_agent: bool
) -> Applied:
    """Record ``outcome`` on the attempt and its session (order, refund, retry or wait)."""
    placed: OrderPlaced | None = None
    refund = False
    now = utcnow()
    with service.tx() as session:
        cs = session.get(
            CheckoutSession, call.checkout_session_id, with_for_update=True, populate_existing=True
        )
        attempt = session.get(PaymentAttempt, call.id, with_for_update=True, populate_existing=True)
        assert cs is not None and attempt is not None
        if attempt.state in OPEN_STATES:
            attempt.checks += 1
            attempt.lease_until = None
            attempt.payment_intent_id = outcome.payment_intent_id or attempt.payment_intent_id
            if outcome.state == "unknown":
                attempt.state = "unknown"
                attempt.last_error = outcome.detail
                inventory.hold_until(session, cs.id, now + UNKNOWN_HOLD)
            elif outcome.state == "succeeded":
                attempt.resolved_at = now
                order = session.scalars(
                    select(Order).where(Order.checkout_session_id == cs.id)
                ).first()
                if cs.status == "complete_in_progress" and order is None:
                    attempt.state = "succeeded"
                    placed = _place_order(service, session, cs, attempt)
                elif order is not None and order.payment_reference == attempt.payment_intent_id:
                    attempt.state = "succeeded"  # this very charge already has its order
                else:
                    attempt.state = "refund_pending"
                    refund = True
            elif outcome.state == "requires_action":
                attempt.state = "requires_action"
                if cs.status == "complete_in_progress":
                    cs.status = "authentication_required"
                    if cs.expires_at is not None:
                        inventory.hold_until(session, cs.id, cs.expires_at)
                    cs.payment = {**(cs.payment or {}), "payment_intent": attempt.payment_intent_id}
            else:
                attempt.state = "failed"
                attempt.resolved_at = now
                attempt.last_error = outcome.detail
                if cs.status == "complete_in_progress":
                    _failed(service, session, cs, outcome.detail or "", by_agent)
        applied = Applied(attempt.state, service.view(session, cs), attempt.last_error)
    if placed is not None:
        after_order(service, placed)
    if refund and refund_attempt(service, call.id):
        applied = replace(applied, state="refunded")
    return applied


def settle_attempt(
    service: CheckoutCore, attempt_id: str, *, by_agent: bool = False, peek: bool = False
) -> str:
    """Claim an attempt whose outcome is open, ask Stripe, apply; returns the attempt's state
    (or ``"busy"`` when someone else holds the claim).

    ``peek``: ask Stripe even though another worker holds the claim (perhaps a process
    that died), and apply only a decided outcome. Asking never charges twice (a re-sent
    charge carries the attempt's idempotency key), and an outcome is applied under the
    session's lock to an attempt still open, so a live holder loses nothing."""
    if service.payments is None:
        return "busy"
    claimed = claim(service.db, attempt_id, service.payment_lease)
    if not claimed and not peek:
        return "busy"
    with service.db.session() as session:
        attempt = session.get(PaymentAttempt, attempt_id)
        assert attempt is not None
        if attempt.state not in OPEN_STATES:
            return str(attempt.state)
        call = AttemptCall.of(attempt)
    outcome = ask_stripe(service.payments, call)
    if not claimed and outcome.state == "unknown":
        return "busy"  # the holder, if alive, finds out itself; the next pass asks again
    return apply_outcome(service, call, outcome, by_agent=by_agent).state


def settle_in_progress(service: CheckoutCore, checkout_id: str) -> None:
    """Before a session may change: learn the outcome of its open payment, or refuse (503)."""
    with service.tx() as session:
        cs = service.load(session, checkout_id, utcnow())
        if cs.status != "complete_in_progress":
            return
        attempt = open_attempt(session, cs.id)
        if attempt is None or service.payments is None:
            raise payment_in_progress()
        attempt_id = attempt.id
    state = settle_attempt(service, attempt_id, by_agent=True)
    if state in OPEN_STATES or state == "busy":
        raise payment_in_progress()


def refund_attempt(service: CheckoutCore, attempt_id: str) -> bool:
    """Refund a charge nobody wants (``refund_pending``), once; True when refunded now."""
    if service.payments is None:
        return False
    if not claim(service.db, attempt_id, service.payment_lease, states=("refund_pending",)):
        return False
    with service.db.session() as session:
        attempt = session.get(PaymentAttempt, attempt_id)
        assert attempt is not None
        payment_intent, key = attempt.payment_intent_id, attempt.idempotency_key
    try:
        refund_id = service.payments.refund(str(payment_intent), idempotency_key=f"{key}:refund")
    except PaymentError as exc:  # unknown or refused: stays refund_pending for the reconciler
        with service.db.session() as session:
            attempt = session.get(PaymentAttempt, attempt_id)
            if attempt is not None:
                attempt.lease_until = None
                attempt.last_error = f"refund: {exc}"
        return False
    with service.db.session() as session:
        attempt = session.get(PaymentAttempt, attempt_id)
        if attempt is not None:
            attempt.state = "refunded"
            attempt.refund_id = refund_id
            attempt.lease_until = None
    return True


def after_order(service: CheckoutCore, placed: OrderPlaced) -> None:
    """Once the order is committed: order hooks (Shopify write-back), webhook wake-up."""
    external = run_order_hooks(service.order_hooks, placed)
    if external and placed.kind == "created":
        with service.db.session() as session:
            order = session.get(Order, placed.order_id)
            if order is not None and not order.external_order_id:
                order.external_order_id = external
    if service.on_order_event is not None:
        service.on_order_event()
