"""Store rules from a catalog file's sections and from a folder of CSVs; bad input fails
the whole file before anything is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from commerce.pricing.quote import CartLine, quote, resolve_item
from commerce.store.customers import SignedInShopper, stored_addresses
from commerce.store.seed import seed_store_from_csv
from commerce.store.sync import apply_store_file
from connectors.catalog_file import CatalogFileError, load_catalog_file, load_store_sections
from connectors.flower_shop import CsvStoreError, read_csv_store
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Customer, DiscountCode, Product, ShippingRateRule
from reelcart.settings import Settings
from tests.commerce.flower_shop import require_flower_shop
from tests.factories import make_product, write_catalog

SECTIONS: dict[str, Any] = {
    "discounts": [
        {"code": "Spring15", "title": "Spring 15%", "kind": "percentage", "percentage": 15},
        {"code": "TAKE5", "kind": "fixed_amount", "amount_minor": 500, "stackable": False},
    ],
    "shipping_rates": [
        {"id": "std", "title": "Standard", "amount_minor": 700, "min_days": 3, "max_days": 5},
        {"id": "de", "title": "Germany", "amount_minor": 900, "country": "de"},
    ],
    "free_shipping": [{"id": "over50", "title": "Free over $50", "min_subtotal_minor": 5000}],
    "customers": [
        {
            "id": "c1",
            "email": "Grace@Example.com",
            "first_name": "Grace",
            "addresses": [{"id": "home", "street_address": "1 Navy Way", "country": "us"}],
        }
    ],
}


def _file(folder: Path, **sections: Any) -> Path:
    path = write_catalog(folder, [make_product(1, price="20.00", stock=9)])
    data = json.loads(path.read_text()) | sections
    path.write_text(json.dumps(data))
    return path


def test_catalog_file_sections_become_store_rules(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    from commerce.catalog.store import sync_snapshot

    path = _file(tmp_path / "a", **SECTIONS)
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(path), store)
        report = apply_store_file(session, path, "file")
    assert report.counts == {
        "discounts": 2,
        "shipping_rates": 2,
        "free_shipping": 1,
        "customers": 1,
    }
    with db.session() as session:
        variant = resolve_item(session, "gid://shopify/Product/1")
        assert variant is not None
        priced = quote(
            session, settings, [CartLine(variant, 3)], codes=["spring15", "TAKE5"], country="US"
        )
        # 15 % of 60.00 = 9.00; TAKE5 does not stack. 51.00 ≥ 50.00 ships free.
        assert priced.items_discount == 900
        assert [r.reason for r in priced.rejected] == ["discount_code_combination_disallowed"]
        assert [(o.id, o.amount) for o in priced.options] == [("std", 0)]
        german = quote(session, settings, [CartLine(variant, 1)], country="DE")
        assert [(o.id, o.amount) for o in german.options] == [("de", 900)]
        assert [a.id for a in stored_addresses(session, SignedInShopper("grace@example.com"))] == [
            "home"
        ]

    # A later file without a customers section leaves customers alone; one without a code
    # removes it.
    later = _file(tmp_path / "b", discounts=SECTIONS["discounts"][:1])
    with db.session() as session:
        again = apply_store_file(session, later, "file")
    assert again.removed == {"discounts": 1}
    with db.session() as session:
        assert [d.code for d in session.scalars(select(DiscountCode))] == ["Spring15"]
        assert session.scalars(select(Customer)).one().email == "grace@example.com"
        assert len(session.scalars(select(ShippingRateRule)).all()) == 2


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"discounts": [{"code": "X", "kind": "percentage"}]}, "needs 'percentage'"),
        ({"discounts": [{"code": "X", "kind": "percentage", "percentage": 150}]}, "percentage"),
        ({"shipping_rates": [{"id": "s", "title": "S", "amount_minor": -1}]}, "amount_minor"),
        ({"customers": [{"id": "c", "email": "not-an-email"}]}, "email"),
        ({"discounts": [SECTIONS["discounts"][0], SECTIONS["discounts"][0]]}, "duplicate"),
    ],
)
def test_a_bad_section_fails_the_whole_file(
    tmp_path: Path, sections: dict[str, Any], message: str
) -> None:
    path = _file(tmp_path, **sections)
    with pytest.raises(CatalogFileError, match=message):
        load_catalog_file(path)
    with pytest.raises(CatalogFileError):
        load_store_sections(path)


def test_jsonl_carries_sections_on_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    head = {"shop": {"name": "S", "currencyCode": "USD"}, "discounts": SECTIONS["discounts"]}
    path.write_text(json.dumps(head) + "\n" + json.dumps(make_product(1)) + "\n")
    assert [d.code for d in load_store_sections(path).discounts or []] == ["Spring15", "TAKE5"]
    assert load_store_sections(path).customers is None


def test_csv_folder_errors_name_the_file_and_write_nothing(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(require_flower_shop(), folder)
    assert len(read_csv_store(folder).snapshot.products) == 6
    (folder / "discounts.csv").write_text("code,type,value,description\nBAD,percentage,x,Bad\n")
    with pytest.raises(CsvStoreError, match=r"discounts\.csv 'BAD': value 'x'"):
        seed_store_from_csv(db, folder, media=store, settings=settings, fetch_images=False)
    (folder / "products.csv").unlink()
    with pytest.raises(CsvStoreError, match=r"products\.csv"):
        read_csv_store(folder)
    with db.session() as session:
        assert session.scalars(select(Product)).first() is None


def test_unfetchable_photos_are_dropped_not_fatal(
    db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The suite's photos are placeholders on example.com. Here they point at loopback, which
    # the fetch guard refuses once it is not allowed: the same failure, without a network.
    monkeypatch.setenv("REELCART_FETCH_ALLOW_HOSTS", "")
    folder = tmp_path / "shop"
    shutil.copytree(require_flower_shop(), folder)
    products = folder / "products.csv"
    products.write_text(products.read_text().replace("https://example.com", "http://127.0.0.1:9"))
    report = seed_store_from_csv(db, folder, media=store, settings=settings)
    assert len(report.products.created) == 6
    assert len(report.dropped_images) == 6
    with db.session() as session:
        assert all(not p.images for p in session.scalars(select(Product)))
