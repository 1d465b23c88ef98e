"""Which creative a shopper sees: a sticky, weighted choice among a product's live creatives.

Weights are uniform until the experiment statistics supply better ones; the choice is a
hash of (subject, product) so the same shopper keeps seeing the same variant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

__all__ = ["HasId", "choose_sticky"]


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


def _unit_interval(*parts: str) -> float:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_sticky(
    arms: Sequence[T], subject: str, salt: str, weights: Mapping[str, float] | None = None
) -> T | None:
    """Pick one arm for ``subject``; the same inputs always give the same arm.

    ``weights`` maps arm id to a non-negative weight (missing ids weigh 1). Arms are
    ordered by id first, so the choice does not depend on the order the caller loaded them.
    """
    if not arms:
        return None
    ordered = sorted(arms, key=lambda arm: arm.id)
    raw = [max(0.0, (weights or {}).get(arm.id, 1.0)) for arm in ordered]
    total = sum(raw)
    if total <= 0:
        raw, total = [1.0] * len(ordered), float(len(ordered))
    point = _unit_interval(salt, subject) * total
    cumulative = 0.0
    for arm, weight in zip(ordered, raw, strict=True):
        cumulative += weight
        if point < cumulative:
            return arm
    return ordered[-1]
