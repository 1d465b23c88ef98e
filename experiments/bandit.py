"""Top-two Thompson sampling: how much traffic each arm gets next.

Russo's top-two Thompson sampling (TTTS) spends half the traffic on the arm most likely
to be best and half on its strongest challenger, so it both exploits and keeps measuring
the runner-up well enough to tell them apart (plain Thompson sampling starves it). The
weights are the probabilities TTTS would serve each arm, computed from posterior draws:

    w_i = β·p_i + (1 − β)·Σ_{j≠i} p_j · p_i / (1 − p_j)

where p_i is the chance that arm i is best. β = 0.5 is Russo's choice for identifying
the best arm fastest, but with two arms it is exactly 50/50 whatever the evidence; the
store also wants revenue, so the default β = 0.7 sends up to 70% to a clear leader while
the challenger keeps ≥ 30% and stays measured. A floor keeps every arm measured (and the
sample-ratio check meaningful), and no arm is re-weighted until each has ``min_units``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .samples import Stat
from .stats_bayes import posterior_draws

__all__ = ["MIN_UNITS", "apply_floor", "chance_best", "top_two_weights"]

MIN_UNITS = 100


def chance_best(stats: Sequence[Stat], draws: int, rng: np.random.Generator) -> np.ndarray:
    """Posterior probability that each arm is best (Monte Carlo)."""
    sample = posterior_draws(list(stats), draws, rng)
    return np.bincount(sample.argmax(axis=1), minlength=len(stats)) / draws


def apply_floor(weights: np.ndarray, floor: float) -> np.ndarray:
    """Mix ``weights`` with uniform so every arm gets at least ``floor`` (exactly)."""
    k = len(weights)
    floor = min(floor, 0.5 / k)
    total = float(weights.sum())
    shares = weights / total if total > 0 else np.full(k, 1.0 / k)
    return floor + (1.0 - k * floor) * shares


def top_two_weights(
    stats: Sequence[Stat],
    *,
    beta: float = 0.7,
    floor: float = 0.05,
    min_units: int = MIN_UNITS,
    draws: int = 20_000,
    rng: np.random.Generator | None = None,
) -> list[float]:
    """TTTS serving probabilities with a floor; uniform until every arm has ``min_units``."""
    k = len(stats)
    if k == 0:
        return []
    if k == 1:
        return [1.0]
    if min(s.n for s in stats) < min_units:
        return [1.0 / k] * k
    p = chance_best(stats, draws, rng or np.random.default_rng(0))
    leader_share = beta * p
    # Challenger share: the best arm re-drawn until it differs from the leader j.
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = np.where(p[:, None] < 1.0, p[None, :] / (1.0 - p[:, None]), 0.0)
    np.fill_diagonal(conditional, 0.0)
    challenger_share = (1 - beta) * (p[:, None] * conditional).sum(axis=0)
    weights = leader_share + challenger_share
    if np.any(p >= 1.0):
        # One arm won every draw: its challenger is unknown, split that half evenly.
        rest = np.where(p >= 1.0, 0.0, (1 - beta) / (k - 1))
        weights = leader_share + rest
    return [float(w) for w in apply_floor(weights, floor)]
