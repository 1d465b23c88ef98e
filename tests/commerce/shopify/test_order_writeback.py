"""An agent checkout's order is written back to Shopify once, tagged with the creative."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from commerce.shopify.publish import shopify_order_hook
from commerce.shopify.sync import sync_shopify_catalog
from connectors.shopify.client import ShopifyClient
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    acp_app,
    acp_settings,
    complete_body,
    create_body,
    delegate,
    headers,
    localstripe,
)
from tests.factories import add_published_creatives
from tests.fakes.shopify_server import FakeShopify
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]

VARIANT = "gid://shopify/ProductVariant/100"


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(restore_rate=1000) as fake:
        fake.state.add_product(1, variants=1, images=1, price="24.00", title="Stoneware Mug")
        yield fake


def _sync(db: Database, store: MediaStore, shop: FakeShopify) -> None:
    async def run() -> None:
        client = ShopifyClient(shop.base_url, shop.state.access_token, "2026-10", timeout_s=5.0)
        async with client:
            await sync_shopify_catalog(db, store, client, poll_s=0.2)

    asyncio.run(run())


def test_completed_checkout_creates_one_tagged_shopify_order(
    db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
    shop: FakeShopify,
) -> None:
    _sync(db, store, shop)
    # a live creative the shopper will be shown
    add_published_creatives(db, "gid://shopify/Product/1", {"crv_mug": "price"})
    config = acp_settings(
        settings,
        localstripe.url,
        shopify_shop=shop.base_url,
        shopify_access_token=shop.state.access_token,
    )
    from commerce.catalog.showcase import show_creative
    from commerce.catalog.store import get_product

    with db.session() as session:  # what get_product does for this shopper
        product = get_product(session, "gid://shopify/Product/1")
        assert product is not None and show_creative(session, product, "ada").id == "crv_mug"

    app = acp_app(db, store, config, order_hooks=[shopify_order_hook(db, config)])
    with TestClient(app) as client:
        created = client.post(
            "/checkout_sessions",
            json=create_body({"id": VARIANT}, shopper="ada"),
            headers=headers(),
        )
        assert created.status_code == 201, created.text
        token = delegate(client, created.json())
        done = client.post(
            f"/checkout_sessions/{created.json()['id']}/complete",
            json=complete_body(token),
            headers=headers(),
        )
        assert done.status_code == 200, done.text

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with db.session() as session:
            order = session.scalars(select(Order)).one()
            if order.external_order_id:
                break
        time.sleep(0.1)
    assert order.external_order_id in shop.state.orders
    (remote,) = shop.state.orders.values()
    assert f"reelcart-order:{order.id}" in remote["tags"]
    assert "reelcart-creative:crv_mug" in remote["tags"]
    assert remote["input"]["lineItems"][0]["variantId"] == VARIANT
