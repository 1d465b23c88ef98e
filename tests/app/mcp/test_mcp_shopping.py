"""The shoppers' ``/mcp``: sized for models, answers a model can act on.

Sizes are measured as a host sees them: the whole ``tools/list`` result as JSON, and the
parts a host puts before the model (name, description, input schema) counted with the
o200k tokenizer (tiktoken, ``tests.tokens``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from app.mcp.server import build_mcp_server
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.app.mcp.hosts import AppsHost
from tests.commerce.acp_helpers import ADDRESS, BOTTLE, MUG, acp_settings, stock_shop
from tests.factories import make_product, write_catalog
from tests.tokens import o200k

pytestmark = pytest.mark.anyio
MAX_LIST_BYTES = 32 * 1024
MAX_MODEL_TOKENS = 4000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shop(db: Database, store: MediaStore, settings: Settings, tmp_path: Path) -> Any:
    stock_shop(db, store, tmp_path)
    service = build_checkout_service(db, store, acp_settings(settings, "http://127.0.0.1:9"))
    return build_mcp_server(db, store, checkout=service)


def _model_visible(tools: list[Any]) -> str:
    return "".join(
        t.name + (t.description or "") + json.dumps(t.input_schema, separators=(",", ":"))
        for t in tools
    )


async def test_tools_list_fits_a_models_context(shop: Any) -> None:
    async with Client(shop, extensions=[AppsHost()]) as client:
        listed = await client.list_tools()
    names = {t.name for t in listed.tools}
    assert {"search_products", "get_product", "create_checkout", "get_checkout"} <= names
    assert "create_checkout_session" not in names  # the ACP binding has its own endpoint
    whole = listed.model_dump_json(by_alias=True, exclude_none=True)
    assert len(whole.encode()) < MAX_LIST_BYTES, len(whole.encode())
    model = [t for t in listed.tools if (t.meta or {}).get("ui", {}).get("visibility") != ["app"]]
    tokens = len(o200k().encode(_model_visible(model)))
    assert tokens < MAX_MODEL_TOKENS, tokens
    for tool in listed.tools:
        assert "$defs" not in json.dumps(tool.output_schema or {}), tool.name
        assert tool.annotations is not None, tool.name
        assert "rst" not in (tool.description or "") and "``" not in (tool.description or "")


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_app_tools_are_listed_only_to_hosts_with_mcp_apps(shop: Any, mode: str) -> None:
    async with Client(shop, mode=mode) as plain:
        names = {t.name for t in (await plain.list_tools()).tools}
    async with Client(shop, mode=mode, extensions=[AppsHost()]) as app_host:
        with_apps = {t.name for t in (await app_host.list_tools()).tools}
    assert "record_video_event" not in names
    assert "record_video_event" in with_apps


async def test_every_problem_is_named_at_once_stock_before_address(shop: Any) -> None:
    async with Client(shop) as client:
        result = await client.call_tool(
            "create_checkout",
            {
                "items": [{"variant_id": BOTTLE, "quantity": 1}, {"variant_id": "nope"}],
                "shipping_address": {"name": "Ada", "country": "US"},
            },
        )
    assert result.is_error
    text = result.content[0].text
    assert "items[1]: no product or variant 'nope'" in text
    assert "items[0]: Steel Bottle" in text and "sold out" in text
    assert "shipping_address.city: is required" in text
    assert text.index("sold out") < text.index("shipping_address.city")
    assert "Next:" in text


async def test_a_product_id_asks_which_variant(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    from commerce.catalog.store import sync_snapshot
    from connectors.catalog_file import load_catalog_file

    product = make_product(7, title="Linen Shirt", price="40.00", stock=5)
    second = dict(product["variants"][0], id="gid://shopify/ProductVariant/72", title="Large")
    product["variants"] = [dict(product["variants"][0], title="Small"), second]
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(tmp_path, [product])), store)
    service = build_checkout_service(db, store, acp_settings(settings, None))
    async with Client(build_mcp_server(db, store, checkout=service)) as client:
        result = await client.call_tool(
            "create_checkout", {"items": [{"variant_id": "gid://shopify/Product/7"}]}
        )
    assert result.is_error
    text = result.content[0].text
    assert (
        "which one" in text
        and "Small [" in text
        and "Large [gid://shopify/ProductVariant/72]" in text
    )


async def test_wrong_arguments_are_plain_words_not_a_validation_dump(shop: Any) -> None:
    async with Client(shop) as client:
        result = await client.call_tool(
            "create_checkout", {"items": [{"quantity": "two"}], "email": 5}
        )
    assert result.is_error
    text = result.content[0].text
    assert "items[0].variant_id: is required" in text
    assert "items[0].quantity: must be an int" in text
    assert "email: must be a string" in text
    assert "pydantic" not in text and "errors.pydantic.dev" not in text


async def test_checkout_answers_in_minor_units_with_display_and_continue_url(
    shop: Any, settings: Settings
) -> None:
    async with Client(shop) as client:
        result = await client.call_tool(
            "create_checkout",
            {
                "items": [{"variant_id": MUG, "quantity": 2}],
                "shopper_id": "conv-1",
                "email": "ada@example.com",
                "shipping_address": ADDRESS,
            },
        )
        assert not result.is_error, result.content
        view = result.structured_content
        got = await client.call_tool("get_checkout", {"checkout_id": view["checkout_id"]})
    assert view["status"] == "ready_for_payment"
    line = view["items"][0]
    assert line["quantity"] == 2 and line["unit_price"] == {
        "amount": 2400,
        "currency": "USD",
        "display": "$24.00",
    }
    assert view["totals"]["subtotal"]["amount"] == 4800
    assert view["continue_url"].endswith(f"/checkout/{view['checkout_id']}")
    assert view["continue_url"].startswith(settings.resolved_public_base_url)
    assert got.structured_content["checkout_id"] == view["checkout_id"]
