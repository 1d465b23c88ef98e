"""Fulfilment options for a destination country, with free-shipping rules applied.

For each service level the rates of the destination's own country are offered; where the
country has none for that level, the store's "every other country" rates are. No country
yet (no address) offers the "every other country" rates. A free-shipping rule makes the
options of its service levels cost nothing when the merchandise subtotal after discounts
reaches its threshold (``>=``: "orders over $100" ships free at exactly $100.00) or when
every item in the cart is one of its products. A cart of digital products only is
delivered digitally, at no charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .rules import FreeShippingSpec, RateSpec, StoreRules, in_window

__all__ = ["FulfillmentOption", "free_rule_for", "fulfillment_options", "rates_for"]


@dataclass(frozen=True)
class FulfillmentOption:
    """One way to get the order to the buyer and what it costs."""

    id: str
    kind: Literal["shipping", "digital"]
    title: str
    amount: int
    service_level: str
    # What the rate costs without a free-shipping rule, and which rule waived it.
    list_amount: int = 0
    free_by: str | None = None
    min_days: int | None = None
    max_days: int | None = None
    carrier: str | None = None


def rates_for(rates: Sequence[RateSpec], country: str | None) -> list[RateSpec]:
    """The rates a destination country gets: its own per service level, else the default."""
    wanted = country.upper() if country else None
    own = {r.service_level for r in rates if wanted and r.country == wanted}
    return [
        r
        for r in rates
        if (wanted is not None and r.country == wanted)
        or (r.country is None and r.service_level not in own)
    ]


def free_rule_for(
    rules: Sequence[FreeShippingSpec],
    rate: RateSpec,
    country: str | None,
    subtotal: int,
    product_ids: Sequence[str],
    now: datetime,
) -> FreeShippingSpec | None:
    """The first free-shipping rule that waives ``rate`` for this cart, if any."""
    for rule in rules:
        if not rule.active or not in_window(now, rule.starts_at, rule.ends_at):
            continue
        if rule.service_levels is not None and rate.service_level not in rule.service_levels:
            continue
        if rule.countries is not None and (country or "").upper() not in rule.countries:
            continue
        if rule.min_subtotal_minor is None and rule.product_ids is None:
            return rule  # unconditional free shipping
        if rule.min_subtotal_minor is not None and subtotal >= rule.min_subtotal_minor:
            return rule
        eligible = rule.product_ids
        if eligible is not None and product_ids and all(p in eligible for p in product_ids):
            return rule
    return None


def fulfillment_options(
    rules: StoreRules,
    *,
    country: str | None,
    subtotal: int,
    product_ids: Sequence[str],
    digital: bool,
    now: datetime,
) -> list[FulfillmentOption]:
    """Options cheapest first (ties in the store's order); digital carts get one option."""
    if digital:
        return [FulfillmentOption("digital", "digital", "Instant download", 0, "digital")]
    options = []
    for rate in rates_for(rules.rates, country):
        free = free_rule_for(rules.free_shipping, rate, country, subtotal, product_ids, now)
        options.append(
            FulfillmentOption(
                id=rate.id,
                kind="shipping",
                title=f"Free {rate.title}" if free and rate.amount_minor else rate.title,
                amount=0 if free else rate.amount_minor,
                service_level=rate.service_level,
                list_amount=rate.amount_minor,
                free_by=free.id if free else None,
                min_days=rate.min_days,
                max_days=rate.max_days,
                carrier=rate.carrier,
            )
        )
    return sorted(options, key=lambda o: o.amount)
