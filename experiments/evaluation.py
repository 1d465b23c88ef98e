"""Evaluate a campaign: metrics, statistics, SRM, decisions and new allocation weights.

``evaluate_campaign`` reads (SQL aggregates only) and, with ``apply=True``, acts: it
stores the new weights that ``get_product`` serves by, records decisions, and retires
losers. The returned ``CampaignReport`` is plain data for the report page, the Prefect
artifacts and the CLI.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from reelcart.domain import CampaignPlan, CreativeStatus
from reelcart.models import Allocation, Campaign, Creative, ExperimentDecision, utcnow

from .allocation import current_weights, record_allocation
from .bandit import top_two_weights
from .corrections import holm
from .decisions import DecisionRule, Verdict, decide, remix_challengers
from .factor_actions import NextSteps, apply_next_steps, plan_next_steps
from .factor_effects import ArmCounts, factor_effects
from .metrics import METRICS, CreativeMetrics, MetricName, creative_metrics, exposures_by_period
from .report_data import ArmReport, CampaignReport, Comparison, ProductExperiment
from .samples import Stat
from .srm import srm_p_value_periods
from .stats_bayes import effect_vs_baseline, race
from .stats_freq import sequential_test
from .tracking import attribute_pending

__all__ = [
    "ArmReport",
    "CampaignReport",
    "ProductExperiment",
    "evaluate_campaign",
]

PRIMARY: MetricName = "conversion"


# Rates live in [0, 1] and money per shopper or order is never negative; the normal
# approximation behind a mean's interval does not know that, so its bounds are clipped to
# the quantity's range (the interval still holds the same posterior mass there).
_RANGE: dict[MetricName, tuple[float, float]] = {
    "conversion": (0.0, 1.0),
    "ctr": (0.0, 1.0),
    "revenue_per_unit": (0.0, float("inf")),
    "aov": (0.0, float("inf")),
}


def _intervals(stats: list[Stat], metric: MetricName, seed: int) -> list[tuple[float, float]]:
    low, high = _RANGE[metric]
    return [
        (min(max(lo, low), high), max(min(hi, high), low))
        for lo, hi in race(stats, draws=4000, seed=seed).ci
    ]


def _srm(session: Session, campaign_id: str, product_id: str, ids: list[str]) -> float:
    """SRM p-value over the periods of the allocation history (uniform before the first)."""
    history = session.scalars(
        select(Allocation)
        .where(Allocation.campaign_id == campaign_id, Allocation.product_id == product_id)
        .order_by(Allocation.created_at, Allocation.id)
    ).all()
    counts = exposures_by_period(session, ids, [h.created_at for h in history])
    weights = [[1.0] * len(ids)] + [[float(h.weights.get(i, 0.0)) for i in ids] for h in history]
    periods = [([c[i] for i in ids], w) for c, w in zip(counts, weights, strict=True)]
    return srm_p_value_periods(periods)


def _compare(
    arms: list[ArmReport], stats: dict[MetricName, list[Stat]], rule: DecisionRule
) -> None:
    """Every arm against the first (baseline) on every metric, Holm-adjusted together."""
    flat: list[Comparison] = []
    for metric in METRICS:
        base = stats[metric][0]
        for arm, stat in zip(arms[1:], stats[metric][1:], strict=True):
            bayes = effect_vs_baseline(base, stat, rule.alpha)
            seq = sequential_test(base, stat, rule.alpha, rule.sequential_tuning)
            comparison = Comparison(seq.lift, seq.ci, bayes.chance_to_win, seq.p_value)
            arm.vs_baseline[metric] = comparison
            flat.append(comparison)
    for comparison, p in zip(flat, holm([c.p_value for c in flat]), strict=True):
        comparison.p_adjusted = p


def _product_experiment(
    session: Session,
    campaign: Campaign,
    creatives: list[Creative],
    data: dict[str, CreativeMetrics],
    rule: DecisionRule,
    plan_levels: dict[str, list[str]],
    apply: bool,
) -> ProductExperiment:
    creatives = sorted(creatives, key=lambda c: (c.status != "published", c.name))
    live = [c for c in creatives if c.status == CreativeStatus.PUBLISHED.value]
    all_stats = {m: [data[c.id].stat(m) for c in creatives] for m in METRICS}
    arms = []
    intervals = {m: _intervals(all_stats[m], m, seed=1) for m in METRICS}
    for i, c in enumerate(creatives):
        arms.append(
            ArmReport(
                creative_id=c.id,
                name=c.name,
                factors={str(k): str(v) for k, v in c.factors.items()},
                status=c.status,
                poster_key=c.poster_key,
                video_key=c.video_key,
                metrics=data[c.id],
                values={m: data[c.id].value(m) for m in METRICS},
                intervals={m: intervals[m][i] for m in METRICS},
            )
        )
    if len(arms) > 1:
        _compare(arms, all_stats, rule)
    live_stats = [data[c.id].stat(PRIMARY) for c in live]
    verdict = decide(live_stats, rule)
    live_arms = [a for a in arms if a.status == CreativeStatus.PUBLISHED.value]
    if len(live_arms) == len(arms) and verdict.chance_best:
        for i, arm in enumerate(live_arms):
            arm.chance_best = verdict.chance_best[i]
            arm.expected_loss = verdict.expected_loss[i]
    else:
        # Retired creatives stay in the race shown: "chance to be best" is among every
        # creative the product tried, so a winner left alone is not 0% for want of rivals
        # and a retired creative that converts better cannot hide behind it.
        shown = race(all_stats[PRIMARY], alpha=rule.alpha, draws=rule.draws, seed=0)
        for arm, chance, loss in zip(arms, shown.chance_best, shown.expected_loss, strict=True):
            arm.chance_best, arm.expected_loss = chance, loss
    product_id = creatives[0].product_id
    challengers: list[dict[str, str]] = []
    if verdict.status == "winner" and verdict.winner is not None:
        weights = [1.0 if i == verdict.winner else 0.0 for i in range(len(live))]
        method = "winner"
        challengers = remix_challengers(
            live_arms[verdict.winner].factors, plan_levels, [a.factors for a in arms]
        )
    else:
        keep = [i for i in range(len(live)) if i not in verdict.retire]
        sub = top_two_weights(
            [live_stats[i] for i in keep], min_units=rule.min_units, rng=np.random.default_rng(7)
        )
        weights = [0.0] * len(live)
        for i, w in zip(keep, sub, strict=True):
            weights[i] = w
        ready = bool(live_stats) and min(s.n for s in live_stats) >= rule.min_units
        method = "top_two_thompson" if ready else "uniform"
    for arm, w in zip(live_arms, weights, strict=True):
        arm.weight = w
    srm_p = _srm(session, campaign.id, product_id, [c.id for c in creatives])
    winner_id = live_arms[verdict.winner].creative_id if verdict.winner is not None else None
    winner_reason = verdict.reason if winner_id else ""
    if winner_id is None:
        earlier = session.scalars(
            select(ExperimentDecision)
            .where(
                ExperimentDecision.campaign_id == campaign.id,
                ExperimentDecision.product_id == product_id,
                ExperimentDecision.kind == "winner",
                ExperimentDecision.creative_id.in_([c.id for c in live]),
            )
            .order_by(ExperimentDecision.created_at.desc())
            .limit(1)
        ).first()
        if earlier is not None:
            winner_id = earlier.creative_id
            winner_reason = f"decided {earlier.created_at:%Y-%m-%d %H:%M}: " + str(
                earlier.detail.get("reason", "")
            )
    if apply and live:
        _act(session, campaign, live, verdict, weights, method, challengers)
    return ProductExperiment(
        product_id=product_id,
        product_title=creatives[0].product.title,
        arms=arms,
        verdict=verdict,
        srm_p=srm_p,
        method=method,
        challengers=challengers,
        winner_id=winner_id,
        winner_reason=winner_reason,
        verdict_ids=[c.id for c in live],
    )


def _act(
    session: Session,
    campaign: Campaign,
    live: list[Creative],
    verdict: Verdict,
    weights: list[float],
    method: str,
    challengers: list[dict[str, str]],
) -> None:
    """Store weights (when they moved), decisions, and retire losers."""
    product_id = live[0].product_id
    new = {c.id: w for c, w in zip(live, weights, strict=True)}
    old = current_weights(session, product_id)
    if old is None or any(abs(old.get(k, -1.0) - v) > 0.01 for k, v in new.items()):
        record_allocation(session, campaign.id, product_id, new, method)
    losers = verdict.retire
    for i in losers:
        live[i].status = CreativeStatus.RETIRED.value
        session.add(
            ExperimentDecision(
                campaign_id=campaign.id,
                product_id=product_id,
                kind="retire",
                creative_id=live[i].id,
                detail={
                    "chance_best": verdict.chance_best[i],
                    "p_vs_leader": verdict.p_vs_leader[i],
                },
            )
        )
    if verdict.winner is not None:
        winner = live[verdict.winner]
        session.add(
            ExperimentDecision(
                campaign_id=campaign.id,
                product_id=product_id,
                kind="winner",
                creative_id=winner.id,
                detail={"reason": verdict.reason, "factors": winner.factors},
            )
        )
        if challengers:
            session.add(
                ExperimentDecision(
                    campaign_id=campaign.id,
                    product_id=product_id,
                    kind="challengers",
                    creative_id=winner.id,
                    detail={"remix_of": winner.factors, "variants": challengers},
                )
            )
    session.flush()


def _retired_by_products(products: list[ProductExperiment]) -> set[str]:
    out = set()
    for exp in products:
        out |= {exp.verdict_ids[i] for i in exp.verdict.retire}
    return out


def _reweigh_after(
    session: Session, campaign: Campaign, products: list[ProductExperiment], steps: NextSteps
) -> None:
    """Creatives retired campaign-wide leave their product's traffic (and its SRM check)."""
    gone = {r.creative_id for r in steps.retire}
    for exp in products:
        hit = [a for a in exp.arms if a.creative_id in gone]
        if not hit:
            continue
        for arm in hit:
            arm.status, arm.weight = CreativeStatus.RETIRED.value, 0.0
        live = [a for a in exp.arms if a.status == CreativeStatus.PUBLISHED.value]
        total = sum(a.weight for a in live)
        for arm in live:
            arm.weight = arm.weight / total if total > 0 else 1.0 / len(live)
        weights = {a.creative_id: a.weight for a in [*live, *hit]}
        if exp.product_id in steps.sole:
            exp.winner_id = steps.sole[exp.product_id]
            exp.winner_reason = "the only creative left after the campaign-wide verdict (" + (
                ", ".join(f"{f} = {v}" for f, v in sorted(steps.winners.items()))
                + " sells best across products)"
            )
        record_allocation(session, campaign.id, exp.product_id, weights, "factor_retire")


