"""Every campaign at a glance: its plan and how many creatives are in each state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelcart.models import Campaign, Creative

__all__ = ["CampaignOverview", "campaign_overview"]


@dataclass(frozen=True)
class CampaignOverview:
    name: str
    status: str
    created_at: datetime
    factors: dict[str, list[str]]
    design: str
    max_variants: int
    products: int
    creatives: dict[str, int] = field(default_factory=dict)

    @property
    def live(self) -> int:
        return self.creatives.get("published", 0)


def campaign_overview(session: Session, name: str | None = None) -> list[CampaignOverview]:
    """Campaigns by name (or the one called ``name``), with creative counts by status."""
    query = select(Campaign).order_by(Campaign.name)
    if name is not None:
        query = query.where(Campaign.name == name)
    campaigns = session.scalars(query).all()
    counts: dict[str, dict[str, int]] = {}
    products: dict[str, int] = {}
    for campaign_id, status, count in session.execute(
        select(Creative.campaign_id, Creative.status, func.count()).group_by(
            Creative.campaign_id, Creative.status
        )
    ):
        counts.setdefault(campaign_id, {})[status] = int(count)
    for campaign_id, count in session.execute(
        select(Creative.campaign_id, func.count(func.distinct(Creative.product_id))).group_by(
            Creative.campaign_id
        )
    ):
        products[campaign_id] = int(count)
    out = []
    for c in campaigns:
        plan = c.plan or {}
        out.append(
            CampaignOverview(
                name=c.name,
                status=c.status,
                created_at=c.created_at,
                factors={str(k): [str(x) for x in v] for k, v in plan.get("factors", {}).items()},
                design=str(plan.get("design", "full")),
                max_variants=int(plan.get("max_variants", 8)),
                products=products.get(c.id, 0),
                creatives=counts.get(c.id, {}),
            )
        )
    return out
