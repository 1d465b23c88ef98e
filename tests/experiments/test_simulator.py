"""The loop end to end: simulated shoppers, evaluation, allocation, decisions."""

from __future__ import annotations

import numpy as np
import pytest

from app.mcp.server import build_mcp_server
from app.simulator import (
    false_winner_rate,
    parse_rate,
    rate_for,
    run_shoppers,
    simulate_loop,
)
from connectors.storage import MediaStore
from experiments.decisions import DecisionRule
from reelcart.db import Database

FAST = DecisionRule(draws=4000)


def test_a_truly_better_variant_wins_and_takes_the_traffic() -> None:
    outcomes = [
        simulate_loop([0.08, 0.12, 0.08], 9000, rounds=10, rule=FAST, rng=np.random.default_rng(s))
        for s in range(12)
    ]
    right = [o for o in outcomes if o.winner == 1]
    assert len(right) >= 9, [o.winner for o in outcomes]
    assert all(o.winner in (None, 1) for o in outcomes)
    # Top-two Thompson moved traffic to the better arm before the verdict.
    shares = [o.units[1] / sum(o.units) for o in outcomes]
    assert np.mean(shares) > 0.45, shares


@pytest.mark.parametrize("arms", [2, 3])
def test_equal_variants_rarely_produce_a_winner(arms: int) -> None:
    # Always-valid tests: re-evaluating every round (10 looks) keeps false winners rare.
    assert false_winner_rate(0.08, arms, 6000, seeds=60 if arms == 2 else 40, rule=FAST) <= 0.05


def test_rates_parse_and_combine() -> None:
    assert parse_rate("hook=price:0.12") == ("hook", "price", 0.12)
    with pytest.raises(ValueError):
        parse_rate("hook:price")
    with pytest.raises(ValueError):
        parse_rate("hook=price:2")
    rates = {"hook": {"price": 0.12, "title": 0.08}, "cta": {"buy": 0.10}}
    assert rate_for({"hook": "price"}, rates) == 0.12
    assert rate_for({"hook": "title", "cta": "buy"}, rates) == pytest.approx(0.09)
    assert rate_for({"style": "x"}, rates) == 0.08


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_shoppers_through_the_real_mcp_server(
    db: Database, store: MediaStore, campaign: dict, anyio_backend: str
) -> None:
    run = await run_shoppers(
        db,
        build_mcp_server(db, store),
        "spring",
        400,
        {"hook": {"price": 0.35, "title": 0.05}},
        seed=3,
        evaluate_every=50,
        # A smaller minimum sample keeps this run short; power at 12% vs 8% is measured
        # by the in-process loop above with the default rule.
        # The sequential test is tuned to the sample this run expects (~400 units).
        rule=DecisionRule(min_units=50, min_conversions=10, sequential_tuning=400),
    )
    assert run.report is not None and run.evaluations == 8
    better = {ids["price"] for ids in campaign.values()}
    assert {w.creative_id for w in run.report.winners} <= better
    assert len(run.report.winners) >= 1
    late_better = sum(n for cid, n in run.shown_late.items() if cid in better)
    assert late_better / sum(run.shown_late.values()) > 0.75
