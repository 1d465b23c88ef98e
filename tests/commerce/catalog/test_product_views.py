"""Cached product views: the catalog part is kept per process, but stock, status and the
creative shown are read from the database on every call, and a sync anywhere refreshes it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from commerce.catalog.product_views import ProductViews
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product, ProductVariant
from tests.factories import make_product, write_catalog

MUG = "gid://shopify/Product/1"


def _sync(db: Database, store: MediaStore, folder: Path, price: str = "24.00") -> None:
    products = [make_product(1, title="Stoneware Mug", price=price), make_product(2)]
    with db.session() as session:
        snapshot = load_catalog_file(write_catalog(folder, products))
        sync_snapshot(session, snapshot, store, embed=False)


def test_stock_and_status_are_never_served_from_memory(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _sync(db, store, tmp_path)
    views = ProductViews(store, recheck_s=3600.0)  # trusts the catalog part for an hour
    with db.session() as session:
        detail = views.detail(session, "product-1", "s1")  # by handle
        assert detail is not None and detail.id == MUG and detail.variants[0].available
        assert [s.in_stock for s in views.summaries(session, [MUG])] == [True]
    with db.session() as session:  # another process sells the last unit
        session.execute(update(ProductVariant).values(inventory_quantity=0))
    with db.session() as session:
        detail = views.detail(session, MUG, "s1")
        assert detail is not None and not detail.variants[0].available
        assert [s.in_stock for s in views.summaries(session, [MUG])] == [False]
    with db.session() as session:  # ...and archives the product
        session.execute(update(Product).where(Product.id == MUG).values(status="ARCHIVED"))
    with db.session() as session:
        assert views.detail(session, MUG, "s1") is None
        assert views.detail(session, "product-1", "s1") is None
        assert views.summaries(session, [MUG, "gid://shopify/Product/2"])[0].title == "Product 2"


def test_a_sync_refreshes_the_catalog_part(db: Database, store: MediaStore, tmp_path: Path) -> None:
    _sync(db, store, tmp_path)
    views = ProductViews(store, recheck_s=0.0)  # another process: asks the database each time
    with db.session() as session:
        assert views.summaries(session, [MUG])[0].price_from.amount == 2400
    _sync(db, store, tmp_path, price="19.00")
    with db.session() as session:
        assert views.summaries(session, [MUG])[0].price_from.amount == 1900
        detail = views.detail(session, MUG, "s1")
        assert detail is not None and detail.variants[0].price.amount == 1900


def test_uncached_views_answer_the_same(db: Database, store: MediaStore, tmp_path: Path) -> None:
    _sync(db, store, tmp_path)
    cached, fresh = ProductViews(store), ProductViews(store, enabled=False)
    with db.session() as session:
        ids = [MUG, "gid://shopify/Product/2"]
        for _ in range(2):  # the second call is served from memory
            assert cached.summaries(session, ids) == fresh.summaries(session, ids)
            assert cached.detail(session, MUG, "s") == fresh.detail(session, MUG, "s")
