"""The evaluate-campaign flow under Prefect: verdicts applied and artifacts written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from flows.common import database
from flows.evaluate import evaluate_campaign
from reelcart.models import Allocation, Campaign, Creative, Product
from tests.experiments.conftest import add_traffic

from .artifacts import artifact

pytestmark = pytest.mark.xdist_group("prefect")
ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_flow_applies_and_writes_artifacts(flow_env: Path) -> None:
    db = database()
    with db.session() as session:
        session.add(Product(id="p1", handle="mug", title="Mug", currency="USD", content_hash="x"))
        campaign = Campaign(name="Spring Launch", plan={"factors": {"hook": ["a", "b"]}})
        session.add(campaign)
        session.flush()
        for level in ("a", "b"):
            session.add(
                Creative(
                    id=f"crv_{level}",
                    campaign_id=campaign.id,
                    product_id="p1",
                    variant_key=f"hook={level}",
                    name=f"mug__hook-{level}",
                    factors={"hook": level},
                    status="published",
                )
            )
    add_traffic(db, "crv_a", "p1", 1500, 240)
    add_traffic(db, "crv_b", "p1", 1500, 90)
    result = evaluate_campaign(campaign="Spring Launch")
    assert result == {"winners": ["mug__hook-a"], "factor_winners": {"hook": "a"}, "warnings": []}
    with db.session() as session:
        retired = session.get(Creative, "crv_b")
        assert retired is not None and retired.status == "retired"
        assert session.scalars(select(Allocation)).one().weights == {"crv_a": 1.0, "crv_b": 0.0}
    markdown = artifact("spring-launch-evaluation")
    table = artifact("spring-launch-variants")
    assert "winner **mug__hook-a**" in str(markdown.data)
    # The artifact leads with the campaign-wide answer, before any product line.
    text = str(markdown.data)
    assert text.index("**hook: a sells best**") < text.index("### Per product")
    assert "a converts 16.0% vs 6.0% for b" in text and "always-valid p = " in text
    factors = artifact("spring-launch-factors")
    assert '"decisive": "True"' in str(factors.data).replace("'", '"')
    assert "mug__hook-b" in str(table.data)


def test_evaluation_is_scheduled() -> None:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    hourly = next(
        d for d in deployments if d["entrypoint"] == "flows/evaluate.py:evaluate_campaign"
    )
    assert hourly["schedules"][0]["cron"] == "15 * * * *"
