"""What agents see of a product: typed, JSON-ready views built from catalog rows, and a
per-process cache of their catalog part."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from connectors.storage import MediaStore
from reelcart.models import Creative, Product, ProductVariant
from reelcart.money import format_money

from .product_text import MAX_DESCRIPTION_SHOWN, plain_text
from .showcase import show_creative
from .version import RECHECK_S, VersionWatch

__all__ = [
    "CreativeView",
    "ProductDetail",
    "ProductSummary",
    "ProductViews",
    "VariantView",
    "creative_view",
    "product_detail",
    "product_summary",
]


class Price(BaseModel):
    amount: int = Field(description="Integer minor units (cents for USD).")
    currency: str = Field(description="ISO 4217 code.")
    display: str = Field(description="Formatted for people, e.g. $24.00.")


def _price(minor: int, currency: str) -> Price:
    return Price(amount=minor, currency=currency, display=format_money(minor, currency))


class ProductSummary(BaseModel):
    id: str
    handle: str
    title: str
    product_type: str
    vendor: str
    price_from: Price
    in_stock: bool
    image_url: str | None


class VariantView(BaseModel):
    id: str
    title: str
    sku: str | None
    options: dict[str, str]
    price: Price
    compare_at_price: Price | None
    available: bool = Field(description="Purchasable now: for sale and in stock.")


class CreativeView(BaseModel):
    creative_id: str = Field(
        description="The video shown; purchases are attributed to it by the server."
    )
    video_url: str
    poster_url: str
    captions_url: str | None = Field(default=None, description="WebVTT captions, if any.")
    preview_url: str | None = Field(default=None, description="Animated preview, if any.")
    duration_s: float
    width: int
    height: int
    factors: dict[str, str]


class ProductDetail(BaseModel):
    id: str
    handle: str
    title: str
    description: str
    vendor: str
    product_type: str
    tags: list[str]
    options: list[dict[str, object]]
    variants: list[VariantView] = Field(description="Purchasable variants first.")
    image_urls: list[str]
    creative: CreativeView | None = Field(description="The showcase video to show the shopper.")
    shopper_id: str | None = Field(
        default=None,
        description="The shopper the video was chosen for; pass it as "
        "payload.metadata.shopper_id at checkout so the sale is attributed to this video.",
    )


def _available(variant: ProductVariant) -> bool:
    return variant.purchasable


def product_summary(product: Product, store: MediaStore) -> ProductSummary:
    return ProductSummary(
        id=product.id,
        handle=product.handle,
        title=product.title,
        product_type=product.product_type,
        vendor=product.vendor,
        price_from=_price(min(v.price_minor for v in product.variants), product.currency),
        in_stock=any(_available(v) for v in product.variants),
        image_url=store.url_for(product.images[0].media_key) if product.images else None,
    )


def creative_view(creative: Creative, store: MediaStore) -> CreativeView:
    assert creative.video_key and creative.poster_key, "only published creatives have views"
    published = (creative.manifest or {}).get("published") or {}
    return CreativeView(
        creative_id=creative.id,
        video_url=store.url_for(creative.video_key),
        poster_url=store.url_for(creative.poster_key),
        captions_url=store.url_for(published["vtt"]) if published.get("vtt") else None,
        preview_url=store.url_for(published["preview"]) if published.get("preview") else None,
        duration_s=creative.duration_s or 0.0,
        width=creative.width or 0,
        height=creative.height or 0,
        factors={str(k): str(v) for k, v in creative.factors.items()},
    )


def product_detail(
    product: Product,
    store: MediaStore,
    creative: Creative | None,
    shopper_id: str | None = None,
) -> ProductDetail:
    variants = sorted(product.variants, key=lambda v: (not _available(v), v.position))
    return ProductDetail(
        id=product.id,
        handle=product.handle,
        title=product.title,
        description=plain_text(product.description_html)[:MAX_DESCRIPTION_SHOWN],
        vendor=product.vendor,
        product_type=product.product_type,
        tags=[str(t) for t in product.tags],
        options=list(product.options),
        variants=[
            VariantView(
                id=v.id,
                title=v.title,
                sku=v.sku,
                options={o["name"]: o["value"] for o in v.selected_options},
                price=_price(v.price_minor, product.currency),
                compare_at_price=(
                    _price(v.compare_at_minor, product.currency) if v.compare_at_minor else None
                ),
                available=_available(v),
            )
            for v in variants
        ],
        image_urls=[store.url_for(i.media_key) for i in product.images],
        creative=creative_view(creative, store) if creative else None,
        shopper_id=shopper_id,
    )


@dataclass(frozen=True)
class _Static:
    """The catalog part of a product's views: availability blank, no creative."""

    summary: ProductSummary
    detail: ProductDetail
    variants: dict[str, VariantView]
    positions: dict[str, int]


