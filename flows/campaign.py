"""Flow: a whole campaign run — sync the catalog, generate the creatives, publish them."""

from __future__ import annotations

from prefect import flow

from .catalog import sync_catalog
from .generate import generate_creatives
from .publish import publish_creatives

__all__ = ["run_campaign"]


@flow(name="run-campaign", log_prints=True)
def run_campaign(
    campaign: str = "demo",
    catalog_path: str | None = None,
    factors: dict[str, list[str]] | None = None,
    max_variants: int = 8,
) -> dict[str, object]:
    """Sync the catalog, render the variant matrix for every product, publish and report."""
    synced = sync_catalog(source="file", path=catalog_path)
    rendered = generate_creatives(campaign=campaign, factors=factors, max_variants=max_variants)
    published = publish_creatives(campaign=campaign)
    return {"catalog": synced, "rendered": len(rendered), **published}
