"""The product feed for agent platforms (``openapi.feed.yaml``), with showcase videos.

Each active product goes out as a feed ``Product``: its variants with prices in minor
units and availability, its images, and its current showcase video as ``media`` of type
``video``. Two ways to publish:

- incremental: ``PATCH {feed}/feeds/{id}/products`` (upsert by product id), creating the
  feed with ``POST /feeds`` first when no ``acp_feed_id`` is configured;
- full replacement: ``metadata.json`` (``FeedMetadata``) + ``products.jsonl`` files for the
  platform's offline ingestion (:func:`write_full_feed`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CreativeStatus
from reelcart.models import Creative, Product, utcnow
from reelcart.settings import Settings

from .store import active_products, plain_text

__all__ = ["build_feed_products", "publish_feed", "push_feed", "write_full_feed"]


def _showcase(session: Session, product_id: str) -> Creative | None:
    """The product's current showcase video: its most recently published creative."""
    return session.scalars(
        select(Creative)
        .where(
            Creative.product_id == product_id,
            Creative.status == CreativeStatus.PUBLISHED.value,
            Creative.video_key.is_not(None),
        )
        .order_by(Creative.published_at.desc().nulls_last(), Creative.id)
        .limit(1)
    ).first()


def _product(
    product: Product, creative: Creative | None, store: MediaStore, base: str
) -> dict[str, Any]:
    media: list[dict[str, Any]] = []
    if creative is not None and creative.video_key:
        video: dict[str, Any] = {"type": "video", "url": store.url_for(creative.video_key)}
        if creative.width and creative.height:
            video |= {"width": creative.width, "height": creative.height}
        video["alt_text"] = f"{product.title} showcase video"
        media.append(video)
    for image in product.images:
        entry: dict[str, Any] = {"type": "image", "url": store.url_for(image.media_key)}
        if image.alt_text:
            entry["alt_text"] = image.alt_text
        if image.width and image.height:
            entry |= {"width": image.width, "height": image.height}
        media.append(entry)
    currency = product.currency.upper()
    variants = []
    for variant in product.variants:
        in_stock = variant.available_for_sale and variant.inventory_quantity > 0
        item: dict[str, Any] = {
            "id": variant.id,
            "title": variant.title,
            "price": {"amount": variant.price_minor, "currency": currency},
            "availability": {
                "available": in_stock,
                "status": "in_stock" if in_stock else "out_of_stock",
            },
        }
        if variant.compare_at_minor and variant.compare_at_minor > variant.price_minor:
            item["list_price"] = {"amount": variant.compare_at_minor, "currency": currency}
        if variant.selected_options:
            item["variant_options"] = [
                {"name": o["name"], "value": o["value"]} for o in variant.selected_options
            ]
        variants.append(item)
    return {
        "id": product.id,
        "title": product.title,
        "description": {
            "plain": plain_text(product.description_html),
            "html": product.description_html,
        },
        "url": f"{base}/products/{product.handle}",
        "media": media,
        "variants": variants,
    }


def build_feed_products(
    session: Session, store: MediaStore, settings: Settings, product_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Feed ``Product`` objects for the active catalog (or only ``product_ids``)."""
    base = settings.resolved_public_base_url
    wanted = set(product_ids) if product_ids is not None else None
    return [
        _product(p, _showcase(session, p.id), store, base)
        for p in active_products(session)
        if wanted is None or p.id in wanted
    ]


def push_feed(
    settings: Settings,
    products: list[dict[str, Any]],
    client: httpx.Client,
    feed_id: str | None = None,
) -> dict[str, Any]:
    """Upsert ``products`` into the platform's feed; returns ``UpsertProductsResponse``."""
    if not settings.acp_feed_url:
        raise ValueError("acp_feed_url is not configured")
    base = settings.acp_feed_url.rstrip("/")
    headers = {"Content-Type": "application/json"}
    if settings.acp_feed_token is not None:
        headers["Authorization"] = f"Bearer {settings.acp_feed_token.get_secret_value()}"
    feed_id = feed_id or settings.acp_feed_id
    if not feed_id:
        created = client.post(
            f"{base}/feeds", json={"target_country": settings.acp_feed_country}, headers=headers
        )
        created.raise_for_status()
        feed_id = str(created.json()["id"])
    response = client.patch(
        f"{base}/feeds/{feed_id}/products", json={"products": products}, headers=headers
    )
    response.raise_for_status()
    return dict(response.json())


def write_full_feed(
    folder: Path, feed_id: str, products: list[dict[str, Any]], settings: Settings
) -> Path:
    """Full replacement files: ``metadata.json`` and ``products.jsonl``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {
        "id": feed_id,
        "target_country": settings.acp_feed_country,
        "updated_at": utcnow().isoformat(),
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with (folder / "products.jsonl").open("w") as handle:
        for product in products:
            handle.write(json.dumps(product, separators=(",", ":")) + "\n")
    return folder


def publish_feed(
    db: Database, store: MediaStore, settings: Settings, product_ids: list[str] | None = None
) -> dict[str, Any] | None:
    """Push the catalog (or some products) to the configured feed; None when not configured."""
    if not settings.acp_feed_url:
        return None
    with db.session() as session:
        products = build_feed_products(session, store, settings, product_ids)
    with httpx.Client(timeout=30.0) as client:
        return push_feed(settings, products, client)
