"""Line items, fulfilment options and totals, computed from catalog prices in minor units.

Nothing here reads a price from the agent: every amount comes from ``ProductVariant`` rows
and store settings. Tax is per line (rounded half up) so the line totals add up to the
session totals exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from connectors.storage import MediaStore
from reelcart.models import Product, ProductVariant
from reelcart.money import format_money
from reelcart.settings import Settings

from .catalog import plain_text

__all__ = [
    "Resolved",
    "fulfillment_options",
    "line_item",
    "line_item_id",
    "option_cost",
    "resolve_item",
    "session_totals",
    "tax_for",
]


@dataclass(frozen=True)
class Resolved:
    """A requested item id resolved to the catalog."""

    item_id: str
    product: Product
    variant: ProductVariant


def resolve_item(session: Session, item_id: str) -> Resolved | None:
    """An item id is a variant id, or a product id/handle (its first purchasable variant)."""
    variant = session.get(ProductVariant, item_id)
    if variant is not None:
        product = variant.product
        return Resolved(item_id, product, variant) if product.status == "ACTIVE" else None
    by_id = session.scalars(
        select(Product)
        .where(or_(Product.id == item_id, Product.handle == item_id))
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants), selectinload(Product.images))
    ).first()
    if by_id is None or not by_id.variants:
        return None
    product = by_id
    buyable = [v for v in product.variants if v.available_for_sale and v.inventory_quantity > 0]
    return Resolved(item_id, product, (buyable or list(product.variants))[0])


def line_item_id(variant_id: str) -> str:
    """Stable line item id for a variant (the same item keeps its line across updates)."""
    return "li_" + hashlib.sha256(variant_id.encode()).hexdigest()[:16]


def tax_for(amount: int, rate_bps: int) -> int:
    """Tax on ``amount`` minor units at ``rate_bps`` basis points, rounded half up."""
    return (amount * rate_bps + 5_000) // 10_000


def _total(kind: str, text: str, amount: int) -> dict[str, Any]:
    return {"type": kind, "display_text": text, "amount": amount}


def line_item(
    resolved: Resolved,
    quantity: int,
    *,
    available: int,
    settings: Settings,
    store: MediaStore,
) -> dict[str, Any]:
    """An ACP ``LineItem`` with its totals breakdown (base, discount, subtotal, tax, total)."""
    product, variant = resolved.product, resolved.variant
    base = variant.price_minor * quantity
    tax = tax_for(base, settings.acp_tax_rate_bps)
    if available <= 0:
        availability = "out_of_stock"
    elif available < 5:
        availability = "low_stock"
    else:
        availability = "in_stock"
    item: dict[str, Any] = {
        "id": line_item_id(variant.id),
        "item": {"id": resolved.item_id},
        "quantity": quantity,
        "name": product.title
        if variant.title == "Default"
        else f"{product.title} - {variant.title}",
        "description": plain_text(product.description_html)[:500],
        "images": [store.url_for(i.media_key) for i in product.images[:4]],
        "unit_amount": variant.price_minor,
        "product_id": product.id,
        "variant_id": variant.id,
        "availability_status": availability,
        "available_quantity": max(available, 0),
        "max_quantity_per_order": settings.acp_max_quantity,
        "variant_options": [
            {"name": o["name"], "value": o["value"]} for o in variant.selected_options
        ],
        "totals": [
            _total("items_base_amount", "Base Amount", base),
            _total("discount", "Discount", 0),
            _total("subtotal", "Subtotal", base),
            _total("tax", "Tax", tax),
            _total("total", "Total", base + tax),
        ],
    }
    if variant.sku:
        item["sku"] = variant.sku
    if product.product_type:
        item["category"] = product.product_type
    if product.tags:
        item["tags"] = [str(t) for t in product.tags]
    return item


def fulfillment_options(
    products: list[Product], settings: Settings, currency: str, now: datetime
) -> list[dict[str, Any]]:
    """Digital delivery when every item is digital, else the configured shipping rates."""
    tag = settings.acp_digital_tag.lower()
    if products and all(tag in {str(t).lower() for t in p.tags} for p in products):
        return [
            {
                "type": "digital",
                "id": "digital",
                "title": "Instant download",
                "totals": [_total("total", "Delivery", 0)],
            }
        ]
    options = []
    for rate in settings.acp_shipping_rates:
        option: dict[str, Any] = {
            "type": "shipping",
            "id": rate.id,
            "title": rate.title,
            "description": f"Arrives in {rate.min_days}-{rate.max_days} days"
            f" ({format_money(rate.amount_minor, currency)})",
            "earliest_delivery_time": (now + timedelta(days=rate.min_days)).isoformat(),
            "latest_delivery_time": (now + timedelta(days=rate.max_days)).isoformat(),
            "totals": [_total("total", "Shipping", rate.amount_minor)],
        }
        if rate.carrier:
            option["carrier"] = rate.carrier
        options.append(option)
    return options


def option_cost(option: dict[str, Any]) -> int:
    """What a fulfilment option costs (its ``total`` entry)."""
    return sum(t["amount"] for t in option["totals"] if t["type"] == "total")


def session_totals(
    line_items: list[dict[str, Any]], fulfillment: int | None
) -> list[dict[str, Any]]:
    """Session totals; ``total = subtotal + fulfillment + tax`` and every line adds up."""

    def line_sum(kind: str) -> int:
        return sum(t["amount"] for li in line_items for t in li["totals"] if t["type"] == kind)

    base, subtotal, tax = line_sum("items_base_amount"), line_sum("subtotal"), line_sum("tax")
    totals = [
        _total("items_base_amount", "Item(s) total", base),
        _total("subtotal", "Subtotal", subtotal),
    ]
    if fulfillment is not None:
        totals.append(_total("fulfillment", "Fulfillment", fulfillment))
    totals.append(_total("tax", "Tax", tax))
    totals.append(_total("total", "Total", subtotal + (fulfillment or 0) + tax))
    return totals
