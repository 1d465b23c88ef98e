"""Catalog sync from Shopify into the app database: full, incremental or bulk, resumable.

Each page is stored through ``commerce.catalog.store.sync_snapshot`` (``full=False``) in its
own transaction together with the cursor after it, so a crash resumes at the next page
and a re-run changes nothing that did not change (unchanged products match their content
hash and are not touched, so their images are not downloaded again). Pages are fetched
while the previous one is being stored. A *full* sync archives, when it completes, the
Shopify products it did not see; an incremental one never archives (deletions arrive by
webhook or the next full sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commerce.catalog.store import SyncReport, sync_snapshot
from commerce.store.sync import sync_shopify_store
from connectors.safe_fetch import FetchError, fetch_image
from connectors.shopify.catalog import (
    ProductPage,
    bulk_products,
    count_products,
    fetch_shop,
    product_pages,
    start_bulk,
)
from connectors.shopify.client import ShopifyClient
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CatalogProduct, CatalogShop, CatalogSnapshot
from reelcart.models import Product, ShopifySyncSeen, ShopifySyncState, new_id, utcnow
from reelcart.settings import Settings

__all__ = [
    "SyncMode",
    "SyncOutcome",
    "apply_products",
    "run_shopify_sync",
    "shop_state",
    "sync_shopify_catalog",
]

log = logging.getLogger(__name__)

SOURCE = "shopify"
SyncMode = Literal["auto", "full", "incremental", "bulk"]


@dataclass
class SyncOutcome:
    """What a Shopify sync did."""

    mode: str
    resumed: bool = False
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    images_stored: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    watermark: datetime | None = None

    def add(self, report: SyncReport) -> None:
        self.created += len(report.created)
        self.updated += len(report.updated)
        self.unchanged += len(report.unchanged)
        self.archived += len(report.archived)
        self.images_stored += report.images_stored

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "archived": self.archived,
            "skipped": len(self.skipped),
            "pages": self.pages,
        }


def shop_state(session: Session, shop: str) -> ShopifySyncState:
    """The sync state row of ``shop``, created on first use."""
    state = session.get(ShopifySyncState, shop)
    if state is None:
        state = ShopifySyncState(shop=shop)
        session.add(state)
        session.flush()
    return state


def _image_ok(url: str) -> bool:
    # The same guarded fetch as the sync itself: a URL it refuses is as broken as a 404.
    with tempfile.TemporaryDirectory(prefix="reelcart-probe-") as tmp:
        try:
            fetch_image(url, Path(tmp))
        except (FetchError, OSError):
            return False
    return True


def _store_one(
    session: Session, shop: CatalogShop, product: CatalogProduct, store: MediaStore, notes: dict
) -> SyncReport | None:
    snapshot = CatalogSnapshot(shop=shop, products=[product])
    try:
        with session.begin_nested():
            return sync_snapshot(session, snapshot, store, source=SOURCE, full=False)
    except (httpx.HTTPError, OSError) as exc:
        broken = [i for i in product.images if not _image_ok(i.url)]
        if not broken:
            notes[product.id] = [f"skipped: could not store: {exc}"]
            return None
        reasons = [f"image {i.id} dropped: {i.url} is unreachable" for i in broken]
        log.warning("shopify product %s: %s", product.id, "; ".join(reasons))
        kept = [i for i in product.images if i not in broken]
        fixed = product.model_copy(update={"images": kept})
        try:
            with session.begin_nested():
                report = sync_snapshot(
                    session,
                    CatalogSnapshot(shop=shop, products=[fixed]),
                    store,
                    source=SOURCE,
                    full=False,
                )
        except (httpx.HTTPError, OSError) as again:
            notes[product.id] = [*reasons, f"skipped: could not store: {again}"]
            return None
        notes.setdefault(f"{product.id}#images", []).extend(reasons)
        return report


def apply_products(
    session: Session,
    shop: CatalogShop,
    products: list[CatalogProduct],
    store: MediaStore,
    skipped: dict[str, list[str]],
) -> tuple[SyncReport, dict[str, list[str]]]:
    """Store products in the caller's transaction; returns the report and new skip notes.

    A product whose photo cannot be fetched is stored without that photo; a product that
    is now unsellable (skipped by conversion) but was stored before is archived, so an
    old price is never sold.
    """
    notes: dict[str, list[str]] = {}
    report = SyncReport()
    try:
        with session.begin_nested():
            report = sync_snapshot(
                session,
                CatalogSnapshot(shop=shop, products=products),
                store,
                source=SOURCE,
                full=False,
            )
    except (httpx.HTTPError, OSError):
        # One bad photo fails the batch: store product by product to isolate it.
        for product in products:
            one = _store_one(session, shop, product, store, notes)
            if one is not None:
                for name in ("created", "updated", "unchanged", "archived"):
                    getattr(report, name).extend(getattr(one, name))
                report.images_stored += one.images_stored
    if skipped:
        rows = session.scalars(
            select(Product).where(Product.id.in_(list(skipped)), Product.status != "ARCHIVED")
        )
        for row in rows:
            row.status = "ARCHIVED"
            report.archived.append(row.id)
    return report, notes


def _mark_seen(session: Session, run_id: str, ids: list[str]) -> None:
    if not ids:
        return
    known = set(
        session.scalars(
            select(ShopifySyncSeen.product_id).where(
                ShopifySyncSeen.run_id == run_id, ShopifySyncSeen.product_id.in_(ids)
            )
        )
    )
    for pid in dict.fromkeys(ids):
        if pid not in known:
            session.add(ShopifySyncSeen(run_id=run_id, product_id=pid))


class _Run:
    """One sync run's bookkeeping against the database."""

    def __init__(self, db: Database, store: MediaStore, shop: CatalogShop, key: str) -> None:
        self.db, self.store, self.shop, self.key = db, store, shop, key

    def apply(
        self,
        outcome: SyncOutcome,
        run_id: str,
        full: bool,
        products: list[CatalogProduct],
        skipped: dict[str, list[str]],
        seen: list[str],
        cursor: str | None,
        newest: datetime | None,
    ) -> None:
        with self.db.session() as session:
            report, notes = apply_products(session, self.shop, products, self.store, skipped)
            if full:
                _mark_seen(session, run_id, seen)
            state = shop_state(session, self.key)
            state.run_cursor = cursor
            if newest is not None:
                current = state.run_watermark
                state.run_watermark = max(current, newest) if current else newest
        outcome.add(report)
        outcome.skipped.update(skipped)
        outcome.skipped.update(notes)

    def finish(self, outcome: SyncOutcome, run_id: str, full: bool) -> None:
        with self.db.session() as session:
            state = shop_state(session, self.key)
            if full:
                seen = select(ShopifySyncSeen.product_id).where(ShopifySyncSeen.run_id == run_id)
                result = session.execute(
                    update(Product)
                    .where(
                        Product.source == SOURCE,
                        Product.status != "ARCHIVED",
                        Product.id.not_in(seen),
                    )
                    .values(status="ARCHIVED")
                    .execution_options(synchronize_session=False)
                )
                outcome.archived += int(getattr(result, "rowcount", 0) or 0)
                session.query(ShopifySyncSeen).filter(ShopifySyncSeen.run_id == run_id).delete()
                state.last_full_at = utcnow()
            old, new = state.watermark, state.run_watermark
            state.watermark = max(w for w in (old, new) if w) if (old or new) else None
            outcome.watermark = state.watermark
            state.run_id = state.run_mode = state.run_query = state.run_cursor = None
            state.run_watermark = state.run_started_at = None
            state.last_completed_at = utcnow()
            state.uninstalled_at = None


