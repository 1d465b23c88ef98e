"""Shopify connector state: sync cursor and watermark, webhook deliveries, published media."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

__all__ = ["ShopifyCreativeMedia", "ShopifySyncSeen", "ShopifySyncState", "ShopifyWebhookDelivery"]


class ShopifySyncState(Base):
    """Where the Shopify catalog sync stands: the running sync's cursor, the last watermark.

    One row per shop. A sync persists its cursor after every page it applies, so a crash
    resumes at the next page; ``watermark`` (the newest ``updatedAt`` fully synced) is
    advanced only when a sync completes.
    """

    __tablename__ = "shopify_sync_state"

    shop: Mapped[str] = mapped_column(String(255), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(default=None)
    last_full_at: Mapped[datetime | None] = mapped_column(default=None)
    last_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    run_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    run_query: Mapped[str | None] = mapped_column(Text, default=None)
    run_cursor: Mapped[str | None] = mapped_column(Text, default=None)
    run_watermark: Mapped[datetime | None] = mapped_column(default=None)
    run_started_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShopifySyncSeen(Base):
    """Products a running full sync has seen; the rest are archived when it completes."""

    __tablename__ = "shopify_sync_seen"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ShopifyWebhookDelivery(Base):
    """A webhook delivery, kept by ``X-Shopify-Webhook-Id`` so a redelivery is a no-op."""

    __tablename__ = "shopify_webhook_deliveries"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    shop: Mapped[str] = mapped_column(String(255), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(255), default="")


class ShopifyCreativeMedia(Base):
    """The Shopify video media a creative is published as (one per creative)."""

    __tablename__ = "shopify_creative_media"

    creative_id: Mapped[str] = mapped_column(
        ForeignKey("creatives.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    media_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The render published: a re-render replaces the Shopify video.
    render_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
