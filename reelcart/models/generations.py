"""Generations of a campaign's creatives, and the render queue that makes them.

A generation is one batch of creatives planned for one reason (the first plan, the
challengers asked for by a winner). Each creative to render has one ``RenderClaim`` row:
a worker claims it (with a lease it keeps renewing) before rendering, so two workers never
render the same creative and the work of a dead worker is taken over once its lease lapses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

__all__ = ["Generation", "RenderClaim"]


class Generation(Base):
    __tablename__ = "campaign_generations"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("gen"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    # "plan" (the campaign's variant matrix) or "challengers" (remixes of a winner).
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RenderClaim(Base):
    __tablename__ = "render_claims"

    creative_id: Mapped[str] = mapped_column(
        ForeignKey("creatives.id", ondelete="CASCADE"), primary_key=True
    )
    generation_id: Mapped[str] = mapped_column(
        ForeignKey("campaign_generations.id", ondelete="CASCADE"), index=True
    )
    # queued -> claimed -> done | failed; a claimed row whose lease lapsed is queued again.
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
