"""The run-campaign flow checks its plan before it syncs or plans anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.campaign import run_campaign
from flows.common import database
from reelcart.models import Campaign, Creative, Product
from reelcart.settings import DEMO_CATALOG

pytestmark = pytest.mark.xdist_group("prefect")


def test_unknown_level_fails_before_the_sync_and_leaves_nothing(flow_env: Path) -> None:
    with pytest.raises(ValueError, match="unknown aspect level '2:3'"):
        run_campaign(
            campaign="typo",
            catalog_path=str(DEMO_CATALOG),
            factors={"hook": ["title", "price"], "aspect": ["9:16", "2:3"]},
            design="pairwise",
        )
    with database().session() as session:
        for model in (Product, Campaign, Creative):
            assert session.scalar(select(func.count()).select_from(model)) == 0
