"""Payment attempts (written before Stripe is called) and a claim on the Shopify write-back

Revision ID: 0004_payment_attempts
Revises: 0003_merge
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_payment_attempts"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credential", sa.String(length=255), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("shared_payment_token", sa.String(length=255), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkout_session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_payment_attempts_checkout_session_id_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_attempts_idempotency_key")),
    )
    op.create_index(
        op.f("ix_payment_attempts_checkout_session_id"), "payment_attempts", ["checkout_session_id"]
    )
    op.create_index(op.f("ix_payment_attempts_state"), "payment_attempts", ["state"])
    op.create_index(
        op.f("ix_payment_attempts_payment_intent_id"), "payment_attempts", ["payment_intent_id"]
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("writeback_lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("writeback_lease_until")
    op.drop_index(op.f("ix_payment_attempts_payment_intent_id"), table_name="payment_attempts")
    op.drop_index(op.f("ix_payment_attempts_state"), table_name="payment_attempts")
    op.drop_index(op.f("ix_payment_attempts_checkout_session_id"), table_name="payment_attempts")
    op.drop_table("payment_attempts")
