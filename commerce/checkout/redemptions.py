"""Discount codes used by orders placed here count toward the codes' usage limits.

A checkout that starts paying redeems the codes its quote applied: one
``discount_redemptions`` row per code and checkout, written in the same transaction that
starts the payment, under a lock on the code's row, after counting the uses so far — so
of two checkouts racing for a code's last use, one gets it and the other is refused
before any money moves. A use counts while its checkout is being paid or is paid; a
declined payment (the checkout is open again) or a refund (canceled) gives it back, with
nothing to undo. The quote counts the same uses (:func:`uses_here`), so a used-up code is
rejected from then on.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commerce.pricing.rules import uses_here
from reelcart.models import CheckoutSession, DiscountCode, DiscountRedemption, new_id, utcnow

__all__ = ["applied_ids", "redeem"]


def applied_ids(cs: CheckoutSession) -> list[str]:
    """The discount codes (row ids) the checkout's last quote applied."""
    return [str(i) for i in cs.extra.get("discount_ids") or []]


def _lock_codes(session: Session, code_ids: list[str]) -> None:
    """Lock the codes' rows until the transaction ends (sorted: no deadlocks)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(DiscountCode.id)
            .where(DiscountCode.id.in_(code_ids))
            .order_by(DiscountCode.id)
            .with_for_update()
        )
    else:  # a no-op write takes SQLite's writer lock now, before anything is counted
        session.execute(
            update(DiscountCode)
            .where(DiscountCode.id.in_(code_ids))
            .values(times_used=DiscountCode.times_used)
        )


def redeem(session: Session, cs: CheckoutSession) -> str | None:
    """Redeem the checkout's applied codes, all or none; the code refused, if one is."""
    code_ids = sorted(set(applied_ids(cs)))
    if not code_ids:
        return None
    _lock_codes(session, code_ids)
    mine = set(
        session.scalars(
            select(DiscountRedemption.discount_code_id).where(
                DiscountRedemption.checkout_session_id == cs.id
            )
        )
    )
    used = uses_here(session, code_ids)
    for code in session.scalars(select(DiscountCode).where(DiscountCode.id.in_(code_ids))):
        if code.usage_limit is None or code.id in mine:
            continue
        if code.times_used + used.get(code.id, 0) >= code.usage_limit:
            return code.code
    for code_id in code_ids:
        if code_id not in mine:
            session.add(
                DiscountRedemption(
                    id=new_id("red"),
                    discount_code_id=code_id,
                    checkout_session_id=cs.id,
                    created_at=utcnow(),
                )
            )
    session.flush()
    return None
