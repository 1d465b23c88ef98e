"""Every problem with a requested cart, found at once, in the order a shopper fixes them.

The shopping tools ask before they build a checkout: which items are unknown, which product
ids name a product with several variants (the shopper must choose one; the store never picks
for them), which quantities the stock or the per-order limit cannot cover, and only then
what the address is missing. The problems are protocol-neutral sentences; each door words
the next step its own way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from reelcart.models import Product, ProductVariant
from reelcart.money import format_money

from . import inventory

__all__ = ["ADDRESS_FIELDS", "CartProblem", "RequestedLine", "address_problems", "cart_problems"]

# The fields a shipping address needs (ACP's Address; UCP's PostalAddress maps onto them).
ADDRESS_FIELDS = ("name", "line_one", "city", "state", "postal_code", "country")


@dataclass(frozen=True)
class RequestedLine:
    """One line the shopper asked for: a variant id (or, mistakenly, a product id)."""

    item_id: str
    quantity: int


@dataclass(frozen=True)
class CartProblem:
    """One problem: what it is about (``items[0]``, ``shipping_address.city``) and why."""

    where: str
    problem: str
    kind: str  # unknown_item | choose_variant | quantity | out_of_stock | address


def _variant_list(product: Product, currency: str) -> str:
    choices = []
    for v in product.variants:
        state = "" if v.available_for_sale and v.inventory_quantity > 0 else ", sold out"
        choices.append(f"{v.title} [{v.id}] {format_money(v.price_minor, currency)}{state}")
    return "; ".join(choices)


def _product(session: Session, item_id: str) -> Product | None:
    return session.scalars(
        select(Product)
        .where(or_(Product.id == item_id, Product.handle == item_id))
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants))
    ).first()


def cart_problems(
    session: Session,
    lines: Sequence[RequestedLine],
    *,
    checkout_id: str,
    max_quantity: int,
    currency: str,
    now: datetime,
) -> list[CartProblem]:
    """Unknown items, product ids that need a variant chosen, quantities and stock."""
    problems: list[CartProblem] = []
    wanted: dict[str, int] = {}
    variants: dict[str, tuple[int, ProductVariant]] = {}
    for index, line in enumerate(lines):
        where = f"items[{index}]"
        if line.quantity < 1:
            problems.append(CartProblem(where, "quantity must be at least 1", "quantity"))
        elif line.quantity > max_quantity:
            problems.append(
                CartProblem(where, f"at most {max_quantity} of one item per order", "quantity")
            )
        variant = session.get(ProductVariant, line.item_id)
        if variant is None or variant.product.status != "ACTIVE":
            product = _product(session, line.item_id)
            if product is not None and len(product.variants) > 1:
                problems.append(
                    CartProblem(
                        where,
                        f"{line.item_id!r} is the product {product.title!r}, which comes in "
                        "several variants; ask the shopper which one: "
                        + _variant_list(product, currency),
                        "choose_variant",
                    )
                )
                continue
            if product is not None and product.variants:
                variant = product.variants[0]
            else:
                unknown = f"no product or variant {line.item_id!r} is for sale"
                problems.append(CartProblem(where, unknown, "unknown_item"))
                continue
        wanted[variant.id] = wanted.get(variant.id, 0) + max(line.quantity, 0)
        variants.setdefault(variant.id, (index, variant))
    for variant_id, quantity in wanted.items():
        index, variant = variants[variant_id]
        free = max(inventory.available(session, variant, checkout_id, now), 0)
        if quantity > free:
            name = f"{variant.product.title} ({variant.title})"
            text = (
                f"{name} is sold out"
                if free == 0
                else f"only {free} of {name} in stock, {quantity} asked for"
            )
            problems.append(CartProblem(f"items[{index}]", text, "out_of_stock"))
    return problems


def address_problems(address: Mapping[str, Any] | None, where: str) -> list[CartProblem]:
    """The fields a shipping address lacks (an empty list when it is complete)."""
    if not address:
        return [CartProblem(where, "a shipping address is needed to deliver", "address")]
    problems = [
        CartProblem(f"{where}.{field}", "is required", "address")
        for field in ADDRESS_FIELDS
        if not str(address.get(field) or "").strip()
    ]
    country = str(address.get("country") or "")
    if country and len(country) != 2:
        problems.append(
            CartProblem(f"{where}.country", "must be a two-letter code such as US", "address")
        )
    return problems
