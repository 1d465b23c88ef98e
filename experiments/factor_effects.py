"""The campaign-wide answer: which level of each factor sells, pooled across products.

For every factor with two or more levels, the leading level (highest conversion over all
its creatives) is compared with each other level by a Mantel–Haenszel odds ratio with the
products as strata (``pooled``). The rule that acts on it mirrors the per-product rule:

1. each side of a comparison has ``min_units`` shoppers and the comparison
   ``min_conversions`` buyers (no verdict below a minimum sample);
2. the always-valid sequential test on the log odds ratio (``stats_freq.always_valid``),
   Holm-adjusted over every factor-level comparison of the campaign, is below ``alpha``
   and the leader is the better side.

A comparison that passes is *decisive*: the losing level is retired campaign-wide. When
every other level of a factor loses decisively, the leader is the factor's winner. The
interval shown with each comparison is the confidence sequence at the Holm step's own
level, so it excludes "no difference" exactly when the verdict says decisive: the page can
never show an interval that disagrees with its verdict.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from scipy.stats import norm

from .corrections import holm
from .decisions import DecisionRule
from .pooled import MantelHaenszel, Stratum, mantel_haenszel
from .stats_freq import always_valid

__all__ = [
    "ArmCounts",
    "FactorEffect",
    "LevelComparison",
    "LevelSummary",
    "factor_effects",
]


@dataclass(frozen=True)
class ArmCounts:
    """What the analysis needs of a creative: its product, factors, shoppers and buyers."""

    product_id: str
    factors: Mapping[str, str]
    units: int
    buyers: int


@dataclass(frozen=True)
class LevelSummary:
    """A level over every creative that has it (all products, retired ones included)."""

    level: str
    creatives: int
    units: int
    buyers: int

    @property
    def rate(self) -> float:
        return self.buyers / self.units if self.units else 0.0


@dataclass
class LevelComparison:
    """The factor's leading level against ``level``, products as strata."""

    level: str
    mh: MantelHaenszel
    eligible: bool
    p_value: float = 1.0
    p_adjusted: float = 1.0
    # Odds ratio leader : level, and its interval at the Holm step's level.
    ci: tuple[float, float] = (0.0, math.inf)
    chance_better: float = 0.5
    decisive: bool = False


@dataclass
class FactorEffect:
    factor: str
    leader: str
    levels: list[LevelSummary]
    comparisons: list[LevelComparison] = field(default_factory=list)
    status: Literal["collecting", "running", "winner"] = "collecting"
    reason: str = ""

    @property
    def losing_levels(self) -> list[str]:
        return [c.level for c in self.comparisons if c.decisive]

    @property
    def winner(self) -> str | None:
        return self.leader if self.status == "winner" else None

    @property
    def deciding(self) -> LevelComparison | None:
        """The comparison whose statistic decides the factor: the weakest one."""
        if not self.comparisons:
            return None
        return max(self.comparisons, key=lambda c: (c.eligible, c.p_adjusted))


def _summaries(arms: Sequence[ArmCounts], factor: str) -> dict[str, LevelSummary]:
    by_level: dict[str, list[ArmCounts]] = defaultdict(list)
    for arm in arms:
        if factor in arm.factors:
            by_level[str(arm.factors[factor])].append(arm)
    return {
        level: LevelSummary(
            level, len(group), sum(a.units for a in group), sum(a.buyers for a in group)
        )
        for level, group in by_level.items()
    }


def _strata(arms: Sequence[ArmCounts], factor: str, leader: str, other: str) -> list[Stratum]:
    cells: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0.0, 0])
    for arm in arms:
        level = arm.factors.get(factor)
        if level not in (leader, other):
            continue
        cell = cells[arm.product_id]
        offset = 0 if level == leader else 2
        cell[offset] += arm.buyers
        cell[offset + 1] += arm.units
    return [Stratum(c[0], int(c[1]), c[2], int(c[3])) for _, c in sorted(cells.items())]


def _leader(arms: Sequence[ArmCounts], factor: str, levels: list[str]) -> str:
    """The level whose worst stratified odds ratio against any other level is highest.

    Chosen within products, not from raw totals: when traffic shares differ by product a
    level can lead in every product and still trail in the sum (Simpson's paradox).
    """

    def worst(level: str) -> float:
        ratios = []
        for other in levels:
            if other != level:
                mh = mantel_haenszel(_strata(arms, factor, level, other))
                ratios.append(mh.log_odds_ratio if mh.strata and mh.odds_ratio > 0 else -1e9)
        return min(ratios)

    return max(levels, key=lambda level: (worst(level), level == levels[0]))


