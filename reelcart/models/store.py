"""Store rules beside the catalog: discount codes, shipping rates, free-shipping promotions
and known customers with their stored addresses.

Each row remembers its ``source`` ("shopify", "file:<shop>", "csv:<folder>") so a re-sync
from one source replaces only what that source delivered. Amounts are integer minor units
in the store's currency; a percentage is kept in basis points (10 % = 1000) so no float
ever takes part in a total.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

__all__ = [
    "Customer",
    "CustomerAddress",
    "DiscountCode",
    "FreeShippingRule",
    "ShippingRateRule",
]


class DiscountCode(Base):
    """A code a buyer types: a percentage or a fixed amount off the merchandise."""

    __tablename__ = "discount_codes"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # As the merchant spells it; matched case-insensitively (UCP and ACP both say so), so
    # writers keep one row per upper-cased code.
    code: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))  # "percentage" | "fixed_amount"
    percent_bps: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Whether it may be used together with other order discounts (Shopify's combinesWith).
    stackable: Mapped[bool] = mapped_column(Boolean, default=True)
    min_subtotal_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Limited to these products (ids); null means the whole order.
    product_ids: Mapped[list[Any] | None] = mapped_column(default=None)
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    usage_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    # As the source reports it (Shopify's asyncUsageCount at the last sync); orders placed
    # here do not add to it yet.
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(64), default="file", index=True)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShippingRateRule(Base):
    """One shipping price for a destination country (or every other country)."""

    __tablename__ = "shipping_rates"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    # ISO 3166-1 alpha-2, or null for "every country without a rate of its own".
    country: Mapped[str | None] = mapped_column(String(2), default=None, index=True)
    service_level: Mapped[str] = mapped_column(String(64), default="standard")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    min_days: Mapped[int | None] = mapped_column(Integer, default=None)
    max_days: Mapped[int | None] = mapped_column(Integer, default=None)
    carrier: Mapped[str | None] = mapped_column(String(255), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(64), default="file", index=True)


class FreeShippingRule(Base):
    """Shipping at no charge over a subtotal, or for carts of eligible products only."""

    __tablename__ = "free_shipping_rules"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    min_subtotal_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    product_ids: Mapped[list[Any] | None] = mapped_column(default=None)
    # Which service levels become free (null: every level); countries likewise.
    service_levels: Mapped[list[Any] | None] = mapped_column(default=None)
    countries: Mapped[list[Any] | None] = mapped_column(default=None)
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(64), default="file", index=True)


class Customer(Base):
    """A known buyer, found by e-mail at checkout."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Lower-cased so the lookup is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str] = mapped_column(String(64), default="file", index=True)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="CustomerAddress.position",
    )


class CustomerAddress(Base):
    """A stored address; its id is the destination id a checkout shows for it."""

    __tablename__ = "customer_addresses"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    full_name: Mapped[str | None] = mapped_column(String(255), default=None)
    street_address: Mapped[str] = mapped_column(String(512), default="")
    extended_address: Mapped[str | None] = mapped_column(String(512), default=None)
    locality: Mapped[str] = mapped_column(String(255), default="")
    region: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(64), default="")
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(64), default=None)

    customer: Mapped[Customer] = relationship(back_populates="addresses")
