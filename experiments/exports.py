"""Per-creative and per-factor metrics as plain rows, CSV and JSON (raw numbers, not text).

Rates are fractions (0.139, not "13.9%") and money is in minor units of ``currency`` (the
columns say so: ``aov_minor`` 1999 in USD is $19.99), so a spreadsheet or a script can
compute with them; the JSON carries the headlines too. In ``factors.csv`` a level's
``status`` is its own verdict (``winner`` only for the leading level of a decided factor,
``loser`` for a level that loses decisively); ``factor_status`` is the factor's.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from .evaluation import CampaignReport
from .headlines import headlines, next_step_lines
from .metrics import METRICS

__all__ = [
    "CREATIVE_COLUMNS",
    "FACTOR_COLUMNS",
    "creative_rows",
    "factor_rows",
    "report_json",
    "to_csv",
]

CREATIVE_COLUMNS = [
    "product_id",
    "product",
    "creative_id",
    "creative",
    "factors",
    "status",
    "winner",
    "shoppers",
    "clickers",
    "buyers",
    "currency",
    "conversion",
    "ctr",
    "revenue_per_unit_minor",
    "aov_minor",
    "conversion_low",
    "conversion_high",
    "chance_best",
    "expected_loss",
    "p_vs_leader",
    "weight",
]
FACTOR_COLUMNS = [
    "factor",
    "level",
    "status",
    "factor_status",
    "leader",
    "creatives",
    "shoppers",
    "buyers",
    "conversion",
    "vs_leader_products",
    "vs_leader_rate",
    "leader_rate",
    "odds_ratio_leader",
    "odds_ratio_low",
    "odds_ratio_high",
    "chance_leader_better",
    "p_always_valid",
    "p_holm",
    "p_cmh_one_look",
    "decisive",
]


# Money metrics are named with their unit in the exports.
_MONEY = {"revenue_per_unit": "revenue_per_unit_minor", "aov": "aov_minor"}


def _level_status(status: str, leader: bool, decisive: bool) -> str:
    if decisive:
        return "loser"
    if leader:
        return status  # winner, running or collecting: the leader carries the verdict
    return "collecting" if status == "collecting" else "undecided"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def creative_rows(report: CampaignReport) -> list[dict[str, Any]]:
    rows = []
    for exp in report.products:
        winner_id = exp.winner.creative_id if exp.winner else None
        for arm in exp.arms:
            row: dict[str, Any] = {
                "product_id": exp.product_id,
                "product": exp.product_title,
                "creative_id": arm.creative_id,
                "creative": arm.name,
                "factors": ";".join(f"{k}={v}" for k, v in sorted(arm.factors.items())),
                "status": arm.status,
                "winner": arm.creative_id == winner_id,
                "shoppers": arm.metrics.units,
                "clickers": arm.metrics.clickers,
                "buyers": arm.metrics.buyers,
                "currency": report.currency,
                **{_MONEY.get(m, m): _num(arm.values[m]) for m in METRICS},
                "conversion_low": arm.intervals["conversion"][0],
                "conversion_high": arm.intervals["conversion"][1],
                "chance_best": arm.chance_best,
                "expected_loss": arm.expected_loss,
                "p_vs_leader": exp.p_vs_leader(arm.creative_id),
                "weight": arm.weight,
            }
            rows.append(row)
    return rows


def factor_rows(report: CampaignReport) -> list[dict[str, Any]]:
    rows = []
    for effect in report.factors:
        by_level = {c.level: c for c in effect.comparisons}
        for level in effect.levels:
            c = by_level.get(level.level)
            row: dict[str, Any] = {
                "factor": effect.factor,
                "level": level.level,
                "status": _level_status(
                    effect.status, level.level == effect.leader, c is not None and c.decisive
                ),
                "factor_status": effect.status,
                "leader": level.level == effect.leader,
                "creatives": level.creatives,
                "shoppers": level.units,
                "buyers": level.buyers,
                "conversion": level.rate,
            }
            if c is not None:
                row |= {
                    "vs_leader_products": c.mh.strata,
                    "vs_leader_rate": c.mh.other_rate,
                    "leader_rate": c.mh.rate,
                    "odds_ratio_leader": _num(c.mh.odds_ratio),
                    "odds_ratio_low": _num(c.ci[0]) if c.eligible else None,
                    "odds_ratio_high": _num(c.ci[1]) if c.eligible else None,
                    "chance_leader_better": c.chance_better if c.eligible else None,
                    "p_always_valid": c.p_value if c.eligible else None,
                    "p_holm": c.p_adjusted if c.eligible else None,
                    "p_cmh_one_look": c.mh.cmh_p,
                    "decisive": c.decisive,
                }
            rows.append({k: row.get(k) for k in FACTOR_COLUMNS})
    return rows


def report_json(report: CampaignReport) -> dict[str, Any]:
    return {
        "campaign": report.campaign,
        "generated_at": report.generated_at.isoformat(),
        "currency": report.currency,
        "headlines": [h.__dict__ for h in headlines(report)],
        "next_steps": next_step_lines(report),
        "warnings": report.warnings,
        "factors": factor_rows(report),
        "creatives": creative_rows(report),
    }


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return out.getvalue()
