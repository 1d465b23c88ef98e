"""What a decisive campaign-wide result does: retire the losing levels, ask for challengers.

``plan_next_steps`` is pure (the report shows it before anything acts); ``apply_next_steps``
records it as ``ExperimentDecision`` rows in the same shapes as the per-product rule:

- ``retire`` per creative, ``detail = {"scope": "campaign", "factor", "level", "p"}``;
- ``factor_winner`` once per factor and level, product ``*`` (campaign-wide);
- ``winner`` for a product the retirements leave with one live creative;
- ``challengers`` per product, ``detail = {"remix_of": {...}, "variants": [{...}, ...]}``
  plus ``scope``/``winners``: new variants that carry the winning levels, one other factor
  changed, never a losing level and never a variant the product already has.

A product is never retired down to nothing: if all its live creatives carry a losing level
they stay live until a challenger with the winning levels replaces them. Nor is a product's
own clear leader retired by the pooled answer: a creative with a losing level whose own
product's shoppers make it likely (``chance_to_win``, the per-product rule's bar) to sell
better than every other live creative there is *spared* (the pooled odds ratio assumes the
effect is alike across products; this product's evidence says otherwise, so its own
per-product test decides), and the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelcart.domain import CreativeStatus
from reelcart.models import Campaign, Creative, ExperimentDecision

from .decisions import DEFAULT_RULE, remix_challengers
from .factor_effects import FactorEffect
from .samples import Stat
from .stats_bayes import race

__all__ = [
    "CAMPAIGN_WIDE",
    "Challengers",
    "NextSteps",
    "Retirement",
    "Spared",
    "apply_next_steps",
    "plan_next_steps",
]

CAMPAIGN_WIDE = "*"


@dataclass(frozen=True)
class Retirement:
    creative_id: str
    name: str
    product_id: str
    factor: str
    level: str
    p_adjusted: float


@dataclass(frozen=True)
class Spared:
    """A creative with a losing level kept live: in its own product it converts best."""

    creative_id: str
    name: str
    product_id: str
    factor: str
    level: str
    rate: float
    runner_up: str
    runner_up_rate: float


@dataclass(frozen=True)
class Challengers:
    product_id: str
    product_title: str
    remix_of: dict[str, str]
    base_creative_id: str | None
    variants: list[dict[str, str]]


@dataclass
class NextSteps:
    winners: dict[str, str] = field(default_factory=dict)
    retire: list[Retirement] = field(default_factory=list)
    # Products whose every live creative has a losing level: kept until challengers land.
    kept: list[str] = field(default_factory=list)
    # Products left with one live creative: it is their winner (by the campaign's verdict).
    sole: dict[str, str] = field(default_factory=dict)
    spared: list[Spared] = field(default_factory=list)
    challengers: list[Challengers] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.retire or self.challengers or self.kept)


def plan_next_steps(
    effects: Sequence[FactorEffect],
    creatives: Sequence[Creative],
    conversion: Mapping[str, float],
    plan_levels: Mapping[str, Sequence[str]],
    tried: Mapping[str, Sequence[Mapping[str, str]]],
    limit: int = 4,
    evidence: Mapping[str, Stat] | None = None,
    chance_to_win: float = DEFAULT_RULE.chance_to_win,
) -> NextSteps:
    """The actions the current evidence calls for (``conversion`` by creative id).

    ``tried`` is every variant each product already has, in any status; ``evidence`` (each
    creative's conversion statistic) lets a product's clear leader be spared.
    """
    losing = {
        (e.factor, c.level): c.p_adjusted for e in effects for c in e.comparisons if c.decisive
    }
    steps = NextSteps(winners={e.factor: e.leader for e in effects if e.status == "winner"})
    if not losing:
        return steps
    by_product: dict[str, list[Creative]] = {}
    for c in creatives:
        if c.status == CreativeStatus.PUBLISHED.value:
            by_product.setdefault(c.product_id, []).append(c)
    levels = {
        f: [lvl for lvl in lvls if (f, lvl) not in losing]
        for f, lvls in plan_levels.items()
        if f not in steps.winners
    }
    for product_id, live in sorted(by_product.items()):
        doomed = []
        for c in live:
            hit = next(((f, str(v)) for f, v in c.factors.items() if (f, str(v)) in losing), None)
            if hit is not None:
                doomed.append((c, hit))
        survivors = [c for c in live if c.id not in {d.id for d, _ in doomed}]
        if survivors and evidence:
            runner_up = max(survivors, key=lambda c: (conversion.get(c.id, 0.0), c.id))
            best_rate = conversion.get(runner_up.id, 0.0)
            for c, (f, lvl) in list(doomed):
                rate = conversion.get(c.id, 0.0)
                pair = [evidence[c.id], evidence[runner_up.id]]
                if rate > best_rate and race(pair, seed=0).chance_best[0] >= chance_to_win:
                    doomed.remove((c, (f, lvl)))
                    survivors.append(c)
                    steps.spared.append(
                        Spared(c.id, c.name, product_id, f, lvl, rate, runner_up.name, best_rate)
                    )
        if doomed and not survivors:
            steps.kept.append(product_id)
        else:
            steps.retire += [
                Retirement(c.id, c.name, product_id, f, lvl, losing[(f, lvl)])
                for c, (f, lvl) in doomed
            ]
            if doomed and len(survivors) == 1:
                steps.sole[product_id] = survivors[0].id
        if not steps.winners:
            continue
        pool = survivors or live
        best = max(pool, key=lambda c: (conversion.get(c.id, 0.0), c.id))
        base = {**{k: str(v) for k, v in best.factors.items()}, **steps.winners}
        seen = [dict(t) for t in tried.get(product_id, [])]
        variants = [] if base in seen else [base]
        variants += remix_challengers(base, levels, [*seen, base], limit)
        variants = [v for v in variants if not any((f, x) in losing for f, x in v.items())]
        if variants:
            steps.challengers.append(
                Challengers(
                    product_id,
                    best.product.title if best.product else product_id,
                    base,
                    best.id,
                    variants[:limit],
                )
            )
    return steps


def _recorded(session: Session, campaign_id: str, product_id: str, kind: str) -> list[dict]:
    return [
        d.detail
        for d in session.scalars(
            select(ExperimentDecision).where(
                ExperimentDecision.campaign_id == campaign_id,
                ExperimentDecision.product_id == product_id,
                ExperimentDecision.kind == kind,
            )
        )
    ]


def apply_next_steps(session: Session, campaign: Campaign, steps: NextSteps) -> None:
    """Retire, and record winners and challengers once (re-evaluating repeats nothing)."""
    for r in steps.retire:
        creative = session.get(Creative, r.creative_id)
        if creative is None or creative.status != CreativeStatus.PUBLISHED.value:
            continue
        creative.status = CreativeStatus.RETIRED.value
        session.add(
            ExperimentDecision(
                campaign_id=campaign.id,
                product_id=r.product_id,
                kind="retire",
                creative_id=r.creative_id,
                detail={
                    "scope": "campaign",
                    "factor": r.factor,
                    "level": r.level,
                    "p": r.p_adjusted,
                },
            )
        )
    reason = (
        "the only creative left after the campaign-wide verdict ("
        + ", ".join(f"{f} = {v}" for f, v in sorted(steps.winners.items()))
        + " sells best across products)"
    )
    for product_id, creative_id in sorted(steps.sole.items()):
        session.add(
            ExperimentDecision(
                campaign_id=campaign.id,
                product_id=product_id,
                kind="winner",
                creative_id=creative_id,
                detail={"reason": reason, "scope": "campaign"},
            )
        )
    known = _recorded(session, campaign.id, CAMPAIGN_WIDE, "factor_winner")
    for factor, level in sorted(steps.winners.items()):
        detail = {"factor": factor, "level": level}
        if not any(d.get("factor") == factor and d.get("level") == level for d in known):
            session.add(
                ExperimentDecision(
                    campaign_id=campaign.id,
                    product_id=CAMPAIGN_WIDE,
                    kind="factor_winner",
                    detail=detail,
                )
            )
    for ch in steps.challengers:
        previous = _recorded(session, campaign.id, ch.product_id, "challengers")
        if any(d.get("variants") == ch.variants for d in previous):
            continue
        session.add(
            ExperimentDecision(
                campaign_id=campaign.id,
                product_id=ch.product_id,
                kind="challengers",
                creative_id=ch.base_creative_id,
                detail={
                    "remix_of": ch.remix_of,
                    "variants": ch.variants,
                    "scope": "campaign",
                    "winners": steps.winners,
                },
            )
        )
    session.flush()
