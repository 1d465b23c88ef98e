"""Simulated shoppers, for demos and for testing the loop (allocation → evidence → decision).

Two levels:

- ``simulate_loop``: the statistics and allocation loop in-process with numpy (shoppers
  drawn in batches by the current weights, conversions by the true rates), running the
  same ``decide`` and ``top_two_weights`` as production. Fast enough for hundreds of
  seeds, which is how the false-winner rate is measured.
- ``run_shoppers``: shopper agents through the real MCP server (the SDK's in-memory
  client on ``build_mcp_server``): each calls ``get_product`` with its own shopper id,
  sees the creative allocation chose, and buys with the probability its factor levels
  carry. The campaign is evaluated every ``evaluate_every`` shoppers with ``apply=True``,
  so later shoppers are served by the updated weights.

Purchases: the MCP server has no checkout tools yet, so a simulated purchase is recorded
with ``experiments.events.record_event`` (kind purchase, the product's price, attributed
to the creative shown), exactly what a completed agent checkout records.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from mcp import Client
from sqlalchemy import select

from experiments.bandit import top_two_weights
from experiments.decisions import DEFAULT_RULE, DecisionRule, decide
from experiments.evaluation import CampaignReport, evaluate_campaign
from experiments.events import record_event
from experiments.samples import ProportionStat
from experiments.tracking import record_click
from reelcart.db import Database
from reelcart.domain import EventKind
from reelcart.models import Campaign, Creative

if TYPE_CHECKING:
    from mcp.server import MCPServer

__all__ = [
    "DEFAULT_RATE",
    "FactorRates",
    "LoopOutcome",
    "ShopperRun",
    "false_winner_rate",
    "parse_rate",
    "rate_for",
    "run_shoppers",
    "simulate_loop",
]

# {"hook": {"price": 0.12, "title": 0.08}}: true conversion rate per factor level.
FactorRates = Mapping[str, Mapping[str, float]]
# Without rates every creative converts alike: the neutral default, under which a declared
# winner is a false positive (the simulation then tests the statistics, not the ads).
DEFAULT_RATE = 0.08


def parse_rate(text: str) -> tuple[str, str, float]:
    """``hook=price:0.12`` → (factor, level, rate)."""
    try:
        pair, rate = text.rsplit(":", 1)
        factor, level = pair.split("=", 1)
        value = float(rate)
    except ValueError as exc:
        raise ValueError(f"expected factor=level:rate, got {text!r}") from exc
    if not 0 <= value <= 1:
        raise ValueError(f"rate must be between 0 and 1, got {value}")
    return factor.strip(), level.strip(), value


def rate_for(
    factors: Mapping[str, str], rates: FactorRates, default: float = DEFAULT_RATE
) -> float:
    """A creative's true rate: the mean of the rates of its levels that ``rates`` names."""
    known = [rates[f][lvl] for f, lvl in factors.items() if f in rates and lvl in rates[f]]
    return float(np.mean(known)) if known else default


@dataclass(frozen=True)
class LoopOutcome:
    winner: int | None
    units: list[int]
    rounds: int


