"""The store's pricing rules as plain values, loaded once per quote.

The pricing core works on these frozen values, never on database rows, so one quote can be
computed again (another fulfilment choice, another set of codes) without a query, and
tests can state rules directly. Where the store has no shipping rates of its own, the
settings' flat rates apply to every country, as they did before store rules existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelcart.models import (
    CheckoutSession,
    DiscountCode,
    DiscountRedemption,
    FreeShippingRule,
    ShippingRateRule,
)
from reelcart.models.base import as_utc
from reelcart.settings import Settings

__all__ = [
    "COUNTED_STATUSES",
    "DiscountKind",
    "DiscountRule",
    "FreeShippingSpec",
    "RateSpec",
    "StoreRules",
    "in_window",
    "load_rules",
    "uses_here",
]

DiscountKind = Literal["percentage", "fixed_amount"]


def in_window(now: datetime, starts_at: datetime | None, ends_at: datetime | None) -> bool:
    """``starts_at <= now < ends_at``, either end open when missing."""
    if starts_at is not None and now < as_utc(starts_at):
        return False
    return not (ends_at is not None and now >= as_utc(ends_at))


@dataclass(frozen=True)
class DiscountRule:
    """A discount code: ``percent_bps`` (1000 = 10 %) or ``amount_minor`` off."""

    id: str
    code: str
    title: str
    kind: DiscountKind
    percent_bps: int = 0
    amount_minor: int = 0
    stackable: bool = True
    min_subtotal_minor: int | None = None
    product_ids: frozenset[str] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    times_used: int = 0
    active: bool = True


@dataclass(frozen=True)
class RateSpec:
    """A shipping price; ``country`` None serves every country without its own rate."""

    id: str
    title: str
    amount_minor: int
    service_level: str = "standard"
    country: str | None = None
    min_days: int | None = None
    max_days: int | None = None
    carrier: str | None = None


@dataclass(frozen=True)
class FreeShippingSpec:
    """Free shipping over ``min_subtotal_minor`` and/or when every item is eligible."""

    id: str
    title: str
    min_subtotal_minor: int | None = None
    product_ids: frozenset[str] | None = None
    service_levels: frozenset[str] | None = None
    countries: frozenset[str] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


@dataclass(frozen=True)
class StoreRules:
    """Everything a quote needs besides the cart itself."""

    discounts: dict[str, DiscountRule] = field(default_factory=dict)  # by upper-cased code
    rates: tuple[RateSpec, ...] = ()
    free_shipping: tuple[FreeShippingSpec, ...] = ()
    tax_rate_bps: int = 0
    digital_tag: str = "digital"

    @classmethod
    def of(
        cls,
        discounts: Sequence[DiscountRule] = (),
        rates: Sequence[RateSpec] = (),
        free_shipping: Sequence[FreeShippingSpec] = (),
        *,
        tax_rate_bps: int = 0,
        digital_tag: str = "digital",
    ) -> StoreRules:
        """Rules from lists (codes keyed case-insensitively)."""
        return cls(
            {d.code.upper(): d for d in discounts},
            tuple(rates),
            tuple(free_shipping),
            tax_rate_bps,
            digital_tag,
        )


def _ids(values: list[object] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v) for v in values)


# Checkout statuses in which a discount redemption is a use of the code: being paid or paid
# (a declined payment reopens the checkout, a refund cancels it: the use comes back).
COUNTED_STATUSES = ("complete_in_progress", "authentication_required", "completed")


def uses_here(session: Session, code_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Uses per discount code (row id) by the checkouts of this store."""
    query = (
        select(DiscountRedemption.discount_code_id, func.count())
        .join(CheckoutSession, CheckoutSession.id == DiscountRedemption.checkout_session_id)
        .where(CheckoutSession.status.in_(COUNTED_STATUSES))
        .group_by(DiscountRedemption.discount_code_id)
    )
    if code_ids is not None:
        query = query.where(DiscountRedemption.discount_code_id.in_(list(code_ids)))
    return {str(code): int(count) for code, count in session.execute(query).all()}


def load_rules(session: Session, settings: Settings) -> StoreRules:
    """The store's rules as stored, with the settings' tax rate and flat-rate fallback.

    A code's ``times_used`` is the source's count plus the uses by orders placed here.
    """
    used = uses_here(session)
    discounts = [
        DiscountRule(
            id=row.id,
            code=row.code,
            title=row.title,
            kind="percentage" if row.kind == "percentage" else "fixed_amount",
            percent_bps=row.percent_bps,
            amount_minor=row.amount_minor,
            stackable=row.stackable,
            min_subtotal_minor=row.min_subtotal_minor,
            product_ids=_ids(row.product_ids),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            usage_limit=row.usage_limit,
            times_used=row.times_used + used.get(row.id, 0),
            active=row.active,
        )
        for row in session.scalars(select(DiscountCode).order_by(DiscountCode.code))
    ]
    rates = [
        RateSpec(
            id=row.id,
            title=row.title,
            amount_minor=row.amount_minor,
            service_level=row.service_level,
            country=row.country,
            min_days=row.min_days,
            max_days=row.max_days,
            carrier=row.carrier,
        )
        for row in session.scalars(
            select(ShippingRateRule).order_by(ShippingRateRule.position, ShippingRateRule.id)
        )
    ]
    if not rates:
        rates = [
            RateSpec(
                id=rate.id,
                title=rate.title,
                amount_minor=rate.amount_minor,
                service_level=rate.id,
                min_days=rate.min_days,
                max_days=rate.max_days,
                carrier=rate.carrier,
            )
            for rate in settings.acp_shipping_rates
        ]
    free = [
        FreeShippingSpec(
            id=row.id,
            title=row.title,
            min_subtotal_minor=row.min_subtotal_minor,
            product_ids=_ids(row.product_ids),
            service_levels=_ids(row.service_levels),
            countries=_ids(row.countries),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            active=row.active,
        )
        for row in session.scalars(select(FreeShippingRule).order_by(FreeShippingRule.id))
    ]
    return StoreRules.of(
        discounts,
        rates,
        free,
        tax_rate_bps=settings.acp_tax_rate_bps,
        digital_tag=settings.acp_digital_tag,
    )
