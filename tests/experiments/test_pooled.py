"""The stratified factor analysis against statsmodels, and its rule's guarantees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from experiments.decisions import DecisionRule
from experiments.factor_effects import ArmCounts, _holm_levels, factor_effects
from experiments.pooled import Stratum, mantel_haenszel
from experiments.stats_freq import always_valid


def _random_strata(rng: np.random.Generator, k: int) -> list[Stratum]:
    out = []
    for _ in range(k):
        n1, n0 = int(rng.integers(30, 3000)), int(rng.integers(30, 3000))
        p1, p0 = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3)
        out.append(Stratum(float(rng.binomial(n1, p1)), n1, float(rng.binomial(n0, p0)), n0))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_mantel_haenszel_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    strata = _random_strata(rng, int(rng.integers(1, 10)))
    tables = np.array(
        [
            [[s.buyers, s.shown - s.buyers], [s.other_buyers, s.other_shown - s.other_buyers]]
            for s in strata
        ]
    ).transpose(1, 2, 0)
    oracle = StratifiedTable(tables)
    ours = mantel_haenszel(strata)
    assert ours.odds_ratio == pytest.approx(oracle.oddsratio_pooled, rel=1e-10)
    assert math.sqrt(ours.log_or_var) == pytest.approx(oracle.logodds_pooled_se, rel=1e-10)
    test = oracle.test_null_odds(correction=False)
    assert ours.cmh_statistic == pytest.approx(test.statistic, rel=1e-9)
    assert ours.cmh_p == pytest.approx(test.pvalue, rel=1e-6, abs=1e-12)
    # The weighted rates differ by the Mantel–Haenszel risk difference (its textbook form).
    weights = [s.shown * s.other_shown / (s.shown + s.other_shown) for s in strata]
    rd = sum(
        (s.buyers * s.other_shown - s.other_buyers * s.shown) / (s.shown + s.other_shown)
        for s in strata
    ) / sum(weights)
    assert ours.rate - ours.other_rate == pytest.approx(rd, rel=1e-10)


def test_empty_and_one_sided_strata_are_skipped() -> None:
    mh = mantel_haenszel([Stratum(5, 50, 0, 0), Stratum(10, 100, 5, 100)])
    assert mh.strata == 1 and mh.units == 200
    assert mh.rate == pytest.approx(0.10) and mh.other_rate == pytest.approx(0.05)
    assert not mantel_haenszel([Stratum(0, 10, 0, 0)]).defined


def test_holm_levels_reproduce_holm_decisions() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = list(rng.uniform(0, 0.06, int(rng.integers(1, 7))))
        from experiments.corrections import holm

        adjusted = holm(p)
        levels = _holm_levels(p, 0.05)
        assert [a < 0.05 for a in adjusted] == [x < lvl for x, lvl in zip(p, levels, strict=True)]


def test_interval_excludes_one_exactly_when_decisive() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        est, var, n = rng.normal(0, 0.3), rng.uniform(0.001, 0.05), int(rng.integers(200, 9000))
        level = rng.choice([0.05, 0.025, 0.0125])
        r = always_valid(est, var, n, 0.05, 5000.0, level=level)
        assert (r.ci[0] > 0 or r.ci[1] < 0) == (r.p_value < level)


def _arms(rates: dict[str, list[float]], shown: list[list[int]]) -> list[ArmCounts]:
    """Products as columns: rates[level][product] and shown[level index][product]."""
    arms = []
    for li, (level, per_product) in enumerate(rates.items()):
        for pi, rate in enumerate(per_product):
            n = shown[li][pi]
            arms.append(ArmCounts(f"p{pi}", {"hook": level}, n, round(n * rate)))
    return arms


def test_simpsons_paradox_is_resolved_by_products_as_blocks() -> None:
    # price leads in both products, but got most of its traffic on the poor seller:
    # summed up, title looks better (11.3% vs 6.8%).
    arms = _arms({"price": [0.20, 0.05], "title": [0.15, 0.03]}, [[300, 3000], [3000, 300]])
    crude = {lvl: sum(a.buyers for a in arms if a.factors["hook"] == lvl) for lvl in ("price",)}
    assert (
        crude["price"] / 3300 < sum(a.buyers for a in arms if a.factors["hook"] == "title") / 3300
    )
    (hook,) = factor_effects(arms, DecisionRule())
    assert hook.leader == "price"
    assert hook.comparisons[0].mh.odds_ratio > 1


def test_a_clear_factor_effect_wins_and_equal_levels_do_not() -> None:
    rng = np.random.default_rng(5)
    arms = []
    for p in range(9):
        base = rng.uniform(0.05, 0.12)
        for level, lift in (("price", 0.06), ("title", 0.0), ("question", 0.0)):
            n = 400
            arms.append(
                ArmCounts(
                    f"p{p}",
                    {"hook": level, "cta": "shop_now" if p % 2 else "buy_in_chat"},
                    n,
                    int(rng.binomial(n, base + lift)),
                )
            )
    effects = {e.factor: e for e in factor_effects(arms, DecisionRule())}
    hook = effects["hook"]
    assert hook.status == "winner" and hook.winner == "price", hook.reason
    assert hook.losing_levels == ["title", "question"] or set(hook.losing_levels) == {
        "title",
        "question",
    }
    assert all(c.ci[0] > 1 for c in hook.comparisons)
    assert "always-valid p" in hook.reason
    assert effects["cta"].status != "winner"


def test_no_verdict_below_the_minimum_sample() -> None:
    arms = _arms({"price": [0.5], "title": [0.0]}, [[50], [50]])
    (hook,) = factor_effects(arms, DecisionRule())
    assert hook.status == "collecting" and hook.losing_levels == []
