"""The plain data an evaluation returns: per creative, per product, per campaign.

Read by the report page, the exports, the Prefect artifacts and the CLI; built by
``evaluation.evaluate_campaign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .decisions import DecisionRule, Verdict
from .factor_actions import NextSteps
from .factor_effects import FactorEffect
from .metrics import CreativeMetrics
from .srm import SRM_P_THRESHOLD

__all__ = ["ArmReport", "CampaignReport", "Comparison", "ProductExperiment"]


@dataclass
class Comparison:
    """One metric of an arm against the product's baseline arm."""

    lift: float
    ci: tuple[float, float]
    chance_to_win: float
    p_value: float
    p_adjusted: float = 1.0


@dataclass
class ArmReport:
    creative_id: str
    name: str
    factors: dict[str, str]
    status: str
    poster_key: str | None
    video_key: str | None
    metrics: CreativeMetrics
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    vs_baseline: dict[str, Comparison] = field(default_factory=dict)
    chance_best: float = 0.0
    expected_loss: float = 0.0
    weight: float = 0.0


@dataclass
class ProductExperiment:
    product_id: str
    product_title: str
    arms: list[ArmReport]
    verdict: Verdict
    srm_p: float
    method: str
    challengers: list[dict[str, str]] = field(default_factory=list)
    # Declared now, or by an earlier evaluation (its losers are retired since).
    winner_id: str | None = None
    winner_reason: str = ""
    # The live creatives the verdict's indices refer to (statuses may change after it).
    verdict_ids: list[str] = field(default_factory=list)

    @property
    def leader_id(self) -> str | None:
        """The creative the verdict ranks first (None without a verdict over two or more)."""
        leader = self.verdict.leader
        return self.verdict_ids[leader] if leader is not None else None

    def p_vs_leader(self, creative_id: str) -> float | None:
        """The verdict's sequential p of the leader against this creative (None: leader)."""
        if creative_id not in self.verdict_ids or not self.verdict.p_vs_leader:
            return None
        return self.verdict.p_vs_leader[self.verdict_ids.index(creative_id)]

    @property
    def srm_ok(self) -> bool:
        return self.srm_p >= SRM_P_THRESHOLD

    @property
    def winner(self) -> ArmReport | None:
        return next((a for a in self.arms if a.creative_id == self.winner_id), None)


@dataclass
class CampaignReport:
    campaign: str
    currency: str | None
    generated_at: datetime
    products: list[ProductExperiment]
    # The campaign-wide answer: each factor pooled across products (products as blocks).
    factors: list[FactorEffect]
    next_steps: NextSteps
    warnings: list[str]
    rule: DecisionRule = field(default_factory=DecisionRule)
    # True when this evaluation acted (stored weights, retired, recorded decisions).
    applied: bool = False

    @property
    def winners(self) -> list[ArmReport]:
        return [p.winner for p in self.products if p.winner is not None]
