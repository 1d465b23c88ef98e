"""Which creative a shopper sees: a sticky, weighted choice among a product's live creatives.

Weights are uniform until the experiment statistics supply better ones (the newest
``Allocation`` row for the product, written by ``evaluate``); the choice is a hash of
(subject, product), and a shopper who was already shown a live creative keeps it even
after the weights move, so assignment stays sticky across re-weighting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelcart.domain import EventKind
from reelcart.models import Allocation, Campaign, Event

__all__ = ["HasId", "choose_for_subject", "choose_sticky", "current_weights", "record_allocation"]


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


def current_weights(session: Session, product_id: str) -> dict[str, float] | None:
    """The newest allocation weights for a product's creatives (None before any)."""
    row = session.scalars(
        select(Allocation)
        .join(Campaign, Campaign.id == Allocation.campaign_id)
        .where(Allocation.product_id == product_id, Campaign.status == "active")
        .order_by(Allocation.created_at.desc(), Allocation.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {str(k): float(v) for k, v in row.weights.items()}


def record_allocation(
    session: Session, campaign_id: str, product_id: str, weights: Mapping[str, float], method: str
) -> Allocation:
    """Store new weights (history is kept for the sample-ratio check)."""
    row = Allocation(
        campaign_id=campaign_id, product_id=product_id, weights=dict(weights), method=method
    )
    session.add(row)
    session.flush()
    return row


def choose_for_subject(
    session: Session, arms: Sequence[T], subject: str, product_id: str
) -> T | None:
    """The arm ``subject`` sees: the one already shown if still live, else by the weights."""
    if not arms:
        return None
    by_id = {arm.id: arm for arm in arms}
    seen = session.scalars(
        select(Event.creative_id)
        .where(
            Event.kind == EventKind.IMPRESSION.value,
            Event.subject == subject,
            Event.product_id == product_id,
            Event.creative_id.in_(list(by_id)),
        )
        .order_by(Event.occurred_at)
        .limit(1)
    ).first()
    if seen is not None:
        return by_id[seen]
    weights = current_weights(session, product_id)
    if weights is not None:
        # A creative published after the last evaluation has no weight yet: give it the
        # smallest current one so it gets measured without taking over.
        live = [w for cid, w in weights.items() if cid in by_id and w > 0]
        newcomer = min(live) if live else 1.0
        weights = {arm.id: weights.get(arm.id, newcomer) for arm in arms}
    return choose_sticky(arms, subject, salt=product_id, weights=weights)
