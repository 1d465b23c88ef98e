"""stored product embeddings for semantic search

Revision ID: 0006_embeddings
Revises: 0005_merge
Create Date: 2026-11-27 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_embeddings"
down_revision: str | Sequence[str] | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_embeddings",
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_embeddings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_embeddings")),
    )
    with op.batch_alter_table("product_embeddings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_embeddings_embedded_at"), ["embedded_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("product_embeddings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_embeddings_embedded_at"))
    op.drop_table("product_embeddings")
