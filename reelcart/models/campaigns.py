"""Campaigns and their creatives (video variants), and the distinct shots they share."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, new_id, utcnow

if TYPE_CHECKING:  # the relationship's other side, resolved by name at run time
    from .catalog import Product

__all__ = ["Campaign", "Creative", "CreativeShot", "Shot"]


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("cmp"))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The variant matrix: {"factors": {"hook": ["title", "price"], ...}, "max_variants": N}
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Challenger generations in a row without a winner before the loop stops (None: the
    # grow-campaigns run's default).
    challenger_cap: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    creatives: Mapped[list[Creative]] = relationship(back_populates="campaign")


class Shot(Base):
    """A distinct piece of footage; creatives that differ only in copy share it."""

    __tablename__ = "shots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("sht"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    engine: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Creative(Base):
    """One video variant of one product in one campaign."""

    __tablename__ = "creatives"
    __table_args__ = (UniqueConstraint("campaign_id", "product_id", "variant_key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # Canonical "factor=level;..." string: the variant's identity within the campaign.
    variant_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    factors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    # Hash of everything that determines the rendered file; a change means re-render.
    render_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    product_version: Mapped[str | None] = mapped_column(String(64), default=None)
    video_path: Mapped[str | None] = mapped_column(Text, default=None)
    poster_path: Mapped[str | None] = mapped_column(Text, default=None)
    video_key: Mapped[str | None] = mapped_column(String(512), default=None)
    poster_key: Mapped[str | None] = mapped_column(String(512), default=None)
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rendered_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship(back_populates="creatives")
    product: Mapped[Product] = relationship(back_populates="creatives")
    shots: Mapped[list[CreativeShot]] = relationship(
        cascade="all, delete-orphan", order_by="CreativeShot.position"
    )


class CreativeShot(Base):
    __tablename__ = "creative_shots"

    creative_id: Mapped[str] = mapped_column(
        ForeignKey("creatives.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
