"""every checkout names its owner; discount codes count the uses made here

Revision ID: 0008_hostile
Revises: 0007_merge
Create Date: 2026-12-07 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_hostile"
down_revision: str | None = "0007_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("checkout_sessions", sa.Column("owner", sa.String(512), nullable=True))
    op.create_index("ix_checkout_sessions_owner", "checkout_sessions", ["owner"])
    # Sessions made before owners were recorded: a UCP one is its platform's, any other the
    # ACP bearer's (the only other door that created sessions).
    sessions = sa.table(
        "checkout_sessions",
        sa.column("id", sa.String),
        sa.column("extra", sa.JSON),
        sa.column("owner", sa.String),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(sessions.c.id, sessions.c.extra)).all():
        ucp = (row.extra or {}).get("ucp")
        owner = f"ucp {(ucp or {}).get('profile')}" if ucp is not None else "acp"
        connection.execute(
            sessions.update().where(sessions.c.id == row.id).values(owner=owner[:512])
        )
    op.create_table(
        "discount_redemptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("discount_code_id", sa.String(255), nullable=False),
        sa.Column(
            "checkout_session_id",
            sa.String(64),
            sa.ForeignKey("checkout_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("discount_code_id", "checkout_session_id"),
    )
    op.create_index(
        "ix_discount_redemptions_discount_code_id", "discount_redemptions", ["discount_code_id"]
    )
    op.create_index(
        "ix_discount_redemptions_checkout_session_id",
        "discount_redemptions",
        ["checkout_session_id"],
    )


def downgrade() -> None:
    op.drop_table("discount_redemptions")
    op.drop_index("ix_checkout_sessions_owner", "checkout_sessions")
    with op.batch_alter_table("checkout_sessions") as batch:
        batch.drop_column("owner")
