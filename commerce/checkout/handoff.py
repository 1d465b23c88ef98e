"""The buyer handoff: a checkout paid on the store's page through Stripe Checkout.

Any assistant can hand the shopper the checkout's ``continue_url``; the page's Pay button
calls :func:`start_hosted_payment`, which writes a payment attempt (``awaiting_buyer``)
before it asks Stripe for a Checkout Session of the store's own total, carrying the
checkout id, the shopper and the creative they were shown. The stock stays held while the
buyer can still pay.

Whoever learns that Stripe took the money — the signed ``checkout.session.completed``
webhook, the buyer's return to the page, an agent polling the checkout, or the reconciler
when the webhook was lost — calls :func:`settle_hosted`. Under the session's row lock an
attempt still ``awaiting_buyer`` is settled once: the order when the checkout still wants
this exact amount, otherwise (it was paid already, canceled, expired or changed) a refund.
A duplicate notice finds the attempt settled and changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from connectors.stripe import HostedCheckout, PaymentError, PaymentUnavailable
from reelcart.models import Order, PaymentAttempt, utcnow

from . import inventory
from .attempts import AttemptCall, Outcome
from .core import OPEN_STATUSES, CheckoutCore
from .errors import PAYMENTS_NOT_CONFIGURED, CheckoutError
from .orders import attributed_creative, quoted_creative
from .payments import total_minor
from .settle import apply_outcome, refund_attempt

__all__ = [
    "AWAITING_BUYER",
    "HOSTED_WINDOW",
    "PAYABLE_ON_PAGE",
    "HostedStart",
    "close_hosted",
    "refresh_hosted",
    "settle_hosted",
    "settle_hosted_due",
    "start_hosted_payment",
]

log = logging.getLogger(__name__)

# What the buyer can pay on the store's page: a checkout ready for payment, and one whose
# card needed authentication the API could not give (UCP's requires_escalation hands it here).
PAYABLE_ON_PAGE = ("ready_for_payment", "authentication_required")

AWAITING_BUYER = "awaiting_buyer"
# Stripe's shortest Checkout Session lifetime; the stock stays held a little longer.
HOSTED_WINDOW = timedelta(minutes=30)
_HOLD_SLACK = timedelta(minutes=5)
_NOT_OPENED = "stripe_checkout"


@dataclass(frozen=True)
class HostedStart:
    """Where to send the buyer, and which attempt waits for them."""

    url: str
    attempt_id: str
    stripe_session_id: str


def start_hosted_payment(
    service: CheckoutCore, checkout_id: str, *, success_url: str, cancel_url: str
) -> HostedStart:
    """Open a Stripe Checkout Session for the checkout's total; raise when it cannot be paid."""
    payments = service.payments
    if payments is None:
        raise CheckoutError(
            503, "payments_not_configured", PAYMENTS_NOT_CONFIGURED, type="service_unavailable"
        )
    now = utcnow()
    with service.tx() as session:
        cs = service.load(session, checkout_id, now)
        if cs.status not in PAYABLE_ON_PAGE:
            problems = [m["content"] for m in cs.messages if m.get("type") == "error"]
            reason = "; ".join(problems) or f"the checkout is {cs.status.replace('_', ' ')}"
            raise CheckoutError(400, "not_ready_for_payment", reason)
        amount = total_minor(cs)
        product_id = cs.line_items[0]["product_id"] if cs.line_items else ""
        creative = attributed_creative(session, cs.subject, product_id, quoted_creative(cs))
        metadata = {"checkout_session_id": cs.id, "shopper_id": cs.subject or ""}
        if creative:
            metadata["creative_id"] = creative
        names = ", ".join(f"{li['name']} × {li['quantity']}" for li in cs.line_items)
        attempt = PaymentAttempt(
            checkout_session_id=cs.id,
            state=AWAITING_BUYER,
            idempotency_key=f"reelcart-hosted-{secrets.token_urlsafe(24)}",
            amount=amount,
            currency=cs.currency.lower(),
            credential=_NOT_OPENED,  # the session id, once Stripe has answered
            created_at=now,
            updated_at=now,
        )
        session.add(attempt)
        session.flush()
        attempt_id, key, currency = attempt.id, attempt.idempotency_key, cs.currency
        # The buyer may pay until the Stripe session closes: keep the stock held till then.
        until = now + HOSTED_WINDOW + _HOLD_SLACK
        cs.expires_at = max(cs.expires_at or now, until)
        inventory.hold_until(session, cs.id, until)
    try:
        hosted = payments.open_checkout(
            amount=amount,
            currency=currency,
            description=names[:250] or "Order",
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=now + HOSTED_WINDOW + timedelta(seconds=5),
            metadata=metadata,
            idempotency_key=key,
        )
    except PaymentError as exc:
        with service.db.session() as session:
            failed = session.get(PaymentAttempt, attempt_id)
            if failed is not None:
                failed.state, failed.last_error = "failed", f"checkout session: {exc}"
        status = 503 if isinstance(exc, PaymentUnavailable) else 502
        raise CheckoutError(
            status,
            "payment_provider_unavailable",
            "The payment page could not be opened; try again in a moment.",
            type="service_unavailable",
        ) from None
    with service.db.session() as session:
        opened = session.get(PaymentAttempt, attempt_id)
        assert opened is not None
        opened.credential = hosted.id
    return HostedStart(str(hosted.url), attempt_id, hosted.id)


