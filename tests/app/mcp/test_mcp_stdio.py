"""`reelcart mcp` speaks MCP over stdio to a real client that launches it.

A fresh process, as a desktop assistant starts it: the first search is answered by meaning
(the model is warmed before the server reads stdin), every tool of /mcp is there, checkout
included, the media links in results answer, and the process exits cleanly.
"""

import os
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from tests.commerce.showcase_media import publish_playable_creative
from tests.factories import make_product, write_catalog


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stdio_server_serves_every_tool_and_working_media(
    tmp_path: Path, anyio_backend: str
) -> None:
    products = [
        make_product(7, title="Linen Apron", tags=["kitchen"]),
        make_product(8, title="Stoneware Mug", tags=["coffee"]),
    ]
    catalog = write_catalog(tmp_path / "store", products)
    data = tmp_path / "data"
    env = {**os.environ, "REELCART_DATA_DIR": str(data), "REELCART_API_TOKEN": "t"}
    env.pop("REELCART_DATABASE_URL", None)
    env.pop("REELCART_PUBLIC_BASE_URL", None)
    cli = [sys.executable, "-m", "app.cli"]
    db = Database(f"sqlite:///{data / 'reelcart.db'}")
    db.migrate()
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(catalog), MediaStore(str(data / "media"), ""))
    publish_playable_creative(db, data / "media", "gid://shopify/Product/8")
    db.dispose()

    params = StdioServerParameters(command=cli[0], args=[*cli[1:], "mcp"], env=env)
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            era = client.protocol_version  # "auto": discovered, the stateless era
            # The first call after start, by meaning: no word of the query is in the product.
            first = await client.call_tool("search_products", {"query": "something to drink from"})
            tools = {t.name for t in (await client.list_tools()).tools}
            shown = await client.call_tool(
                "get_product", {"product_id": "product-8", "shopper_id": "desk-1"}
            )
            missing = await client.call_tool("get_product", {"product_id": "nope"})
            links = {c.name: c for c in shown.content if c.type == "resource_link"}
            fetched = {name: httpx.get(str(link.uri)) for name, link in links.items()}
        errlog.seek(0)
        stderr = errlog.read()
    assert era == "2026-07-28"
    assert first.structured_content["products"][0]["title"] == "Stoneware Mug"
    assert {
        "create_checkout",
        "get_checkout",
        "get_order",
        "search_products",
        "get_product",
    } <= tools
    assert set(links) == {"product-8-video", "product-8-poster", "product-8-captions"}
    creative = shown.structured_content["creative"]
    assert str(links["product-8-video"].uri) == creative["video_url"]
    for name, response in fetched.items():
        assert response.status_code == 200, name
    assert fetched["product-8-video"].headers["content-type"] == "video/mp4"
    assert fetched["product-8-captions"].text.startswith("WEBVTT")
    assert missing.is_error and "search_products" in missing.content[0].text
    assert "terminate called" not in stderr
    assert "Traceback" not in stderr
