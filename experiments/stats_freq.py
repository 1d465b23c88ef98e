"""Frequentist comparison of two arms: Welch t-test and an always-valid sequential test.

The sequential test is the asymptotic confidence sequence of Waudby-Smith et al. (2023),
as GrowthBook ships it: its p-value and interval stay valid however often a marketer
looks, which is what lets the report refresh every hour without inflating false winners.
Both work on the relative lift with the delta-method variance (``samples.relative_effect``),
so they cover proportions, revenue per unit and ratio metrics alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import t as student_t

from .samples import Stat, relative_effect

__all__ = ["FreqResult", "always_valid", "sequential_test", "t_test"]


@dataclass(frozen=True)
class FreqResult:
    """Relative lift of b over a, its interval and two-sided p-value."""

    lift: float
    ci: tuple[float, float]
    p_value: float
    defined: bool = True


_UNDEFINED = FreqResult(0.0, (0.0, 0.0), 1.0, defined=False)


def _dof(a: Stat, b: Stat) -> float:
    # Welch–Satterthwaite degrees of freedom.
    va, vb = a.variance / a.n, b.variance / b.n
    denom = va**2 / max(a.n - 1, 1) + vb**2 / max(b.n - 1, 1)
    return (va + vb) ** 2 / denom if denom > 0 else float(a.n + b.n - 2)


def t_test(a: Stat, b: Stat, alpha: float = 0.05) -> FreqResult:
    """Fixed-horizon two-sided Welch t-test on the relative lift (valid for one look)."""
    effect = relative_effect(a, b)
    if effect is None:
        return _UNDEFINED
    lift, var = effect
    dof = _dof(a, b)
    se = math.sqrt(var)
    p = float(2 * student_t.sf(abs(lift / se), dof))
    width = float(student_t.ppf(1 - alpha / 2, dof)) * se
    return FreqResult(lift, (lift - width, lift + width), min(p, 1.0))


def _rho(alpha: float, tuning: float) -> float:
    # eq. 161 of Waudby-Smith et al.: optimises the width near ``tuning`` total units.
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)


def sequential_test(
    a: Stat, b: Stat, alpha: float = 0.05, tuning: float = 5000.0, relative: bool = True
) -> FreqResult:
    """Always-valid two-sided test (asymptotic confidence sequence / mixture e-value).

    ``tuning`` is the total sample size where the sequence is tightest; GrowthBook's
    default 5000 is used unless the campaign expects far more traffic. ``relative=False``
    tests the absolute difference instead.
    """
    effect = relative_effect(a, b, relative)
    if effect is None:
        return _UNDEFINED
    lift, var = effect
    return always_valid(lift, var, a.n + b.n, alpha, tuning)


def always_valid(
    estimate: float,
    variance: float,
    n: int,
    alpha: float = 0.05,
    tuning: float = 5000.0,
    level: float | None = None,
) -> FreqResult:
    """The confidence sequence around any asymptotically normal estimate from ``n`` units.

    ``variance`` is the estimate's (not a unit's) variance. The interval, at error rate
    ``level`` (default ``alpha``, which tunes the mixture), excludes 0 exactly when the
    p-value is below ``level``: both come from the same mixture e-value. That duality is
    what lets a report show multiplicity-adjusted intervals that agree with its verdicts.
    """
    if n <= 0 or not math.isfinite(variance) or variance <= 0:
        return _UNDEFINED
    lift, var = estimate, variance
    rho2 = _rho(alpha, tuning) ** 2
    s2 = var * n
    tr2p1 = n * rho2 + 1
    width = math.sqrt(s2) * math.sqrt(
        2 * tr2p1 * math.log(math.sqrt(tr2p1) / (level or alpha)) / (n**2 * rho2)
    )
    st2 = lift**2 * n / var
    # The e-value can overflow for huge effects; its reciprocal is then 0.
    log_e = rho2 * st2 / (2 * tr2p1) - 0.5 * math.log(tr2p1)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)
    return FreqResult(lift, (lift - width, lift + width), min(p, 1.0))
