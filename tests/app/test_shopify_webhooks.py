"""Signed webhook deliveries into the app's route; publishing and order write-back with a DB."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from starlette.applications import Starlette

from app.shopify_webhooks import webhook_routes
from commerce.shopify.publish import (
    publish_creative_to_shopify,
    retire_creatives_on_shopify,
    shopify_creatives_to_publish,
    write_back_order,
)
from commerce.shopify.sync import sync_shopify_catalog
from connectors.shopify.client import ScaledClock, ShopifyClient
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Campaign, Creative, Event, Order, Product, ShopifyCreativeMedia
from reelcart.settings import Settings
from tests.fakes.shopify_server import FakeShopify
from tests.servers import serve_on_loopback

CLOCK = ScaledClock(200)


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, video_processing_s=2.0) as fake:
        fake.state.add_product(1)
        yield fake


def client(shop: FakeShopify) -> ShopifyClient:
    return ShopifyClient(shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK)


def run(shop: FakeShopify, body: Any) -> Any:
    async def go() -> Any:
        async with client(shop) as c:
            return await body(c)

    return asyncio.run(go())


@pytest.fixture
def hook(db: Database, store: MediaStore, shop: FakeShopify, settings: Settings) -> Iterator[str]:
    settings = settings.model_copy(update={"shopify_api_secret": SecretStr(shop.state.api_secret)})
    routes = webhook_routes(db, store, settings, client_factory=lambda: client(shop))
    with serve_on_loopback(Starlette(routes=routes)) as url:
        yield f"{url}/webhooks/shopify"


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def add_creative(db: Database, tmp_path: Path) -> str:
    video = tmp_path / "crv.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x01" * 5000)
    with db.session() as session:
        campaign = Campaign(name="c1", plan={})
        session.add(campaign)
        session.flush()
        session.add(
            Creative(
                id="crv_abc",
                campaign_id=campaign.id,
                product_id="gid://shopify/Product/1",
                variant_key="hook=price",
                name="ad",
                factors={},
                status="published",
                render_hash="h1",
                video_path=str(video),
            )
        )
    return "crv_abc"


def test_webhooks_are_verified_deduplicated_and_applied(
    db: Database, store: MediaStore, shop: FakeShopify, hook: str, tmp_path: Path
) -> None:
    bad = httpx.post(
        hook,
        content=b'{"id": 1}',
        headers={
            "X-Shopify-Hmac-Sha256": "AAAA",
            "X-Shopify-Topic": "products/update",
            "X-Shopify-Webhook-Id": "w0",
        },
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_signature"
    wrong_key = shop.deliver_webhook(hook, "products/update", {"id": 1}, secret="other")
    assert wrong_key.status_code == 401

    # products/update starts an incremental sync in the background.
    response = shop.deliver_webhook(hook, "products/update", {"id": 1}, webhook_id="w1")
    assert response.status_code == 200 and response.json()["outcome"] == "sync requested"
    with db.session() as session:
        wait_for(lambda: session.get(Product, "gid://shopify/Product/1") is not None)
    again = shop.deliver_webhook(hook, "products/update", {"id": 1}, webhook_id="w1")
    assert again.json()["outcome"] == "duplicate delivery"

    creative_id = add_creative(db, tmp_path)
    order = {
        "id": 555,
        "admin_graphql_api_id": "gid://shopify/Order/555",
        "currency": "USD",
        "total_price": "48.00",
        "landing_site": f"/products/p1?rc_creative={creative_id}",
        "line_items": [{"product_id": 1, "quantity": 2}],
        "name": "#1555",
    }
    for webhook_id in ("o1", "o2"):  # two deliveries of the same order: one purchase
        assert shop.deliver_webhook(hook, "orders/create", order, webhook_id=webhook_id).is_success
    own = dict(order, id=556, note_attributes=[{"name": "reelcart_order_id", "value": "ord_1"}])
    assert "own order" in shop.deliver_webhook(hook, "orders/create", own).json()["outcome"]
    with db.session() as session:
        events = session.scalars(select(Event)).all()
        assert [(e.kind, e.creative_id, e.amount_minor) for e in events] == [
            ("purchase", creative_id, 4800)
        ]

    gone = shop.deliver_webhook(hook, "products/delete", {"id": 1})
    assert gone.json()["outcome"] == "archived gid://shopify/Product/1"
    with db.session() as session:
        product = session.get(Product, "gid://shopify/Product/1")
        assert product is not None and product.status == "ARCHIVED"
    assert shop.deliver_webhook(hook, "app/uninstalled", {"id": 9}).json()["outcome"] == (
        "uninstalled"
    )
    plain = shop.deliver_webhook(hook, "orders/create", {"id": 1, "currency": "USD"})
    assert plain.json()["outcome"] == "unattributed"


def test_publish_to_shopify_once_then_retire_and_write_back_order(
    db: Database, store: MediaStore, shop: FakeShopify, tmp_path: Path
) -> None:
    run(shop, lambda c: sync_shopify_catalog(db, store, c))
    creative_id = add_creative(db, tmp_path)
    assert shopify_creatives_to_publish(db) == [creative_id]
    first = run(shop, lambda c: publish_creative_to_shopify(db, c, creative_id, poll_s=0.5))
    assert first.status == "READY" and first.uploaded
    assert shopify_creatives_to_publish(db) == []
    second = run(shop, lambda c: publish_creative_to_shopify(db, c, creative_id, poll_s=0.5))
    assert second.media_id == first.media_id and not second.uploaded
    videos = [
        m
        for m in shop.state.products["gid://shopify/Product/1"]["media"]
        if m["__typename"] == "Video"
    ]
    assert len(videos) == 1

    with db.session() as session:
        creative = session.get(Creative, creative_id)
        assert creative is not None
        creative.status = "retired"
    assert run(shop, lambda c: retire_creatives_on_shopify(db, c)) == [creative_id]
    assert not [
        m
        for m in shop.state.products["gid://shopify/Product/1"]["media"]
        if m["__typename"] == "Video"
    ]
    with db.session() as session:
        row = session.get(ShopifyCreativeMedia, creative_id)
        assert row is not None and row.media_id is None

    with db.session() as session:
        session.add(
            Order(
                id="ord_1",
                currency="USD",
                total_minor=4800,
                creative_id=creative_id,
                line_items=[
                    {
                        "item": {"id": "gid://shopify/ProductVariant/100", "quantity": 2},
                        "base_amount": 4800,
                    }
                ],
            )
        )
    gid = run(shop, lambda c: write_back_order(db, c, "ord_1"))
    assert run(shop, lambda c: write_back_order(db, c, "ord_1")) == gid
    with db.session() as session:
        order = session.get(Order, "ord_1")
        assert order is not None and order.external_order_id == gid
    assert len(shop.state.orders) == 1
