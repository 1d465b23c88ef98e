"""Read a store kept as CSV files in the UCP conformance suite's layout (its flower shop).

The folder holds ``products.csv`` (id, title, price in minor units, image_url),
``inventory.csv`` (product_id, quantity), ``discounts.csv`` (code, type, value,
description), ``promotions.csv`` (free-shipping rules), ``shipping_rates.csv``
(``country_code`` "default" for every other country), ``customers.csv``,
``addresses.csv`` and ``payment_instruments.csv``. Each product becomes a catalog product
with one variant under the product's own id, so the ids the suite sends resolve either
way. Missing optional files are empty lists; a malformed row fails the whole folder.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reelcart.domain import CatalogProduct, CatalogShop, CatalogSnapshot
from reelcart.money import currency_exponent

from .store_data import (
    AddressData,
    CustomerData,
    DiscountData,
    FreeShippingData,
    ShippingRateData,
    StoreData,
)

__all__ = ["CsvStore", "CsvStoreError", "read_csv_store"]

# Free shipping in the CSV names no service level; it waives the standard rate, the
# usual reading of "free shipping" (express stays paid).
FREE_SHIPPING_LEVELS = ["standard"]


class CsvStoreError(ValueError):
    """A file of the folder is missing or a row in it is malformed."""


@dataclass(frozen=True)
class CsvStore:
    """What the folder describes: the catalog, the store rules and test payment data."""

    snapshot: CatalogSnapshot
    store: StoreData
    # Payment instruments are the UCP door's business (its test payment handler); they
    # are handed over as the rows say, keyed by column name.
    payment_instruments: list[dict[str, str]] = field(default_factory=list)


def _rows(folder: Path, name: str, *, required: bool = False) -> list[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        if required:
            raise CsvStoreError(f"{path}: no such file")
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(handle)
        ]


def _int(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CsvStoreError(f"{where}: {value!r} is not a whole number") from None


def _decimal_price(minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return str((Decimal(minor) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-exponent)))


def _products(folder: Path, currency: str) -> list[CatalogProduct]:
    stock = {
        row["product_id"]: _int(row["quantity"], f"inventory.csv {row['product_id']}")
        for row in _rows(folder, "inventory.csv")
    }
    products = []
    for row in _rows(folder, "products.csv", required=True):
        pid, where = row["id"], f"products.csv {row.get('id')!r}"
        quantity = stock.get(pid, 0)
        raw: dict[str, Any] = {
            "id": pid,
            "handle": pid,
            "title": row["title"],
            "variants": [
                {
                    "id": pid,
                    "title": "Default",
                    "sku": pid,
                    "price": _decimal_price(_int(row["price"], where), currency),
                    "inventoryQuantity": max(quantity, 0),
                    "availableForSale": quantity > 0,
                }
            ],
            "images": (
                [{"id": f"{pid}-image", "url": row["image_url"], "altText": row["title"]}]
                if row.get("image_url")
                else []
            ),
        }
        try:
            products.append(CatalogProduct.model_validate(raw))
        except ValidationError as exc:
            raise CsvStoreError(f"{where}: {exc.errors()[0]['msg']}") from exc
    return products


def _discount(row: dict[str, str]) -> DiscountData:
    kind = row["type"]
    value = row["value"]
    if not value.replace(".", "", 1).isdigit():
        raise CsvStoreError(f"discounts.csv {row['code']!r}: value {value!r} is not a number")
    return DiscountData(
        id=row["code"],
        code=row["code"],
        title=row.get("description") or row["code"],
        kind=kind,  # type: ignore[arg-type]  # validated by the model
        percentage=Decimal(value) if kind == "percentage" else None,
        amount_minor=int(value) if kind == "fixed_amount" else None,
        # The layout has no combination column; its sample business combines codes (the
        # UCP suite applies two at once), so these say so explicitly.
        stackable=True,
    )


def _promotion(row: dict[str, str]) -> FreeShippingData | None:
    if row.get("type") != "free_shipping":
        return None  # the only kind of promotion the layout defines
    eligible = json.loads(row["eligible_item_ids"]) if row.get("eligible_item_ids") else None
    return FreeShippingData(
        id=row["id"],
        title=row.get("description") or row["id"],
        min_subtotal_minor=int(row["min_subtotal"]) if row.get("min_subtotal") else None,
        product_ids=eligible,
        service_levels=FREE_SHIPPING_LEVELS,
    )


def _rate(row: dict[str, str]) -> ShippingRateData:
    country = row["country_code"]
    return ShippingRateData(
        id=row["id"],
        title=row["title"],
        amount_minor=int(row["price"]),
        country=None if country.lower() in ("default", "", "*") else country,
        service_level=row.get("service_level") or "standard",
    )


def _customers(folder: Path) -> list[CustomerData]:
    addresses: dict[str, list[AddressData]] = {}
    for row in _rows(folder, "addresses.csv"):
        addresses.setdefault(row["customer_id"], []).append(
            AddressData(
                id=row["id"],
                street_address=row.get("street_address", ""),
                locality=row.get("city", ""),
                region=row.get("state", ""),
                postal_code=row.get("postal_code", ""),
                country=row["country"],
            )
        )
    customers = []
    for row in _rows(folder, "customers.csv"):
        first, _, last = row.get("name", "").partition(" ")
        customers.append(
            CustomerData(
                id=row["id"],
                email=row["email"],
                first_name=first,
                last_name=last,
                addresses=addresses.get(row["id"], []),
            )
        )
    return customers


def read_csv_store(folder: Path | str, currency: str = "USD") -> CsvStore:
    """Parse and validate the whole folder; nothing is written."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CsvStoreError(f"{folder}: no such folder")
    try:
        products = _products(folder, currency)
        promotions = [_promotion(r) for r in _rows(folder, "promotions.csv")]
        store = StoreData(
            discounts=[_discount(r) for r in _rows(folder, "discounts.csv")],
            shipping_rates=[_rate(r) for r in _rows(folder, "shipping_rates.csv")],
            free_shipping=[p for p in promotions if p is not None],
            customers=_customers(folder),
        )
    except (KeyError, ValueError) as exc:
        if isinstance(exc, CsvStoreError):
            raise
        detail = f"missing column {exc}" if isinstance(exc, KeyError) else str(exc)
        raise CsvStoreError(f"{folder}: {detail}") from exc
    shop = CatalogShop(name=folder.name, currencyCode=currency.upper())
    return CsvStore(
        snapshot=CatalogSnapshot(shop=shop, products=products),
        store=store,
        payment_instruments=_rows(folder, "payment_instruments.csv"),
    )
