"""campaign generations and the render queue (claims with leases)

Revision ID: 0004_campaign_generations
Revises: 0003_merge
Create Date: 2026-11-27 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_campaign_generations"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_generations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_generations_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_generations")),
        sa.UniqueConstraint(
            "campaign_id", "number", name=op.f("uq_campaign_generations_campaign_id_number")
        ),
    )
    with op.batch_alter_table("campaign_generations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_generations_campaign_id"), ["campaign_id"], unique=False
        )
    op.create_table(
        "render_claims",
        sa.Column("creative_id", sa.String(length=64), nullable=False),
        sa.Column("generation_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["creatives.id"],
            name=op.f("fk_render_claims_creative_id_creatives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["campaign_generations.id"],
            name=op.f("fk_render_claims_generation_id_campaign_generations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creative_id", name=op.f("pk_render_claims")),
    )
    with op.batch_alter_table("render_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_render_claims_generation_id"), ["generation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_render_claims_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_render_claims_claimed_by"), ["claimed_by"], unique=False
        )


def downgrade() -> None:
    op.drop_table("render_claims")
    op.drop_table("campaign_generations")
