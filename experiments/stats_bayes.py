"""Bayesian comparison: chance to win, credible interval, expected loss.

Two views, both from the same sufficient statistics:

- ``effect_vs_baseline``: GrowthBook's effect model (a Gaussian posterior on the relative
  lift, improper flat prior), matched number for number against gbstats in the tests.
- ``race``: every arm at once (chance to be best and expected loss of choosing each),
  by Monte Carlo from per-arm posteriors: Beta for proportions, Normal for means and
  ratios. This is what the decision rule and the bandit use with more than two arms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, truncnorm

from .samples import ProportionStat, Stat, relative_effect

__all__ = ["BayesResult", "RaceResult", "effect_vs_baseline", "posterior_draws", "race"]


@dataclass(frozen=True)
class BayesResult:
    """Posterior of the relative lift of b over a (normal)."""

    chance_to_win: float
    expected: float
    ci: tuple[float, float]
    # Expected relative loss of (keeping a, switching to b), as gbstats' ``risk``.
    risk: tuple[float, float]
    defined: bool = True


def _truncated_mean(mu: float, sigma: float, lower: float, upper: float) -> float:
    a, b = (lower - mu) / sigma, (upper - mu) / sigma
    return float(truncnorm.mean(a, b, loc=mu, scale=sigma))


def effect_vs_baseline(a: Stat, b: Stat, alpha: float = 0.05) -> BayesResult:
    """Chance that b beats a, the credible interval and risk of the relative lift."""
    effect = relative_effect(a, b)
    if effect is None:
        return BayesResult(0.5, 0.0, (0.0, 0.0), (0.0, 0.0), defined=False)
    mu, var = effect
    sigma = math.sqrt(var)
    p_a_better = float(norm.cdf(0.0, mu, sigma))
    risk_a = (1 - p_a_better) * _truncated_mean(mu, sigma, 0.0, math.inf)
    risk_b = -p_a_better * _truncated_mean(mu, sigma, -math.inf, 0.0)
    lo, hi = norm.ppf([alpha / 2, 1 - alpha / 2], mu, sigma)
    return BayesResult(1 - p_a_better, mu, (float(lo), float(hi)), (risk_a, risk_b))


@dataclass(frozen=True)
class RaceResult:
    """Per arm: chance to be best, expected relative loss if chosen, credible interval."""

    chance_best: list[float]
    expected_loss: list[float]
    ci: list[tuple[float, float]]


def posterior_draws(stats: list[Stat], draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` × arms samples of each arm's true metric value."""
    cols = []
    for s in stats:
        if isinstance(s, ProportionStat):
            # Beta(1 + successes, 1 + failures): exact for conversions, fine at any n.
            cols.append(rng.beta(1 + s.successes, 1 + max(s.n - s.successes, 0), draws))
        else:
            sd = math.sqrt(s.variance / s.n) if s.n > 0 and s.variance > 0 else 0.0
            # An arm without data is maximally uncertain rather than certainly zero.
            cols.append(rng.normal(s.mean, sd, draws) if s.n > 1 else rng.normal(0, 1e12, draws))
    return np.column_stack(cols)


def race(stats: list[Stat], alpha: float = 0.05, draws: int = 20_000, seed: int = 0) -> RaceResult:
    """Chance each arm is best and its expected loss (relative to the best arm's mean).

    Seeded so a report shows the same figures each time it is rendered.
    """
    if not stats:
        return RaceResult([], [], [])
    rng = np.random.default_rng(seed)
    sample = posterior_draws(stats, draws, rng)
    best = sample.argmax(axis=1)
    chance = np.bincount(best, minlength=len(stats)) / draws
    top = sample.max(axis=1)
    scale = float(np.mean(top))
    loss = (top[:, None] - sample).mean(axis=0) / scale if scale > 0 else np.zeros(len(stats))
    lo = np.quantile(sample, alpha / 2, axis=0)
    hi = np.quantile(sample, 1 - alpha / 2, axis=0)
    return RaceResult(
        [float(c) for c in chance],
        [float(x) for x in loss],
        [(float(a), float(b)) for a, b in zip(lo, hi, strict=True)],
    )
