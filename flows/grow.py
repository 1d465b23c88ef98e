"""Flow: close the loop — make the challengers an evaluation asked for, with no one involved.

When ``evaluate-campaign`` declares a winner it records a ``challengers`` decision (remixes
of the winner, one factor level changed). The ``grow-campaigns`` deployment runs on a
Prefect automation (a trigger in ``prefect.yaml`` on every completed ``evaluate-campaign``
run); it answers every decision no generation has answered yet: plans the remixes as new
creatives of the campaign, renders them on the ``gpu`` pool like any generation, publishes
them and enters them into allocation at the floor weight. With the diffusion engine a
challenger's footage is also the winner's footage remixed (video-to-video, at
``remix_strength``; see ``flows/remix.py``); with the motion engine it is a factor remix.

The loop stops when challengers stop winning: each campaign has a cap (its own
``challenger_cap``, else ``max_rounds``) on challenger generations in a row none of whose
creatives has won; a round that produced a winner resets the count. A decision over the
cap is answered by a ``capped`` entry.

Why an automation rather than the evaluation starting the run itself: the evaluation stays
a pure measurement (it runs the same without a Prefect server, from the report page or a
test), the trigger is declared and deployed with the rest of ``prefect.yaml``, and Prefect
records which event started which run. Because this flow answers *all* pending decisions,
a missed or duplicated event changes nothing: the next evaluation's run catches up, and
an answered decision is never answered twice.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from commerce.publishing import factor_label
from experiments.campaigns import plan_creatives
from experiments.generations import (
    admit_challengers,
    enqueue,
    open_generation,
    pending_challengers,
    rounds_without_a_win,
)
from reelcart.domain import CampaignPlan
from reelcart.models import Campaign, Creative, Product

from .campaign import publish_and_report, render_generation
from .common import database, settings
from .generate import Planned
from .remix import DEFAULT_STRENGTH, remix_source

__all__ = ["FLOOR_WEIGHT", "grow_campaigns", "plan_challengers"]

# The smallest share of traffic an arm gets (experiments.bandit's floor): enough to be
# measured without costing the winner much.
FLOOR_WEIGHT = 0.05


def plan_challengers(
    campaign: str | None, max_rounds: int, remix_strength: float = DEFAULT_STRENGTH
) -> dict[str, Planned]:
    """Answer every pending challengers decision: a generation of remixes, or ``capped``.

    Returns, by campaign, the challenger creatives queued for rendering by product.
    """
    out: dict[str, Planned] = {}
    remix_footage = settings().engine == "diffusion"
    with database().session() as session:
        for decision in pending_challengers(session, campaign):
            record = session.get(Campaign, decision.campaign_id)
            winner = session.get(Creative, decision.creative_id) if decision.creative_id else None
            assert record is not None
            label = f"{winner.name} ({factor_label(winner.factors)})" if winner else "a winner"
            cap = record.challenger_cap if record.challenger_cap is not None else max_rounds
            losing = rounds_without_a_win(session, record.id)
            if losing >= cap:
                open_generation(
                    session,
                    record,
                    "capped",
                    f"{label} won, but the last {losing} challenger generation(s) made no "
                    f"winner (cap {cap}): no more remixes",
                    decision_id=decision.id,
                    detail={"cap": cap, "rounds_without_a_win": losing},
                )
                continue
            product = session.scalars(
                select(Product)
                .where(Product.id == decision.product_id, Product.status == "ACTIVE")
                .options(selectinload(Product.variants), selectinload(Product.images))
            ).first()
            variants = [dict(v) for v in decision.detail.get("variants", [])]
            if product is None or not variants:
                open_generation(
                    session, record, "capped", f"{label}: nothing to remix", decision_id=decision.id
                )
                continue
            jobs = plan_creatives(session, record, [product], lambda key: key, variants=variants)
            detail: dict[str, Any] = {
                "remix_of": decision.detail.get("remix_of"),
                "variants": variants,
            }
            reason = f"{label} won; remixes with one factor changed: " + "; ".join(
                factor_label(v) for v in variants
            )
            # The engine that made the winner decides too: the planner (a `default` worker)
            # need not be configured like the gpu workers that render.
            made_by = (winner.manifest or {}).get("engine") if winner else None
            diffusion = remix_footage or made_by == "diffusion"
            source = remix_source(winner, remix_strength) if winner and diffusion else None
            if source is not None:
                detail["footage"] = source.as_detail()
                reason += f"; footage remixed from the winner's at strength {remix_strength:g}"
            generation = open_generation(
                session, record, "challengers", reason, decision_id=decision.id, detail=detail
            )
            queued = enqueue(session, generation, [j.creative_id for j in jobs])
            planned = out.setdefault(record.name, Planned({}, {}))
            planned.queued.setdefault(product.id, []).extend(queued)
    return out


@task(cache_policy=NO_CACHE)
def plan_challengers_task(
    campaign: str | None, max_rounds: int, remix_strength: float
) -> dict[str, Planned]:
    """The pending challenger decisions, answered (see :func:`plan_challengers`)."""
    return plan_challengers(campaign, max_rounds, remix_strength)


@task(cache_policy=NO_CACHE)
def admit(campaign: str, planned: Planned) -> dict[str, dict[str, float]]:
    """Enter the published challengers into allocation at the floor weight."""
    weights = {}
    with database().session() as session:
        record = session.scalars(select(Campaign).where(Campaign.name == campaign)).one()
        for product_id, creative_ids in planned.queued.items():
            weights[product_id] = admit_challengers(
                session, record.id, product_id, creative_ids, FLOOR_WEIGHT
            )
    return weights


@flow(name="grow-campaigns", log_prints=True)
def grow_campaigns(
    campaign: str | None = None,
    max_rounds: int = 3,
    remix_strength: float = DEFAULT_STRENGTH,
) -> dict[str, Any]:
    """Make the challengers every winner asked for (all campaigns, or ``campaign``).

    ``max_rounds``: the cap of a campaign that has none of its own (challenger
    generations in a row without a winner). ``remix_strength``: how far a diffusion
    challenger's footage moves from the winner's (near 0 keeps it, 1 ignores it).
    """
    grown: dict[str, Any] = {}
    for name, planned in plan_challengers_task(campaign, max_rounds, remix_strength).items():
        with database().session() as session:
            plan = CampaignPlan.model_validate(
                session.scalars(select(Campaign.plan).where(Campaign.name == name)).one()
            )
        rows = render_generation(name, planned, plan.factors, plan.max_variants)
        publish_and_report(name, rows)
        grown[name] = {"rendered": sum(int(r["rendered"]) for r in rows), **admit(name, planned)}
    return grown
