"""Evaluating a campaign: verdicts, retirement, allocation served by get_product, SRM."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sqlalchemy import select

from commerce.catalog.showcase import show_creative
from experiments.allocation import current_weights
from experiments.bandit import apply_floor, top_two_weights
from experiments.evaluation import evaluate_campaign
from experiments.samples import ProportionStat
from reelcart.db import Database
from reelcart.models import Creative, ExperimentDecision, Product
from tests.experiments.conftest import add_traffic

P1, P2 = "gid://shopify/Product/1", "gid://shopify/Product/2"


def test_no_verdict_below_the_minimum_sample(db: Database, campaign: dict) -> None:
    add_traffic(db, campaign[P1]["price"], P1, 60, 30)
    add_traffic(db, campaign[P1]["title"], P1, 60, 1)
    with db.session() as s:
        report = evaluate_campaign(s, "spring", apply=True)
    mug = next(p for p in report.products if p.product_id == P1)
    assert mug.verdict.status == "collecting" and mug.winner is None
    assert mug.method == "uniform" and {a.weight for a in mug.arms} == {0.5}


def test_clear_winner_retires_the_loser_and_takes_the_traffic(db: Database, campaign: dict) -> None:
    win, lose = campaign[P1]["price"], campaign[P1]["title"]
    add_traffic(db, win, P1, 1500, 240)
    add_traffic(db, lose, P1, 1500, 90)
    add_traffic(db, campaign[P2]["price"], P2, 300, 24)
    add_traffic(db, campaign[P2]["title"], P2, 300, 25)
    with db.session() as s:
        report = evaluate_campaign(s, "spring", apply=True)
    mug = next(p for p in report.products if p.product_id == P1)
    assert mug.winner is not None and mug.winner.creative_id == win
    assert mug.winner.chance_best > 0.95 and mug.srm_ok
    assert mug.challengers == []  # the plan's only other level is the loser itself
    comparison = next(a for a in mug.arms if a.creative_id == lose).vs_baseline
    assert comparison["conversion"].lift < 0 and comparison["conversion"].p_adjusted < 0.05
    bottle = next(p for p in report.products if p.product_id == P2)
    # The bottle alone decides nothing, but across both products the price hook wins:
    # the bottle's title hook retires too, and its price creative is its winner.
    assert bottle.verdict.status == "running"
    assert bottle.winner is not None and bottle.winner.creative_id == campaign[P2]["price"]
    assert bottle.winner_reason.startswith(
        "the only creative left after the campaign-wide verdict (hook = price sells best"
    )
    (hook,) = report.factors
    assert hook.factor == "hook" and hook.winner == "price", hook.reason
    assert hook.comparisons[0].ci[0] > 1 and hook.comparisons[0].p_adjusted < 0.05
    assert [r.creative_id for r in report.next_steps.retire] == [campaign[P2]["title"]]
    with db.session() as s:
        assert s.get(Creative, lose).status == "retired"
        assert s.get(Creative, campaign[P2]["title"]).status == "retired"
        kinds = Counter(d.kind for d in s.scalars(select(ExperimentDecision)))
        assert kinds == {"winner": 2, "retire": 2, "factor_winner": 1}
        assert current_weights(s, P1) == {win: 1.0, lose: 0.0}
        assert current_weights(s, P2) == {campaign[P2]["price"]: 1.0, campaign[P2]["title"]: 0.0}
        product = s.get(Product, P1)
        assert all(show_creative(s, product, f"new-{i}").id == win for i in range(20))
    with db.session() as s:  # evaluating again decides nothing twice
        again = evaluate_campaign(s, "spring", apply=True)
        assert len(s.scalars(select(ExperimentDecision)).all()) == 5
    assert again.next_steps.retire == [] and all(p.srm_ok for p in again.products)


def test_weights_serve_new_shoppers_and_old_ones_stay_sticky(db: Database, campaign: dict) -> None:
    a, b = campaign[P2]["price"], campaign[P2]["title"]
    with db.session() as s:
        product = s.get(Product, P2)
        before = {f"old-{i}": show_creative(s, product, f"old-{i}").id for i in range(40)}
    add_traffic(db, a, P2, 400, 60)
    add_traffic(db, b, P2, 400, 36)
    with db.session() as s:
        report = evaluate_campaign(s, "spring", apply=True)
    bottle = next(p for p in report.products if p.product_id == P2)
    assert bottle.method == "top_two_thompson"
    weights = current_weights_for(db, P2)
    assert weights[a] > 0.6 > 0.35 > weights[b] >= 0.05 or bottle.winner is not None
    with db.session() as s:
        product = s.get(Product, P2)
        assert all(show_creative(s, product, k).id == v for k, v in before.items())


def current_weights_for(db: Database, product_id: str) -> dict[str, float]:
    with db.session() as s:
        weights = current_weights(s, product_id)
    assert weights is not None
    return weights


def test_sample_ratio_mismatch_is_flagged(db: Database, campaign: dict) -> None:
    add_traffic(db, campaign[P1]["price"], P1, 1000, 50)
    add_traffic(db, campaign[P1]["title"], P1, 700, 35)
    with db.session() as s:
        report = evaluate_campaign(s, "spring")
    mug = next(p for p in report.products if p.product_id == P1)
    assert not mug.srm_ok and mug.srm_p < 0.001
    assert any("Sample ratio mismatch" in w and "Stoneware Mug" in w for w in report.warnings)


def test_unknown_campaign(db: Database) -> None:
    with db.session() as s, pytest.raises(LookupError):
        evaluate_campaign(s, "nope")


def test_top_two_weights() -> None:
    few = [ProportionStat(99, 10), ProportionStat(500, 10)]
    assert top_two_weights(few) == [0.5, 0.5]  # no re-weighting below 100 units per arm
    stats = [ProportionStat(800, 64), ProportionStat(800, 100), ProportionStat(800, 62)]
    w = top_two_weights(stats, floor=0.05)
    assert sum(w) == pytest.approx(1.0) and min(w) >= 0.05
    assert w[1] == max(w) and w[1] >= 0.6
    # A certain leader gets β of the traffic, the challengers split the rest (TTTS).
    sure = [ProportionStat(5000, 1000), ProportionStat(5000, 100)]
    assert top_two_weights(sure, floor=0.0, beta=0.5) == pytest.approx([0.5, 0.5])
    assert top_two_weights(sure, floor=0.0) == pytest.approx([0.7, 0.3])
    assert apply_floor(np.array([1.0, 0.0, 0.0]), 0.1) == pytest.approx([0.8, 0.1, 0.1])


def test_a_held_back_verdict_names_the_statistic_that_held_it() -> None:
    from experiments.decisions import decide

    # 99.6% chance to be best and ~0% expected loss, but the always-valid test is not
    # there yet: the verdict must say so, or the page contradicts itself.
    verdict = decide([ProportionStat(1000, 140), ProportionStat(1000, 100)])
    assert verdict.status == "running" and verdict.chance_best[0] > 0.99
    p = verdict.p_vs_leader[1]
    assert p is not None and p > 0.05
    assert (
        verdict.reason
        == f"no winner yet: sequential test p = {p:.3g} (Holm-adjusted; needs < 0.05)"
    )
