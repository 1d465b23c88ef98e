"""The ACP MCP binding through the SDK's in-memory client: results and errors per spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.testclient import TestClient

from app.acp.mcp_server import build_acp_mcp_server
from app.idempotency import IdempotencyStore, fingerprint
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    MUG,
    acp_app,
    acp_settings,
    complete_body,
    create_body,
    delegate,
    headers,
    localstripe,
    stock_shop,
    total_of,
    validate,
)
from tests.commerce.payment_checks import stripe_list
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]
pytestmark = pytest.mark.anyio
META = {"api_version": "2026-04-17"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_checkout_over_mcp(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path)
    app_settings = acp_settings(settings, localstripe.url)
    service = build_checkout_service(db, store, app_settings)
    server = build_acp_mcp_server(service)
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {
            "create_checkout_session",
            "get_checkout_session",
            "update_checkout_session",
            "complete_checkout_session",
            "cancel_checkout_session",
            "get_order",
        } <= names
        meta = META | {"idempotency_key": "mcp-1"}
        created = await client.call_tool(
            "create_checkout_session", {"meta": meta, "payload": create_body({"id": MUG})}
        )
        session = created.structured_content
        validate("CheckoutSession", session)
        replay = await client.call_tool(
            "create_checkout_session", {"meta": meta, "payload": create_body({"id": MUG})}
        )
        assert replay.structured_content["id"] == session["id"]  # idempotency key honoured

        with TestClient(acp_app(db, store, app_settings)) as rest:
            token = delegate(rest, session)  # the delegate payment API is REST-only
        done = await client.call_tool(
            "complete_checkout_session",
            {"meta": META, "id": session["id"], "payload": complete_body(token)},
        )
        validate("CheckoutSessionWithOrder", done.structured_content)
        order = await client.call_tool(
            "get_order", {"order_id": done.structured_content["order"]["id"]}
        )
        validate("Order", order.structured_content)
        got = await client.call_tool("get_checkout_session", {"meta": META, "id": session["id"]})
        assert got.structured_content["status"] == "completed"

        with pytest.raises(MCPError) as missing:
            await client.call_tool("get_checkout_session", {"meta": META, "id": "cs_nope"})
        assert missing.value.code == -32000
        validate("Error", missing.value.data)
        assert missing.value.data["code"] == "session_not_found"

        with pytest.raises(MCPError) as version:
            await client.call_tool("get_checkout_session", {"meta": {}, "id": session["id"]})
        assert version.value.data["supported_versions"] == ["2026-04-17"]

        with pytest.raises(MCPError) as forged:
            await client.call_tool(
                "create_checkout_session",
                {"meta": META, "payload": create_body() | {"totals": []}},
            )
        assert forged.value.data["param"] == "$.totals"

        # A refused request under an idempotency key replays the same ACP Error, whole.
        unknown = {"meta": META | {"idempotency_key": "mcp-unknown-item"}}
        unknown["payload"] = create_body({"id": "gid://shopify/ProductVariant/999"})
        errors = []
        for _ in range(2):
            with pytest.raises(MCPError) as refused:
                await client.call_tool("create_checkout_session", unknown)
            errors.append(refused.value.data)
        assert errors[0] == errors[1]
        assert errors[0]["code"] == "invalid_item_id"
        assert errors[0]["param"] == "$.line_items[0].id"
        with pytest.raises(MCPError) as too_long:
            await client.call_tool(
                "create_checkout_session",
                {"meta": META | {"idempotency_key": "k" * 256}, "payload": create_body()},
            )
        assert too_long.value.data["code"] == "invalid"

        canceled = await client.call_tool(
            "cancel_checkout_session",
            {
                "meta": META,
                "id": (
                    await client.call_tool(
                        "create_checkout_session", {"meta": META, "payload": create_body()}
                    )
                ).structured_content["id"],
            },
        )
        validate("CheckoutSession", canceled.structured_content)
        assert canceled.structured_content["status"] == "canceled"


async def test_a_checkout_created_over_rest_is_read_and_completed_over_mcp(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path)
    app_settings = acp_settings(settings, localstripe.url)
    with TestClient(acp_app(db, store, app_settings)) as rest:
        created = rest.post("/checkout_sessions", json=create_body({"id": MUG}), headers=headers())
        assert created.status_code == 201, created.text
        session = created.json()
        token = delegate(rest, session)
    server = build_acp_mcp_server(build_checkout_service(db, store, app_settings))
    async with Client(server) as client:
        got = await client.call_tool("get_checkout_session", {"meta": META, "id": session["id"]})
        assert got.structured_content == session  # one session, whichever door reads it
        done = await client.call_tool(
            "complete_checkout_session",
            {"meta": META, "id": session["id"], "payload": complete_body(token)},
        )
    validate("CheckoutSessionWithOrder", done.structured_content)
    assert done.structured_content["status"] == "completed"
    with TestClient(acp_app(db, store, app_settings)) as rest:
        after = rest.get(f"/checkout_sessions/{session['id']}", headers=headers(None))
    assert after.json()["status"] == "completed"
    assert after.json()["order"]["id"] == done.structured_content["order"]["id"]
    # The stand-in's own records: one charge, for the session's total.
    intents = stripe_list(localstripe.url, "payment_intents")
    mine = [pi for pi in intents if pi["metadata"].get("checkout_session_id") == session["id"]]
    paid = [pi for pi in mine if pi["status"] == "succeeded"]
    assert [pi["amount"] for pi in paid] == [total_of(done.structured_content)]


async def test_a_complete_resent_after_a_crash_gets_its_order_over_mcp(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    """The server died after the charge became the order, before it answered: the
    idempotency key is still marked in flight (the dead process's lease). The agent
    re-sends the same complete with the same key and gets the completed session and its
    order at once, as over REST, not a 409 for a minute and then "already completed"."""
    stock_shop(db, store, tmp_path)
    app_settings = acp_settings(settings, localstripe.url)
    with TestClient(acp_app(db, store, app_settings)) as rest:
        created = rest.post("/checkout_sessions", json=create_body({"id": MUG}), headers=headers())
        session = created.json()
        token = delegate(rest, session)
    checkout = build_checkout_service(db, store, app_settings)
    payload, key = complete_body(token), "agent-complete-1"
    # What the dead process did: claimed the key, charged, wrote the order; no answer.
    IdempotencyStore(db).begin(f"mcp complete {session['id']}", key, fingerprint(payload))
    first = checkout.complete(session["id"], payload, request_key=key)
    assert first["status"] == "completed"
    async with Client(build_acp_mcp_server(checkout)) as client:
        again = await client.call_tool(
            "complete_checkout_session",
            {"meta": {**META, "idempotency_key": key}, "id": session["id"], "payload": payload},
        )
    validate("CheckoutSessionWithOrder", again.structured_content)
    assert again.structured_content["order"]["id"] == first["order"]["id"]
    # The stand-in's own records: one charge.
    intents = stripe_list(localstripe.url, "payment_intents")
    mine = [pi for pi in intents if pi["metadata"].get("checkout_session_id") == session["id"]]
    assert len([pi for pi in mine if pi["status"] == "succeeded"]) == 1
