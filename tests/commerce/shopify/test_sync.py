"""Catalog sync from the fake Shopify into the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from commerce.shopify.sync import sync_shopify_catalog
from connectors.shopify.client import ScaledClock, ShopifyClient, ShopifyUnavailable
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product, ProductImage, ShopifySyncState
from tests.fakes.shopify_server import FakeShopify

CLOCK = ScaledClock(200)  # Shopify seconds pass 200× faster: backoffs and refills are ms


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, restore_rate=100, video_processing_s=1.0) as fake:
        yield fake


def client_for(shop: FakeShopify, **options: Any) -> ShopifyClient:
    options.setdefault("timeout_s", 2.0)
    return ShopifyClient(shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK, **options)


def sync(db: Database, store: MediaStore, shop: FakeShopify, **options: Any) -> Any:
    client_options = options.pop("client", {})

    async def run() -> Any:
        async with client_for(shop, **client_options) as client:
            return await sync_shopify_catalog(db, store, client, poll_s=0.5, **options)

    return asyncio.run(run())


def catalog(db: Database) -> dict[str, tuple[str, str, list[int]]]:
    with db.session() as session:
        rows = session.scalars(select(Product)).all()
        return {p.id: (p.status, p.title, [v.price_minor for v in p.variants]) for p in rows}


def expected(shop: FakeShopify) -> dict[str, tuple[str, str, list[int]]]:
    return {
        pid: (p["status"], p["title"], [round(float(v["price"]) * 100) for v in p["variants"]])
        for pid, p in shop.state.products.items()
    }


def test_full_then_incremental_sync_stores_exactly_the_store(
    db: Database, store: MediaStore, shop: FakeShopify
) -> None:
    for n in range(1, 46):  # three pages of 21
        shop.state.add_product(n)
    first = sync(db, store, shop)
    assert first.mode == "full" and first.pages == 3
    assert first.created == 45 and first.images_stored == 90
    assert catalog(db) == expected(shop)
    with db.session() as session:
        image = session.scalars(select(ProductImage)).first()
        assert image is not None and store.exists(image.media_key)

    shop.state.advance_seconds(5)
    shop.state.set_price("gid://shopify/Product/7", "30.00")
    shop.state.update_product("gid://shopify/Product/9", status="ARCHIVED")
    shop.state.add_product(100)
    shop.state.delete_product("gid://shopify/Product/3")  # incremental must not archive it
    second = sync(db, store, shop)
    assert second.mode == "incremental"
    assert (second.created, second.updated) == (1, 2)
    assert second.archived == 0
    got = catalog(db)
    assert got["gid://shopify/Product/7"][2] == [3000, 3000, 3000]
    assert got["gid://shopify/Product/9"][0] == "ARCHIVED"
    assert got["gid://shopify/Product/3"][0] == "ACTIVE"

    third = sync(db, store, shop, mode="full")  # a full sync archives what is gone
    assert third.archived == 1 and third.created == 0 and third.updated == 0
    assert catalog(db)["gid://shopify/Product/3"][0] == "ARCHIVED"
    again = sync(db, store, shop)
    assert again.created == again.updated == again.archived == 0
    assert again.images_stored == 0  # nothing changed: no image fetched again


def test_sync_interrupted_by_faults_resumes_to_exactly_the_right_catalog(
    db: Database, store: MediaStore, shop: FakeShopify
) -> None:
    for n in range(1, 71):  # four pages
        shop.state.add_product(n)
    # Requests: shop, page 1, then page 2 fails more often than the client retries.
    shop.state.inject("status", times=3, after=2, status=503)
    with pytest.raises(ShopifyUnavailable):
        sync(db, store, shop, mode="full", client={"max_retries": 2})
    with db.session() as session:
        state = session.scalars(select(ShopifySyncState)).one()
        assert state.run_cursor is not None and state.watermark is None
    assert len(catalog(db)) == 21  # page 1 is stored, with the cursor after it

    shop.state.advance_seconds(2)
    shop.state.set_price("gid://shopify/Product/5", "99.00")  # already stored: must update
    shop.state.delete_product("gid://shopify/Product/60")  # never stored: must not appear
    shop.state.add_product(200)
    shop.state.inject("status", times=2, status=502)  # transient faults while resuming
    shop.state.inject("timeout", times=1, delay_s=3)
    shop.state.inject("429", times=1, retry_after_s=0.5)
    resumed = sync(db, store, shop, mode="full", client={"timeout_s": 1.0})
    assert resumed.resumed and resumed.mode == "full"
    assert catalog(db) == expected(shop)
    assert catalog(db)["gid://shopify/Product/5"][2] == [9900, 9900, 9900]
    again = sync(db, store, shop)
    assert again.mode == "incremental" and again.created == again.updated == 0


def test_bad_products_are_skipped_and_broken_images_dropped(
    db: Database, store: MediaStore, shop: FakeShopify
) -> None:
    shop.state.add_product(1)
    shop.state.add_product(2, price=None)  # no price: skipped
    shop.state.add_product(3, description_html="<p>ok</p><script>x()</script>" + "y" * 50_000)
    shop.state.add_product(4)
    shop.state.broken_images.add("p4-1.png")
    outcome = sync(db, store, shop)
    got = catalog(db)
    assert set(got) == {f"gid://shopify/Product/{n}" for n in (1, 3, 4)}
    assert "gid://shopify/Product/2" in outcome.skipped
    assert any("unreachable" in r for r in outcome.skipped["gid://shopify/Product/4#images"])
    with db.session() as session:
        p3 = session.get(Product, "gid://shopify/Product/3")
        p4 = session.get(Product, "gid://shopify/Product/4")
        assert p3 is not None and "script" not in p3.description_html
        assert p4 is not None and len(p4.images) == 1
    shop.state.advance_seconds(2)
    shop.state.set_price("gid://shopify/Product/1", "")  # stored before, now unsellable
    sync(db, store, shop)
    assert catalog(db)["gid://shopify/Product/1"][0] == "ARCHIVED"


def test_bulk_path_is_chosen_for_large_stores(
    db: Database, store: MediaStore, shop: FakeShopify
) -> None:
    for n in range(1, 31):
        shop.state.add_product(n)
    shop.state.advance_seconds(2)  # the operation starts after the last edit
    outcome = sync(db, store, shop, bulk_threshold=20)
    assert outcome.mode == "bulk-full" and outcome.created == 30
    assert catalog(db) == expected(shop)
    shop.state.advance_seconds(2)
    shop.state.set_price("gid://shopify/Product/3", "1.00")
    small = sync(db, store, shop, bulk_threshold=20)  # one change: paginated incremental
    assert small.mode == "incremental" and small.updated == 1
