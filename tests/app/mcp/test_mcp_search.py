"""One search for agents and the CLI, with a relevance floor, on the demo store's catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from typer.testing import CliRunner

from app.cli import app
from app.mcp.server import build_mcp_server
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import DEMO_CATALOG, get_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    db = Database.from_settings(get_settings())
    db.migrate()
    with db.session() as session:
        sync_snapshot(
            session, load_catalog_file(DEMO_CATALOG), MediaStore.from_settings(get_settings())
        )
    yield db
    db.dispose()
    get_settings.cache_clear()


async def _search(db: Database, **arguments: object) -> list[str]:
    store = MediaStore.from_settings(get_settings())
    async with Client(build_mcp_server(db, store)) as client:
        result = await client.call_tool("search_products", arguments)
    return [p["title"] for p in result.structured_content["products"]]


async def test_price_filter_never_promotes_an_unrelated_product(demo: Database) -> None:
    assert (await _search(demo, query="headphones"))[0] == "Over-Ear Wireless Headphones"
    # The only headphones cost $129: under $100 the honest answer is none, not a beanie.
    assert await _search(demo, query="headphones", max_price=10000) == []
    assert await _search(demo, query="xyzzy quantum flux") == []
    assert (await _search(demo, query="gift for a coffee lover"))[0] == "Stoneware Mug"


def test_cli_products_uses_the_agents_search(demo: Database) -> None:
    result = CliRunner().invoke(app, ["products", "gift for a coffee lover", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["title"] == "Stoneware Mug"
