"""The ASGI app over real HTTP: MCP behind a bearer token, media at stable URLs."""

from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.asgi import create_app
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.factories import make_product, write_catalog
from tests.servers import free_port, serve_on_loopback

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    settings = Settings(data_dir=tmp_path / "data", api_token="t0ken-for-tests", port=port)
    db = Database.from_settings(settings)
    db.migrate()
    store = MediaStore.from_settings(settings)
    with db.session() as session:
        sync_snapshot(
            session, load_catalog_file(write_catalog(tmp_path / "cat", [make_product(1)])), store
        )
    with serve_on_loopback(create_app(settings, db, store), port) as url:
        yield url, store


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic t0ken-for-tests"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer t0ken-for-tests-and-more"},
    ],
)
def test_mcp_requires_the_bearer_token(served, headers: dict[str, str]) -> None:
    url, _ = served
    response = httpx.post(
        f"{url}/mcp",
        json=INIT,
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"  # RFC 6750


def test_no_configured_token_refuses_everyone(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path / "d", api_token=None, port=port)
    with serve_on_loopback(create_app(settings), port) as url:
        response = httpx.post(f"{url}/mcp", json=INIT, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_mcp_client_over_streamable_http(served, anyio_backend: str) -> None:
    url, _ = served
    http = httpx2.AsyncClient(headers={"Authorization": "Bearer t0ken-for-tests"})
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
        result = await client.call_tool("search_products", {"query": "product"})
        detail = await client.call_tool("get_product", {"product_id": "product-1"})
    assert result.structured_content["count"] == 1
    image_url = detail.structured_content["image_urls"][0]
    # The URL the tool hands out is served by the same app.
    media = httpx.get(image_url)
    assert media.status_code == 200 and media.headers["content-type"] == "image/png"


def test_media_is_served_with_ranges_and_refuses_escapes(served, tmp_path: Path) -> None:
    url, store = served
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"\x00" * 1000)
    key = store.put_file(source, "creatives/c1/crv_1.mp4")
    whole = httpx.get(store.url_for(key))
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = httpx.get(store.url_for(key), headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert httpx.get(f"{url}/media/creatives/none.mp4").status_code == 404
    assert httpx.get(f"{url}/media/..%2F..%2Freelcart.db").status_code == 404
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok"
    assert health["search"] in {"semantic", "warming", "cold", "keyword"}
