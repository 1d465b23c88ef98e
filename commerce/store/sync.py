"""Write store rules (discount codes, shipping rates, free shipping, customers) from one
source into the app database, and sync the ones Shopify holds.

Each kind a source delivers replaces what that same source delivered before: rows of the
source missing from the delivery are removed, rows of other sources are left alone,
unless the same code, rate id or e-mail arrives, in which case the newest source owns it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from connectors.catalog_file import load_store_sections
from connectors.shopify.client import ShopifyClient
from connectors.shopify.customers import fetch_customers
from connectors.shopify.discounts import fetch_discount_codes
from connectors.store_data import CustomerData, StoreData
from reelcart.db import Database
from reelcart.models import (
    Customer,
    CustomerAddress,
    DiscountCode,
    FreeShippingRule,
    ShippingRateRule,
    utcnow,
)

__all__ = [
    "StoreSyncReport",
    "apply_store_data",
    "apply_store_file",
    "store_file_rules",
    "sync_shopify_store",
]

log = logging.getLogger(__name__)

SHOPIFY_SOURCE = "shopify"


@dataclass
class StoreSyncReport:
    """How many rows of each kind a source now holds, and how many it gave up."""

    counts: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


def _drop_stale(
    session: Session,
    model: type[DiscountCode] | type[ShippingRateRule] | type[FreeShippingRule],
    source: str,
    keep: set[str],
) -> int:
    """Remove the rows ``source`` delivered before and not now; how many went."""
    stale = session.scalars(
        select(model.id).where(model.source == source, model.id.not_in(keep))
    ).all()
    if stale:
        session.execute(delete(model).where(model.id.in_(stale)))
    return len(stale)


def _discounts(session: Session, data: StoreData, source: str, report: StoreSyncReport) -> None:
    keep: set[str] = set()
    for d in data.discounts or []:
        row = session.scalars(
            select(DiscountCode).where(func.upper(DiscountCode.code) == d.code.upper())
        ).first()
        if row is None:
            row = DiscountCode(id=d.id or f"{source}:{d.code.upper()}")
            session.add(row)
        row.code = d.code
        row.title = d.title or d.code
        row.kind = d.kind
        row.percent_bps = d.percent_bps
        row.amount_minor = d.amount_minor or 0
        row.stackable = d.stackable
        row.min_subtotal_minor = d.min_subtotal_minor
        row.product_ids = list(d.product_ids) if d.product_ids is not None else None
        row.starts_at = d.starts_at
        row.ends_at = d.ends_at
        row.usage_limit = d.usage_limit
        row.times_used = d.times_used
        row.active = d.active
        row.source = source
        row.synced_at = utcnow()
        keep.add(row.id)
    session.flush()
    gone = _drop_stale(session, DiscountCode, source, keep)
    report.counts["discounts"], report.removed["discounts"] = len(keep), gone


def _rates(session: Session, data: StoreData, source: str, report: StoreSyncReport) -> None:
    keep: set[str] = set()
    for position, r in enumerate(data.shipping_rates or []):
        row = session.get(ShippingRateRule, r.id) or ShippingRateRule(id=r.id)
        session.add(row)
        row.title, row.country, row.service_level = r.title, r.country, r.service_level
        row.amount_minor, row.min_days, row.max_days = r.amount_minor, r.min_days, r.max_days
        row.carrier, row.position, row.source = r.carrier, position, source
        keep.add(r.id)
    session.flush()
    gone = _drop_stale(session, ShippingRateRule, source, keep)
    report.counts["shipping_rates"], report.removed["shipping_rates"] = (
        len(keep),
        gone,
    )


def _free(session: Session, data: StoreData, source: str, report: StoreSyncReport) -> None:
    keep: set[str] = set()
    for f in data.free_shipping or []:
        row = session.get(FreeShippingRule, f.id) or FreeShippingRule(id=f.id)
        session.add(row)
        row.title, row.min_subtotal_minor = f.title, f.min_subtotal_minor
        row.product_ids = list(f.product_ids) if f.product_ids is not None else None
        row.service_levels = list(f.service_levels) if f.service_levels is not None else None
        row.countries = list(f.countries) if f.countries is not None else None
        row.starts_at, row.ends_at, row.active, row.source = (
            f.starts_at,
            f.ends_at,
            f.active,
            source,
        )
        keep.add(f.id)
    session.flush()
    gone = _drop_stale(session, FreeShippingRule, source, keep)
    report.counts["free_shipping"], report.removed["free_shipping"] = len(keep), gone


def _customer(session: Session, c: CustomerData, source: str) -> Customer:
    row = session.get(Customer, c.id)
    by_email = session.scalars(
        select(Customer).where(func.lower(Customer.email) == c.email)
    ).first()
    if by_email is not None and by_email is not row:
        # The same buyer arrives from another source under another id: the newest owns it.
        session.delete(by_email)
        session.flush()
    if row is None:
        row = Customer(id=c.id)
        session.add(row)
    row.email, row.first_name, row.last_name = c.email, c.first_name, c.last_name
    row.phone, row.source, row.synced_at = c.phone, source, utcnow()
    row.addresses.clear()
    session.flush()
    for position, a in enumerate(c.addresses):
        # An address id moves with its customer; one held by another customer is replaced.
        taken = session.get(CustomerAddress, a.id)
        if taken is not None:
            session.delete(taken)
            session.flush()
        row.addresses.append(
            CustomerAddress(
                id=a.id,
                position=position,
                full_name=a.full_name,
                street_address=a.street_address,
                extended_address=a.extended_address,
                locality=a.locality,
                region=a.region,
                postal_code=a.postal_code,
                country=a.country,
                phone=a.phone,
            )
        )
    return row


def _customers(session: Session, data: StoreData, source: str, report: StoreSyncReport) -> None:
    keep = {_customer(session, c, source).id for c in data.customers or []}
    session.flush()
    stale = session.scalars(
        select(Customer).where(Customer.source == source, Customer.id.not_in(keep))
    ).all()
    for row in stale:
        session.delete(row)
    session.flush()
    report.counts["customers"], report.removed["customers"] = len(keep), len(stale)


def apply_store_data(session: Session, data: StoreData, source: str) -> StoreSyncReport:
    """Write every kind ``data`` delivers (a ``None`` list leaves that kind untouched)."""
    report = StoreSyncReport()
    if data.discounts is not None:
        _discounts(session, data, source, report)
    if data.shipping_rates is not None:
        _rates(session, data, source, report)
    if data.free_shipping is not None:
        _free(session, data, source, report)
    if data.customers is not None:
        _customers(session, data, source, report)
    session.flush()
    return report


def apply_store_file(session: Session, path: Path, source: str) -> StoreSyncReport:
    """A catalog file's ``discounts``, ``shipping_rates``, ``free_shipping`` and
    ``customers`` sections, written for ``source`` (the file's products' source)."""
    return apply_store_data(session, load_store_sections(path), source)


def store_file_rules(db: Database, path: Path, source: str) -> dict[str, int]:
    """:func:`apply_store_file` in a transaction of its own; how many rows of each kind."""
    with db.session() as session:
        return apply_store_file(session, path, source).counts


async def sync_shopify_store(db: Database, client: ShopifyClient) -> StoreSyncReport:
    """Bring Shopify's discount codes and customers (with addresses) into the database.

    Both lists are read whole before anything is written, so a failed read changes nothing.
    """
    discounts = await fetch_discount_codes(client)
    customers = await fetch_customers(client)
    data = StoreData(discounts=discounts, customers=customers)

    def write() -> StoreSyncReport:
        with db.session() as session:
            return apply_store_data(session, data, SHOPIFY_SOURCE)

    report = await asyncio.to_thread(write)
    log.info("shopify store rules: %s (removed %s)", report.counts, report.removed)
    return report
