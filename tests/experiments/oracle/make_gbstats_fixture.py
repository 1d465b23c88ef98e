"""Reference numbers from GrowthBook's gbstats, the test oracle for experiments/stats_*.py.

gbstats pins numpy<2 and pandas<2, so it lives in its own venv, never in reelcart's:

    python3 -m venv /tmp/gbstats-venv && /tmp/gbstats-venv/bin/pip install gbstats==0.8.0
    /tmp/gbstats-venv/bin/python tests/experiments/oracle/make_gbstats_fixture.py

writes ``gbstats_fixture.json`` next to this file (committed; the tests only read it).
Generated with gbstats 0.8.0.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import (
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

PROPORTIONS = [
    # (n_a, conversions_a, n_b, conversions_b)
    (1000, 80, 1000, 120),
    (5000, 400, 5100, 420),
    (250, 20, 230, 31),
    (12000, 960, 11800, 900),
]
MEANS = [
    # (n, sum, sum_squares) for A then B: revenue per unit in minor units
    ((1000, 193_000.0, 462_000_000.0), (1000, 240_000.0, 600_000_000.0)),
    ((3000, 75_000.0, 58_000_000.0), (2900, 70_000.0, 57_500_000.0)),
]
RATIOS = [
    # AOV: (n, m_sum, m_sum_sq, d_sum, d_sum_sq, m_d_sum) for A then B
    (
        (400, 960_000.0, 2_600_000_000.0, 420.0, 460.0, 1_050_000.0),
        (410, 1_100_000.0, 3_300_000_000.0, 430.0, 470.0, 1_210_000.0),
    ),
]
SRM = [
    ([1000, 1000], [0.5, 0.5]),
    ([1000, 1100], [0.5, 0.5]),
    ([5000, 5300, 4900], [1, 1, 1]),
    ([700, 300], [0.7, 0.3]),
    ([800, 260, 240], [0.6, 0.2, 0.2]),
]


def _results(a, b) -> dict[str, object]:  # type: ignore[no-untyped-def]
    bayes = EffectBayesianABTest(a, b, EffectBayesianConfig()).compute_result()
    freq = TwoSidedTTest(a, b).compute_result()
    seq = SequentialTwoSidedTTest(a, b, SequentialConfig()).compute_result()
    return {
        "bayes": {
            "chance_to_win": float(bayes.chance_to_win),
            "expected": float(bayes.expected),
            "ci": [float(x) for x in bayes.ci],
            "risk": [float(x) for x in bayes.risk],
        },
        "ttest": {"p_value": float(freq.p_value), "ci": [float(x) for x in freq.ci]},
        "sequential": {"p_value": float(seq.p_value), "ci": [float(x) for x in seq.ci]},
    }


def main() -> None:
    cases: list[dict[str, object]] = []
    for n_a, c_a, n_b, c_b in PROPORTIONS:
        a, b = ProportionStatistic(n=n_a, sum=c_a), ProportionStatistic(n=n_b, sum=c_b)
        cases.append({"kind": "proportion", "a": [n_a, c_a], "b": [n_b, c_b], **_results(a, b)})
    for sa, sb in MEANS:
        a = SampleMeanStatistic(n=sa[0], sum=sa[1], sum_squares=sa[2])
        b = SampleMeanStatistic(n=sb[0], sum=sb[1], sum_squares=sb[2])
        cases.append({"kind": "mean", "a": list(sa), "b": list(sb), **_results(a, b)})
    for ra, rb in RATIOS:

        def ratio(r):  # type: ignore[no-untyped-def]
            n, m, m2, d, d2, md = r
            return RatioStatistic(
                n=n,
                m_statistic=SampleMeanStatistic(n=n, sum=m, sum_squares=m2),
                d_statistic=SampleMeanStatistic(n=n, sum=d, sum_squares=d2),
                m_d_sum_of_products=md,
            )

        cases.append(
            {"kind": "ratio", "a": list(ra), "b": list(rb), **_results(ratio(ra), ratio(rb))}
        )
    srm = [{"users": u, "weights": w, "p_value": float(check_srm(u, w))} for u, w in SRM]
    out = {
        "gbstats_version": importlib.metadata.version("gbstats"),
        "cases": cases,
        "srm": srm,
    }
    path = Path(__file__).with_name("gbstats_fixture.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({len(cases)} cases, gbstats {out['gbstats_version']})")


if __name__ == "__main__":
    main()
