"""Merge checkout ownership and discount redemptions with order pages and UCP carts.

Revision ID: 0009_merge
Revises: 0008_hostile, 0008_ucpexact
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_merge"
down_revision: str | Sequence[str] | None = ("0008_hostile", "0008_ucpexact")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
