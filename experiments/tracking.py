"""Event ingestion rules: validation, deduplication, attribution, late and out-of-order events.

The rules, in one place:

- **Dedupe**: an event is stored once per dedupe key. Ingested events are keyed by their
  source and the sender's id (retries and replays collapse); impressions and clicks are
  keyed by (subject, creative) so a shopper counts once per creative, wherever the event
  came from (``get_product``, a feed pixel, the click redirect).
- **Attribution**: an event names its creative (the agent quotes ``creative_id`` at
  checkout; a Shopify order carries it in a note attribute). One that does not, but names
  a subject and a product, is attributed to the creative that subject was shown for that
  product within ``ATTRIBUTION_WINDOW`` before it.
- **Late and out of order**: metrics are computed from the stored events when a campaign is
  evaluated, never incrementally, so arrival order does not matter. Events up to
  ``LATE_TOLERANCE`` old are accepted; a purchase that arrives before its impression is kept
  unattributed and ``attribute_pending`` attributes it once the impression is in. Events
  from more than ``CLOCK_SKEW`` in the future are refused.
- **Public trackers count only what the app signed**: the click redirect and the pixel are
  open to anyone, so a hit counts only when its link carries an unexpired HMAC over
  (creative, shopper, expiry) made by :func:`tracking_links`. Anything else (no shopper, a
  made-up shopper, a link for another creative, an expired one) is served but not counted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelcart.domain import EventKind
from reelcart.models import Creative, Event, utcnow
from reelcart.signing import sign, verify
from reelcart.storable import bad_string

from .events import record_event

__all__ = [
    "ATTRIBUTION_WINDOW",
    "CLOCK_SKEW",
    "LATE_TOLERANCE",
    "EventRejected",
    "TrackedEvent",
    "TrackingLinks",
    "attribute_pending",
    "exposure_key",
    "find_exposure",
    "ingest_event",
    "record_click",
    "record_exposure",
    "tracking_links",
    "verified_shopper",
]

ATTRIBUTION_WINDOW = timedelta(days=7)
LATE_TOLERANCE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)


def _storable(value: str) -> str:
    if problem := bad_string(value):
        raise ValueError(problem)
    return value


Ident = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(_storable),
]


class EventRejected(ValueError):
    """An event that breaks an ingestion rule; the message says which."""


class TrackedEvent(BaseModel):
    """An event reported by a client (ingestion endpoint) or a webhook adapter."""

    model_config = ConfigDict(extra="forbid")

    event_id: Ident = Field(description="Sender's id; the same id again is the same event.")
    kind: EventKind
    creative_id: Ident | None = None
    product_id: (
        Annotated[str, StringConstraints(max_length=255), AfterValidator(_storable)] | None
    ) = None
    subject: Ident | None = Field(default=None, description="Shopper or agent session id.")
    amount_minor: int | None = Field(default=None, ge=0, le=10**12)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    occurred_at: datetime | None = None

    @model_validator(mode="after")
    def _money_rules(self) -> TrackedEvent:
        if self.kind == EventKind.PURCHASE and (self.amount_minor is None or not self.currency):
            raise ValueError("a purchase needs amount_minor and currency")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a timezone (use Z or +00:00)")
        return self


def exposure_key(kind: EventKind, subject: str, creative_id: str) -> str:
    """Dedupe key of an impression or click: once per shopper and creative."""
    return f"{kind.value}:{subject}:{creative_id}"


def find_exposure(
    session: Session,
    subject: str,
    product_id: str,
    occurred_at: datetime,
    creative_id: str | None = None,
) -> str | None:
    """The creative ``subject`` last saw for ``product_id`` within the window (only
    ``creative_id`` when given: was the shopper shown that one?)."""
    return session.scalars(
        select(Event.creative_id)
        .where(
            Event.kind == EventKind.IMPRESSION.value,
            Event.subject == subject,
            Event.product_id == product_id,
            Event.creative_id.is_not(None)
            if creative_id is None
            else Event.creative_id == creative_id,
            Event.occurred_at <= occurred_at + CLOCK_SKEW,
            Event.occurred_at >= occurred_at - ATTRIBUTION_WINDOW,
        )
        .order_by(Event.occurred_at.desc())
        .limit(1)
    ).first()


def ingest_event(
    session: Session, event: TrackedEvent, source: str, now: datetime | None = None
) -> tuple[Event, bool]:
    """Apply the rules above and store ``event``; returns ``(row, created)``."""
    now = now or utcnow()
    occurred = event.occurred_at or now
    if occurred > now + CLOCK_SKEW:
        raise EventRejected("occurred_at is in the future")
    if occurred < now - LATE_TOLERANCE:
        raise EventRejected(f"occurred_at is older than {LATE_TOLERANCE.days} days")
    product_id = event.product_id
    creative_id = event.creative_id
    if creative_id is not None:
        creative = session.get(Creative, creative_id)
        if creative is None:
            raise EventRejected(f"unknown creative_id {creative_id!r}")
        if product_id and product_id != creative.product_id:
            raise EventRejected("creative_id belongs to another product")
        product_id = creative.product_id
    elif event.subject and product_id:
        creative_id = find_exposure(session, event.subject, product_id, occurred)
    if event.kind in (EventKind.IMPRESSION, EventKind.CLICK) and event.subject and creative_id:
        key = exposure_key(event.kind, event.subject, creative_id)
    else:
        key = f"{event.kind.value}:{source}:{event.event_id}"
    data: dict[str, Any] = {"source": source, "event_id": event.event_id}
    return record_event(
        session,
        event.kind,
        key,
        creative_id=creative_id,
        product_id=product_id,
        subject=event.subject,
        amount_minor=event.amount_minor,
        currency=event.currency,
        occurred_at=occurred,
        data=data,
    )


def _record_exposure_kind(
    session: Session, kind: EventKind, creative: Creative, subject: str, source: str
) -> tuple[Event, bool]:
    return record_event(
        session,
        kind,
        exposure_key(kind, subject, creative.id),
        creative_id=creative.id,
        product_id=creative.product_id,
        subject=subject,
        data={"source": source},
    )


def record_exposure(
    session: Session, creative: Creative, subject: str, source: str
) -> tuple[Event, bool]:
    """An impression of ``creative`` by ``subject`` (pixel, feed, or the MCP tool)."""
    return _record_exposure_kind(session, EventKind.IMPRESSION, creative, subject, source)


def record_click(
    session: Session, creative: Creative, subject: str, source: str
) -> tuple[Event, bool]:
    """A click-through on ``creative`` by ``subject``."""
    return _record_exposure_kind(session, EventKind.CLICK, creative, subject, source)


def attribute_pending(session: Session, limit: int = 10_000) -> int:
    """Attribute events that arrived before their impression; returns how many now are.

    Unattributed events are rare (an out-of-order delivery), so this walks them one by
    one; the metrics themselves never loop over events.
    """
    pending = session.scalars(
        select(Event)
        .where(
            Event.creative_id.is_(None),
            Event.kind != EventKind.IMPRESSION.value,
            Event.subject.is_not(None),
            Event.product_id.is_not(None),
        )
        .order_by(Event.occurred_at)
        .limit(limit)
    ).all()
    done = 0
    for event in pending:
        assert event.subject is not None and event.product_id is not None
        found = find_exposure(session, event.subject, event.product_id, event.occurred_at)
        if found is not None:
            event.creative_id = found
            done += 1
    session.flush()
    return done


@dataclass(frozen=True)
class TrackingLinks:
    """The signed click-through and impression-pixel URLs of one creative for one shopper."""

    click_url: str
    pixel_url: str


def _tracking_message(creative_id: str, shopper: str, expires: int) -> str:
    return f"track:{creative_id}:{shopper}:{expires}"


def tracking_links(
    base_url: str,
    key: bytes,
    creative_id: str,
    shopper: str,
    *,
    ttl_seconds: int,
    now: float | None = None,
) -> TrackingLinks:
    """Links that count one click / impression of ``creative_id`` by ``shopper``."""
    expires = int((time.time() if now is None else now) + ttl_seconds)
    query = urlencode(
        {
            "s": shopper,
            "e": expires,
            "sig": sign(key, _tracking_message(creative_id, shopper, expires)),
        }
    )
    base = base_url.rstrip("/")
    path_id = quote(creative_id, safe="")
    return TrackingLinks(
        click_url=f"{base}/t/click/{path_id}?{query}",
        pixel_url=f"{base}/t/pixel/{path_id}.gif?{query}",
    )


def verified_shopper(
    key: bytes | None, creative_id: str, query: Mapping[str, str], now: float | None = None
) -> str | None:
    """The shopper a tracking hit may be counted for, or ``None`` when it cannot be trusted."""
    shopper = query.get("s", "")
    expires = query.get("e", "")
    signature = query.get("sig", "")
    if not (shopper and len(shopper) <= 128 and expires.isdigit() and len(expires) <= 12):
        return None
    if int(expires) < (time.time() if now is None else now):
        return None
    if not verify(key, _tracking_message(creative_id, shopper, int(expires)), signature):
        return None
    return shopper