def _tried(session: Session, campaign_id: str) -> dict[str, list[dict[str, str]]]:
    """Every variant each product has in the campaign, whatever its status."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for product_id, factors in session.execute(
        select(Creative.product_id, Creative.factors).where(Creative.campaign_id == campaign_id)
    ):
        out[product_id].append({str(k): str(v) for k, v in factors.items()})
    return out


def evaluate_campaign(
    session: Session, name: str, rule: DecisionRule | None = None, apply: bool = False
) -> CampaignReport:
    """Evaluate campaign ``name``; with ``apply`` store weights and decisions, retire losers."""
    rule = rule or DecisionRule()
    campaign = session.scalars(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise LookupError(f"no campaign named {name!r}")
    attribute_pending(session)
    creatives = list(
        session.scalars(
            select(Creative)
            .where(
                Creative.campaign_id == campaign.id,
                Creative.status.in_([CreativeStatus.PUBLISHED.value, CreativeStatus.RETIRED.value]),
            )
            .options(selectinload(Creative.product))
        )
    )
    currency = creatives[0].product.currency if creatives else None
    data = creative_metrics(session, [c.id for c in creatives], currency)
    try:
        plan_levels = dict(CampaignPlan.model_validate(campaign.plan).factors)
    except ValueError:
        plan_levels = {}
    by_product: dict[str, list[Creative]] = defaultdict(list)
    for c in creatives:
        by_product[c.product_id].append(c)
    products = [
        _product_experiment(session, campaign, group, data, rule, plan_levels, apply)
        for _, group in sorted(by_product.items(), key=lambda kv: kv[1][0].product.title)
    ]
    arms = [
        ArmCounts(c.product_id, {str(k): str(v) for k, v in c.factors.items()}, m.units, m.buyers)
        for c in creatives
        for m in [data[c.id]]
    ]
    effects = factor_effects(arms, rule)
    # Per-product verdicts act first (a product's own winner is the stronger evidence);
    # campaign-wide ones then retire what is left of a losing level everywhere.
    steps = plan_next_steps(
        effects,
        [c for c in creatives if c.id not in _retired_by_products(products)],
        {cid: m.value(PRIMARY) for cid, m in data.items()},
        plan_levels,
        _tried(session, campaign.id),
        evidence={cid: m.stat(PRIMARY) for cid, m in data.items()},
        chance_to_win=rule.chance_to_win,
    )
    if apply:
        apply_next_steps(session, campaign, steps)
        _reweigh_after(session, campaign, products, steps)
    warnings = [
        f"Sample ratio mismatch on {p.product_title} (p = {p.srm_p:.2g}): assignment or "
        "tracking is broken; do not trust this comparison until it is explained."
        for p in products
        if not p.srm_ok
    ]
    return CampaignReport(
        campaign=name,
        currency=currency,
        generated_at=utcnow(),
        products=products,
        factors=effects,
        next_steps=steps,
        warnings=warnings,
        rule=rule,
        applied=apply,
    )
