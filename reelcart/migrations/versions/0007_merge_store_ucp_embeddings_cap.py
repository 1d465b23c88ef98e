"""Merge the store rules, UCP, stored embeddings and per-campaign cap into one head.

Revision ID: 0007_merge
Revises: 0006_store_rules, 0006_ucp, 0006_embeddings, 0006_campaign_cap
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_merge"
down_revision: str | Sequence[str] | None = (
    "0006_store_rules",
    "0006_ucp",
    "0006_embeddings",
    "0006_campaign_cap",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
