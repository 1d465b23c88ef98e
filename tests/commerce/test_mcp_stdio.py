"""`reelcart mcp` speaks MCP over stdio to a real client that launches it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.factories import make_product, write_catalog


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stdio_server_answers_tool_calls(tmp_path: Path, anyio_backend: str) -> None:
    catalog = write_catalog(tmp_path / "store", [make_product(7, title="Linen Apron")])
    env = {**os.environ, "REELCART_DATA_DIR": str(tmp_path / "data")}
    env.pop("REELCART_DATABASE_URL", None)
    cli = [sys.executable, "-m", "reelcart.cli"]
    subprocess.run([*cli, "sync", "--file", str(catalog)], env=env, check=True, capture_output=True)
    params = StdioServerParameters(command=cli[0], args=[*cli[1:], "mcp"], env=env)
    async with Client(params) as client:
        result = await client.call_tool("search_products", {"query": "apron"})
        missing = await client.call_tool("get_product", {"product_id": "nope"})
    assert [p["title"] for p in result.structured_content["products"]] == ["Linen Apron"]
    assert missing.is_error
