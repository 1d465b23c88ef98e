"""shopify connector: sync state, webhook deliveries, published media per creative

Revision ID: 0002_shopify
Revises: 0001
Create Date: 2026-11-21 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_shopify"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shopify_sync_state",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_full_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("run_mode", sa.String(length=16), nullable=True),
        sa.Column("run_query", sa.Text(), nullable=True),
        sa.Column("run_cursor", sa.Text(), nullable=True),
        sa.Column("run_watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop", name=op.f("pk_shopify_sync_state")),
    )
    op.create_table(
        "shopify_sync_seen",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "product_id", name=op.f("pk_shopify_sync_seen")),
    )
    op.create_table(
        "shopify_webhook_deliveries",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_webhook_deliveries")),
    )
    op.create_table(
        "shopify_creative_media",
        sa.Column("creative_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=True),
        sa.Column("render_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["creatives.id"],
            name=op.f("fk_shopify_creative_media_creative_id_creatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creative_id", name=op.f("pk_shopify_creative_media")),
    )


def downgrade() -> None:
    op.drop_table("shopify_creative_media")
    op.drop_table("shopify_webhook_deliveries")
    op.drop_table("shopify_sync_seen")
    op.drop_table("shopify_sync_state")
