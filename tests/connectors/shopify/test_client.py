"""The Admin GraphQL client against the fake: limits, cost, throttling, faults, bulk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.shopify.catalog import (
    PRODUCTS_PAGE,
    ShopifyCatalogError,
    bulk_products,
    fetch_shop,
    page_size,
    product_pages,
)
from connectors.shopify.client import (
    ScaledClock,
    ShopifyAuthError,
    ShopifyClient,
    ShopifyGraphQLError,
    ShopifyUnavailable,
)
from tests.fakes.shopify_server import FakeShopify
from tests.fakes.shopify_state import LeakyBucket

CLOCK = ScaledClock(100)


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, restore_rate=100, maximum=1000) as fake:
        yield fake


def run(shop: FakeShopify, body: Any, **options: Any) -> Any:
    options.setdefault("timeout_s", 1.0)
    token = options.pop("token", shop.state.access_token)

    async def go() -> Any:
        async with ShopifyClient(shop.base_url, token, "2026-10", clock=CLOCK, **options) as c:
            return await body(c), c.stats

    return asyncio.run(go())


async def all_pages(client: ShopifyClient, **options: Any) -> list[Any]:
    return [page async for page in product_pages(client, "USD", **options)]


def test_pages_respect_cost_and_page_limits(shop: FakeShopify) -> None:
    for n in range(1, 51):
        shop.state.add_product(n)
    pages, stats = run(shop, all_pages)
    assert [len(p.products) for p in pages] == [21, 21, 8]
    assert sorted(p.id for page in pages for p in page.products) == sorted(shop.state.products)
    product = pages[0].products[0]
    assert len(product.variants) == 3 and len(product.images) == 2
    # Requested cost is what the page could return; actual, what it did (much less).
    assert stats.points_requested == 3 * (2 + page_size() * 46)
    assert 0 < stats.points_actual < stats.points_requested / 2

    async def too_big(client: ShopifyClient) -> Any:
        variables = {"first": 250, "variantsFirst": 10, "mediaFirst": 10}
        return await client.execute(PRODUCTS_PAGE, variables)

    with pytest.raises(ShopifyGraphQLError, match="exceeds the single query max cost"):
        run(shop, too_big)

    async def over_limit(client: ShopifyClient) -> Any:
        return await client.execute("query { products(first: 251) { nodes { id } } }")

    with pytest.raises(ShopifyGraphQLError, match="between 0 and 250"):
        run(shop, over_limit)


def test_resume_after_cursor_and_products_with_many_variants(shop: FakeShopify) -> None:
    for n in range(1, 9):
        shop.state.add_product(n, variants=14, images=12)  # past the first page of each
    pages, _ = run(shop, lambda c: all_pages(c, first=3))
    assert all(len(p.variants) == 14 and len(p.images) == 12 for pg in pages for p in pg.products)
    cursor = pages[0].end_cursor
    rest, _ = run(shop, lambda c: all_pages(c, after=cursor, first=3))
    assert [p.id for pg in rest for p in pg.products] == [
        p.id for pg in pages[1:] for p in pg.products
    ]


def test_paced_client_never_hits_throttled_while_naive_one_does(shop: FakeShopify) -> None:
    for n in range(1, 64):
        shop.state.add_product(n)
    # A slow restore rate, so the bucket (not this machine's CPU) sets the pace.
    shop.state.bucket = LeakyBucket(1000, 5, CLOCK)
    _, paced = run(shop, all_pages)
    assert paced.throttled == 0 and paced.paced_seconds > 0
    shop.state.bucket = LeakyBucket(1000, 5, CLOCK)
    pages, naive = run(shop, all_pages, pace=False, backoff_base_s=2)
    assert naive.throttled > 0
    assert sum(len(p.products) for p in pages) == 63


def test_throttled_response_shape_and_bucket_restore(shop: FakeShopify) -> None:
    shop.state.add_product(1)
    query = "query { products(first: 1) { nodes { id } } }"
    headers = {"X-Shopify-Access-Token": shop.state.access_token}
    url = f"{shop.base_url}/admin/api/2026-10/graphql.json"
    shop.state.inject("throttled")
    body = httpx.post(url, json={"query": query}, headers=headers).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    status = body["extensions"]["cost"]["throttleStatus"]
    assert status == {"maximumAvailable": 1000, "currentlyAvailable": 1000, "restoreRate": 100}
    ok = httpx.post(url, json={"query": query}, headers=headers).json()
    assert ok["extensions"]["cost"]["requestedQueryCost"] == 3
    assert ok["extensions"]["cost"]["actualQueryCost"] == 3


@pytest.mark.parametrize(
    ("kind", "options", "counter"),
    [
        ("status", {"status": 502}, "server_errors"),
        ("status", {"status": 503}, "server_errors"),
        ("429", {"retry_after_s": 0.5}, "rate_limited"),
        ("timeout", {"delay_s": 1.5}, "timeouts"),
        ("throttled", {}, "throttled"),
    ],
)
def test_faults_are_retried(
    shop: FakeShopify, kind: str, options: dict[str, Any], counter: str
) -> None:
    shop.state.add_product(1)
    shop.state.inject(kind, times=2, **options)
    result, stats = run(shop, fetch_shop, timeout_s=0.5)
    assert result.currency_code == "USD"
    assert getattr(stats, counter) == 2


def test_retries_are_bounded_and_auth_errors_are_not_retried(shop: FakeShopify) -> None:
    shop.state.inject("status", times=10, status=500)
    with pytest.raises(ShopifyUnavailable):
        run(shop, fetch_shop, max_retries=3)
    shop.state.faults.clear()
    with pytest.raises(ShopifyAuthError):
        run(shop, fetch_shop, token="wrong")


def test_unknown_currency_stops_the_sync(shop: FakeShopify) -> None:
    shop.state.currency = "XYZ"
    with pytest.raises(ShopifyCatalogError, match="XYZ"):
        run(shop, fetch_shop)


def test_bulk_operation_lifecycle_matches_pagination(shop: FakeShopify) -> None:
    for n in range(1, 41):
        shop.state.add_product(n, variants=2 + n % 3)
    pages, _ = run(shop, all_pages)
    bulk, _ = run(shop, lambda c: bulk_products(c, "USD", poll_s=0.2))
    paged = {p.id: p for pg in pages for p in pg.products}
    assert {p.id: p for p in bulk.products} == paged
    # The JSONL Shopify wrote: children on their own lines, pointing at their parent.
    body = shop.state.files[f"bulk-{bulk.operation_id.rsplit('/', 1)[1]}.jsonl"]
    rows = [json.loads(line) for line in body.decode().splitlines()]
    variants = [r for r in rows if "/ProductVariant/" in r["id"]]
    assert variants and all(r["__parentId"].startswith("gid://shopify/Product/") for r in variants)
    assert len(rows) == 40 + sum(2 + n % 3 for n in range(1, 41)) + 80

    shop.state.fail_next_bulk = True
    with pytest.raises(ShopifyCatalogError, match="failed"):
        run(shop, lambda c: bulk_products(c, "USD", poll_s=0.2))
