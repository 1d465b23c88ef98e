"""The decision rule: declare a winner, retire clear losers, ask for challengers.

Pure functions over sufficient statistics, shared by the evaluation of real campaigns and
by the simulator, so what the tests measure (power, false winners) is what runs in
production. A winner needs all of:

1. every live arm has at least ``min_units`` units and the arms ``min_conversions`` in all
   (no verdict below a minimum sample);
2. Bayesian: chance to be best ≥ ``chance_to_win`` and expected loss ≤ ``loss_threshold``
   (relative to the best arm's value), as GrowthBook decides;
3. frequentist, always valid: the sequential test of the leader against every other arm,
   Holm-adjusted, below ``alpha``. Because the test is always valid, re-evaluating every
   hour does not raise the rate of false winners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .corrections import holm
from .samples import Stat
from .stats_bayes import RaceResult, race
from .stats_freq import sequential_test

__all__ = ["DEFAULT_RULE", "DecisionRule", "Verdict", "decide", "remix_challengers"]


@dataclass(frozen=True)
class DecisionRule:
    """Thresholds of the rule; defaults follow GrowthBook's where it has one."""

    min_units: int = 100
    min_conversions: int = 20
    chance_to_win: float = 0.95
    loss_threshold: float = 0.01
    alpha: float = 0.05
    retire_below: float = 0.01
    sequential_tuning: float = 5000.0
    # Posterior draws for chance to be best / expected loss (Monte Carlo error ~0.3%).
    draws: int = 20_000


DEFAULT_RULE = DecisionRule()


@dataclass(frozen=True)
class Verdict:
    """``collecting`` (below the minimum sample), ``running`` or ``winner``."""

    status: Literal["collecting", "running", "winner"]
    winner: int | None = None
    retire: list[int] = field(default_factory=list)
    leader: int | None = None
    chance_best: list[float] = field(default_factory=list)
    expected_loss: list[float] = field(default_factory=list)
    # Holm-adjusted sequential p-value of the leader against each arm (None for itself).
    p_vs_leader: list[float | None] = field(default_factory=list)
    reason: str = ""


def decide(stats: Sequence[Stat], rule: DecisionRule = DEFAULT_RULE, seed: int = 0) -> Verdict:
    """Apply the rule to the live arms' primary metric."""
    k = len(stats)
    if k < 2:
        return Verdict("collecting", reason="fewer than two live creatives")
    result = race(list(stats), alpha=rule.alpha, draws=rule.draws, seed=seed)
    leader = max(range(k), key=lambda i: result.chance_best[i])
    short = [i for i, s in enumerate(stats) if s.n < rule.min_units]
    conversions = sum(s.mean * s.n for s in stats)
    base = {
        "leader": leader,
        "chance_best": result.chance_best,
        "expected_loss": result.expected_loss,
    }
    if short or conversions < rule.min_conversions:
        return Verdict(
            "collecting",
            reason=f"minimum sample not reached: {rule.min_units} units per creative and "
            f"{rule.min_conversions} conversions in all",
            p_vs_leader=[None] * k,
            **base,  # type: ignore[arg-type]
        )
    others = [i for i in range(k) if i != leader]
    # Absolute differences: a relative lift over a tiny baseline is too noisy to ever
    # decide, and over the post-hoc leader it is biased; the difference is symmetric.
    raw = [
        sequential_test(
            stats[i], stats[leader], rule.alpha, rule.sequential_tuning, relative=False
        ).p_value
        for i in others
    ]
    adjusted = holm(raw)
    p_vs: list[float | None] = [None] * k
    for i, p in zip(others, adjusted, strict=True):
        p_vs[i] = p
    leader_better = all(stats[leader].mean > stats[i].mean for i in others)
    significant = leader_better and all(p < rule.alpha for p in adjusted)
    if (
        significant
        and result.chance_best[leader] >= rule.chance_to_win
        and result.expected_loss[leader] <= rule.loss_threshold
    ):
        return Verdict(
            "winner",
            winner=leader,
            retire=others,
            p_vs_leader=p_vs,
            reason=f"chance to win {result.chance_best[leader]:.1%}, expected loss "
            f"{result.expected_loss[leader]:.2%}, sequential test p ≤ {max(adjusted):.3g}",
            **base,  # type: ignore[arg-type]
        )
    retire = [
        i
        for i, p in zip(others, adjusted, strict=True)
        if result.chance_best[i] < rule.retire_below
        and p < rule.alpha
        and stats[i].mean < stats[leader].mean
    ]
    if len(retire) >= k - 1:
        retire = []  # never retire down to one arm without a declared winner
    return Verdict(
        "running",
        retire=retire,
        p_vs_leader=p_vs,
        reason=_missing(stats, leader, adjusted, result, rule),
        **base,  # type: ignore[arg-type]
    )


def _missing(
    stats: Sequence[Stat],
    leader: int,
    adjusted: list[float],
    result: RaceResult,
    rule: DecisionRule,
) -> str:
    """Why there is no winner: every criterion that failed, with the number that failed it.

    A report that shows 99.9% chance to be best next to "no winner" must say which other
    criterion held the verdict back, or it contradicts itself.
    """
    failed = []
    if not all(stats[leader].mean > s.mean for i, s in enumerate(stats) if i != leader):
        failed.append("the leader does not convert best on the data")
    elif max(adjusted) >= rule.alpha:
        failed.append(
            f"sequential test p = {max(adjusted):.3g} (Holm-adjusted; needs < {rule.alpha:g})"
        )
    if result.chance_best[leader] < rule.chance_to_win:
        failed.append(
            f"chance to be best {result.chance_best[leader]:.1%} (needs ≥ {rule.chance_to_win:.0%})"
        )
    if result.expected_loss[leader] > rule.loss_threshold:
        failed.append(
            f"expected loss {result.expected_loss[leader]:.2%} (needs ≤ {rule.loss_threshold:.0%})"
        )
    return "no winner yet: " + "; ".join(failed)


def remix_challengers(
    winner: Mapping[str, str],
    levels: Mapping[str, Sequence[str]],
    tried: Sequence[Mapping[str, str]],
    limit: int = 4,
) -> list[dict[str, str]]:
    """New variants one factor away from the winner, not tried yet (for the next round)."""
    seen = {tuple(sorted(t.items())) for t in tried}
    out: list[dict[str, str]] = []
    for factor in sorted(levels):
        for level in levels[factor]:
            if winner.get(factor) == level:
                continue
            remix = {**winner, factor: level}
            key = tuple(sorted(remix.items()))
            if key not in seen:
                seen.add(key)
                out.append(remix)
    return out[:limit]
