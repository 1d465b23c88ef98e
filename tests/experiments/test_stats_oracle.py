"""Statistics checked number for number against GrowthBook's gbstats (see oracle/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from experiments.corrections import benjamini_hochberg, holm
from experiments.samples import MeanStat, ProportionStat, RatioStat, Stat, pooled
from experiments.srm import srm_p_value, srm_p_value_periods
from experiments.stats_bayes import effect_vs_baseline, race
from experiments.stats_freq import sequential_test, t_test

FIXTURE = json.loads((Path(__file__).parent / "oracle" / "gbstats_fixture.json").read_text())


def _stats(case: dict) -> tuple[Stat, Stat]:
    a, b = case["a"], case["b"]
    if case["kind"] == "proportion":
        return ProportionStat(a[0], a[1]), ProportionStat(b[0], b[1])
    if case["kind"] == "mean":
        return MeanStat(*a), MeanStat(*b)
    return RatioStat(*a), RatioStat(*b)


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: f"{c['kind']}-{c['a'][0]}")
def test_matches_gbstats(case: dict) -> None:
    a, b = _stats(case)
    bayes = effect_vs_baseline(a, b)
    ref = case["bayes"]
    assert bayes.chance_to_win == pytest.approx(ref["chance_to_win"], rel=1e-9, abs=1e-12)
    assert bayes.expected == pytest.approx(ref["expected"], rel=1e-9)
    assert bayes.ci == pytest.approx(ref["ci"], rel=1e-9)
    assert bayes.risk == pytest.approx(ref["risk"], rel=1e-6, abs=1e-12)
    freq = t_test(a, b)
    assert freq.p_value == pytest.approx(case["ttest"]["p_value"], rel=1e-7)
    assert freq.ci == pytest.approx(case["ttest"]["ci"], rel=1e-9)
    seq = sequential_test(a, b)
    assert seq.p_value == pytest.approx(case["sequential"]["p_value"], rel=1e-9)
    assert seq.ci == pytest.approx(case["sequential"]["ci"], rel=1e-9)


@pytest.mark.parametrize("case", FIXTURE["srm"], ids=lambda c: str(c["users"]))
def test_srm_matches_gbstats(case: dict) -> None:
    assert srm_p_value(case["users"], case["weights"]) == pytest.approx(case["p_value"], rel=1e-9)


def test_srm_over_weight_periods_flags_only_a_real_mismatch() -> None:
    # Weights moved 50/50 → 80/20; traffic followed them: no mismatch.
    fine = [([500, 510], [0.5, 0.5]), ([1600, 390], [0.8, 0.2])]
    assert srm_p_value_periods(fine) > 0.05
    # Judged against a single 50/50 split the same counts would look broken.
    assert srm_p_value([2100, 900], [0.5, 0.5]) < 0.001
    broken = [([500, 510], [0.5, 0.5]), ([1000, 990], [0.8, 0.2])]
    assert srm_p_value_periods(broken) < 0.001


def test_sequential_is_wider_than_fixed_horizon_and_undefined_cases_say_so() -> None:
    a, b = ProportionStat(1000, 80), ProportionStat(1000, 120)
    assert sequential_test(a, b).p_value > t_test(a, b).p_value
    zero = ProportionStat(100, 0)
    assert not t_test(zero, b).defined and not effect_vs_baseline(zero, b).defined
    assert not sequential_test(ProportionStat(0, 0), b).defined


def test_corrections_match_references() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    assert benjamini_hochberg(p) == pytest.approx(list(false_discovery_control(p)))
    # Holm by hand: sorted 0.005*5, 0.01*4, 0.03*3, 0.04*2, 0.2*1, then running max.
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2])


def test_pooling_adds_sufficient_statistics() -> None:
    assert pooled([ProportionStat(10, 2), ProportionStat(30, 4)]) == ProportionStat(40, 6)
    assert pooled([MeanStat(2, 3.0, 5.0), MeanStat(1, 1.0, 1.0)]) == MeanStat(3, 4.0, 6.0)
    with pytest.raises(ValueError):
        pooled([])


def test_race_agrees_with_two_arm_chance_to_win() -> None:
    a, b = ProportionStat(1000, 80), ProportionStat(1000, 120)
    result = race([a, b], draws=200_000)
    assert result.chance_best[1] == pytest.approx(effect_vs_baseline(a, b).chance_to_win, abs=0.01)
    assert result.expected_loss[1] < result.expected_loss[0]
    lo, hi = result.ci[1]
    assert lo < 0.12 < hi
    # Equal arms: nobody is a clear winner.
    even = race([ProportionStat(1000, 100)] * 3)
    assert max(even.chance_best) < 0.5
    assert np.isclose(sum(even.chance_best), 1.0)
