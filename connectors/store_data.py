"""Store rules as a source delivers them: discount codes, shipping rates, free-shipping
rules and customers with addresses, in one validated shape.

The catalog file's optional ``discounts``, ``shipping_rates``, ``free_shipping`` and
``customers`` sections, the UCP flower-shop CSVs and the Shopify connectors all produce a
:class:`StoreData`; ``commerce.store.sync`` writes it. Amounts are integer minor units of
the shop's currency (``amount_minor``); a percentage is a number from 0 to 100.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

__all__ = [
    "AddressData",
    "CustomerData",
    "DiscountData",
    "FreeShippingData",
    "ShippingRateData",
    "StoreData",
    "percent_to_bps",
]

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Country = Annotated[
    str,
    # Upper-cased before the check ("us" is the same country as "US").
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z]{2}$"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def percent_to_bps(percent: float | Decimal | str) -> int:
    """10 → 1000 basis points; exact for any decimal a merchant would type."""
    return int((Decimal(str(percent)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class DiscountData(_Strict):
    """A discount code: ``percentage`` (0–100) or ``amount_minor`` off the merchandise."""

    id: NonEmpty | None = None
    code: NonEmpty
    title: str = ""
    kind: Literal["percentage", "fixed_amount"]
    percentage: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    amount_minor: Annotated[int, Field(gt=0)] | None = None
    # Codes combine only when the file says so (Shopify's default: combinesWith false), so
    # a buyer cannot stack every code there is.
    stackable: bool = False
    min_subtotal_minor: Annotated[int, Field(ge=0)] | None = None
    product_ids: list[NonEmpty] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: Annotated[int, Field(ge=1)] | None = None
    times_used: Annotated[int, Field(ge=0)] = 0
    active: bool = True

    @model_validator(mode="after")
    def _value_matches_kind(self) -> DiscountData:
        if self.kind == "percentage" and self.percentage is None:
            raise ValueError("a percentage discount needs 'percentage'")
        if self.kind == "fixed_amount" and self.amount_minor is None:
            raise ValueError("a fixed_amount discount needs 'amount_minor'")
        return self

    @property
    def percent_bps(self) -> int:
        return percent_to_bps(self.percentage) if self.percentage is not None else 0


class ShippingRateData(_Strict):
    """A shipping price for ``country`` (ISO 3166-1 alpha-2), or every other country."""

    id: NonEmpty
    title: NonEmpty
    amount_minor: Annotated[int, Field(ge=0)]
    country: Country | None = None
    service_level: NonEmpty = "standard"
    min_days: Annotated[int, Field(ge=0)] | None = None
    max_days: Annotated[int, Field(ge=0)] | None = None
    carrier: str | None = None


class FreeShippingData(_Strict):
    """Free shipping over a subtotal and/or for carts of these products only."""

    id: NonEmpty
    title: NonEmpty
    min_subtotal_minor: Annotated[int, Field(ge=0)] | None = None
    product_ids: list[NonEmpty] | None = None
    service_levels: list[NonEmpty] | None = None
    countries: list[Country] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


class AddressData(_Strict):
    """A stored address; ``id`` is kept as the destination id checkouts show."""

    id: NonEmpty
    street_address: str = ""
    extended_address: str | None = None
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    country: Country
    full_name: str | None = None
    phone: str | None = None


class CustomerData(_Strict):
    """A known buyer and the addresses the store holds for them."""

    id: NonEmpty
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    addresses: list[AddressData] = Field(default_factory=list)


class StoreData(_Strict):
    """Every store rule one source delivers; a missing list means "not delivered"."""

    discounts: list[DiscountData] | None = None
    shipping_rates: list[ShippingRateData] | None = None
    free_shipping: list[FreeShippingData] | None = None
    customers: list[CustomerData] | None = None

    @model_validator(mode="after")
    def _unique(self) -> StoreData:
        for name, keys in (
            ("discounts", [d.code.upper() for d in self.discounts or []]),
            ("shipping_rates", [r.id for r in self.shipping_rates or []]),
            ("free_shipping", [r.id for r in self.free_shipping or []]),
            ("customers", [c.email for c in self.customers or []]),
            ("addresses", [a.id for c in self.customers or [] for a in c.addresses]),
        ):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{name}: duplicate {dupes[0]!r}")
        return self

    @property
    def empty(self) -> bool:
        return not any((self.discounts, self.shipping_rates, self.free_shipping, self.customers))