def _holm_levels(p_values: Sequence[float], alpha: float) -> list[float]:
    """The error rate at which each hypothesis is judged by Holm's step-down procedure.

    Step k (0-based, smallest p first) tests at alpha / (m - k) until one fails; every
    hypothesis from the failing step on is judged at that step's level.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    levels = [alpha] * m
    stop = None
    for rank, i in enumerate(order):
        step = rank if stop is None else stop
        levels[i] = alpha / (m - step)
        if stop is None and p_values[i] >= levels[i]:
            stop = rank
    return levels


def factor_effects(arms: Sequence[ArmCounts], rule: DecisionRule) -> list[FactorEffect]:
    """Every factor's pooled effect and verdict; Holm over all comparisons together."""
    names = sorted({str(f) for arm in arms for f in arm.factors})
    effects: list[FactorEffect] = []
    for factor in names:
        summaries = _summaries(arms, factor)
        if len(summaries) < 2:
            continue
        leader = _leader(arms, factor, sorted(summaries))
        rest = [s for s in summaries.values() if s.level != leader]
        ordered = [summaries[leader], *sorted(rest, key=lambda s: (-s.rate, s.level))]
        effect = FactorEffect(factor, leader, ordered)
        for other in ordered[1:]:
            mh = mantel_haenszel(_strata(arms, factor, leader, other.level))
            eligible = (
                mh.defined
                and ordered[0].units >= rule.min_units
                and other.units >= rule.min_units
                and ordered[0].buyers + other.buyers >= rule.min_conversions
            )
            effect.comparisons.append(LevelComparison(other.level, mh, eligible))
        effects.append(effect)
    tested = [c for e in effects for c in e.comparisons if c.eligible]
    raw = []
    for c in tested:
        seq = always_valid(
            c.mh.log_odds_ratio, c.mh.log_or_var, c.mh.units, rule.alpha, rule.sequential_tuning
        )
        raw.append(seq.p_value)
    levels = _holm_levels(raw, rule.alpha)
    for c, p, adjusted, level in zip(tested, raw, holm(raw), levels, strict=True):
        seq = always_valid(
            c.mh.log_odds_ratio,
            c.mh.log_or_var,
            c.mh.units,
            rule.alpha,
            rule.sequential_tuning,
            level=level,
        )
        c.p_value, c.p_adjusted = p, adjusted
        c.ci = (math.exp(seq.ci[0]), math.exp(seq.ci[1]))
        c.chance_better = float(norm.cdf(c.mh.log_odds_ratio / math.sqrt(c.mh.log_or_var)))
        c.decisive = adjusted < rule.alpha and c.mh.odds_ratio > 1
    for effect in effects:
        _verdict(effect, rule)
    return effects


def _verdict(effect: FactorEffect, rule: DecisionRule) -> None:
    comparisons = effect.comparisons
    if not any(c.eligible for c in comparisons):
        effect.status = "collecting"
        effect.reason = (
            f"minimum sample not reached: {rule.min_units} shoppers per level and "
            f"{rule.min_conversions} buyers per comparison"
        )
        return
    if all(c.decisive for c in comparisons):
        worst = max(c.p_adjusted for c in comparisons)
        effect.status = "winner"
        effect.reason = (
            f"{effect.leader} beats every other level: always-valid p = {worst:.2g} "
            f"(Holm-adjusted; needs < {rule.alpha:g})"
        )
        return
    undecided = [c for c in comparisons if not c.decisive]
    weakest = min(undecided, key=lambda c: (not c.eligible, c.p_adjusted))
    effect.status = "running"
    if not weakest.eligible:
        effect.reason = f"{weakest.level}: minimum sample not reached"
    elif weakest.mh.odds_ratio <= 1:
        effect.reason = f"{weakest.level} converts at least as well as {effect.leader}"
    else:
        effect.reason = (
            f"{effect.leader} vs {weakest.level} not decided yet: always-valid "
            f"p = {weakest.p_adjusted:.2g} (Holm-adjusted; needs < {rule.alpha:g})"
        )
