"""Sample-ratio mismatch: did each arm get the share of units its weight promised?

A mismatch means assignment or tracking is broken (a cached page, a lost pixel), and no
comparison of the arms can be trusted until it is explained.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.stats import chi2

__all__ = ["SRM_P_THRESHOLD", "srm_p_value", "srm_p_value_periods"]

SRM_P_THRESHOLD = 0.001


def srm_p_value(observed: Sequence[float], expected_share: Sequence[float]) -> float:
    """Pearson chi-square p-value of ``observed`` counts against expected shares."""
    return srm_p_value_periods([(list(observed), list(expected_share))])


def srm_p_value_periods(periods: Sequence[tuple[Sequence[float], Sequence[float]]]) -> float:
    """The same test when weights changed over time (a bandit re-weighting).

    Each period contributes its own expected counts (units in the period × weight);
    the statistic sums over every period and arm with a positive expectation, with
    one degree of freedom per arm less one per period.
    """
    stat, dof = 0.0, 0
    for observed, weights in periods:
        total = float(sum(observed))
        wsum = float(sum(w for w in weights if w > 0))
        if total <= 0 or wsum <= 0:
            continue
        arms = 0
        for o, w in zip(observed, weights, strict=True):
            if w <= 0:
                continue  # arms switched off cannot be under- or over-served
            e = w / wsum * total
            stat += (o - e) ** 2 / e
            arms += 1
        dof += max(arms - 1, 0)
    if dof == 0:
        return 1.0
    return float(chi2.sf(stat, dof))
