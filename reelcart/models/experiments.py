"""Experiments: allocation weight history and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

__all__ = ["Allocation", "ExperimentDecision"]


class Allocation(Base):
    """Traffic weights for one product's creatives in a campaign, from one evaluation.

    Rows are history: the newest per (campaign, product) is what ``get_product`` serves;
    the older ones let the sample-ratio check know what split each period promised.
    """

    __tablename__ = "experiment_allocations"
    __table_args__ = (
        Index("ix_experiment_allocations_product_created", "product_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("alc"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    # {creative_id: weight}; weights sum to 1 over the creatives live when computed.
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    method: Mapped[str] = mapped_column(String(32), default="uniform")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExperimentDecision(Base):
    """What the decision rule concluded: a winner, a retired loser, or challengers wanted."""

    __tablename__ = "experiment_decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("dec"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
