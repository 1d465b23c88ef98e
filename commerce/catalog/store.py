"""The catalog in the app database: sync a snapshot in (with its search embeddings), read a
product out. Search itself is ``commerce.catalog.search``."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from connectors.safe_fetch import FetchError, FetchPolicy, fetch_image
from connectors.storage import MediaStore
from reelcart.domain import CatalogProduct, CatalogSnapshot
from reelcart.models import Product, ProductImage, ProductVariant, utcnow
from reelcart.money import to_minor_units

from .embeddings import embed_catalog, note_catalog_change
from .product_text import bounded_html, plain_text

__all__ = [
    "SyncReport",
    "active_products",
    "get_product",
    "plain_text",
    "sync_snapshot",
]


def _content_hash(product: CatalogProduct, currency: str) -> str:
    payload = product.model_dump(mode="json", exclude={"updated_at", "created_at"})
    payload["currency"] = currency
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class SyncReport:
    """What a sync changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    images_stored: int = 0
    # Products whose search vectors this sync computed (new, changed, or never embedded).
    embedded: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)


def _fetch_image(url: str, scratch: Path, source: str, policy: FetchPolicy) -> Path:
    if url.startswith(("http://", "https://")):
        return fetch_image(url, scratch, policy)
    # A local photo only from a catalog file: its loader has confined the path to the file's
    # folder. Any other catalog (Shopify, a feed) never makes the server read its own disk.
    path = Path(url)
    if source.split(":", 1)[0] != "file" or not path.is_absolute() or "://" in url:
        raise FetchError(f"image {url[:200]!r} is not an http(s) URL")
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {url}")
    return path


def _apply(
    row: Product,
    product: CatalogProduct,
    currency: str,
    brand: str,
    source: str,
    store: MediaStore,
    scratch: Path,
    policy: FetchPolicy,
) -> int:
    row.handle = product.handle
    row.title = product.title
    row.description_html = bounded_html(product.description_html)
    row.vendor = product.vendor
    row.product_type = product.product_type
    row.tags = list(product.tags)
    row.options = [o.model_dump() for o in product.options]
    row.status = product.status
    row.currency = currency
    row.brand_name = product.vendor or brand
    row.source = source
    row.source_updated_at = product.updated_at
    row.synced_at = utcnow()
    row.variants = [
        ProductVariant(
            id=v.id,
            position=i,
            title=v.title,
            sku=v.sku,
            price_minor=to_minor_units(v.price, currency),
            compare_at_minor=(
                to_minor_units(v.compare_at_price, currency) if v.compare_at_price else None
            ),
            inventory_quantity=v.inventory_quantity,
            available_for_sale=v.available_for_sale,
            selected_options=[o.model_dump() for o in v.selected_options],
        )
        for i, v in enumerate(product.variants)
    ]
    images = []
    for i, image in enumerate(product.images):
        local = _fetch_image(image.url, scratch, source, policy)
        key, digest = store.put_content_addressed(local, "images")
        images.append(
            ProductImage(
                id=image.id,
                position=i,
                source_url=image.url,
                media_key=key,
                sha256=digest,
                alt_text=image.alt_text,
                width=image.width,
                height=image.height,
            )
        )
    row.images = images
    return len(images)


def sync_snapshot(
    session: Session,
    snapshot: CatalogSnapshot,
    store: MediaStore,
    *,
    source: str = "file",
    full: bool = True,
    embed: bool = True,
) -> SyncReport:
    """Upsert a catalog snapshot in the caller's transaction.

    Unchanged products (same content hash) are not touched. With ``full``, products of the
    same source missing from the snapshot are archived: they stop being sold but keep their
    history (creatives, events, orders). With ``embed``, every active product whose stored
    search vector is missing or stale is embedded in the same transaction, so serving
    processes never embed the catalog.
    """
    report = SyncReport()
    currency = snapshot.shop.currency_code
    rows = select(Product).options(selectinload(Product.variants), selectinload(Product.images))
    if not full:
        # A partial snapshot (a page of a Shopify sync) touches only its own products.
        rows = rows.where(Product.id.in_([p.id for p in snapshot.products]))
    existing = {p.id: p for p in session.scalars(rows)}
    policy = FetchPolicy.from_settings()
    with tempfile.TemporaryDirectory(prefix="reelcart-sync-") as tmp:
        for product in snapshot.products:
            digest = _content_hash(product, currency)
            row = existing.get(product.id)
            if row is not None and row.content_hash == digest:
                if row.source != source:  # the source that delivers a product owns it
                    row.source = source
                report.unchanged.append(product.id)
                continue
            if row is None:
                row = Product(id=product.id, content_hash=digest)
                session.add(row)
                report.created.append(product.id)
            else:
                # Replace children explicitly so the old rows are gone before new ones insert.
                row.variants.clear()
                row.images.clear()
                session.flush()
                row.content_hash = digest
                report.updated.append(product.id)
            report.images_stored += _apply(
                row, product, currency, snapshot.shop.name, source, store, Path(tmp), policy
            )
    if full:
        seen = {p.id for p in snapshot.products}
        for row in existing.values():
            if row.source == source and row.id not in seen and row.status != "ARCHIVED":
                row.status = "ARCHIVED"
                report.archived.append(row.id)
    session.flush()
    if report.changed:
        note_catalog_change()
    if embed:
        report.embedded = embed_catalog(session).embedded
    return report


def active_products(session: Session) -> Sequence[Product]:
    """Products that are for sale, with variants and images loaded."""
    return session.scalars(
        select(Product)
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants), selectinload(Product.images))
        .order_by(Product.title)
    ).all()


def get_product(session: Session, product_id: str) -> Product | None:
    """An active product by id or handle, with variants and images loaded."""
    return session.scalars(
        select(Product)
        .where(or_(Product.id == product_id, Product.handle == product_id))
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants), selectinload(Product.images))
    ).first()