def simulate_loop(
    true_rates: Sequence[float],
    shoppers: int,
    *,
    rounds: int = 20,
    rule: DecisionRule = DEFAULT_RULE,
    rng: np.random.Generator,
) -> LoopOutcome:
    """The evaluate-and-reallocate loop over ``shoppers`` in ``rounds`` batches."""
    k = len(true_rates)
    rates = np.asarray(true_rates, dtype=float)
    units = np.zeros(k, dtype=np.int64)
    buyers = np.zeros(k, dtype=np.int64)
    live = list(range(k))
    weights = np.full(k, 1.0 / k)
    per_round = max(shoppers // rounds, 1)
    for r in range(rounds):
        served = rng.multinomial(per_round, weights)
        buyers += rng.binomial(served, rates)
        units += served
        stats = [ProportionStat(int(units[i]), float(buyers[i])) for i in live]
        verdict = decide(stats, rule, seed=r)
        if verdict.status == "winner" and verdict.winner is not None:
            return LoopOutcome(live[verdict.winner], units.tolist(), r + 1)
        live = [arm for j, arm in enumerate(live) if j not in verdict.retire]
        sub = top_two_weights(
            [ProportionStat(int(units[i]), float(buyers[i])) for i in live],
            min_units=rule.min_units,
            draws=4000,
            rng=rng,
        )
        weights = np.zeros(k)
        weights[live] = sub
    return LoopOutcome(None, units.tolist(), rounds)


def false_winner_rate(
    rate: float, arms: int, shoppers: int, seeds: int, rule: DecisionRule = DEFAULT_RULE
) -> float:
    """Share of seeds in which equal arms still produced a declared winner."""
    wins = sum(
        simulate_loop([rate] * arms, shoppers, rule=rule, rng=np.random.default_rng(seed)).winner
        is not None
        for seed in range(seeds)
    )
    return wins / seeds


@dataclass
class ShopperRun:
    """What the simulated shoppers saw and did, and the last evaluation."""

    shown: Counter[str] = field(default_factory=Counter)
    shown_late: Counter[str] = field(default_factory=Counter)
    purchases: Counter[str] = field(default_factory=Counter)
    evaluations: int = 0
    report: CampaignReport | None = None


async def run_shoppers(
    db: Database,
    server: MCPServer,
    campaign: str,
    shoppers: int,
    rates: FactorRates,
    *,
    seed: int = 0,
    evaluate_every: int = 200,
    rule: DecisionRule | None = None,
    click_rate: float = 0.3,
    default_rate: float = DEFAULT_RATE,
    on_shopper: Callable[[int], None] | None = None,
) -> ShopperRun:
    """Drive ``shoppers`` simulated agents through ``server``, evaluating as they go.

    The caller (a composition root) builds the server, so experiments/ never imports the
    commerce layer (DESIGN.md: the arrows point down). A creative none of whose levels
    ``rates`` names converts at ``default_rate``; ``on_shopper(done)`` hears each shopper.
    """
    rng = random.Random(seed)
    with db.session() as session:
        rows = session.execute(
            select(Creative.product_id)
            .join(Campaign)
            .where(Campaign.name == campaign, Creative.status == "published")
            .distinct()
        ).all()
        product_ids = sorted(r[0] for r in rows)
    if not product_ids:
        raise LookupError(f"campaign {campaign!r} has no published creatives to show")
    run = ShopperRun()
    async with Client(server) as client:
        for i in range(shoppers):
            shopper = f"sim-{seed}-{i}"
            product_id = rng.choice(product_ids)
            result = await client.call_tool(
                "get_product", {"product_id": product_id, "shopper_id": shopper}
            )
            data = result.structured_content or {}
            creative = data.get("creative")
            if on_shopper is not None:
                on_shopper(i + 1)
            if result.is_error or not creative:
                continue
            creative_id = creative["creative_id"]
            run.shown[creative_id] += 1
            if i >= shoppers // 2:
                run.shown_late[creative_id] += 1
            p = rate_for(creative["factors"], rates, default_rate)
            bought = rng.random() < p
            clicked = bought or rng.random() < click_rate * p / max(1 - p, 1e-9)
            variant = data["variants"][0]
            with db.session() as session:
                row = session.get(Creative, creative_id)
                assert row is not None
                if clicked:
                    record_click(session, row, shopper, source="simulator")
                if bought:
                    record_event(
                        session,
                        EventKind.PURCHASE,
                        f"purchase:simulator:{shopper}:{product_id}",
                        creative_id=creative_id,
                        product_id=row.product_id,
                        subject=shopper,
                        amount_minor=int(variant["price"]["amount"]),
                        currency=variant["price"]["currency"],
                    )
                    run.purchases[creative_id] += 1
            if (i + 1) % evaluate_every == 0 or i + 1 == shoppers:
                with db.session() as session:
                    run.report = evaluate_campaign(session, campaign, rule, apply=True)
                run.evaluations += 1
    return run
