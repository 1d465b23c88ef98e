"""The MCP App: the showcase page, what clients without Apps get, and Buy through tool calls.

Buy runs the exact tool sequence the page runs (record_video_event, create, the test-mode
token, complete) against a real Stripe stand-in, and the attribution is read back from
the order and the events tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from sqlalchemy import select
from starlette.testclient import TestClient

from app.acp.mcp_server import build_acp_mcp_server
from app.mcp.apps import APP_URI
from app.mcp.server import build_mcp_server
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event, Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    ADDRESS,
    MUG,
    acp_app,
    acp_settings,
    create_body,
    headers,
    localstripe,
    stock_shop,
    validate,
)
from tests.commerce.showcase_media import publish_playable_creative
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]
pytestmark = pytest.mark.anyio
META = {"api_version": "2026-04-17"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_get_product_links_the_app_and_answers_clients_without_it(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    stock_shop(db, store, tmp_path)
    creative = publish_playable_creative(db, Path(store.root), "gid://shopify/Product/1")
    async with Client(build_mcp_server(db, store)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        page = await client.read_resource(APP_URI)
        shown = await client.call_tool(
            "get_product", {"product_id": "product-1", "shopper_id": "s1"}
        )
    assert tools["get_product"].meta["ui"]["resourceUri"] == APP_URI
    assert resources[APP_URI].mime_type == "text/html;profile=mcp-app"
    # The page may load media from the media origin only.
    assert resources[APP_URI].meta["ui"]["csp"] == {"resourceDomains": ["http://127.0.0.1:8787"]}
    html = page.contents[0].text
    assert page.contents[0].mime_type == "text/html;profile=mcp-app"
    assert '"ui/initialize"' in html and "record_video_event" in html
    # Without Apps: the whole answer in words, the structured detail, and media links.
    text = shown.content[0].text
    assert "Stoneware Mug" in text and "$24.00" in text and creative in text
    detail = shown.structured_content
    assert detail["creative"]["creative_id"] == creative and detail["shopper_id"] == "s1"
    assert detail["creative"]["captions_url"].endswith(".vtt")
    links = {c.mime_type: str(c.uri) for c in shown.content if c.type == "resource_link"}
    assert links == {
        "video/mp4": detail["creative"]["video_url"],
        "image/jpeg": detail["creative"]["poster_url"],
        "text/vtt": detail["creative"]["captions_url"],
    }


async def test_buy_inside_the_app_is_attributed_to_the_creative_shown(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path)
    creative = publish_playable_creative(db, Path(store.root), "gid://shopify/Product/1")
    app_settings = acp_settings(settings, localstripe.url)
    checkout = build_checkout_service(db, store, app_settings)
    async with Client(build_mcp_server(db, store, checkout=checkout)) as client:
        shown = (
            await client.call_tool("get_product", {"product_id": "product-1"})
        ).structured_content
        shopper = shown["shopper_id"]  # an anonymous caller still gets a subject to cite
        assert shopper.startswith("anon_")
        event = {"creative_id": creative, "shopper_id": shopper}
        view = await client.call_tool("record_video_event", {"kind": "view", **event})
        click = await client.call_tool("record_video_event", {"kind": "click", **event})
        again = await client.call_tool("record_video_event", {"kind": "click", **event})
        # What the App's Buy does: the compact checkout, a test-mode wallet token, pay.
        created = await client.call_tool(
            "create_checkout",
            {
                "items": [{"variant_id": MUG, "quantity": 1}],
                "shopper_id": shopper,
                "email": "ada@example.com",
                "shipping_address": ADDRESS,
            },
        )
        checkout_id = created.structured_content["checkout_id"]
        token = await client.call_tool(
            "delegate_test_payment", {"checkout_session_id": checkout_id}
        )
        done = await client.call_tool(
            "pay_checkout",
            {"checkout_id": checkout_id, "token": token.structured_content["token"]},
        )
        polled = await client.call_tool("get_checkout", {"checkout_id": checkout_id})
    # get_product counted the impression; the page's view is the same exposure.
    assert view.structured_content["recorded"] is False
    assert click.structured_content["recorded"] is True
    assert again.structured_content["recorded"] is False
    assert done.structured_content["status"] == "completed"
    assert polled.structured_content["order"]["order_id"] == done.structured_content["order_id"]
    with db.session() as s:
        order = s.get(Order, done.structured_content["order_id"])
        assert order is not None and order.creative_id == creative
        kinds = sorted(
            (e.kind, e.creative_id)
            for e in s.scalars(select(Event).where(Event.subject == shopper))
        )
    assert kinds == [
        ("checkout", creative),
        ("click", creative),
        ("impression", creative),
        ("purchase", creative),
    ]


async def test_without_stripe_the_error_names_the_missing_configuration(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    stock_shop(db, store, tmp_path)
    checkout = build_checkout_service(db, store, settings)  # no Stripe key
    async with Client(build_mcp_server(db, store, checkout=checkout)) as shopping:
        tools = {t.name for t in (await shopping.list_tools()).tools}
    async with Client(build_acp_mcp_server(checkout)) as client:
        session = (
            await client.call_tool(
                "create_checkout_session", {"meta": META, "payload": create_body({"id": MUG})}
            )
        ).structured_content
        with pytest.raises(MCPError) as refused:
            await client.call_tool(
                "complete_checkout_session",
                {
                    "meta": META,
                    "id": session["id"],
                    "payload": {
                        "payment_data": {
                            "handler_id": "card_tokenized",
                            "instrument": {
                                "type": "card",
                                "credential": {"type": "spt", "token": "vt_x"},
                            },
                        }
                    },
                },
            )
    assert "delegate_test_payment" not in tools  # no test-mode wallet without a stand-in
    data = refused.value.data
    assert data["type"] == "service_unavailable" and data["code"] == "payments_not_configured"
    assert "REELCART_STRIPE_API_KEY" in data["message"] and "card" not in data["code"]
    with TestClient(acp_app(db, store, settings)) as rest:
        vault = rest.post("/agentic_commerce/delegate_payment", json={}, headers=headers())
    # The delegate API's closed code list forces invalid_card; type, status and message
    # put the blame on the missing configuration.
    assert vault.status_code == 503
    validate("Error", vault.json(), "schema.delegate_payment.json")
    assert vault.json()["type"] == "service_unavailable"
    assert "REELCART_STRIPE_API_KEY" in vault.json()["message"]
