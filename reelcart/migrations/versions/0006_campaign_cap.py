"""a campaign's own cap on challenger generations in a row without a winner

Revision ID: 0006_campaign_cap
Revises: 0005_merge
Create Date: 2026-11-27 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_campaign_cap"
down_revision: str | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("challenger_cap", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("challenger_cap")