class ProductViews:
    """What agents read most, kept per process for one catalog version.

    Titles, descriptions, images, options and prices come from memory until the catalog
    changes (``commerce.catalog.version``); stock, status and the creative shown are read
    from the database on every call, in one query for the stock. Checkout never reads these
    views: it prices from the database. ``enabled=False`` reads everything every time.
    """

    def __init__(
        self,
        store: MediaStore,
        *,
        enabled: bool = True,
        recheck_s: float = RECHECK_S,
        size: int = 20_000,
    ) -> None:
        self.store, self.enabled, self.size = store, enabled, size
        self.watch = VersionWatch(recheck_s)
        self._lock = threading.Lock()
        self._version: tuple[object, ...] | None = None
        self._static: OrderedDict[str, _Static] = OrderedDict()
        self._handles: dict[str, str] = {}

    def _cached(self, session: Session, ids: list[str]) -> dict[str, _Static]:
        found: dict[str, _Static] = {}
        if self.enabled:
            version = self.watch.current(session)
            with self._lock:
                if version != self._version:
                    self._version = version
                    self._static.clear()
                    self._handles.clear()
                for pid in ids:
                    hit = self._static.get(pid)
                    if hit is not None:
                        self._static.move_to_end(pid)
                        found[pid] = hit
        missing = [pid for pid in ids if pid not in found]
        if missing:
            query = select(Product).where(Product.id.in_(missing))
            loaded = session.scalars(
                query.options(selectinload(Product.variants), selectinload(Product.images))
            )
            for product in loaded:
                found[product.id] = static = self._build(product)
                if self.enabled:
                    with self._lock:
                        self._static[product.id] = static
                        self._handles[product.handle] = product.id
                        while len(self._static) > self.size:
                            self._static.popitem(last=False)
        return found

    def _build(self, product: Product) -> _Static:
        detail = product_detail(product, self.store, None)
        views = {v.id: v for v in detail.variants}
        return _Static(
            summary=product_summary(product, self.store),
            detail=detail,
            variants=views,
            positions={v.id: v.position for v in product.variants},
        )

    @staticmethod
    def _stock(session: Session, condition: Any) -> dict[str, dict[str, bool]]:
        """Purchasable now, per variant of each active product matching ``condition``."""
        rows = session.execute(
            select(
                ProductVariant.product_id,
                ProductVariant.id,
                ProductVariant.available_for_sale & (ProductVariant.inventory_quantity > 0),
            )
            .join(Product, Product.id == ProductVariant.product_id)
            .where(condition, Product.status == "ACTIVE")
        )
        stock: dict[str, dict[str, bool]] = {}
        for pid, vid, available in rows:
            stock.setdefault(pid, {})[vid] = bool(available)
        return stock

    def summaries(self, session: Session, ids: list[str]) -> list[ProductSummary]:
        """Summaries of the active products among ``ids``, in that order."""
        if not ids:
            return []
        stock = self._stock(session, ProductVariant.product_id.in_(ids))
        static = self._cached(session, [pid for pid in ids if pid in stock])
        return [
            static[pid].summary.model_copy(update={"in_stock": any(stock[pid].values())})
            for pid in ids
            if pid in static
        ]

    def detail(self, session: Session, product_id: str, shopper_id: str) -> ProductDetail | None:
        """An active product by id or handle, as ``shopper_id`` is shown it (the impression
        is recorded); None when there is no such product for sale."""
        key = self._handles.get(product_id, product_id)
        stock = self._stock(session, or_(Product.id == key, Product.handle == product_id))
        if not stock:
            return None
        pid = next(iter(stock))
        static = self._cached(session, [pid]).get(pid)
        if static is None:
            return None
        available = stock[pid]
        variants = sorted(
            (vid for vid in static.variants if vid in available),
            key=lambda vid: (not available[vid], static.positions[vid]),
        )
        creative = show_creative(session, pid, shopper_id)
        return static.detail.model_copy(
            update={
                "variants": [
                    static.variants[vid].model_copy(update={"available": available[vid]})
                    for vid in variants
                ],
                "creative": creative_view(creative, self.store) if creative else None,
                "shopper_id": shopper_id,
            }
        )
