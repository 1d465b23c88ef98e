"""ACP checkout: idempotency keys, inventory holds, delegated payment tokens, webhook outbox

Revision ID: 0002_checkout
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_checkout"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acp_idempotency_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=512), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acp_idempotency_keys")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_acp_idempotency_keys_scope_key")),
    )
    op.create_index(
        op.f("ix_acp_idempotency_keys_expires_at"), "acp_idempotency_keys", ["expires_at"]
    )
    op.create_table(
        "delegated_payment_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=False),
        sa.Column("merchant_id", sa.String(length=256), nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("display", sa.JSON(), nullable=False),
        sa.Column("token_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegated_payment_tokens")),
    )
    op.create_index(
        op.f("ix_delegated_payment_tokens_checkout_session_id"),
        "delegated_payment_tokens",
        ["checkout_session_id"],
    )
    op.create_table(
        "inventory_reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkout_session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_inventory_reservations_checkout_session_id_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_reservations")),
    )
    op.create_index(
        op.f("ix_inventory_reservations_checkout_session_id"),
        "inventory_reservations",
        ["checkout_session_id"],
    )
    op.create_index(
        "ix_inventory_reservations_variant_state",
        "inventory_reservations",
        ["variant_id", "state"],
    )
    op.create_table(
        "order_webhook_outbox",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_webhook_outbox_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_webhook_outbox")),
    )
    op.create_index(
        op.f("ix_order_webhook_outbox_next_attempt_at"), "order_webhook_outbox", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_order_webhook_outbox_order_id"), "order_webhook_outbox", ["order_id"])
    # New NOT NULL columns on existing tables need a constant server default for old rows
    # (SQLite refuses ADD COLUMN NOT NULL without one).
    op.add_column("checkout_sessions", sa.Column("subject", sa.String(length=255), nullable=True))
    for name, default in (("items", "[]"), ("messages", "[]"), ("extra", "{}"), ("payment", "{}")):
        op.add_column(
            "checkout_sessions",
            sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text(f"'{default}'")),
        )
    op.add_column(
        "checkout_sessions",
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_checkout_sessions_subject"), "checkout_sessions", ["subject"])
    op.add_column("orders", sa.Column("subject", sa.String(length=255), nullable=True))
    op.add_column(
        "orders",
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "orders", sa.Column("totals", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    op.drop_column("orders", "totals")
    op.drop_column("orders", "refunded_minor")
    op.drop_column("orders", "subject")
    op.drop_index(op.f("ix_checkout_sessions_subject"), table_name="checkout_sessions")
    for name in ("completed_at", "payment", "extra", "messages", "items", "subject"):
        op.drop_column("checkout_sessions", name)
    op.drop_table("order_webhook_outbox")
    op.drop_table("inventory_reservations")
    op.drop_table("delegated_payment_tokens")
    op.drop_table("acp_idempotency_keys")
