"""Catalog sync into the database, and keyword search over it (search without the model)."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from commerce.catalog.embeddings import Encoder
from commerce.catalog.search import SemanticIndex, search_products
from commerce.catalog.store import get_product, sync_snapshot
from connectors.catalog_file import CatalogFileError, load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product, ProductImage, ProductVariant
from tests.factories import make_product, write_catalog


def _sync(db: Database, store: MediaStore, path: Path):
    with db.session() as session:
        return sync_snapshot(session, load_catalog_file(path), store)


def test_sync_stores_products_with_minor_units(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    path = write_catalog(tmp_path, [make_product(1, price="34.50", images=2), make_product(2)])
    report = _sync(db, store, path)
    assert len(report.created) == 2
    with db.session() as session:
        product = get_product(session, "gid://shopify/Product/1")
        assert product is not None
        assert product.currency == "USD"
        assert [v.price_minor for v in product.variants] == [3450]
        assert len(product.images) == 2
        assert all(store.exists(i.media_key) for i in product.images)


def test_resync_of_same_file_changes_nothing(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    path = write_catalog(tmp_path, [make_product(1), make_product(2)])
    _sync(db, store, path)
    with db.session() as session:
        before = {p.id: p.synced_at for p in session.scalars(select(Product))}
    report = _sync(db, store, path)
    assert not report.changed
    assert sorted(report.unchanged) == sorted(before)
    with db.session() as session:
        assert {p.id: p.synced_at for p in session.scalars(select(Product))} == before
        assert session.scalar(select(func.count()).select_from(ProductVariant)) == 2


def test_changed_price_updates_and_missing_product_is_archived(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _sync(db, store, write_catalog(tmp_path / "a", [make_product(1), make_product(2)]))
    report = _sync(db, store, write_catalog(tmp_path / "b", [make_product(1, price="30.00")]))
    assert report.updated == ["gid://shopify/Product/1"]
    assert report.archived == ["gid://shopify/Product/2"]
    with db.session() as session:
        assert get_product(session, "gid://shopify/Product/2") is None  # no longer sold
        assert session.get(Product, "gid://shopify/Product/2").status == "ARCHIVED"
        assert get_product(session, "product-1").variants[0].price_minor == 3000


def test_identical_images_are_stored_once(db: Database, store: MediaStore, tmp_path: Path) -> None:
    a, b = make_product(1), make_product(2)
    b["images"][0]["url"] = a["images"][0]["url"]  # same photo used by two products
    _sync(db, store, write_catalog(tmp_path, [a, b]))
    with db.session() as session:
        keys = session.scalars(select(ProductImage.media_key)).all()
    assert len(keys) == 2 and len(set(keys)) == 1


def test_bad_file_writes_nothing(db: Database, store: MediaStore, tmp_path: Path) -> None:
    bad = make_product(3)
    bad["variants"][0]["price"] = "free"
    path = write_catalog(tmp_path, [make_product(1), make_product(2), bad])
    with pytest.raises(CatalogFileError, match="product 2"):
        _sync(db, store, path)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0


def test_failure_mid_sync_rolls_back_everything(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    p2 = make_product(2)
    path = write_catalog(tmp_path, [make_product(1), p2])
    (tmp_path / p2["images"][0]["url"]).unlink()  # the second product's photo vanished
    with pytest.raises(FileNotFoundError):
        _sync(db, store, path)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0


@pytest.fixture
def shop(db: Database, store: MediaStore, tmp_path: Path) -> Database:
    products = [
        make_product(1, title="Stoneware Mug", tags=["kitchen", "ceramic"], price="24.00"),
        make_product(2, title="Steel Water Bottle", tags=["outdoor"], price="32.00"),
        make_product(
            3, title="Ceramic Plant Pot", tags=["garden", "ceramic"], price="18.00", stock=0
        ),
        make_product(4, title="Travel Mug Lid", tags=["kitchen"], price="9.99"),
    ]
    _sync(db, store, write_catalog(tmp_path, products))
    return db


def _titles(db: Database, query: str, **kwargs) -> list[str]:
    no_model = Encoder()
    no_model._failed = True  # the model cannot load: keyword search answers
    with db.session() as session:
        found = search_products(session, query, index=SemanticIndex(no_model), **kwargs)
        return [p.title for p in found]


def test_search_ranks_title_matches_first(shop: Database) -> None:
    assert _titles(shop, "mug") == ["Stoneware Mug", "Travel Mug Lid"]
    assert _titles(shop, "ceramic") == ["Ceramic Plant Pot", "Stoneware Mug"]


def test_search_requires_every_word(shop: Database) -> None:
    assert _titles(shop, "ceramic mug") == ["Stoneware Mug"]
    assert _titles(shop, "mug bicycle") == []


def test_search_filters(shop: Database) -> None:
    assert _titles(shop, "ceramic", in_stock_only=True) == ["Stoneware Mug"]
    assert _titles(shop, "", max_price_minor=1800) == ["Ceramic Plant Pot", "Travel Mug Lid"]
    assert len(_titles(shop, "", limit=2)) == 2
