"""Builders for test data in the shapes the app reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from PIL import Image

from reelcart.db import Database
from reelcart.models import Campaign, Creative
from tests.generation.conftest import draw_product_photo

__all__ = ["add_published_creatives", "make_product", "write_catalog"]


def write_catalog(folder: Path, products: list[dict[str, object]], currency: str = "USD") -> Path:
    """Write a catalog file (and a photo for each image it names) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for product in products:
        images = cast("list[dict[str, str]]", product.get("images", []))
        for image in images:
            path = folder / image["url"]
            if not path.exists():
                # A product-like photo (a flat colour rightly fails the quality gate as
                # a frozen picture), with a swatch of its own so each file differs.
                shade = sum(map(ord, image["url"])) % 200
                draw_product_photo(path)
                with Image.open(path) as drawn:
                    photo = drawn.convert("RGB")
                photo.paste((shade, 120, 255 - shade), (4, 4, 28, 28))
                photo.save(path)
    catalog = {"shop": {"name": "Test Shop", "currencyCode": currency}, "products": products}
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def make_product(
    n: int,
    *,
    title: str | None = None,
    price: str = "24.00",
    stock: int = 5,
    tags: list[str] | None = None,
    images: int = 1,
) -> dict[str, object]:
    """A product in Shopify's shape."""
    return {
        "id": f"gid://shopify/Product/{n}",
        "handle": f"product-{n}",
        "title": title or f"Product {n}",
        "descriptionHtml": f"<p>Description of product {n}.</p>",
        "vendor": "Test Vendor",
        "productType": "Things",
        "tags": tags or [],
        "status": "ACTIVE",
        "variants": [
            {
                "id": f"gid://shopify/ProductVariant/{n}1",
                "title": "Default",
                "price": price,
                "inventoryQuantity": stock,
                "availableForSale": stock > 0,
            }
        ],
        "images": [
            {
                "id": f"gid://shopify/MediaImage/{n}{i}",
                "url": f"p{n}-{i}.png",
                "width": 64,
                "height": 64,
            }
            for i in range(images)
        ],
    }


def add_published_creatives(
    db: Database,
    product_id: str,
    levels: dict[str, str],
    *,
    factor: str = "hook",
    campaign: str = "c",
) -> list[str]:
    """Published creatives of one product, ``{creative_id: level}``, in a new campaign."""
    with db.session() as session:
        row = Campaign(name=campaign, plan={})
        session.add(row)
        session.flush()
        for creative_id, level in levels.items():
            session.add(
                Creative(
                    id=creative_id,
                    campaign_id=row.id,
                    product_id=product_id,
                    variant_key=f"{factor}={level}",
                    name=f"{creative_id}__{factor}-{level}",
                    factors={factor: level},
                    status="published",
                    video_key=f"creatives/{campaign}/{creative_id}.mp4",
                    poster_key=f"creatives/{campaign}/{creative_id}.jpg",
                    duration_s=6.5,
                    width=1080,
                    height=1920,
                )
            )
    return sorted(levels)
