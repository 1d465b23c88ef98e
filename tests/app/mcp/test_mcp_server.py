"""The MCP tools, called through the SDK's in-memory client (the real protocol path)."""

from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy import select

from app.mcp.server import build_mcp_server
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event
from tests.app.mcp.hosts import AppsHost
from tests.factories import add_published_creatives, make_product, write_catalog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shop(db: Database, store: MediaStore, tmp_path: Path) -> Database:
    products = [
        make_product(1, title="Stoneware Mug", price="24.00"),
        make_product(2, title="Steel Bottle", price="32.50", stock=0),
    ]
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(tmp_path, products)), store)
    return db


def _publish_two_variants(db: Database) -> list[str]:
    return add_published_creatives(
        db, "gid://shopify/Product/1", {"crv_title": "title", "crv_price": "price"}
    )


async def test_tools_are_listed_with_schemas_and_annotations(
    shop: Database, store: MediaStore
) -> None:
    async with Client(build_mcp_server(shop, store), extensions=[AppsHost()]) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"search_products", "get_product", "record_video_event"}
    assert tools["record_video_event"].meta["ui"]["visibility"] == ["app"]  # hidden from the model
    search = tools["search_products"]
    assert search.annotations is not None and search.annotations.read_only_hint is True
    assert search.input_schema["properties"]["limit"]["maximum"] == 50
    assert "products" in search.output_schema["properties"]
    assert tools["get_product"].annotations.destructive_hint is False


async def test_search_products_returns_structured_prices(shop: Database, store: MediaStore) -> None:
    async with Client(build_mcp_server(shop, store)) as client:
        result = await client.call_tool("search_products", {"query": "mug"})
    assert not result.is_error
    data = result.structured_content
    assert data["count"] == 1
    product = data["products"][0]
    assert product["title"] == "Stoneware Mug"
    assert product["price_from"] == {"amount": 2400, "currency": "USD", "display": "$24.00"}
    assert product["image_url"].startswith("http://127.0.0.1:8787/media/images/")


async def test_get_product_without_creatives(shop: Database, store: MediaStore) -> None:
    async with Client(build_mcp_server(shop, store)) as client:
        result = await client.call_tool("get_product", {"product_id": "product-2"})
    data = result.structured_content
    assert data["creative"] is None
    assert data["variants"][0]["price"]["display"] == "$32.50"
    assert data["variants"][0]["available"] is False


async def test_get_product_serves_a_sticky_creative_and_counts_one_impression(
    shop: Database, store: MediaStore
) -> None:
    ids = _publish_two_variants(shop)
    server = build_mcp_server(shop, store)
    async with Client(server) as client:
        seen = []
        for _ in range(3):
            result = await client.call_tool(
                "get_product", {"product_id": "gid://shopify/Product/1", "shopper_id": "alice"}
            )
            seen.append(result.structured_content["creative"]["creative_id"])
        shown = {
            (
                await client.call_tool(
                    "get_product", {"product_id": "product-1", "shopper_id": f"s{i}"}
                )
            ).structured_content["creative"]["creative_id"]
            for i in range(40)
        }
    assert len(set(seen)) == 1 and seen[0] in ids
    assert shown == set(ids)  # both variants get traffic
    creative = result.structured_content["creative"]
    assert creative["video_url"].endswith(".mp4") and creative["factors"]["hook"] in (
        "title",
        "price",
    )
    with shop.session() as session:
        alice = session.scalars(select(Event).where(Event.subject == "alice")).all()
        assert [(e.kind, e.creative_id) for e in alice] == [("impression", seen[0])]
        assert len(session.scalars(select(Event)).all()) == 41


@pytest.mark.parametrize("product_id", ["gid://shopify/Product/999", "no-such-handle"])
async def test_unknown_product_is_a_tool_error(
    shop: Database, store: MediaStore, product_id: str
) -> None:
    async with Client(build_mcp_server(shop, store)) as client:
        result = await client.call_tool("get_product", {"product_id": product_id})
    assert result.is_error
    text = result.content[0].text
    assert product_id in text and "search_products" in text


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("search_products", {"query": "mug", "limit": 0}),
        ("search_products", {"query": "x" * 500}),
        ("search_products", {"query": "mug", "max_price": -5}),
        ("get_product", {"product_id": ""}),
        ("get_product", {}),
    ],
)
async def test_invalid_arguments_are_tool_errors(
    shop: Database, store: MediaStore, tool: str, arguments: dict
) -> None:
    async with Client(build_mcp_server(shop, store)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
