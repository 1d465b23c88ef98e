"""Payment attempts: written before Stripe is called, claimed before Stripe is asked, and
settled only by what Stripe answers.

A session has at most one attempt whose outcome is not known (``pending`` or ``unknown``).
Each attempt has its own random idempotency key and stores the exact parameters it sent,
so whoever resolves it — the agent's retry, an update or cancel, or the reconciler — asks
Stripe the same question: the PaymentIntent by id, else by the attempt's metadata, else
the same request re-sent with the same key (Stripe answers with the first result or, if the
first never arrived, runs it now). An outcome is never guessed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connectors.stripe import (
    ChargeResult,
    NoSuchCredential,
    PaymentDeclined,
    PaymentError,
    PaymentUnavailable,
    StripePayments,
)
from reelcart.db import Database
from reelcart.models import PaymentAttempt, utcnow

__all__ = [
    "LEGACY_KEY_PREFIX",
    "NO_SUCH_CREDENTIAL",
    "OPEN_STATES",
    "REFUSED",
    "AttemptCall",
    "Outcome",
    "ask_stripe",
    "claim",
    "first_charge",
    "new_attempt",
    "open_attempt",
]

# States whose outcome is not known: the session may not change until Stripe is asked.
OPEN_STATES = ("pending", "unknown")
METADATA_KEY = "payment_attempt_id"
# A failure that is no decline: Stripe refused the request itself (a configuration problem).
REFUSED = "refused: "
# Stripe has no such payment method or token: the request named a credential that isn't.
NO_SUCH_CREDENTIAL = "no such credential: "
# Keys of the payments made before attempts existed: ``reelcart:<session>:pay:<digest>``.
LEGACY_KEY_PREFIX = "reelcart:"


@dataclass(frozen=True)
class AttemptCall:
    """What an attempt sends to Stripe, detached from any database session."""

    id: str
    checkout_session_id: str
    idempotency_key: str
    amount: int
    currency: str
    payment_method_id: str | None
    shared_payment_token: str | None
    payment_intent_id: str | None

    @classmethod
    def of(cls, attempt: PaymentAttempt) -> AttemptCall:
        return cls(
            attempt.id,
            attempt.checkout_session_id,
            attempt.idempotency_key,
            int(attempt.amount),
            attempt.currency,
            attempt.payment_method_id,
            attempt.shared_payment_token,
            attempt.payment_intent_id,
        )


@dataclass(frozen=True)
class Outcome:
    """What Stripe said: ``succeeded``, ``failed``, ``requires_action`` or ``unknown``."""

    state: str
    payment_intent_id: str | None = None
    detail: str | None = None


def new_attempt(
    session: Session,
    checkout_id: str,
    *,
    amount: int,
    currency: str,
    credential: str,
    payment_method_id: str | None,
    shared_payment_token: str | None,
    now: datetime,
    lease: timedelta,
) -> PaymentAttempt:
    """Write the attempt (``pending``, claimed by the caller) before anything is sent."""
    attempt = PaymentAttempt(
        checkout_session_id=checkout_id,
        state="pending",
        idempotency_key=f"reelcart-pay-{secrets.token_urlsafe(24)}",
        amount=amount,
        currency=currency.lower(),
        credential=credential,
        payment_method_id=payment_method_id,
        shared_payment_token=shared_payment_token,
        lease_until=now + lease,
        created_at=now,
        updated_at=now,
    )
    session.add(attempt)
    session.flush()
    return attempt


def open_attempt(session: Session, checkout_id: str) -> PaymentAttempt | None:
    """The session's attempt whose outcome is not known yet, if any."""
    return session.scalars(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.checkout_session_id == checkout_id,
            PaymentAttempt.state.in_(OPEN_STATES),
        )
        .order_by(PaymentAttempt.created_at.desc())
        .limit(1)
    ).first()


def claim(
    target: Session | Database,
    attempt_id: str,
    lease: timedelta,
    *,
    states: tuple[str, ...] = OPEN_STATES,
    now: datetime | None = None,
) -> bool:
    """Take the right to ask Stripe about an attempt, if nobody holds it (a conditional UPDATE:
    correct across processes on PostgreSQL and SQLite alike)."""
    now = now or utcnow()
    statement = (
        update(PaymentAttempt)
        .where(
            PaymentAttempt.id == attempt_id,
            PaymentAttempt.state.in_(states),
            or_(PaymentAttempt.lease_until.is_(None), PaymentAttempt.lease_until <= now),
        )
        .values(lease_until=now + lease, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if isinstance(target, Session):
        return bool(target.execute(statement).rowcount)  # type: ignore[attr-defined]
    with target.session() as session:
        return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _from_result(result: ChargeResult) -> Outcome:
    if result.status in ("succeeded", "requires_capture"):
        return Outcome("succeeded", result.payment_intent_id)
    if result.status == "requires_action":
        return Outcome("requires_action", result.payment_intent_id)
    if result.status in ("requires_payment_method", "canceled"):
        return Outcome("failed", result.payment_intent_id, result.status)
    # processing / requires_confirmation: Stripe has not decided yet.
    return Outcome("unknown", result.payment_intent_id, result.status)


def first_charge(payments: StripePayments, call: AttemptCall) -> Outcome:
    """Send the attempt's PaymentIntent (create + confirm) with its key."""
    try:
        result = payments.charge(
            amount=call.amount,
            currency=call.currency,
            idempotency_key=call.idempotency_key,
            payment_method=call.payment_method_id,
            shared_payment_token=call.shared_payment_token,
            metadata={"checkout_session_id": call.checkout_session_id, METADATA_KEY: call.id},
        )
    except PaymentDeclined as exc:
        return Outcome("failed", None, exc.code)
    except PaymentUnavailable as exc:
        return Outcome("unknown", None, str(exc))
    except NoSuchCredential as exc:  # nothing was charged: there is nothing to charge
        return Outcome("failed", None, f"{NO_SUCH_CREDENTIAL}{exc}")
    except PaymentError as exc:  # Stripe refused the request outright: nothing was charged
        return Outcome("failed", None, f"{REFUSED}{exc}")
    return _from_result(result)


def _made_by(call: AttemptCall, metadata: dict[str, str]) -> bool:
    """Whether a PaymentIntent of the session was sent by this attempt. Attempts adopted from
    before attempts existed (their keys start ``reelcart:``) sent no attempt id."""
    if METADATA_KEY in metadata:
        return metadata[METADATA_KEY] == call.id
    return call.idempotency_key.startswith(LEGACY_KEY_PREFIX)


def ask_stripe(payments: StripePayments, call: AttemptCall) -> Outcome:
    """Find out what became of an attempt: by PaymentIntent id, by metadata, or by re-sending
    the identical request with the same idempotency key."""
    try:
        if call.payment_intent_id:
            return _from_result(payments.retrieve(call.payment_intent_id))
        found = [
            result
            for result in payments.find_by_metadata("checkout_session_id", call.checkout_session_id)
            if _made_by(call, result.metadata)
        ]
    except PaymentError as exc:
        return Outcome("unknown", call.payment_intent_id, str(exc))
    if found:
        decided = [_from_result(result) for result in found]
        return next((o for o in decided if o.state == "succeeded"), decided[0])
    return first_charge(payments, call)
