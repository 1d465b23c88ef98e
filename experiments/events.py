"""Recording what shoppers did, once per event however often it is reported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelcart.domain import EventKind
from reelcart.models import Event, utcnow

__all__ = ["record_event"]


def record_event(
    session: Session,
    kind: EventKind,
    dedupe_key: str,
    *,
    creative_id: str | None = None,
    product_id: str | None = None,
    subject: str | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[Event, bool]:
    """Insert an event unless one with the same ``dedupe_key`` exists.

    Returns ``(event, created)``. Safe under concurrent writers: the unique constraint
    decides, inside a savepoint so the caller's transaction survives a duplicate.
    """
    existing = session.scalars(select(Event).where(Event.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing, False
    event = Event(
        kind=kind.value,
        dedupe_key=dedupe_key,
        creative_id=creative_id,
        product_id=product_id,
        subject=subject,
        amount_minor=amount_minor,
        currency=currency,
        occurred_at=occurred_at or utcnow(),
        data=data or {},
    )
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        winner = session.scalars(select(Event).where(Event.dedupe_key == dedupe_key)).one()
        return winner, False
    return event, True
