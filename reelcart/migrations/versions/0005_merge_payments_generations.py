"""Merge payment attempts and campaign generations into one head.

Revision ID: 0005_merge
Revises: 0004_payment_attempts, 0004_campaign_generations
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_merge"
down_revision: str | Sequence[str] | None = ("0004_payment_attempts", "0004_campaign_generations")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
