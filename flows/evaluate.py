"""Flow: evaluate a campaign (statistics, decisions, new allocation) and publish the report."""

from __future__ import annotations

import re
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from experiments.decisions import DecisionRule
from experiments.evaluation import evaluate_campaign as evaluate
from experiments.exports import factor_rows
from experiments.reports import markdown_summary, table_rows

from .common import database, settings

__all__ = ["evaluate_campaign"]


def _slug(name: str) -> str:
    # Artifact keys allow only lowercase letters, digits and dashes.
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "campaign"


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def evaluate_and_apply(campaign: str, apply: bool, rule: dict[str, Any]) -> dict[str, Any]:
    """Evaluate; with ``apply`` store weights and decisions. Returns the artifact content."""
    with database().session() as session:
        report = evaluate(session, campaign, DecisionRule(**rule), apply=apply)
    page = f"{settings().resolved_public_base_url}/reports/campaigns/{campaign}"
    return {
        "markdown": markdown_summary(report, page),
        "rows": table_rows(report),
        "factor_rows": [
            {k: "" if v is None else str(v) for k, v in row.items()} for row in factor_rows(report)
        ],
        "winners": [w.name for w in report.winners],
        "factor_winners": report.next_steps.winners,
        "warnings": report.warnings,
    }


@flow(name="evaluate-campaign")
def evaluate_campaign(
    campaign: str = "demo",
    apply: bool = True,
    min_units: int = 100,
    chance_to_win: float = 0.95,
    loss_threshold: float = 0.01,
) -> dict[str, Any]:
    """Compare a campaign's creatives, move traffic to winners, and report (artifacts)."""
    rule = {
        "min_units": min_units,
        "chance_to_win": chance_to_win,
        "loss_threshold": loss_threshold,
    }
    result = evaluate_and_apply(campaign, apply, rule)
    create_markdown_artifact(
        key=f"{_slug(campaign)}-evaluation",
        markdown=result["markdown"],
        description=f"Experiment verdicts for campaign {campaign}",
    )
    create_table_artifact(
        key=f"{_slug(campaign)}-factors",
        table=result["factor_rows"],
        description=f"Factor levels pooled across products (products as blocks), {campaign}",
    )
    create_table_artifact(
        key=f"{_slug(campaign)}-variants",
        table=result["rows"],
        description=f"Per-creative metrics with 95% intervals, campaign {campaign}",
    )
    return {
        "winners": result["winners"],
        "factor_winners": result["factor_winners"],
        "warnings": result["warnings"],
    }