async def sync_shopify_catalog(
    db: Database,
    store: MediaStore,
    client: ShopifyClient,
    *,
    mode: SyncMode = "auto",
    bulk_threshold: int = 5000,
    poll_s: float = 1.0,
) -> SyncOutcome:
    """Bring the Shopify catalog into the database; resumes an interrupted run first.

    ``auto``: a full sync the first time (through Bulk Operations when the store has at
    least ``bulk_threshold`` products), then incremental syncs of what changed since the
    last completed one. ``bulk`` forces a full sync through Bulk Operations.
    """
    shop = await fetch_shop(client)
    key = shop.myshopify_domain or client.shop
    run = _Run(db, store, shop, key)
    use_bulk = mode == "bulk"
    with db.session() as session:
        state = shop_state(session, key)
        resumed = state.run_id is not None
        if not resumed:
            full = mode in ("full", "bulk") or (mode == "auto" and state.watermark is None)
            watermark = state.watermark
            search = (
                None
                if full or watermark is None
                else f"updated_at:>='{watermark.isoformat().replace('+00:00', 'Z')}'"
            )
            state.run_id = new_id("sync")
            state.run_mode = "full" if full else "incremental"
            state.run_query = search
            state.run_cursor = None
            state.run_watermark = None
            state.run_started_at = utcnow()
        run_id, run_mode = str(state.run_id), str(state.run_mode)
        search, cursor = state.run_query, state.run_cursor
    if resumed:
        log.info("shopify: resuming %s sync %s after cursor %s", run_mode, run_id, cursor)
        use_bulk = run_mode.startswith("bulk-")
    elif mode == "auto":
        use_bulk = await count_products(client, search) >= bulk_threshold
    if use_bulk and not run_mode.startswith("bulk-"):
        run_mode = f"bulk-{run_mode}"
        with db.session() as session:
            shop_state(session, key).run_mode = run_mode
    full = run_mode.endswith("full")
    outcome = SyncOutcome(mode=run_mode, resumed=resumed)
    if use_bulk:
        await _bulk(run, outcome, client, run_id, full, search, cursor, poll_s)
    else:
        await _paginated(run, outcome, client, run_id, full, search, cursor)
    await asyncio.to_thread(run.finish, outcome, run_id, full)
    log.info("shopify sync %s done: %s", run_mode, outcome.counts())
    return outcome


