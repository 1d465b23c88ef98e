"""The ACP MCP binding accepts every spec-valid call: arguments generated from the tools'
own input schemas (every optional property / only the required ones), with the same
spec-valid payloads the REST test sends, through the SDK's in-memory client."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from starlette.testclient import TestClient

from app.acp.mcp_server import build_acp_mcp_server
from app.acp.tool_schemas import tool_schemas
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.app.acp.test_acp_positive import (
    MODES,
    cancel_payload,
    card_payload,
    complete_payload,
    create_payload,
    delegate_card,
    update_payload,
)
from tests.commerce.acp_helpers import (
    VERSION,
    acp_app,
    acp_settings,
    localstripe,
    require_spec,
    stock_shop,
    validate,
)
from tests.commerce.schema_bodies import Mode, SchemaBodies
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def arguments(tool: str, mode: Mode, **fixed: Any) -> dict[str, Any]:
    """Tool arguments generated from the tool's input schema, then the real values."""
    schema = dict(tool_schemas()[tool]["input_schema"])
    defs = schema.pop("$defs")
    bodies = SchemaBodies({"$defs": {**defs, "_tool": schema}})
    generated = bodies.body("_tool", mode)
    generated["meta"] = {**generated["meta"], "api_version": VERSION}
    if "idempotency_key" in generated["meta"]:
        generated["meta"]["idempotency_key"] = str(uuid.uuid4())
    generated.update(fixed)
    bodies.check("_tool", generated)
    return generated


async def _call(client: Client, tool: str, args: dict[str, Any], definition: str) -> Any:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    validate(definition, result.structured_content)
    return result.structured_content


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_accepts_generated_arguments(
    db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
    mode: Mode,
) -> None:
    require_spec()
    stock_shop(db, store, tmp_path, stock=100)
    app_settings = acp_settings(settings, localstripe.url)
    service = build_checkout_service(db, store, app_settings)
    server = build_acp_mcp_server(service)
    with TestClient(acp_app(db, store, app_settings)) as rest:
        async with Client(server) as client:
            session = await _call(
                client,
                "create_checkout_session",
                arguments("create_checkout_session", mode, payload=create_payload(mode)),
                "CheckoutSession",
            )
            sid = session["id"]
            await _call(
                client,
                "get_checkout_session",
                arguments("get_checkout_session", mode, id=sid),
                "CheckoutSession",
            )
            session = await _call(
                client,
                "update_checkout_session",
                arguments(
                    "update_checkout_session", mode, id=sid, payload=update_payload(mode, session)
                ),
                "CheckoutSession",
            )
            assert session["status"] == "ready_for_payment", session["messages"]
            token = delegate_card(rest, card_payload(mode, session))
            done = await _call(
                client,
                "complete_checkout_session",
                arguments(
                    "complete_checkout_session",
                    mode,
                    id=sid,
                    payload=complete_payload(mode, token),
                ),
                "CheckoutSessionWithOrder",
            )
            assert done["status"] == "completed"
            other = await _call(
                client,
                "create_checkout_session",
                arguments("create_checkout_session", "minimal", payload=create_payload("minimal")),
                "CheckoutSession",
            )
            cancel = arguments("cancel_checkout_session", mode, id=other["id"])
            if mode == "full":
                cancel["payload"] = cancel_payload(mode)
            canceled = await _call(client, "cancel_checkout_session", cancel, "CheckoutSession")
            assert canceled["status"] == "canceled"
