"""Keyword ranking: what search answers without the embedding model (or for no words)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from reelcart.models import Product

from .product_text import plain_text

__all__ = ["rank_by_keywords"]

_WEIGHTS = (("title", 5.0), ("product_type", 3.0), ("tags", 3.0), ("vendor", 1.0), ("text", 1.0))


def _keyword_score(product: Product, tokens: Sequence[str]) -> float:
    fields = {
        "title": product.title.lower(),
        "product_type": product.product_type.lower(),
        "tags": " ".join(str(t) for t in product.tags).lower(),
        "vendor": product.vendor.lower(),
        "text": plain_text(product.description_html).lower(),
    }
    score = 0.0
    for token in tokens:
        hits = [weight for name, weight in _WEIGHTS if token in fields[name]]
        if not hits:
            return 0.0  # every token must match somewhere
        score += max(hits)
    return score


def rank_by_keywords(
    session: Session,
    tokens: Sequence[str],
    limit: int,
    min_price: int | None,
    max_price: int | None,
    in_stock_only: bool,
) -> list[Product]:
    """Every query word must appear in the title, type, tags, vendor or description; a title
    match outranks a description match. No words lists the catalog by title."""
    products = session.scalars(
        select(Product)
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants), selectinload(Product.images))
        .order_by(Product.title)
    ).all()
    ranked: list[tuple[float, Product]] = []
    for product in products:
        score = _keyword_score(product, tokens) if tokens else 1.0
        if score <= 0 or not product.variants:
            continue
        if in_stock_only and not any(
            v.available_for_sale and v.inventory_quantity > 0 for v in product.variants
        ):
            continue
        low = min(v.price_minor for v in product.variants)
        if (max_price is not None and low > max_price) or (
            min_price is not None and low < min_price
        ):
            continue
        ranked.append((score, product))
    ranked.sort(key=lambda pair: (-pair[0], pair[1].title))
    return [product for _, product in ranked[:limit]]
