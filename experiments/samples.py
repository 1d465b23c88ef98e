"""Sufficient statistics of one arm's metric, the shapes SQL aggregation produces.

Every test in ``stats_freq``/``stats_bayes`` works on these, never on raw rows: an arm is
summarised by ``n`` units and sums, so pooling arms (factor levels) is just adding sums.
The formulas follow GrowthBook's gbstats (the test oracle) so numbers can be compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "MeanStat",
    "ProportionStat",
    "RatioStat",
    "Stat",
    "pooled",
    "relative_effect",
]


@dataclass(frozen=True)
class ProportionStat:
    """``successes`` of ``n`` units (conversion, click-through)."""

    n: int
    successes: float

    @property
    def mean(self) -> float:
        return self.successes / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        return self.mean * (1.0 - self.mean)


@dataclass(frozen=True)
class MeanStat:
    """A per-unit value (revenue per impression): ``n``, sum and sum of squares."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n <= 1:
            return 0.0
        return max(0.0, (self.total_sq - self.total**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class RatioStat:
    """A ratio of two per-unit sums (average order value = revenue / purchases).

    Its variance is the delta method: units are independent, numerator and denominator
    within a unit are not, hence the sum of products.
    """

    n: int
    m_sum: float
    m_sum_sq: float
    d_sum: float
    d_sum_sq: float
    md_sum: float

    @property
    def mean(self) -> float:
        return self.m_sum / self.d_sum if self.d_sum else 0.0

    @property
    def variance(self) -> float:
        if self.n <= 1 or self.d_sum == 0:
            return 0.0
        m = MeanStat(self.n, self.m_sum, self.m_sum_sq)
        d = MeanStat(self.n, self.d_sum, self.d_sum_sq)
        cov = (self.md_sum - self.m_sum * self.d_sum / self.n) / (self.n - 1)
        return max(
            0.0,
            m.variance / d.mean**2
            - 2 * cov * m.mean / d.mean**3
            + m.mean**2 * d.variance / d.mean**4,
        )


Stat = ProportionStat | MeanStat | RatioStat


def pooled(stats: list[Stat]) -> Stat:
    """One arm from several (a factor level over the variants sharing it): sums add."""
    if not stats:
        raise ValueError("nothing to pool")
    n = sum(s.n for s in stats)
    props = [s for s in stats if isinstance(s, ProportionStat)]
    means = [s for s in stats if isinstance(s, MeanStat)]
    ratios = [s for s in stats if isinstance(s, RatioStat)]
    if len(props) == len(stats):
        return ProportionStat(n, sum(s.successes for s in props))
    if len(means) == len(stats):
        return MeanStat(n, sum(s.total for s in means), sum(s.total_sq for s in means))
    if len(ratios) == len(stats):
        return RatioStat(
            n,
            sum(s.m_sum for s in ratios),
            sum(s.m_sum_sq for s in ratios),
            sum(s.d_sum for s in ratios),
            sum(s.d_sum_sq for s in ratios),
            sum(s.md_sum for s in ratios),
        )
    raise ValueError("cannot pool different kinds of statistic")


def relative_effect(a: Stat, b: Stat, relative: bool = True) -> tuple[float, float] | None:
    """Relative lift of ``b`` over ``a`` and its variance (delta method), or None.

    With ``relative=False`` the absolute difference of means instead (symmetric in a
    and b, which the decision rule wants when it compares against a post-hoc leader).
    None when the comparison is undefined: an empty arm, a zero baseline, or no variance.
    """
    if a.n == 0 or b.n == 0 or (relative and a.mean == 0):
        return None
    if a.variance <= 0 or b.variance <= 0:
        return None
    if not relative:
        return b.mean - a.mean, a.variance / a.n + b.variance / b.n
    lift = (b.mean - a.mean) / a.mean
    var = b.variance / (a.mean**2 * b.n) + a.variance * b.mean**2 / (a.mean**4 * a.n)
    if not math.isfinite(var) or var <= 0:
        return None
    return lift, var
