"""Merge the feature branches (checkout, experiments, Shopify) into one head.

Revision ID: 0003_merge
Revises: 0002_checkout, 0002_experiments, 0002_shopify
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003_merge"
down_revision: str | Sequence[str] | None = ("0002_checkout", "0002_experiments", "0002_shopify")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
