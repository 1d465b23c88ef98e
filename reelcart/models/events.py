"""What shoppers did, attributed to the creative they saw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

__all__ = ["Event"]


class Event(Base):
    """Something a shopper did, attributed to the creative they saw."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_creative_kind", "creative_id", "kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("evt"))
    kind: Mapped[str] = mapped_column(String(16))
    # Same dedupe key twice is the same event (retries, replays, webhooks delivered twice).
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    product_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
