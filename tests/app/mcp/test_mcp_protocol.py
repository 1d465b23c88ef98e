"""Both MCP eras over real HTTP, list caching hints, and the tools' declared contracts.

The shoppers' tools are at ``/mcp``; the ACP binding has its own endpoint, the one
``/.well-known/acp.json`` advertises. Its checkout tools are checked against the binding's
own OpenRPC document and JSON Schemas in the shared spec folder (not against our bundle).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from app.acp.tool_schemas import BUNDLE_PATH, bundle
from app.asgi import create_app
from app.mcp.http import warm_search
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import create_body, require_spec, stock_shop
from tests.servers import free_port, serve_on_loopback

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("mcp-protocol")]
META = {"api_version": "2026-04-17"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("protocol-app")
    port = free_port()
    settings = Settings(data_dir=folder / "data", api_token="proto-token", port=port)
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(folder / "media"), settings.resolved_public_base_url)
    stock_shop(db, store, folder)
    warm_search(db)
    with serve_on_loopback(create_app(settings, db, store), port=port) as base:
        yield base
    db.dispose()


@pytest.fixture(scope="module")
def mcp_url(base_url: str) -> str:
    return f"{base_url}/mcp"


@pytest.fixture(scope="module")
def acp_url(base_url: str) -> str:
    """The ACP binding's endpoint, found as a platform finds it: from the discovery document."""
    discovery = httpx.get(f"{base_url}/.well-known/acp.json", timeout=10).json()
    assert "mcp" in discovery["transports"]
    return next(t["url"] for t in discovery["transport_endpoints"] if t["type"] == "mcp")


def _client(url: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": "Bearer proto-token"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
async def test_both_eras_serve_the_same_tools(mcp_url: str, acp_url: str, mode: str) -> None:
    async with _client(mcp_url, mode) as client:
        expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.protocol_version == expected
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        found = await client.call_tool("search_products", {"query": "coffee cup"})
    async with _client(acp_url, mode) as client:
        assert client.protocol_version == expected
        acp_tools = {t.name for t in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as acp_error:
            await client.call_tool(
                "create_checkout_session",
                {"meta": META, "payload": create_body() | {"totals": []}},
            )
    assert found.structured_content["products"][0]["title"] == "Stoneware Mug"
    assert {"search_products", "get_product", "create_checkout", "get_order"} <= set(tools)
    assert "create_checkout_session" not in tools
    assert {"create_checkout_session", "complete_checkout_session", "get_order"} <= acp_tools
    # The binding's error shape: -32000 with ACP's Error, naming the field to drop.
    assert acp_error.value.code == -32000
    assert acp_error.value.data["param"] == "$.totals"
    assert "computed by the merchant" in acp_error.value.data["message"]
    if mode != "legacy":  # caching hints are a 2026-07-28 field
        assert listed.ttl_ms == 300_000 and listed.cache_scope == "public"


async def test_every_tool_declares_output_schema_and_annotations(
    mcp_url: str, acp_url: str
) -> None:
    async with _client(mcp_url, "2026-07-28") as client:
        tools = (await client.list_tools()).tools
        resources = await client.list_resources()
    async with _client(acp_url, "2026-07-28") as client:
        tools += (await client.list_tools()).tools
    for tool in tools:
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
        Draft202012Validator.check_schema(tool.output_schema)
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.annotations is not None, tool.name
        assert tool.description, tool.name
    by_name = {t.name: t.annotations for t in tools}
    assert by_name["search_products"].read_only_hint is True
    assert by_name["get_checkout"].read_only_hint is True
    assert by_name["cancel_checkout"].destructive_hint is True  # ends it, refunds a paid one
    assert by_name["get_checkout_session"].read_only_hint is True
    assert by_name["complete_checkout_session"].open_world_hint is True  # charges via Stripe
    assert by_name["cancel_checkout_session"].destructive_hint is True
    assert by_name["get_product"].read_only_hint is False  # it counts an impression
    assert resources.ttl_ms == 300_000


def _resolve(schema: Any, root: dict[str, Any], spec: Path) -> Any:
    """Resolve the OpenRPC's file-relative references into one self-contained schema."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target, _, pointer = ref.partition("#")
            document = root if not target else json.loads((spec / "openrpc" / target).read_text())
            node: Any = document
            for part in pointer.strip("/").split("/"):
                node = node[part]
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return {**_resolve(node, document, spec), **rest}
        return {k: _resolve(v, root, spec) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolve(v, root, spec) for v in schema]
    return schema


async def test_checkout_tools_carry_the_bindings_full_schemas(acp_url: str) -> None:
    spec = require_spec()
    openrpc = json.loads((spec / "openrpc" / "openrpc.agentic_checkout.json").read_text())
    assert json.loads(BUNDLE_PATH.read_text()) == bundle(spec)  # the shipped bundle is current
    async with _client(acp_url, "2026-07-28") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    samples = {
        "create_checkout_session": {"meta": META, "payload": create_body()},
        "complete_checkout_session": {
            "meta": META,
            "id": "cs_1",
            "payload": {
                "payment_data": {
                    "handler_id": "card_tokenized",
                    "instrument": {"type": "card", "credential": {"type": "spt", "token": "x"}},
                }
            },
        },
        "get_checkout_session": {"meta": META, "id": "cs_1"},
        "cancel_checkout_session": {"meta": META, "id": "cs_1"},
    }
    for method in openrpc["methods"]:
        tool = tools[method["name"]]
        served = tool.input_schema
        assert served["required"] == [p["name"] for p in method["params"] if p.get("required")]
        assert served["examples"], method["name"]
        example = served["examples"][0]
        assert Draft202012Validator(served).is_valid(example), method["name"]
        for param in method["params"]:
            if param["name"] in example:  # valid against the spec's own parameter schema
                reference = _resolve(param["schema"], openrpc, spec)
                Draft202012Validator(reference).validate(example[param["name"]])
        if method["name"] in samples:
            assert Draft202012Validator(served).is_valid(samples[method["name"]])
        bad = {"meta": {}, "payload": {"line_items": "x"}}
        assert not Draft202012Validator(served).is_valid(bad), method["name"]
    create = tools["create_checkout_session"].input_schema
    payload = create["$defs"]["CheckoutSessionCreateRequest"]
    assert "capabilities" in payload["required"]  # nothing left for an assistant to guess
    complete = json.dumps(tools["complete_checkout_session"].input_schema["examples"])
    assert '"handler_id": "card_tokenized"' in complete


async def test_invalid_checkout_input_is_named_in_acps_shape(acp_url: str) -> None:
    async with _client(acp_url, "2026-07-28") as client:
        with pytest.raises(MCPError) as missing:
            body = create_body()
            del body["capabilities"]
            await client.call_tool("create_checkout_session", {"meta": META, "payload": body})
        with pytest.raises(MCPError) as wrong_type:
            await client.call_tool(
                "create_checkout_session",
                {"meta": META, "payload": create_body() | {"line_items": [{"id": 5}]}},
            )
    assert missing.value.code == -32000
    assert missing.value.data == {
        "type": "invalid_request",
        "code": "missing",
        "message": "$.capabilities: 'capabilities' is required",
        "param": "$.capabilities",
    }
    assert wrong_type.value.data["param"] == "$.line_items[0].id"
