"""Every MCP endpoint the app serves, in both protocol eras: protocol-level errors and
tool schemas that every major host's schema dialect accepts.

The endpoints are found from the app's routes (any path ending in ``mcp``), so an endpoint
added later is covered without a change here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from starlette.routing import Route

from app.asgi import create_app
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.app.mcp.host_schema_rules import host_schema_problems
from tests.servers import free_port, serve_on_loopback

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("mcp-every-endpoint")]
TOKEN = "every-endpoint-token"
ERAS = ["legacy", "2026-07-28"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    folder: Path = tmp_path_factory.mktemp("every-endpoint")
    port = free_port()
    settings = Settings.model_validate(
        {"data_dir": folder / "data", "api_token": TOKEN, "port": port}
    )
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(folder / "media"), settings.resolved_public_base_url)
    app = create_app(settings, db, store)
    paths = sorted(
        r.path
        for r in app.routes
        if isinstance(r, Route) and r.path.endswith("mcp") and "well-known" not in r.path
    )
    with serve_on_loopback(app, port=port) as base:
        yield base, paths
    db.dispose()


def _client(url: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode)


def test_the_app_serves_several_mcp_endpoints(served: tuple[str, list[str]]) -> None:
    assert {"/mcp", "/ucp/mcp"} <= set(served[1])


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_prompt_and_tool_are_invalid_params(
    served: tuple[str, list[str]], mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    base, paths = served
    caplog.set_level(logging.INFO)
    for path in paths:
        async with _client(base + path, mode) as client:
            with pytest.raises(MCPError) as prompt:
                await client.get_prompt("no_such_prompt")
            with pytest.raises(MCPError) as tool:
                await client.call_tool("no_such_tool", {})
        # JSON-RPC's "Invalid params" (the MCP spec's code for an unknown prompt or tool).
        assert (prompt.value.code, tool.value.code) == (INVALID_PARAMS, INVALID_PARAMS), path
        assert "no_such_prompt" in prompt.value.message
        assert "no_such_tool" in tool.value.message
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


@pytest.mark.parametrize("mode", ERAS)
async def test_every_tool_schema_is_accepted_by_strict_host_dialects(
    served: tuple[str, list[str]], mode: str
) -> None:
    base, paths = served
    problems: list[str] = []
    for path in paths:
        async with _client(base + path, mode) as client:
            tools = (await client.list_tools()).tools
        assert tools, path
        for tool in tools:
            schemas: dict[str, Any] = {"input": tool.input_schema}
            if tool.output_schema is not None:
                schemas["output"] = tool.output_schema
            for kind, schema in schemas.items():
                problems += [
                    f"{path} {tool.name} {kind}: {p}" for p in host_schema_problems(schema)
                ]
    assert not problems, "\n".join(problems)


def test_every_mcp_server_is_built_with_the_shared_rules() -> None:
    # The error rules live in one builder; a server constructed directly would miss them.
    root = Path(__file__).resolve().parents[3] / "app"
    direct = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "MCPServer(" in path.read_text() and path.name != "mcp_server_base.py"
    ]
    assert not direct
