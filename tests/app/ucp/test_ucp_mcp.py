"""The UCP MCP binding over the same checkout core as REST: a checkout created over REST is
read and completed over MCP, its order read there too; protocol errors are JSON-RPC errors."""

from __future__ import annotations

import uuid

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from sqlalchemy import select

from reelcart.db import Database
from reelcart.models import Order

from .ucp_helpers import Platform, client, complete_body, create_body

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("ucp-rest")]
ACCEPT = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


async def test_rest_checkout_is_read_and_completed_over_mcp(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, db = served
    with client(base) as http:
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    meta = {"ucp-agent": {"profile": platform.profile}}
    transport = httpx2.AsyncClient(timeout=60)
    async with (
        transport,
        Client(streamable_http_client(f"{base}/ucp/mcp", http_client=transport)) as mcp,
    ):
        tools = {t.name for t in (await mcp.list_tools()).tools}
        assert {"create_checkout", "get_checkout", "complete_checkout", "get_order"} <= tools
        read = (
            await mcp.call_tool("get_checkout", {"meta": meta, "id": checkout_id})
        ).structured_content
        assert read is not None and read["id"] == checkout_id
        assert read["status"] == "ready_for_complete" and read["totals"] == created.json()["totals"]
        done = await mcp.call_tool(
            "complete_checkout",
            {
                "meta": {**meta, "idempotency-key": str(uuid.uuid4())},
                "id": checkout_id,
                "checkout": complete_body(),
            },
        )
        completed = done.structured_content
        assert completed is not None and completed["status"] == "completed", done
        order_id = completed["order"]["id"]
        # This platform publishes signing keys: its orders are read with a signed request.
        with pytest.raises(MCPError) as unsigned:
            await mcp.call_tool("get_order", {"meta": meta, "id": order_id})
        assert unsigned.value.error.data["code"] == "signature_missing"
        with pytest.raises(MCPError) as refused:
            await mcp.call_tool(
                "get_checkout",
                {
                    "meta": {"ucp-agent": {"profile": platform.profile, "version": "2099-01-01"}},
                    "id": checkout_id,
                },
            )
        assert refused.value.error.code == -32001
    with client(base) as http:
        again = http.get(f"/checkout-sessions/{checkout_id}", headers=platform.headers())
        assert again.json()["status"] == "completed"
        url = f"{base}/ucp/mcp"
        read = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_order", "arguments": {"meta": meta, "id": order_id}},
        }
        raw, headers = platform.signed("POST", url, read, **ACCEPT)
        order = http.post(url, content=raw, headers=headers)
        assert order.status_code == 200, order.text
        assert order.json()["result"]["structuredContent"]["checkout_id"] == checkout_id
    with db.session() as session:
        assert [o.id for o in session.scalars(select(Order))] == [order_id]


def test_signed_mcp_requests_are_verified(served: tuple[str, Platform, Database]) -> None:
    base, platform, _ = served
    url = f"{base}/ucp/mcp"
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "create_checkout",
            "arguments": {
                "meta": {"ucp-agent": {"profile": platform.profile}},
                "checkout": create_body(),
            },
        },
    }
    with client(base) as http:
        raw, headers = platform.signed("POST", url, call, **ACCEPT)
        good = http.post(url, content=raw, headers=headers)
        assert good.status_code == 200, good.text
        assert good.json()["result"]["structuredContent"]["status"] == "ready_for_complete"
        raw, headers = platform.signed("POST", url, call, **ACCEPT)
        forged = http.post(
            url, content=raw.replace(b"create_checkout", b"cancel_checkout"), headers=headers
        )
        assert (
            forged.status_code == 400
            and forged.json()["error"]["data"]["code"] == "digest_mismatch"
        )
