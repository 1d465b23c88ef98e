"""Orders get a page token (the buyer's order page, ``order.permalink_url``); UCP carts

Revision ID: 0008_ucpexact
Revises: 0007_merge
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ucpexact"
down_revision: str | None = "0007_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ucp_carts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("platform_profile", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("discount_codes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ucp_carts")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("page_token", sa.String(length=64), nullable=True))
    # Orders placed before this revision get a token of their own, as new ones do.
    orders = sa.table("orders", sa.column("id", sa.String), sa.column("page_token", sa.String))
    connection = op.get_bind()
    for (order_id,) in connection.execute(sa.select(orders.c.id)).all():
        connection.execute(
            orders.update()
            .where(orders.c.id == order_id)
            .values(page_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("orders") as batch:
        batch.create_unique_constraint(op.f("uq_orders_page_token"), ["page_token"])


def downgrade() -> None:
    op.drop_table("ucp_carts")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("uq_orders_page_token"), type_="unique")
        batch.drop_column("page_token")
