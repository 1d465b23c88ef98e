"""What ``/mcp``'s ``tools/list`` costs a model: bytes of the whole list, and o200k tokens of
what a host shows the model (name, description, input schema of the model-visible tools).

Run from a checkout: ``python -m bench.mcp_tool_sizes``. Prints the shopping endpoint and,
as the baseline in the same run, the ACP binding's tools (what ``/mcp`` listed before they
moved to their own endpoint) plus the catalog tools.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server import MCPServer

from app.mcp.server import build_mcp_server
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.tokens import o200k


async def _measure(server: MCPServer, extra: list[Any] | None = None) -> tuple[int, int, int]:
    async with Client(server) as client:
        listed = await client.list_tools()
    tools = list(listed.tools) + (extra or [])
    whole = json.dumps(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}
    )
    visible = [t for t in tools if (t.meta or {}).get("ui", {}).get("visibility") != ["app"]]
    text = "".join(
        t.name + (t.description or "") + json.dumps(t.input_schema, separators=(",", ":"))
        for t in visible
    )
    return len(tools), len(whole.encode()), len(o200k().encode(text))


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.model_validate({"data_dir": Path(folder) / "data"})
        db = Database(f"sqlite:///{folder}/bench.db")
        db.migrate()
        store = MediaStore(f"{folder}/media", settings.resolved_public_base_url)
        checkout = build_checkout_service(db, store, settings)
        shopping = build_mcp_server(db, store, checkout=checkout)
        from app.acp.mcp_server import build_acp_mcp_server

        async with Client(build_acp_mcp_server(checkout)) as client:
            acp_tools = list((await client.list_tools()).tools)
        catalog = build_mcp_server(db, store)
        for label, server, extra in (
            ("baseline: catalog tools + ACP binding on one endpoint", catalog, acp_tools),
            ("/mcp now (shopping tools)", shopping, None),
        ):
            count, size, tokens = await _measure(server, extra)
            print(
                f"{label}: {count} tools, tools/list {size / 1024:.1f} KB, "
                f"model-visible {tokens} tokens (o200k)"
            )
        db.dispose()


if __name__ == "__main__":
    anyio.run(main)
