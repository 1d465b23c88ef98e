"""Flow: publish rendered creatives to the media store and show what the campaign holds."""

from __future__ import annotations

import re

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from commerce.publishing import (
    campaign_overview,
    creatives_to_publish,
    image_data_uri,
    publish_creative,
)
from connectors.shopify import shopify_configured
from generation.contact_sheet import make_contact_sheet
from reelcart import progress

from .common import database, media_store, settings

__all__ = ["publish_creatives"]


@task(cache_policy=NO_CACHE)
def pending(campaign: str) -> list[str]:
    """Creatives rendered since they were last published."""
    with database().session() as session:
        return creatives_to_publish(session, campaign)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def publish_one(creative_id: str) -> str:
    """Copy one creative's files to the media store; returns its video URL."""
    with database().session() as session:
        video_key, _ = publish_creative(session, media_store(), creative_id)
    progress.advance("publish")
    return media_store().url_for(video_key)


def _slug(name: str) -> str:
    # Artifact keys allow only lowercase letters, digits and dashes.
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "campaign"


@task(cache_policy=NO_CACHE)
def report(campaign: str) -> dict[str, str]:
    """Contact sheet of every live creative, and the Prefect artifacts that list them.

    The sheet is embedded in the artifact as a ``data:`` URI, so it shows in the Prefect UI
    with no server of ours running; the table links each file at the media store's URL.
    """
    store = media_store()
    reports_dir = settings().data_dir / "reports"
    reports_dir.mkdir(parents=True, exist_ok=True)
    with database().session() as session:
        rows, posters = campaign_overview(
            session, campaign, store, settings().data_dir / "media-cache"
        )
    sheet = reports_dir / f"{_slug(campaign)}-contact-sheet.png"
    make_contact_sheet(posters, sheet, title=f"Campaign {campaign}: {len(posters)} creatives")
    sheet_key = store.put_file(sheet, f"reports/{_slug(campaign)}/contact-sheet.png")
    sheet_url = store.url_for(sheet_key)
    create_table_artifact(
        key=f"{_slug(campaign)}-creatives",
        table=rows,
        description=f"Creatives of campaign {campaign}",
    )
    failed = [r for r in rows if r["quality"] != "passed"]
    gate = (
        f"Quality gate: all {len(rows)} passed."
        if not failed
        else "Quality gate: " + "; ".join(f"{r['creative']} {r['quality']}" for r in failed)
    )
    create_markdown_artifact(
        key=f"{_slug(campaign)}-summary",
        markdown=(
            f"## Campaign `{campaign}`\n\n{len(rows)} live creatives "
            f"(table: `{_slug(campaign)}-creatives`). {gate}\n\n"
            f"![contact sheet]({image_data_uri(sheet)})\n\n"
            # An absolute URL (the app serves /media publicly): the UI opens it in a tab.
            f"Full size, served by `reelcart serve`: [{sheet_url}]({sheet_url})\n"
        ),
        description=f"Contact sheet of campaign {campaign}",
    )
    return {"contact_sheet": str(sheet.resolve()), "contact_sheet_url": sheet_url}


# --- Shopify connector ---
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def publish_to_shopify(campaign: str) -> dict[str, int]:
    """Attach the campaign's videos to their Shopify products; remove retired ones."""
    from commerce.shopify.publish import publish_campaign_to_shopify

    return publish_campaign_to_shopify(database(), settings(), campaign)


# --- end Shopify connector ---


# --- ACP product feed ---
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def push_product_feed() -> dict[str, object] | None:
    """Publish the catalog with its showcase videos to the agent platform's feed."""
    from commerce.catalog.feed import publish_feed

    return publish_feed(database(), media_store(), settings())


# --- end ACP product feed ---


@flow(name="publish-creatives")
def publish_creatives(campaign: str = "demo") -> dict[str, str]:
    """Publish what is rendered and unpublished, then report the campaign."""
    ids = pending(campaign)
    if ids:  # children publish as they render: often nothing is left to count here
        progress.start("publish", len(ids))
    for creative_id in ids:
        publish_one(creative_id)
    if shopify_configured(settings()):  # Shopify: product videos
        publish_to_shopify(campaign)
    if settings().acp_feed_url:  # ACP product feed: videos as feed media
        push_product_feed()
    return report(campaign)
