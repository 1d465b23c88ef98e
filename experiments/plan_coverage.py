"""Does a campaign plan show every level it asks for, within its cap on variants?

``CampaignPlan.variants()`` cuts the design at ``max_variants``; with several factors the
cut silently drops whole levels (hook × cta × aspect × duration at 8 made no 1:1 ad at all).
These checks run before anything is synced or planned, and can pick a design that covers.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelcart.domain import CampaignPlan

__all__ = ["DESIGNS", "Coverage", "coverage", "covering_plan"]

DESIGNS = ("full", "half", "pairwise")


@dataclass(frozen=True)
class Coverage:
    plan: CampaignPlan
    variants: int
    # Levels the capped design never shows, by factor.
    dropped: dict[str, list[str]]
    # Variants each design needs to be shown uncut (None: the design does not apply).
    needed: dict[str, int | None]

    @property
    def complete(self) -> bool:
        return not self.dropped

    def explain(self) -> str:
        if self.complete:
            return (
                f"design {self.plan.design}: {self.variants} variants per product cover every level"
            )
        missing = "; ".join(f"{f}: {', '.join(levels)}" for f, levels in self.dropped.items())
        options = ", ".join(
            f"{design} needs {n}" for design, n in self.needed.items() if n is not None
        )
        return (
            f"design {self.plan.design} capped at {self.plan.max_variants} variants per product "
            f"never shows {missing}. Uncut, {options}: raise --max-variants, choose another "
            "--design, or use --design auto"
        )


def _uncut(plan: CampaignPlan, design: str) -> int | None:
    try:
        return len(plan.model_copy(update={"design": design, "max_variants": 10_000}).variants())
    except ValueError:
        return None


def coverage(plan: CampaignPlan) -> Coverage:
    shown: dict[str, set[str]] = {f: set() for f in plan.factors}
    variants = plan.variants()
    for v in variants:
        for f, level in v.items():
            shown[f].add(level)
    dropped = {
        f: [lvl for lvl in levels if lvl not in shown[f]]
        for f, levels in sorted(plan.factors.items())
        if any(lvl not in shown[f] for lvl in levels)
    }
    needed = {d: _uncut(plan, d) for d in DESIGNS}
    return Coverage(plan, len(variants), dropped, needed)


def covering_plan(plan: CampaignPlan) -> CampaignPlan | None:
    """The design with the most variants that still fits uncut under the cap (full first)."""
    for design in DESIGNS:
        n = _uncut(plan, design)
        if n is not None and n <= plan.max_variants:
            candidate = plan.model_copy(update={"design": design})
            if coverage(candidate).complete:
                return candidate
    return None
