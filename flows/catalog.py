"""Flow: bring the store's catalog into the app database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from commerce.catalog.store import sync_snapshot
from commerce.store.sync import store_file_rules
from connectors.catalog_file import load_catalog_file
from connectors.shopify import (
    ShopifyAuthError,
    ShopifyNotConfigured,
    ShopifyUnreachable,
    not_configured_message,
    shopify_missing,
)
from reelcart.domain import CatalogSnapshot
from reelcart.settings import DEMO_CATALOG

from .common import database, media_store, settings

__all__ = ["file_source", "sync_catalog"]


def file_source(snapshot: CatalogSnapshot) -> str:
    """Which store a catalog file speaks for (``file:<shop>``): a file archives only the
    products its own store delivered, never another file's or Shopify's."""
    shop = snapshot.shop.myshopify_domain or snapshot.shop.name
    return f"file:{re.sub(r'[^a-z0-9.-]+', '-', shop.lower()).strip('-')}"[:32]


@task(cache_policy=NO_CACHE)
def read_catalog_file(path: str) -> CatalogSnapshot:
    """Read and validate a catalog export file."""
    return load_catalog_file(Path(path))


@task(cache_policy=NO_CACHE)
def store_catalog(snapshot: CatalogSnapshot, source: str) -> dict[str, int]:
    """Upsert the snapshot in one transaction; report what changed."""
    with database().session() as session:
        report = sync_snapshot(session, snapshot, media_store(), source=source)
    return {
        "created": len(report.created),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "archived": len(report.archived),
    }


# --- Shopify connector ---
def _worth_retrying(task: object, task_run: object, state: State) -> bool:
    """Retry what may pass (5xx, timeouts); never missing settings, a refused token or a
    shop whose host never answered: waiting only hides the message that says what to fix."""
    try:
        state.result()
    except (ShopifyNotConfigured, ShopifyAuthError, ShopifyUnreachable):
        return False
    except Exception:
        return True
    return True


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=_worth_retrying,
)
def sync_shopify(mode: str = "auto") -> dict[str, int]:
    """Sync from the Shopify Admin API (resumes an interrupted run from its cursor)."""
    from commerce.shopify.sync import run_shopify_sync

    return run_shopify_sync(database(), media_store(), settings(), mode)  # type: ignore[arg-type]


# --- end Shopify connector ---


@flow(name="sync-catalog", log_prints=True)
def sync_catalog(
    source: Literal["file", "shopify"] = "file", path: str | None = None
) -> dict[str, int]:
    """Sync the catalog from Shopify, or a Shopify-shaped export file (the demo store)."""
    if source == "shopify":
        missing = shopify_missing(settings())
        if missing:
            raise ShopifyNotConfigured(not_configured_message(missing))
        counts = sync_shopify()
    else:
        snapshot = read_catalog_file(path or str(DEMO_CATALOG))
        counts = store_catalog(snapshot, file_source(snapshot))
        counts |= store_file_rules(database(), Path(path or DEMO_CATALOG), file_source(snapshot))
    create_markdown_artifact(
        key="catalog-sync",
        markdown=f"## Catalog sync ({source})\n\n"
        + "\n".join(f"- **{name}**: {count}" for name, count in counts.items()),
        description="What the last catalog sync changed",
    )
    return counts
