"""experiments: allocation weight history and experiment decisions

Revision ID: 0002_experiments
Revises: 0001
Create Date: 2026-11-21 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_experiments"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_allocations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_experiment_allocations_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_allocations")),
    )
    with op.batch_alter_table("experiment_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_allocations_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            "ix_experiment_allocations_product_created",
            ["product_id", "created_at"],
            unique=False,
        )
    op.create_table(
        "experiment_decisions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("creative_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_experiment_decisions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["creatives.id"],
            name=op.f("fk_experiment_decisions_creative_id_creatives"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_decisions")),
    )
    with op.batch_alter_table("experiment_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_decisions_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("experiment_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_decisions_campaign_id"))
    op.drop_table("experiment_decisions")
    with op.batch_alter_table("experiment_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_experiment_allocations_product_created")
        batch_op.drop_index(batch_op.f("ix_experiment_allocations_campaign_id"))
    op.drop_table("experiment_allocations")
