"""ACP's rendering of the pricing core: line items, fulfilment options, discounts, totals.

Every amount comes from :func:`commerce.pricing.quote.quote`, the same core the UCP door prices
with; this module only puts the :class:`~commerce.pricing.quote.PricedCart` into ACP's shapes.
Nothing here reads a price from the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from commerce.catalog.store import plain_text
from commerce.pricing.quote import (
    CartLine,
    FulfillmentOption,
    PricedCart,
    PricedLine,
    Resolved,
    load_rules,
    price_cart,
)
from connectors.storage import MediaStore
from reelcart.money import format_money
from reelcart.settings import Settings

__all__ = [
    "acp_discounts",
    "acp_fulfillment_options",
    "acp_line_item",
    "acp_totals",
    "price_acp_session",
    "requested_codes",
]


def _total(kind: str, text: str, amount: int) -> dict[str, Any]:
    return {"type": kind, "display_text": text, "amount": amount}


def requested_codes(discounts: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``discounts`` input ACP keeps on a session: the submitted codes (they replace
    earlier ones; an empty list clears them), or None when the request sent none."""
    if discounts is None or not isinstance(discounts.get("codes"), list):
        return None
    return {"codes": [c for c in discounts["codes"] if isinstance(c, str)][:20]}


def price_acp_session(
    session: Session,
    settings: Settings,
    resolved: Sequence[Resolved],
    quantities: Sequence[int],
    *,
    codes: Sequence[str],
    address: dict[str, Any] | None,
    selected: Sequence[dict[str, Any]],
    now: datetime,
) -> tuple[PricedCart, list[dict[str, Any]]]:
    """The priced cart and ACP's ``selected_fulfillment_options`` for it.

    One shipment per session: the first selection that names an offered option is used;
    with none, the cheapest option is chosen once an address is known (or the cart is
    digital), and the agent may change it.
    """
    lines = [CartLine(r, q) for r, q in zip(resolved, quantities, strict=True)]
    country = (address or {}).get("country")

    rules = load_rules(session, settings)  # read once; the second pricing only re-selects

    def price(option_id: str | None) -> PricedCart:
        return price_cart(
            rules, lines, codes=codes, country=country, selected_option_id=option_id, now=now
        )

    priced = price(None)
    offered = {o.id: o.kind for o in priced.options}
    choice = next((s for s in selected if offered.get(s["option_id"]) == s["type"]), None)
    option_id = choice["option_id"] if choice else None
    if option_id is None and priced.options and (priced.digital or address):
        option_id = priced.options[0].id
    if option_id is not None:
        priced = price(option_id)
    chosen = []
    if priced.selected is not None:
        chosen = [
            {
                "type": priced.selected.kind,
                "option_id": priced.selected.id,
                "item_ids": [line.id for line in priced.lines],
            }
        ]
    return priced, chosen


def acp_line_item(
    line: PricedLine, *, available: int, settings: Settings, store: MediaStore
) -> dict[str, Any]:
    """An ACP ``LineItem`` with its totals breakdown (base, discount, subtotal, tax, total)."""
    product, variant = line.item.product, line.item.variant
    if available <= 0:
        availability = "out_of_stock"
    elif available < 5:
        availability = "low_stock"
    else:
        availability = "in_stock"
    item: dict[str, Any] = {
        "id": line.id,
        "item": {"id": line.item.item_id},
        "quantity": line.quantity,
        "name": line.title,
        "description": plain_text(product.description_html)[:500],
        "images": [store.url_for(i.media_key) for i in product.images[:4]],
        "unit_amount": line.unit_amount,
        "product_id": product.id,
        "variant_id": variant.id,
        "availability_status": availability,
        "available_quantity": max(available, 0),
        "max_quantity_per_order": settings.acp_max_quantity,
        "variant_options": [
            {"name": o["name"], "value": o["value"]} for o in variant.selected_options
        ],
        "totals": [
            _total("items_base_amount", "Base Amount", line.base),
            _total("discount", "Discount", line.discount),
            _total("subtotal", "Subtotal", line.subtotal),
            _total("tax", "Tax", line.tax),
            _total("total", "Total", line.total),
        ],
    }
    if variant.sku:
        item["sku"] = variant.sku
    if product.product_type:
        item["category"] = product.product_type
    if product.tags:
        item["tags"] = [str(t) for t in product.tags]
    return item


def _option(option: FulfillmentOption, currency: str, now: datetime) -> dict[str, Any]:
    if option.kind == "digital":
        return {
            "type": "digital",
            "id": option.id,
            "title": option.title,
            "totals": [_total("total", "Delivery", 0)],
        }
    price = "free" if option.amount == 0 else format_money(option.amount, currency)
    shaped: dict[str, Any] = {
        "type": "shipping",
        "id": option.id,
        "title": option.title,
        "totals": [_total("total", "Shipping", option.amount)],
    }
    if option.min_days is not None and option.max_days is not None:
        shaped["description"] = f"Arrives in {option.min_days}-{option.max_days} days ({price})"
        shaped["earliest_delivery_time"] = (now + timedelta(days=option.min_days)).isoformat()
        shaped["latest_delivery_time"] = (now + timedelta(days=option.max_days)).isoformat()
    else:
        shaped["description"] = f"{option.title} ({price})"
    if option.carrier:
        shaped["carrier"] = option.carrier
    return shaped


def acp_fulfillment_options(priced: PricedCart, now: datetime) -> list[dict[str, Any]]:
    """ACP ``fulfillment_options``: the core's options for the address's country."""
    return [_option(o, priced.currency, now) for o in priced.options]


def acp_totals(priced: PricedCart) -> list[dict[str, Any]]:
    """Session totals: ``total = items_base - discounts + fulfillment + tax``."""
    totals = [_total("items_base_amount", "Item(s) total", priced.items_base)]
    for applied in priced.discounts:
        if applied.amount:
            totals.append(_total("items_discount", applied.title or applied.code, applied.amount))
    totals.append(_total("subtotal", "Subtotal", priced.subtotal))
    if priced.fulfillment is not None:
        totals.append(_total("fulfillment", "Fulfillment", priced.fulfillment))
    totals.append(_total("tax", "Tax", priced.tax))
    totals.append(_total("total", "Total", priced.total))
    return totals


def acp_discounts(priced: PricedCart) -> dict[str, Any]:
    """ACP discount extension's ``DiscountsResponse``: codes, applied and rejected."""
    applied = []
    for d in priced.discounts:
        coupon: dict[str, Any] = {"id": d.id, "name": d.title or d.code}
        if d.kind == "percentage":
            coupon["percent_off"] = d.percent_bps / 100
        else:
            coupon["amount_off"] = d.amount_off
            coupon["currency"] = priced.currency.lower()
        applied.append(
            {
                "id": f"di_{d.priority}_{d.id}"[:255],
                "code": d.code,
                "coupon": coupon,
                "amount": d.amount,
                "method": d.method,
                "priority": d.priority,
                "allocations": [
                    {"path": f"$.line_items[{i}]", "amount": amount} for i, amount in d.allocations
                ],
            }
        )
    rejected = [{"code": r.code, "reason": r.reason, "message": r.message} for r in priced.rejected]
    return {"codes": list(priced.codes), "applied": applied, "rejected": rejected}