async def _paginated(
    run: _Run,
    outcome: SyncOutcome,
    client: ShopifyClient,
    run_id: str,
    full: bool,
    search: str | None,
    cursor: str | None,
) -> None:
    queue: asyncio.Queue[ProductPage | Exception | None] = asyncio.Queue(maxsize=3)

    async def produce() -> None:
        try:
            async for page in product_pages(
                client, run.shop.currency_code, search=search, after=cursor
            ):
                await queue.put(page)
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, which stores what came before
            await queue.put(exc)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            await asyncio.to_thread(
                run.apply,
                outcome,
                run_id,
                full,
                item.products,
                item.skipped,
                item.seen_ids,
                item.end_cursor,
                item.max_updated_at,
            )
            outcome.pages += 1
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def _bulk(
    run: _Run,
    outcome: SyncOutcome,
    client: ShopifyClient,
    run_id: str,
    full: bool,
    search: str | None,
    operation_id: str | None,
    poll_s: float,
) -> None:
    if operation_id is None:
        operation_id = await start_bulk(client, search)
        # Remember the operation: a crash while it runs resumes by polling it again.
        with run.db.session() as session:
            shop_state(session, run.key).run_cursor = operation_id
    result = await bulk_products(
        client, run.shop.currency_code, operation_id=operation_id, poll_s=poll_s
    )
    chunk = 200
    products, ids = result.products, result.seen_ids
    for start in range(0, max(len(products), len(ids), 1), chunk):
        first = start == 0
        await asyncio.to_thread(
            run.apply,
            outcome,
            run_id,
            full,
            products[start : start + chunk],
            result.skipped if first else {},
            ids[start : start + chunk],
            operation_id,
            result.created_at if first else None,
        )
        outcome.pages += 1


def run_shopify_sync(
    db: Database, store: MediaStore, settings: Settings, mode: SyncMode = "auto"
) -> dict[str, int]:
    """Blocking entry point for flows and the CLI: sync with the configured shop."""
    from connectors.shopify import client_from_settings

    async def go() -> SyncOutcome:
        async with client_from_settings(settings) as client:
            outcome = await sync_shopify_catalog(
                db, store, client, mode=mode, bulk_threshold=settings.shopify_bulk_threshold
            )
            await sync_shopify_store(db, client)  # discount codes, customers and addresses
            return outcome

    return asyncio.run(go()).counts()
