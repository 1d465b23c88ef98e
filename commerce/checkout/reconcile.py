"""The payment reconciler: no charge is left without an order or a refund.

One pass asks Stripe about every payment attempt whose outcome is not known and whose claim
has lapsed (its worker crashed, the database went away, the reply was lost), and settles it
the way the agent's own retry would: the order for a charge that succeeded, the stock back
on sale for one that did not. A charge the session no longer wants (3-D Secure completed
after the session was canceled or expired, a second charge for a paid session) is refunded.

Safe on many workers at once: an attempt is claimed (a conditional UPDATE with a lease)
before Stripe is asked, and an outcome is applied under the session's row lock to an attempt
that is still open (:func:`commerce.checkout.settle.apply_outcome`). Idempotent: a second
pass finds nothing to do. It runs on a schedule (the ``reconcile_payments`` Prefect flow) and
when the server starts.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_, select, update

from reelcart.models import CheckoutSession, DelegatedPaymentToken, PaymentAttempt, utcnow

from .attempts import OPEN_STATES
from .handoff import settle_hosted_due
from .payments import total_minor
from .settle import refund_attempt, settle_attempt

if TYPE_CHECKING:
    from .service import CheckoutService

__all__ = ["ReconcileReport", "reconcile_in_background", "reconcile_payments"]

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """What one pass did: attempts settled by resulting state, refunds, sessions expired."""

    settled: Counter[str] = field(default_factory=Counter)
    refunded: int = 0
    expired: int = 0

    def as_dict(self) -> dict[str, int]:
        return {**dict(self.settled), "refunded": self.refunded, "expired": self.expired}


def _reopen_abandoned_authentications(service: CheckoutService) -> None:
    """A 3-D Secure charge of a session that ended may still succeed: find out what it did."""
    ended = select(CheckoutSession.id).where(CheckoutSession.status.in_(("canceled", "expired")))
    with service.db.session() as session:
        session.execute(
            update(PaymentAttempt)
            .where(
                PaymentAttempt.state == "requires_action",
                PaymentAttempt.checkout_session_id.in_(ended),
            )
            .values(state="unknown")
            .execution_options(synchronize_session=False)
        )


def _adopt_legacy_payments(service: CheckoutService) -> int:
    """Sessions the checkout left ``complete_in_progress`` before payment attempts existed:
    their payment becomes an attempt of unknown outcome, with the key it was sent with (and
    its PaymentIntent when known), once that checkout's own lease has run out."""
    now = utcnow()
    adopted = 0
    with service.tx() as session:
        stuck = session.scalars(
            select(CheckoutSession)
            .where(
                CheckoutSession.status == "complete_in_progress",
                ~exists().where(PaymentAttempt.checkout_session_id == CheckoutSession.id),
            )
            .with_for_update()
        ).all()
        for cs in stuck:
            payment = cs.payment or {}
            key, token = payment.get("stripe_idempotency_key"), payment.get("token")
            lease = payment.get("lease_until")
            if not key or not token or (lease and datetime.fromisoformat(lease) > now):
                continue
            vault = session.get(DelegatedPaymentToken, token)
            session.add(
                PaymentAttempt(
                    checkout_session_id=cs.id,
                    state="unknown",
                    idempotency_key=key,
                    amount=total_minor(cs),
                    currency=cs.currency.lower(),
                    credential=token,
                    payment_method_id=vault.payment_method_id if vault else None,
                    shared_payment_token=token if token.startswith("spt_") else None,
                    payment_intent_id=payment.get("payment_intent"),
                    created_at=now,
                    updated_at=now,
                )
            )
            adopted += 1
    return adopted


def _due(
    service: CheckoutService, states: tuple[str, ...], limit: int, *, leased: bool = False
) -> list[str]:
    now = utcnow()
    query = select(PaymentAttempt.id).where(PaymentAttempt.state.in_(states))
    if not leased:
        query = query.where(
            or_(PaymentAttempt.lease_until.is_(None), PaymentAttempt.lease_until <= now)
        )
    with service.db.session() as session:
        return list(session.scalars(query.order_by(PaymentAttempt.created_at).limit(limit)))


def reconcile_payments(
    service: CheckoutService, *, limit: int = 500, peek: bool = False
) -> ReconcileReport:
    """One reconciliation pass over the checkout's database; returns what it did.

    ``peek`` (at start-up): also ask Stripe about attempts another worker still holds —
    after a crash, the dead process's claims — and apply what Stripe has decided, rather
    than wait for their leases to run out (see :func:`settle_attempt`)."""
    report = ReconcileReport()
    report.expired = service.expire_due()
    if service.payments is None:
        return report
    _adopt_legacy_payments(service)
    _reopen_abandoned_authentications(service)
    for attempt_id in _due(service, OPEN_STATES, limit, leased=peek):
        report.settled[settle_attempt(service, attempt_id, by_agent=False, peek=peek)] += 1
    # Payments made on the store's page whose webhook was lost (or not yet sent).
    if hosted := settle_hosted_due(service, limit=limit):
        report.settled["hosted"] += hosted
    for attempt_id in _due(service, ("refund_pending",), limit):
        report.refunded += int(refund_attempt(service, attempt_id))
    return report


def reconcile_in_background(
    service: CheckoutService, *, catch_up: Sequence[Callable[[], object]] = ()
) -> threading.Thread:
    """At server start-up: one pass now, and one more once the claims of a process that died
    just before (a crash, a kill) have lapsed. ``catch_up`` is what the composition root
    registers beside it (the order write-backs a crash left, for one); each runs after every
    pass. Runs on a daemon thread; errors are logged."""

    def run() -> None:
        for delay in (0.0, service.payment_lease.total_seconds() + 1.0):
            if delay:
                threading.Event().wait(delay)
            try:
                # The first pass settles at once what Stripe has decided, held or not.
                report = reconcile_payments(service, peek=not delay)
                if any(report.as_dict().values()):
                    log.info("payments reconciled at start-up: %s", report.as_dict())
                for step in catch_up:
                    step()
            except Exception:  # the server must start even when Stripe or the database hiccup
                log.exception("start-up payment reconciliation failed")
        if service.on_order_event is not None:
            service.on_order_event()

    thread = threading.Thread(target=run, name="reconcile-payments", daemon=True)
    thread.start()
    return thread
