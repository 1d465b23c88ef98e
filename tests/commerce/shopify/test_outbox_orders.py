"""The Shopify order write-back happens once, however many workers try at once and whatever
crashed before: an order created twice in Shopify is as bad as a double charge."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from commerce.shopify.publish import write_back_order, write_back_pending
from connectors.shopify.client import ShopifyClient
from connectors.shopify.orders import OrderLine, create_shopify_order, order_tag
from reelcart.db import Database
from reelcart.models import CheckoutSession, Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_settings
from tests.commerce.shopify.test_order_writeback import VARIANT, shop
from tests.fakes.shopify_server import FakeShopify

__all__ = ["shop"]


def _order(db: Database, order_id: str) -> None:
    with db.session() as session:
        session.add(CheckoutSession(id=f"cs_{order_id}", status="completed", currency="usd"))
        session.flush()
        session.add(
            Order(
                id=order_id,
                checkout_session_id=f"cs_{order_id}",
                currency="USD",
                total_minor=2400,
                line_items=[{"variant_id": VARIANT, "quantity": 1, "unit_price_minor": 2400}],
            )
        )


def _client(shop: FakeShopify) -> ShopifyClient:
    return ShopifyClient(shop.base_url, shop.state.access_token, "2026-10", timeout_s=10.0)


def _tagged(shop: FakeShopify, order_id: str) -> list[str]:
    return [gid for gid, o in shop.state.orders.items() if order_tag(order_id) in o["tags"]]


def test_workers_racing_write_one_shopify_order(db: Database, shop: FakeShopify) -> None:
    _order(db, "ord_race")
    workers = 6
    start = threading.Barrier(workers)

    def worker(_: int) -> str | None:
        engine = Database(db.url)  # its own connections, as another process would have

        async def go() -> str | None:
            async with _client(shop) as client:
                start.wait()
                return await write_back_order(engine, client, "ord_race")

        try:
            return asyncio.run(go())
        finally:
            engine.dispose()

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(worker, range(workers)))
    created = _tagged(shop, "ord_race")
    assert len(created) == 1, f"{len(created)} Shopify orders for one reelcart order"
    assert {r for r in results if r is not None} == set(created)
    with db.session() as session:
        order = session.get(Order, "ord_race")
        assert order is not None and order.external_order_id == created[0]


def test_sweep_finds_an_order_created_before_a_crash(
    db: Database, shop: FakeShopify, settings: Settings
) -> None:
    _order(db, "ord_crash")
    _order(db, "ord_missed")

    async def created_then_crashed() -> str:
        async with _client(shop) as client:  # Shopify has it; reelcart never stored the id
            return await create_shopify_order(
                client,
                reference="ord_crash",
                lines=[OrderLine(VARIANT, 1, 2400)],
                currency="USD",
            )

    first = asyncio.run(created_then_crashed())
    config = acp_settings(
        settings, None, shopify_shop=shop.base_url, shopify_access_token=shop.state.access_token
    )
    assert write_back_pending(db, config) == 2
    assert write_back_pending(db, config) == 0
    assert _tagged(shop, "ord_crash") == [first]
    assert len(_tagged(shop, "ord_missed")) == 1
    with db.session() as session:
        order = session.get(Order, "ord_crash")
        assert order is not None and order.external_order_id == first
