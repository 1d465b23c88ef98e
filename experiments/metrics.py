"""Metrics per creative by SQL aggregation over the events table (SQLite and PostgreSQL).

A *unit* is a shopper (subject) with any event attributed to the creative: normally an
impression, but a purchase whose impression was lost or has not arrived yet still counts.
One query groups events per (creative, unit), a second sums per creative; Python only
sees one row per creative, however many million events there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from reelcart.domain import EventKind
from reelcart.models import Event

from .samples import MeanStat, ProportionStat, RatioStat, Stat

__all__ = [
    "METRICS",
    "CreativeMetrics",
    "MetricName",
    "creative_metrics",
    "exposures_by_period",
]

MetricName = Literal["conversion", "ctr", "revenue_per_unit", "aov"]
METRICS: dict[MetricName, str] = {
    "conversion": "Conversion (buyers per shopper shown)",
    "ctr": "Click-through",
    "revenue_per_unit": "Revenue per shopper shown",
    "aov": "Average order value",
}


@dataclass(frozen=True)
class CreativeMetrics:
    """Sufficient statistics of one creative (money in minor units)."""

    creative_id: str
    units: int = 0
    impressions: int = 0
    clickers: int = 0
    checkouts: int = 0
    buyers: int = 0
    purchases: int = 0
    revenue: float = 0.0
    revenue_sq: float = 0.0
    purchases_sq: float = 0.0
    revenue_x_purchases: float = 0.0

    def stat(self, metric: MetricName) -> Stat:
        """The metric as the statistics modules take it."""
        if metric == "conversion":
            return ProportionStat(self.units, self.buyers)
        if metric == "ctr":
            return ProportionStat(self.units, self.clickers)
        if metric == "revenue_per_unit":
            return MeanStat(self.units, self.revenue, self.revenue_sq)
        return RatioStat(
            self.units,
            self.revenue,
            self.revenue_sq,
            float(self.purchases),
            self.purchases_sq,
            self.revenue_x_purchases,
        )

    def value(self, metric: MetricName) -> float:
        return self.stat(metric).mean


def _flag(kind: EventKind) -> ColumnElement[int]:
    return func.max(case((Event.kind == kind.value, 1), else_=0))


def creative_metrics(
    session: Session, creative_ids: Sequence[str], currency: str | None = None
) -> dict[str, CreativeMetrics]:
    """Metrics for each of ``creative_ids`` (zeros for a creative with no events).

    Revenue counts purchases in ``currency`` only (None: any currency), so a stray order
    in another currency cannot be added to dollars.
    """
    ids = list(creative_ids)
    if not ids:
        return {}
    is_purchase = Event.kind == EventKind.PURCHASE.value
    paid = and_(is_purchase, Event.currency == currency) if currency else is_purchase
    unit = func.coalesce(Event.subject, Event.id)
    per_unit = (
        select(
            Event.creative_id.label("creative_id"),
            _flag(EventKind.IMPRESSION).label("exposed"),
            _flag(EventKind.CLICK).label("clicked"),
            _flag(EventKind.CHECKOUT).label("checked_out"),
            func.sum(case((is_purchase, 1), else_=0)).label("purchases"),
            func.sum(case((paid, Event.amount_minor), else_=0)).label("revenue"),
        )
        .where(Event.creative_id.in_(ids))
        .group_by(Event.creative_id, unit)
        .subquery()
    )
    u = per_unit.c
    rows = session.execute(
        select(
            u.creative_id,
            func.count(),
            func.sum(u.exposed),
            func.sum(u.clicked),
            func.sum(u.checked_out),
            func.sum(case((u.purchases > 0, 1), else_=0)),
            func.sum(u.purchases),
            func.sum(u.revenue),
            func.sum(u.revenue * u.revenue),
            func.sum(u.purchases * u.purchases),
            func.sum(u.revenue * u.purchases),
        ).group_by(u.creative_id)
    ).all()
    out = {cid: CreativeMetrics(cid) for cid in ids}
    for cid, *values in rows:
        ints = [int(v or 0) for v in values[:6]]
        floats = [float(v or 0) for v in values[6:]]
        out[cid] = CreativeMetrics(cid, *ints, *floats)
    return out


def exposures_by_period(
    session: Session, creative_ids: Sequence[str], boundaries: Sequence[datetime]
) -> list[dict[str, int]]:
    """Impressions per creative in each period cut by ``boundaries`` (sorted).

    Period 0 is before the first boundary, period i is [boundaries[i-1], boundaries[i]).
    For the sample-ratio check of a bandit whose weights changed at those moments.
    """
    ids = list(creative_ids)
    period: ColumnElement[int] = literal(0)
    if boundaries:
        period = case(
            *[
                (Event.occurred_at >= moment, len(boundaries) - i)
                for i, moment in enumerate(reversed(list(boundaries)))
            ],
            else_=0,
        )
    rows = session.execute(
        select(period.label("period"), Event.creative_id, func.count())
        .where(Event.creative_id.in_(ids), Event.kind == EventKind.IMPRESSION.value)
        .group_by(period, Event.creative_id)
    ).all()
    out: list[dict[str, int]] = [dict.fromkeys(ids, 0) for _ in range(len(boundaries) + 1)]
    for p, cid, count in rows:
        if cid is not None:
            out[int(p)][cid] = int(count)
    return out
