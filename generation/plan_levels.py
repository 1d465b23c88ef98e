"""The factors a creative can vary and the levels the renderer knows for each.

Checked before a campaign runs: a plan naming a level the storyboard cannot draw must fail
before the catalog is synced or a creative is planned, not halfway through rendering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .platforms import ASPECTS
from .storyboard import CTA_TEXT, DURATIONS, HOOKS, STYLES

__all__ = ["CREATIVE_LEVELS", "check_levels", "level_errors"]

CREATIVE_LEVELS: dict[str, tuple[str, ...]] = {
    "hook": tuple(HOOKS),
    "cta": tuple(CTA_TEXT),
    "style": tuple(STYLES),
    "duration": tuple(DURATIONS),
    "aspect": tuple(ASPECTS),
}


def level_errors(factors: Mapping[str, Sequence[str]]) -> list[str]:
    """One message per unknown factor, unknown level, repeated level or empty factor."""
    errors = []
    for factor, levels in sorted(factors.items()):
        known = CREATIVE_LEVELS.get(factor)
        if known is None:
            errors.append(
                f"unknown factor {factor!r}; factors are {', '.join(sorted(CREATIVE_LEVELS))}"
            )
            continue
        if not levels:
            errors.append(f"factor {factor!r} has no levels")
        for level in levels:
            if level not in known:
                errors.append(
                    f"unknown {factor} level {level!r}; {factor} levels are {', '.join(known)}"
                )
        if len(set(levels)) != len(levels):
            errors.append(f"factor {factor!r} repeats a level")
    return errors


def check_levels(factors: Mapping[str, Sequence[str]]) -> None:
    """Raise ``ValueError`` naming every problem of :func:`level_errors` (none: return)."""
    errors = level_errors(factors)
    if errors:
        raise ValueError("invalid campaign plan: " + "; ".join(errors))
