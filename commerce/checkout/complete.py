"""Completing a checkout session: the part that moves money.

The Stripe call happens between two short transactions, never while rows are locked:

1. lock the session, check it can be paid and which credential pays, write a payment
   attempt (``pending``, its own random idempotency key) and mark the session
   ``complete_in_progress``; its stock stays held through the payment;
2. send the PaymentIntent with the attempt's key; an answer lost on the way (timeout,
   dropped connection, 5xx) is asked of Stripe at once (:func:`checkout_attempts.ask_stripe`);
3. apply the outcome (:mod:`checkout_settle`): the order, or the session back to
   ``ready_for_payment`` with the reason — or, while the outcome is still unknown, the
   session stays ``complete_in_progress`` and every request about it is answered 503
   ``payment_in_progress`` with ``Retry-After`` until a retry or the reconciler learns it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from reelcart.models import CheckoutSession, PaymentAttempt, utcnow

from . import inventory, redemptions
from .acp_requests import CompleteRequest
from .attempts import (
    NO_SUCH_CREDENTIAL,
    OPEN_STATES,
    REFUSED,
    AttemptCall,
    ask_stripe,
    claim,
    first_charge,
    new_attempt,
    open_attempt,
)
from .attribution import merge_attribution
from .core import CheckoutCore, parse
from .errors import PAYMENTS_NOT_CONFIGURED, CheckoutError, payment_in_progress
from .payments import plan_payment, total_minor
from .settle import UNKNOWN_HOLD, apply_outcome, declined_message

__all__ = ["complete_session"]

PAYMENT_WINDOW = timedelta(minutes=10)
_AUTH_OK = ("authenticated", "attempt_acknowledged", "informational")


def _decline(message: str) -> CheckoutError:
    return CheckoutError(402, "payment_declined", message, param="$.payment_data")


def _not_ready(cs: CheckoutSession) -> CheckoutError:
    first = next((m for m in cs.messages if m.get("type") == "error"), None)
    code = first["code"] if first and first["code"] == "out_of_stock" else "not_ready_for_payment"
    return CheckoutError(
        400,
        code,
        first["content"] if first else "the session is not ready for payment",
        param=first.get("param") if first else None,
    )


def _after_3ds(
    service: CheckoutCore, session: Any, cs: CheckoutSession, request: CompleteRequest
) -> AttemptCall | None:
    """The buyer went through 3-D Secure: ask Stripe where the PaymentIntent stands
    (None when the buyer failed authentication: the attempt is over)."""
    auth = request.authentication_result
    if auth is None:
        raise CheckoutError(
            400,
            "requires_3ds",
            "This checkout session requires issuer authentication. The request must include"
            " 'authentication_result' as provided by the issuer authentication flow.",
            param="$.authentication_result",
        )
    attempt = session.scalars(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.checkout_session_id == cs.id,
            PaymentAttempt.state == "requires_action",
        )
        .order_by(PaymentAttempt.created_at.desc())
    ).first()
    if attempt is None:
        raise CheckoutError(400, "invalid_state", "no payment is waiting for authentication")
    if auth.outcome not in _AUTH_OK:
        attempt.state = "failed"
        attempt.last_error = f"authentication {auth.outcome}"
        cs.status = "ready_for_payment"
        cs.payment = {**(cs.payment or {}), "payment_intent": None}
        cs.messages = [m for m in cs.messages if m.get("code") != "payment_declined"] + [
            declined_message("Card authentication failed.")
        ]
        return None
    attempt.state = "pending"
    attempt.lease_until = utcnow() + service.payment_lease
    cs.status = "complete_in_progress"
    session.flush()
    return AttemptCall.of(attempt)


def _prepare(
    service: CheckoutCore,
    checkout_id: str,
    request: CompleteRequest,
    request_key: str | None = None,
) -> tuple[str, AttemptCall | None]:
    """Transaction 1: a new attempt to send (``charge``), an open one to ask about
    (``ask``, claimed; ``peek``, another worker's claim), or the agent's own request again
    after its payment became the order (``completed``)."""
    now = utcnow()
    with service.tx() as session:
        cs = service.load(session, checkout_id, now)
        if service.payments is None:
            raise CheckoutError(
                503,
                "payments_not_configured",
                PAYMENTS_NOT_CONFIGURED,
                type="service_unavailable",
            )
        if cs.status == "complete_in_progress":
            attempt = open_attempt(session, cs.id)
            if attempt is None:
                raise payment_in_progress()
            if not claim(session, attempt.id, service.payment_lease, now=now):
                # Another worker holds the claim, or held it and died: Stripe is asked all
                # the same (asking never charges twice), so the outcome is known as soon as
                # Stripe knows it, not once a lease runs out.
                return "peek", AttemptCall.of(attempt)
            session.refresh(attempt)
            return "ask", AttemptCall.of(attempt)
        if cs.status == "completed":
            if request_key and (cs.payment or {}).get("request_key") == request_key:
                return "completed", None  # this very request paid: answer the order
            raise CheckoutError(400, "invalid_state", "the session is already completed")
        if cs.status in ("canceled", "expired"):
            raise CheckoutError(400, "invalid_state", f"the session is {cs.status}")
        if request.buyer is not None:
            cs.buyer = request.buyer.model_dump(exclude_none=True)
        if request.affiliate_attribution is not None:
            # The last touch: the order is attributed with what the agent says now.
            attribution = merge_attribution(
                cs.extra.get("attribution"), None, request.affiliate_attribution
            )
            cs.extra = {**cs.extra, "attribution": attribution}
            cs.subject = attribution.get("shopper_id", cs.subject)
        if cs.status == "authentication_required":
            call = _after_3ds(service, session, cs, request)
            if call is None:
                return "authentication_failed", None
            return "ask", call
        if cs.status != "ready_for_payment":
            raise _not_ready(cs)
        # The stock was held for a while only (holds scale with how far a checkout got):
        # taken again now for the payment, if it is still free.
        if inventory.renew(session, cs.id, now=now, until=now + UNKNOWN_HOLD):
            raise CheckoutError(
                400,
                "out_of_stock",
                "The stock held for this checkout was released and is no longer available.",
                param="$.line_items",
            )
        used_up = redemptions.redeem(session, cs)
        if used_up is not None:
            raise CheckoutError(
                400,
                "discount_code_usage_limit_reached",
                f"Code {used_up!r} has been used up; update the checkout without it.",
                param="$.discounts",
            )
        plan = plan_payment(session, cs, request, service.settings, now)
        amount = total_minor(cs)
        attempt = new_attempt(
            session,
            cs.id,
            amount=amount,
            currency=cs.currency,
            credential=plan.token,
            payment_method_id=plan.payment_method,
            shared_payment_token=plan.shared_payment_token,
            now=now,
            lease=service.payment_lease,
        )
        # Should the issuer ask for 3-D Secure, the buyer gets time to answer.
        cs.expires_at = max(cs.expires_at or now, now + PAYMENT_WINDOW)
        cs.payment = {
            **(cs.payment or {}),
            "token": plan.token,
            "attempt": attempt.id,
            "request_key": request_key,
        }
        cs.status = "complete_in_progress"
        return "charge", AttemptCall.of(attempt)


def complete_session(
    service: CheckoutCore, checkout_id: str, body: Any, request_key: str | None = None
) -> dict[str, Any]:
    """``POST /checkout_sessions/{id}/complete`` (``request_key``: the agent's idempotency
    key, which names its request across a crash)."""
    request = parse(CompleteRequest, body)
    action, call = _prepare(service, checkout_id, request, request_key)
    if action == "completed":
        with service.db.session() as session:
            cs = service.load(session, checkout_id, utcnow())
            return service.view(session, cs)
    payments = service.payments
    if call is None:
        raise CheckoutError(
            402, "payment_declined", "card authentication failed", param="$.authentication_result"
        )
    assert payments is not None
    if action == "charge":
        outcome = first_charge(payments, call)
        if outcome.state == "unknown":
            # The answer was lost; Stripe may well have charged. Ask before saying anything.
            outcome = ask_stripe(payments, call)
    else:
        outcome = ask_stripe(payments, call)
        if action == "peek" and outcome.state == "unknown":
            raise payment_in_progress()
    applied = apply_outcome(service, call, outcome, by_agent=True)
    if applied.view["status"] == "completed":
        return applied.view
    if applied.state in OPEN_STATES:
        raise payment_in_progress()
    if applied.state == "requires_action":
        raise CheckoutError(
            402,
            "authentication_required",
            "The card issuer requires 3-D Secure authentication; authenticate the buyer and "
            "complete again with authentication_result.",
            param="$.authentication_result",
        )
    if applied.detail and applied.detail.startswith(NO_SUCH_CREDENTIAL):
        raise CheckoutError(
            400,
            "invalid",
            "the payment token does not exist",
            param="$.payment_data.instrument.credential.token",
        )
    if applied.detail and applied.detail.startswith(REFUSED):
        raise CheckoutError(
            502,
            "payment_failed",
            f"the payment provider refused the request: {applied.detail.removeprefix(REFUSED)}",
            type="processing_error",
        )
    raise _decline(f"the payment was declined ({applied.detail or 'card_declined'})")
