"""The one pricing core: every amount of a cart, for ACP and UCP alike.

A door resolves the requested items against the catalog (:func:`resolve_items`), then calls
:func:`quote` (or :func:`price_cart` with rules it already holds) and renders the typed
:class:`PricedCart` in its protocol's shape. Nothing here reads a price from the client:
unit prices are the catalog's, discounts the store's codes, shipping the store's rates,
tax the store's rate. All amounts are integer minor units.

Order of the computation: line amounts (unit price × quantity), discount codes (see
:mod:`commerce.pricing.discounts` for the stacking order), fulfilment options for the
destination country with free-shipping rules judged on the discounted subtotal
(:mod:`commerce.pricing.shipping`), tax per line on the discounted line amount (rounded
half up, so line taxes add up to the cart's tax exactly; shipping is not taxed), total.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from reelcart.models import Product, ProductVariant, utcnow
from reelcart.settings import Settings

from .discounts import AppliedDiscount, RejectedDiscount, apply_discounts, half_up
from .rules import StoreRules, load_rules
from .shipping import FulfillmentOption, fulfillment_options

__all__ = [
    "AppliedDiscount",
    "CartLine",
    "FulfillmentOption",
    "PricedCart",
    "PricedLine",
    "RejectedDiscount",
    "Resolved",
    "StoreRules",
    "UnknownItem",
    "line_item_id",
    "load_rules",
    "price_cart",
    "quote",
    "resolve_item",
    "resolve_items",
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
    found = session.scalars(
        select(Product)
        .where(or_(Product.id == item_id, Product.handle == item_id))
        .where(Product.status == "ACTIVE")
        .options(selectinload(Product.variants), selectinload(Product.images))
    ).first()
    if found is None or not found.variants:
        return None
    product = found
    buyable = [v for v in product.variants if v.available_for_sale and v.inventory_quantity > 0]
    return Resolved(item_id, product, (buyable or list(product.variants))[0])


class UnknownItem(LookupError):
    """A cart names an item the catalog does not sell; ``index`` is its line."""

    def __init__(self, index: int, item_id: str) -> None:
        super().__init__(f"item {item_id!r} (line {index}) is not in the catalog")
        self.index = index
        self.item_id = item_id


def resolve_items(session: Session, items: Sequence[dict[str, Any]]) -> list[Resolved]:
    """Every requested item (``{"id": ...}``) resolved, or :class:`UnknownItem` naming the
    first that is not for sale. Each door words the refusal in its own protocol."""
    resolved = []
    for index, item in enumerate(items):
        found = resolve_item(session, item["id"])
        if found is None:
            raise UnknownItem(index, item["id"])
        resolved.append(found)
    return resolved


def line_item_id(variant_id: str) -> str:
    """Stable line item id for a variant (the same item keeps its line across updates)."""
    return "li_" + hashlib.sha256(variant_id.encode()).hexdigest()[:16]


def tax_for(amount: int, rate_bps: int) -> int:
    """Tax on ``amount`` minor units at ``rate_bps`` basis points, rounded half up."""
    return half_up(amount, rate_bps)


@dataclass(frozen=True)
class CartLine:
    """A resolved item and how many of it."""

    item: Resolved
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    """One line's amounts: ``subtotal = base - discount``, ``total = subtotal + tax``."""

    index: int
    item: Resolved
    quantity: int
    unit_amount: int
    base: int
    discount: int
    tax: int

    @property
    def id(self) -> str:
        return line_item_id(self.item.variant.id)

    @property
    def title(self) -> str:
        product, variant = self.item.product, self.item.variant
        return product.title if variant.title == "Default" else f"{product.title} - {variant.title}"

    @property
    def subtotal(self) -> int:
        return self.base - self.discount

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


@dataclass(frozen=True)
class PricedCart:
    """Every amount of a cart; the doors render this and compute nothing themselves."""

    currency: str
    lines: tuple[PricedLine, ...]
    codes: tuple[str, ...]
    discounts: tuple[AppliedDiscount, ...]
    rejected: tuple[RejectedDiscount, ...]
    country: str | None
    options: tuple[FulfillmentOption, ...]
    selected: FulfillmentOption | None

    @property
    def items_base(self) -> int:
        """Undiscounted merchandise (UCP ``subtotal``, ACP ``items_base_amount``)."""
        return sum(line.base for line in self.lines)

    @property
    def items_discount(self) -> int:
        """Money off the merchandise, positive (renderers negate it where a spec wants)."""
        return sum(line.discount for line in self.lines)

    @property
    def subtotal(self) -> int:
        """Merchandise after discounts (ACP ``subtotal``)."""
        return self.items_base - self.items_discount

    @property
    def fulfillment(self) -> int | None:
        """The selected option's cost; None while nothing is selected."""
        return None if self.selected is None else self.selected.amount

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + (self.fulfillment or 0) + self.tax

    @property
    def digital(self) -> bool:
        return bool(self.options) and self.options[0].kind == "digital"

    def option(self, option_id: str) -> FulfillmentOption | None:
        """An offered option by id."""
        return next((o for o in self.options if o.id == option_id), None)


def _is_digital(lines: Sequence[CartLine], tag: str) -> bool:
    wanted = tag.lower()
    return bool(lines) and all(
        wanted in {str(t).lower() for t in line.item.product.tags} for line in lines
    )


def price_cart(
    rules: StoreRules,
    lines: Sequence[CartLine],
    *,
    codes: Sequence[str] = (),
    country: str | None = None,
    selected_option_id: str | None = None,
    now: datetime | None = None,
    currency: str | None = None,
) -> PricedCart:
    """Price ``lines`` under ``rules``; a pure function of its arguments.

    ``codes`` are the discount codes as the buyer sent them (unknown or unusable ones come
    back in ``rejected``, never as an error); ``country`` the destination's ISO 3166-1
    alpha-2 code; ``selected_option_id`` the chosen fulfilment option, ignored unless it
    is one of the options for this destination.
    """
    now = now or utcnow()
    product_ids = [line.item.product.id for line in lines]
    base = [line.item.variant.price_minor * line.quantity for line in lines]
    per_line, applied, rejected = apply_discounts(codes, rules.discounts, base, product_ids, now)
    priced = tuple(
        PricedLine(
            index=i,
            item=line.item,
            quantity=line.quantity,
            unit_amount=line.item.variant.price_minor,
            base=base[i],
            discount=per_line[i],
            tax=tax_for(base[i] - per_line[i], rules.tax_rate_bps),
        )
        for i, line in enumerate(lines)
    )
    options = fulfillment_options(
        rules,
        country=country,
        subtotal=sum(base) - sum(per_line),
        product_ids=product_ids,
        digital=_is_digital(lines, rules.digital_tag),
        now=now,
    )
    selected = next((o for o in options if o.id == selected_option_id), None)
    if currency is None:
        currency = lines[0].item.product.currency if lines else ""
    return PricedCart(
        currency=currency.upper(),
        lines=priced,
        codes=tuple(codes),
        discounts=tuple(applied),
        rejected=tuple(rejected),
        country=country.upper() if country else None,
        options=tuple(options),
        selected=selected,
    )


def quote(
    session: Session,
    settings: Settings,
    lines: Sequence[CartLine],
    *,
    codes: Sequence[str] = (),
    country: str | None = None,
    selected_option_id: str | None = None,
    now: datetime | None = None,
) -> PricedCart:
    """:func:`price_cart` under the store's rules as stored now."""
    return price_cart(
        load_rules(session, settings),
        lines,
        codes=codes,
        country=country,
        selected_option_id=selected_option_id,
        now=now,
    )
