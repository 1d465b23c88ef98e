"""Creatives as Shopify product videos, and agent orders written back to Shopify.

A creative's video is read from the media store (its ``video_key``), so a render made on
any worker publishes from any machine; a local path is read only without a store.

The database keeps Shopify's media id per creative (``shopify_creative_media``) and
Shopify's order id per order (``orders.external_order_id``); the connector makes each
remote step findable again, so a retry after any crash converges on one video per
creative and one Shopify order per reelcart order.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from commerce.checkout.orders import OrderPlaced
from connectors.shopify.client import ShopifyClient
from connectors.shopify.media import delete_media, publish_video
from connectors.shopify.orders import OrderLine, create_shopify_order
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CreativeStatus
from reelcart.models import (
    Creative,
    Order,
    Product,
    ProductVariant,
    ShopifyCreativeMedia,
    utcnow,
)
from reelcart.settings import Settings

__all__ = [
    "ShopifyPublishResult",
    "orders_to_write_back",
    "publish_campaign_to_shopify",
    "publish_creative_to_shopify",
    "retire_creatives_on_shopify",
    "shopify_creatives_to_publish",
    "shopify_order_hook",
    "write_back_order",
    "write_back_pending",
]

log = logging.getLogger(__name__)
# Longer than a find-or-create against Shopify takes (timeouts and retries included).
WRITE_BACK_LEASE = timedelta(minutes=5)


@dataclass
class ShopifyPublishResult:
    creative_id: str
    media_id: str | None
    status: str
    error: str | None = None
    uploaded: bool = False


def shopify_creatives_to_publish(db: Database, campaign_id: str | None = None) -> list[str]:
    """Published creatives whose current render is not READY on Shopify yet."""
    with db.session() as session:
        query = (
            select(Creative.id, Creative.render_hash, ShopifyCreativeMedia)
            .outerjoin(ShopifyCreativeMedia, ShopifyCreativeMedia.creative_id == Creative.id)
            .join(Product, Product.id == Creative.product_id)
            # Only Shopify's own products can carry a video there (not a catalog file's).
            .where(Creative.status == CreativeStatus.PUBLISHED.value, Product.source == "shopify")
            .order_by(Creative.id)
        )
        if campaign_id:
            query = query.where(Creative.campaign_id == campaign_id)
        return [
            cid
            for cid, render_hash, media in session.execute(query)
            if media is None or media.status != "READY" or media.render_hash != render_hash
        ]


def _video_source(creative: Creative, store: MediaStore | None) -> tuple[str | None, Path | None]:
    """Where the video is read from: a media-store key, else (no store) a local file."""
    if store is not None and creative.video_key:
        return creative.video_key, None
    if store is None and creative.video_path and Path(creative.video_path).is_file():
        return None, Path(creative.video_path)
    raise ValueError(f"creative {creative.id} has no published video")


async def publish_creative_to_shopify(
    db: Database,
    client: ShopifyClient,
    creative_id: str,
    *,
    poll_s: float = 2.0,
    store: MediaStore | None = None,
    cache_dir: Path | None = None,
) -> ShopifyPublishResult:
    """Make the creative's product on Shopify carry its video, once; FAILED is reported.

    With ``store`` the video is the creative's published file there (downloaded into
    ``cache_dir`` when the store is remote), whichever machine rendered it.
    """
    with db.session() as session:
        creative = session.get(Creative, creative_id)
        if creative is None:
            raise LookupError(f"no creative {creative_id}")
        key, local = _video_source(creative, store)
        row = session.get(ShopifyCreativeMedia, creative_id)
        if row is not None and row.status == "READY" and row.render_hash == creative.render_hash:
            return ShopifyPublishResult(creative_id, row.media_id, "READY")
        known = row.media_id if row is not None else None
        replace = row is not None and row.render_hash != creative.render_hash
        product_id, render_hash = creative.product_id, creative.render_hash
        alt = f"{creative.name} video"
    if key is not None:
        assert store is not None
        folder = cache_dir or Path(tempfile.gettempdir()) / "reelcart-media-cache"
        video = await asyncio.to_thread(store.fetch, key, folder)
    else:
        assert local is not None
        video = local
    result = await publish_video(
        client,
        product_id,
        creative_id,
        video,
        alt=alt[:200],
        known_media_id=known,
        replace=replace,
        poll_s=poll_s,
    )
    error = "; ".join(result.errors) or None
    if result.status == "FAILED":
        log.error("shopify video of %s failed processing: %s", creative_id, error)
    with db.session() as session:
        row = session.get(ShopifyCreativeMedia, creative_id)
        if row is None:
            row = ShopifyCreativeMedia(creative_id=creative_id, product_id=product_id)
            session.add(row)
        row.media_id, row.status, row.error = result.media_id, result.status, error
        row.render_hash = render_hash
    return ShopifyPublishResult(creative_id, result.media_id, result.status, error, result.uploaded)


async def retire_creatives_on_shopify(db: Database, client: ShopifyClient) -> list[str]:
    """Delete the Shopify videos of retired creatives; returns the creatives cleaned up."""
    with db.session() as session:
        rows = session.execute(
            select(ShopifyCreativeMedia.creative_id, ShopifyCreativeMedia.media_id)
            .join(Creative, Creative.id == ShopifyCreativeMedia.creative_id)
            .where(
                Creative.status == CreativeStatus.RETIRED.value,
                ShopifyCreativeMedia.media_id.is_not(None),
            )
        ).all()
    done = []
    for creative_id, media_id in rows:
        await delete_media(client, [str(media_id)])
        with db.session() as session:
            row = session.get(ShopifyCreativeMedia, creative_id)
            if row is not None:
                row.media_id, row.status = None, "REMOVED"
        done.append(creative_id)
    return done


def _lines(session: Any, items: list[Any]) -> list[OrderLine]:
    """Order lines from ``Order.line_items``: ACP shape (``item.id``/``item.quantity`` and
    ``base_amount``) or flat (``variant_id``, ``quantity``, ``unit_price_minor``)."""
    lines = []
    for raw in items:
        item = raw.get("item") if isinstance(raw.get("item"), dict) else raw
        variant_id = str(item.get("variant_id") or item.get("id") or "")
        quantity = int(item.get("quantity") or raw.get("quantity") or 1)
        unit = raw.get("unit_price_minor")
        if unit is None and raw.get("base_amount") is not None:
            unit = int(raw["base_amount"]) // max(quantity, 1)
        if unit is None:
            variant = session.get(ProductVariant, variant_id)
            unit = variant.price_minor if variant is not None else 0
        lines.append(OrderLine(variant_id, quantity, int(unit), raw.get("title")))
    return lines


def _claim_write_back(db: Database, order_id: str, lease: timedelta) -> bool:
    """Take the write-back of one order for this worker (a conditional UPDATE with a lease)."""
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.external_order_id.is_(None),
                or_(Order.writeback_lease_until.is_(None), Order.writeback_lease_until <= now),
            )
            .values(writeback_lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def write_back_order(
    db: Database, client: ShopifyClient, order_id: str, *, lease: timedelta = WRITE_BACK_LEASE
) -> str | None:
    """Create the Shopify order for a completed reelcart order, once; returns its gid.

    The seam for the checkout: call after the order row is committed. Safe to call again
    and from many workers at once: a stored id returns at once; otherwise the order is
    claimed first (None when another worker holds the claim), and a Shopify order created
    before a crash is found by its tag instead of being created twice.
    """
    with db.session() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise LookupError(f"no order {order_id}")
        if order.external_order_id:
            return order.external_order_id
    if not _claim_write_back(db, order_id, lease):
        return None
    try:
        with db.session() as session:
            order = session.get(Order, order_id)
            assert order is not None
            lines = _lines(session, list(order.line_items or []))
            currency, creative_id = order.currency, order.creative_id
        external = await create_shopify_order(
            client, reference=order_id, lines=lines, currency=currency, creative_id=creative_id
        )
    except BaseException:
        with db.session() as session:
            order = session.get(Order, order_id)
            if order is not None:
                order.writeback_lease_until = None  # let the next try (or sweep) go at once
        raise
    with db.session() as session:
        order = session.get(Order, order_id)
        if order is not None and not order.external_order_id:
            order.external_order_id = external
            order.writeback_lease_until = None
    return external


def orders_to_write_back(db: Database, limit: int = 200) -> list[str]:
    """Agent orders (confirmed) that Shopify does not have yet and nobody is writing."""
    now = utcnow()
    with db.session() as session:
        return list(
            session.scalars(
                select(Order.id)
                .where(
                    Order.checkout_session_id.is_not(None),
                    Order.external_order_id.is_(None),
                    Order.status == "confirmed",
                    or_(Order.writeback_lease_until.is_(None), Order.writeback_lease_until <= now),
                )
                .order_by(Order.created_at)
                .limit(limit)
            )
        )


def write_back_pending(db: Database, settings: Settings) -> int:
    """The sweep behind the order hook: write back every order it missed; returns how many."""
    from connectors.shopify import client_from_settings

    async def go() -> int:
        done = 0
        client = client_from_settings(settings)
        try:
            for order_id in orders_to_write_back(db):
                try:
                    done += int(await write_back_order(db, client, order_id) is not None)
                except Exception:  # one failing order must not stop the others
                    log.exception("Shopify write-back failed for order %s", order_id)
        finally:
            await client.aclose()
        return done

    return asyncio.run(go())


def publish_campaign_to_shopify(
    db: Database, settings: Settings, campaign: str | None = None
) -> dict[str, int]:
    """Blocking entry point for flows: publish pending creatives, remove retired ones."""
    from sqlalchemy import select as _select

    from connectors.shopify import client_from_settings
    from reelcart.models import Campaign

    with db.session() as session:
        campaign_id = (
            session.scalars(_select(Campaign.id).where(Campaign.name == campaign)).first()
            if campaign
            else None
        )

    store = MediaStore.from_settings(settings)
    cache_dir = settings.data_dir / "media-cache"

    async def go() -> dict[str, int]:
        counts = {"ready": 0, "failed": 0, "retired": 0}
        async with client_from_settings(settings) as client:
            if campaign is None or campaign_id is not None:
                for creative_id in shopify_creatives_to_publish(db, campaign_id):
                    result = await publish_creative_to_shopify(
                        db, client, creative_id, store=store, cache_dir=cache_dir
                    )
                    counts["ready" if result.status == "READY" else "failed"] += 1
            counts["retired"] = len(await retire_creatives_on_shopify(db, client))
        return counts

    return asyncio.run(go())


def shopify_order_hook(db: Database, settings: Settings) -> Callable[[OrderPlaced], None]:
    """An order hook for the checkout that writes each new agent order back to Shopify.

    It runs the write-back in a background thread so a slow or unreachable Shopify never
    holds up the shopper's checkout; ``write_back_order`` stores Shopify's id itself and is
    safe to repeat, so a later retry (or the next run of the same hook) converges.
    """

    def hook(placed: OrderPlaced) -> None:
        if placed.kind != "created":
            return

        def run() -> None:
            try:
                asyncio.run(_write_back(db, settings, placed.order_id))
            except Exception:  # logged, never raised: the sale is already complete
                log.exception("Shopify write-back failed for order %s", placed.order_id)

        threading.Thread(target=run, name=f"shopify-order-{placed.order_id}", daemon=True).start()

    return hook


async def _write_back(db: Database, settings: Settings, order_id: str) -> None:
    from connectors.shopify import client_from_settings

    client = client_from_settings(settings)
    try:
        await write_back_order(db, client, order_id)
    finally:
        await client.aclose()
