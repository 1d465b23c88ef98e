"""What agents see of a product: typed, JSON-ready views built from catalog rows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from connectors.storage import MediaStore
from reelcart.models import Creative, Product, ProductVariant
from reelcart.money import format_money

from .catalog import plain_text

__all__ = [
    "CreativeView",
    "ProductDetail",
    "ProductSummary",
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
    return variant.available_for_sale and variant.inventory_quantity > 0


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
        description=plain_text(product.description_html),
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
