"""UCP orders (post-purchase record) and the UCP order-webhook outbox

Revision ID: 0006_ucp
Revises: 0005_merge
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_ucp"
down_revision: str | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ucp_orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=64), nullable=False),
        sa.Column("platform_profile", sa.String(length=2048), nullable=True),
        sa.Column("fulfillment", sa.JSON(), nullable=False),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_ucp_orders_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_ucp_orders")),
    )
    op.create_index(
        op.f("ix_ucp_orders_checkout_session_id"), "ucp_orders", ["checkout_session_id"]
    )
    op.create_table(
        "ucp_webhook_outbox",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("platform_profile", sa.String(length=2048), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("delivered_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_ucp_webhook_outbox_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ucp_webhook_outbox")),
    )
    op.create_index(op.f("ix_ucp_webhook_outbox_order_id"), "ucp_webhook_outbox", ["order_id"])
    op.create_index(
        op.f("ix_ucp_webhook_outbox_next_attempt_at"), "ucp_webhook_outbox", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("ucp_webhook_outbox")
    op.drop_table("ucp_orders")
