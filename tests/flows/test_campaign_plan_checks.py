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


def test_campaign_commands_run_the_stored_plan_and_its_design(
    flow_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import app
    from tests.factories import make_product, write_catalog

    catalog = write_catalog(tmp_path / "store", [make_product(1, price="24.00")])
    # The command sets Prefect's home and log levels when unset: undone after this test.
    monkeypatch.setenv("PREFECT_HOME", str(flow_env / "prefect"))
    for level in ("", "_FLOW_RUNS", "_TASK_RUNS"):
        monkeypatch.setenv(f"PREFECT_LOGGING_HANDLERS_CONSOLE{level}_LEVEL", "WARNING")
    run = CliRunner(env={"COLUMNS": "200"})
    created = run.invoke(
        app,
        [
            "campaign",
            "create",
            "duo",
            "--factor",
            "hook=title,price",
            "--factor",
            "cta=shop_now,buy_in_chat",
            "--design",
            "half",
        ],
    )
    assert created.exit_code == 0, created.output
    ran = run.invoke(app, ["campaign", "run", "duo", "--catalog", str(catalog)])
    assert ran.exit_code == 0, ran.output
    with database().session() as session:
        made = {
            (c.factors["hook"], c.factors["cta"], c.status)
            for c in session.scalars(select(Creative))
        }
        plan = session.scalars(select(Campaign)).one().plan
    # The half fraction: level indices (cta, hook) summing to an even number.
    assert made == {("title", "shop_now", "published"), ("price", "buy_in_chat", "published")}
    assert plan["design"] == "half"
    status = run.invoke(app, ["campaign", "status", "duo"])
    assert status.exit_code == 0 and "half, cap 8" in status.output
