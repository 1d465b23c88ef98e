"""A campaign's generations and the render queue that makes them, shared by many workers.

Every creative to render gets a ``RenderClaim`` row in the generation that asked for it. A
worker claims a row (an atomic conditional UPDATE, so exactly one worker wins) before it
renders, and keeps renewing a short lease while it works; a worker that dies stops
renewing, its lease lapses and the row can be claimed again. A row ends ``done`` once its
creative is published, so a re-run renders nothing already made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from reelcart.domain import CreativeStatus
from reelcart.models import (
    Campaign,
    Creative,
    ExperimentDecision,
    Generation,
    RenderClaim,
    utcnow,
)

from .allocation import current_weights, record_allocation
from .bandit import apply_floor

__all__ = [
    "admit_challengers",
    "challenger_rounds",
    "claim",
    "enqueue",
    "finish",
    "generation_history",
    "lapsed_claims",
    "open_generation",
    "pending_challengers",
    "queue_report",
    "renew",
    "rounds_without_a_win",
]


def open_generation(
    session: Session,
    campaign: Campaign,
    trigger: str,
    reason: str,
    *,
    decision_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Generation:
    """A new generation of ``campaign``, numbered after the last one."""
    last = session.scalar(
        select(func.max(Generation.number)).where(Generation.campaign_id == campaign.id)
    )
    generation = Generation(
        campaign_id=campaign.id,
        number=(last or 0) + 1,
        trigger=trigger,
        reason=reason,
        decision_id=decision_id,
        detail=detail or {},
    )
    session.add(generation)
    session.flush()
    return generation


def enqueue(session: Session, generation: Generation, creative_ids: Iterable[str]) -> list[str]:
    """Queue the creatives to render; returns the ids queued now.

    A creative keeps the generation that first asked for it (its history); a creative that
    needs rendering again (its product changed) is queued again in place.
    """
    queued = []
    for creative_id in creative_ids:
        row = session.get(RenderClaim, creative_id)
        if row is None:
            session.add(RenderClaim(creative_id=creative_id, generation_id=generation.id))
        elif row.status == "claimed":
            continue  # a live worker holds it; its lease decides
        else:
            row.status, row.error, row.updated_at = "queued", None, utcnow()
        queued.append(creative_id)
    session.flush()
    return queued


def claim(session: Session, creative_id: str, run_id: str, worker: str, lease_s: float) -> bool:
    """Take ``creative_id`` for ``run_id`` when it is queued or its holder's lease lapsed."""
    now = utcnow()
    result = session.execute(
        update(RenderClaim)
        .where(
            RenderClaim.creative_id == creative_id,
            or_(
                RenderClaim.status.in_(("queued", "failed")),
                (RenderClaim.status == "claimed") & (RenderClaim.lease_until < now),
                # The same run taking its own row again (a retried task) is not a conflict.
                (RenderClaim.status == "claimed") & (RenderClaim.claimed_by == run_id),
            ),
        )
        .values(
            status="claimed",
            claimed_by=run_id,
            worker=worker,
            lease_until=now + timedelta(seconds=lease_s),
            attempts=RenderClaim.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def renew(session: Session, run_id: str, lease_s: float) -> int:
    """Extend the lease of every row ``run_id`` holds; returns how many it holds."""
    now = utcnow()
    result = session.execute(
        update(RenderClaim)
        .where(RenderClaim.claimed_by == run_id, RenderClaim.status == "claimed")
        .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def finish(session: Session, creative_id: str, run_id: str, *, error: str | None = None) -> bool:
    """Close ``run_id``'s claim: ``done``, or ``failed`` with the error. False if lost."""
    result = session.execute(
        update(RenderClaim)
        .where(RenderClaim.creative_id == creative_id, RenderClaim.claimed_by == run_id)
        .values(
            status="failed" if error else "done",
            error=error,
            lease_until=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def lapsed_claims(
    session: Session, run_ids: Sequence[str], now: datetime | None = None
) -> set[str]:
    """The runs among ``run_ids`` holding a claim whose lease has lapsed (their worker died)."""
    if not run_ids:
        return set()
    rows = session.scalars(
        select(RenderClaim.claimed_by).where(
            RenderClaim.claimed_by.in_(list(run_ids)),
            RenderClaim.status == "claimed",
            RenderClaim.lease_until < (now or utcnow()),
        )
    )
    return {r for r in rows if r}


def queue_report(session: Session, creative_ids: Sequence[str]) -> dict[str, RenderClaim]:
    """The claim rows of ``creative_ids`` by creative."""
    if not creative_ids:
        return {}
    rows = session.scalars(
        select(RenderClaim).where(RenderClaim.creative_id.in_(list(creative_ids)))
    )
    return {row.creative_id: row for row in rows}


def generation_history(session: Session, campaign_name: str) -> list[dict[str, Any]]:
    """Each generation of the campaign: why it exists and what became of its creatives."""
    campaign = session.scalars(select(Campaign).where(Campaign.name == campaign_name)).first()
    if campaign is None:
        return []
    generations = session.scalars(
        select(Generation).where(Generation.campaign_id == campaign.id).order_by(Generation.number)
    ).all()
    out = []
    for g in generations:
        statuses = session.execute(
            select(Creative.name, Creative.status)
            .join(RenderClaim, RenderClaim.creative_id == Creative.id)
            .where(RenderClaim.generation_id == g.id)
            .order_by(Creative.name)
        ).all()
        out.append(
            {
                "number": g.number,
                "trigger": g.trigger,
                "reason": g.reason,
                "decision_id": g.decision_id,
                "created_at": g.created_at.isoformat(),
                "creatives": {name: status for name, status in statuses},
                **({"detail": g.detail} if g.detail else {}),
            }
        )
    return out


def pending_challengers(session: Session, campaign_name: str | None = None) -> list[Any]:
    """Challenger decisions no generation has answered yet (oldest first)."""
    answered = select(Generation.decision_id).where(Generation.decision_id.is_not(None))
    query = (
        select(ExperimentDecision)
        .join(Campaign, Campaign.id == ExperimentDecision.campaign_id)
        .where(
            ExperimentDecision.kind == "challengers",
            ExperimentDecision.id.not_in(answered),
            Campaign.status == "active",
        )
        .order_by(ExperimentDecision.created_at, ExperimentDecision.id)
    )
    if campaign_name is not None:
        query = query.where(Campaign.name == campaign_name)
    return list(session.scalars(query))


def challenger_rounds(session: Session, campaign_id: str) -> int:
    """How many challenger generations the campaign has had (what its cap counts)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Generation)
            .where(Generation.campaign_id == campaign_id, Generation.trigger == "challengers")
        )
        or 0
    )


def rounds_without_a_win(session: Session, campaign_id: str) -> int:
    """Challenger generations in a row, newest last, none of whose creatives has won.

    What a campaign's cap counts: a round whose creative was later declared a winner
    resets it, so the loop goes on while challengers keep winning and stops when they
    stop. A round not yet evaluated counts as not (yet) winning.
    """
    rounds = session.scalars(
        select(Generation.id)
        .where(Generation.campaign_id == campaign_id, Generation.trigger == "challengers")
        .order_by(Generation.number)
    ).all()
    winners = set(
        session.scalars(
            select(ExperimentDecision.creative_id).where(
                ExperimentDecision.campaign_id == campaign_id,
                ExperimentDecision.kind.in_(("winner", "challengers")),
                ExperimentDecision.creative_id.is_not(None),
            )
        )
    )
    made: dict[str, set[str]] = {}
    for generation_id, creative_id in session.execute(
        select(RenderClaim.generation_id, RenderClaim.creative_id).where(
            RenderClaim.generation_id.in_(list(rounds))
        )
    ):
        made.setdefault(generation_id, set()).add(creative_id)
    count = 0
    for generation_id in rounds:
        count = 0 if made.get(generation_id, set()) & winners else count + 1
    return count


def admit_challengers(
    session: Session, campaign_id: str, product_id: str, creative_ids: Sequence[str], floor: float
) -> dict[str, float]:
    """New allocation weights: each challenger gets exactly ``floor``, the live creatives
    share the rest in their current proportions (a winner keeps nearly all the traffic)."""
    live = session.scalars(
        select(Creative.id).where(
            Creative.campaign_id == campaign_id,
            Creative.product_id == product_id,
            Creative.status == CreativeStatus.PUBLISHED.value,
        )
    ).all()
    newcomers = [cid for cid in creative_ids if cid in live]
    current = current_weights(session, product_id) or {}
    arms = sorted(live)
    raw = np.array([0.0 if a in newcomers else current.get(a, 1.0) for a in arms])
    if raw.sum() <= 0:
        raw = np.array([0.0 if a in newcomers else 1.0 for a in arms])
    weights = dict(zip(arms, (float(w) for w in apply_floor(raw, floor)), strict=True))
    record_allocation(session, campaign_id, product_id, weights, "challengers")
    return weights
