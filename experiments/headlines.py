"""The answer in words: one headline per factor and what happens next.

Shared by the report page, the Prefect artifacts and the CLI so the three always say the
same thing. Every number quoted is one the verdict was decided on (or agrees with it by
construction: the interval is the verdict's own, see ``factor_effects``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .evaluation import CampaignReport
from .factor_effects import FactorEffect

__all__ = ["Headline", "chance_text", "factor_headline", "headlines", "next_step_lines"]

_VERDICT = {"winner": "Decided", "running": "Not decided yet", "collecting": "Collecting data"}


@dataclass(frozen=True)
class Headline:
    factor: str
    status: str
    title: str
    effect: str
    sure: str
    decided_by: str


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def chance_text(chance: float) -> str:
    """A probability as a person reads it: never "100%" for what is only nearly certain."""
    if chance >= 0.9995:
        return "over 99.9%"
    if chance <= 0.0005:
        return "under 0.1%"
    return f"{chance:.1%}"


def factor_headline(effect: FactorEffect) -> Headline:
    """``hook: price sells best`` with the effect, interval, certainty and deciding statistic."""
    c = effect.deciding
    units = sum(level.units for level in effect.levels)
    if effect.status == "winner":
        title = f"{effect.factor}: {effect.leader} sells best"
    elif effect.status == "running":
        title = f"{effect.factor}: {effect.leader} leads, not decided yet"
    else:
        title = f"{effect.factor}: collecting data ({units} shoppers so far)"
    if c is None or not c.eligible:
        return Headline(effect.factor, effect.status, title, "", "", effect.reason)
    hi = "∞" if c.ci[1] > 1e6 else f"{c.ci[1]:.2f}"
    text = (
        f"{effect.leader} converts {_pct(c.mh.rate)} vs {_pct(c.mh.other_rate)} for {c.level} "
        f"(same products, {c.mh.strata} compared); odds ratio {c.mh.odds_ratio:.2f}, "
        f"interval {c.ci[0]:.2f}–{hi}"
    )
    sure = f"{chance_text(c.chance_better)} likely that {effect.leader} sells better than {c.level}"
    return Headline(effect.factor, effect.status, title, text, sure, effect.reason)


def headlines(report: CampaignReport) -> list[Headline]:
    return [factor_headline(e) for e in report.factors]


def next_step_lines(report: CampaignReport) -> list[str]:
    """What the system does (``applied``: has done) with the current evidence."""
    steps = report.next_steps
    done = report.applied
    lines = []
    for factor, level in sorted(steps.winners.items()):
        lines.append(f"{factor} = {level} wins campaign-wide.")
    retiring = Counter((r.factor, r.level) for r in steps.retire)
    for (factor, level), count in sorted(retiring.items()):
        verb = "Retired" if done else "Retire at the next evaluation:"
        where = "in every product" if not steps.spared else "where it does not lead its product"
        lines.append(f"{verb} {count} creative(s) with {factor} = {level}, {where}.")
    titles = {p.product_id: p.product_title for p in report.products}
    for s in steps.spared:
        lines.append(
            f"{titles.get(s.product_id, s.product_id)}: {s.name} keeps running although "
            f"{s.factor} = {s.level} loses campaign-wide: in this product it converts "
            f"{s.rate:.2%} against {s.runner_up_rate:.2%} for {s.runner_up}, so this "
            "product's own test decides."
        )
    for product in steps.kept:
        title = next((p.product_title for p in report.products if p.product_id == product), product)
        lines.append(
            f"{title}: every live creative has a losing level; they stay live until a "
            "challenger with the winning levels is published."
        )
    for ch in steps.challengers:
        variants = "; ".join(
            ", ".join(f"{k}={v}" for k, v in sorted(v.items())) for v in ch.variants
        )
        verb = "Challengers recorded" if done else "Challengers to record"
        lines.append(
            f"{verb} for {ch.product_title} (rendered by the next campaign run): {variants}."
        )
    for exp in report.products:
        winner = exp.winner
        if winner is not None and exp.verdict.status == "winner":
            lines.append(f"{exp.product_title}: {winner.name} wins; it gets all the traffic.")
        elif exp.verdict.retire and exp.verdict.status == "running":
            lines.append(
                f"{exp.product_title}: {len(exp.verdict.retire)} clear loser(s) retired, "
                "the rest keep sharing traffic."
            )
    if not lines:
        lines.append(
            "Nothing is decided yet: traffic keeps following the evidence (top-two Thompson "
            "sampling) and the campaign is evaluated again every hour."
        )
    return lines