def settle_hosted(service: CheckoutCore, hosted: HostedCheckout) -> str:
    """Apply what Stripe says of a Checkout Session once; returns the attempt's state
    (``unknown_session`` for a session this store did not open)."""
    now = utcnow()
    paid = hosted.status == "complete" and hosted.payment_status == "paid"
    with service.tx() as session:
        attempt = session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.credential == hosted.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if attempt is None:
            return "unknown_session"
        if attempt.state != AWAITING_BUYER:
            return attempt.state  # settled before: a duplicate changes nothing
        if not paid:
            if hosted.status == "expired":
                attempt.state, attempt.last_error = "failed", "checkout session expired"
                attempt.resolved_at = now
            return attempt.state
        attempt.payment_intent_id = hosted.payment_intent_id
        cs = service.load(session, attempt.checkout_session_id, now)
        order = session.scalar(select(Order.id).where(Order.checkout_session_id == cs.id))
        wanted = (
            cs.status in OPEN_STATUSES
            and cs.status in PAYABLE_ON_PAGE
            and order is None
            and hosted.amount_total == attempt.amount == total_minor(cs)
            and hosted.currency.lower() == cs.currency.lower()
        )
        if wanted:
            attempt.state = "pending"
            # Claimed: the reconciler leaves a pending attempt alone while its lease runs.
            attempt.lease_until = now + service.payment_lease
            cs.status = "complete_in_progress"
            cs.payment = {**(cs.payment or {}), "checkout_session": hosted.id}
        else:
            attempt.state = "refund_pending"
        call = AttemptCall.of(attempt)
    if call is not None and wanted:
        outcome = Outcome("succeeded", hosted.payment_intent_id)
        return apply_outcome(service, call, outcome, by_agent=False).state
    return "refunded" if refund_attempt(service, call.id) else "refund_pending"


def _awaiting(service: CheckoutCore, checkout_id: str | None, limit: int) -> list[str]:
    with service.db.session() as session:
        query = select(PaymentAttempt.credential).where(
            PaymentAttempt.state == AWAITING_BUYER,
            # An attempt whose Stripe session was never created has nothing to ask about.
            PaymentAttempt.credential != _NOT_OPENED,
        )
        if checkout_id is not None:
            query = query.where(PaymentAttempt.checkout_session_id == checkout_id)
        return list(session.scalars(query.order_by(PaymentAttempt.created_at).limit(limit)))


def refresh_hosted(service: CheckoutCore, checkout_id: str) -> None:
    """Ask Stripe about the checkout's open payment pages (an agent polling, the buyer back
    on the page): a payment whose webhook is late or lost is found here."""
    if service.payments is None:
        return
    for stripe_id in _awaiting(service, checkout_id, 5):
        try:
            settle_hosted(service, service.payments.checkout(stripe_id))
        except PaymentError:
            log.warning("checkout session could not be read from Stripe; the reconciler will")


def settle_hosted_due(service: CheckoutCore, *, limit: int = 500) -> int:
    """The reconciler's part: every payment page still awaiting its buyer, asked of Stripe."""
    if service.payments is None:
        return 0
    settled = 0
    for stripe_id in _awaiting(service, None, limit):
        try:
            state = settle_hosted(service, service.payments.checkout(stripe_id))
        except PaymentError:
            continue
        settled += int(state != AWAITING_BUYER)
    return settled


def close_hosted(service: CheckoutCore, checkout_id: str) -> None:
    """A checkout that ended (canceled, expired) closes its open payment pages at Stripe; a
    page paid meanwhile is settled (refunded) instead."""
    if service.payments is None:
        return
    for stripe_id in _awaiting(service, checkout_id, 20):
        try:
            hosted = service.payments.expire_checkout(stripe_id)
        except PaymentError:
            try:
                hosted = service.payments.checkout(stripe_id)
            except PaymentError:
                continue
        settle_hosted(service, hosted)
