"""The buyer handoff over real HTTP: the store's page, Stripe Checkout in the stand-in, the
signed webhook, and the agent polling — with the faults a real Stripe brings.

A fresh app serves the page and ``/webhooks/stripe``; the Stripe stand-in (localstripe with
Checkout Sessions, a hosted page and signed webhooks) is told to deliver to it. An agent
shops with the compact tools over MCP (the SDK's HTTP client); the buyer is an HTTP client
following the page's forms and redirects. Every run ends with the money invariant read from
the stand-in's own records: every succeeded payment has exactly one order or one refund.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.asgi import create_app
from app.mcp.http import warm_search
from commerce.checkout.factory import build_checkout_service
from commerce.checkout.reconcile import reconcile_payments
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import CheckoutSession, Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import ADDRESS, MUG, localstripe, stock_shop
from tests.commerce.payment_checks import assert_money_invariant, wait_for
from tests.factories import add_published_creatives
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe"]
pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("checkout-handoff")]
STOCK = 50
TOKEN = "handoff-token"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Shop:
    base: str
    stripe: str
    db: Database
    settings: Settings
    store: MediaStore
    checkouts: set[str]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe) -> Iterator[Shop]:
    folder: Path = tmp_path_factory.mktemp("handoff")
    port = free_port()
    secret = "whsec_" + secrets.token_hex(16)
    settings = Settings(
        data_dir=folder / "data",
        api_token=TOKEN,
        port=port,
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe.url,
        stripe_webhook_secret=secret,
    )
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(folder / "media"), settings.resolved_public_base_url)
    stock_shop(db, store, folder, stock=STOCK)
    add_published_creatives(db, "gid://shopify/Product/1", {"crv_handoff": "title"})
    warm_search(db)
    # Stripe is told where the store's webhook endpoint is, and shares its signing secret.
    registered = httpx.post(
        f"{localstripe.url}/_config/webhooks/reelcart-handoff",
        data={"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": secret},
        timeout=10,
    )
    registered.raise_for_status()
    with serve_on_loopback(create_app(settings, db, store), port=port) as base:
        yield Shop(base, localstripe.url, db, settings, store, set())
    _delivery(localstripe.url, "before")
    db.dispose()


def _delivery(stripe_url: str, mode: str, delay_s: float = 0.5) -> None:
    httpx.post(
        f"{stripe_url}/_config/checkout_delivery",
        json={"mode": mode, "delay_s": delay_s},
        timeout=10,
    ).raise_for_status()


def _deliveries(stripe_url: str, stripe_session: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{stripe_url}/_config/checkout_deliveries", timeout=10).json()
    events = httpx.get(
        f"{stripe_url}/v1/checkout/sessions/{stripe_session}", auth=(API_KEY, ""), timeout=10
    )
    assert events.status_code == 200
    return [d for d in found if d["type"] == "checkout.session.completed"]


async def _agent_checkout(shop: Shop, shopper: str) -> dict[str, Any]:
    """What an assistant does: show the product (its video), start a checkout."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with Client(streamable_http_client(f"{shop.base}/mcp", http_client=http)) as client:
        shown = await client.call_tool(
            "get_product", {"product_id": "product-1", "shopper_id": shopper}
        )
        assert not shown.is_error, shown.content
        created = await client.call_tool(
            "create_checkout",
            {
                "items": [{"variant_id": MUG, "quantity": 1}],
                "shopper_id": shopper,
                "email": "ada@example.com",
                "shipping_address": ADDRESS,
            },
        )
    assert not created.is_error, created.content
    view = dict(created.structured_content or {})
    shop.checkouts.add(view["checkout_id"])
    return view


async def _agent_polls(shop: Shop, checkout_id: str) -> dict[str, Any]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with Client(streamable_http_client(f"{shop.base}/mcp", http_client=http)) as client:
        got = await client.call_tool("get_checkout", {"checkout_id": checkout_id})
    assert not got.is_error, got.content
    return dict(got.structured_content or {})


def _open_payment_page(buyer: httpx.Client, continue_url: str) -> str:
    """The buyer opens continue_url and presses Pay: Stripe's hosted page URL."""
    page = buyer.get(continue_url)
    assert page.status_code == 200 and "id='pay'" in page.text, page.text[:500]
    pay = buyer.post(f"{continue_url}/pay", follow_redirects=False)
    assert pay.status_code == 303, pay.text[:500]
    return pay.headers["location"]


def _pay(buyer: httpx.Client, hosted_url: str) -> httpx.Response:
    """The buyer pays on Stripe's page with the test card."""
    page = buyer.get(hosted_url)
    assert page.status_code == 200 and "Pay" in page.text
    return buyer.post(hosted_url, data={"card": "4242424242424242"})


def _stripe_session(hosted_url: str) -> str:
    match = re.search(r"/c/pay/(cs_test_\w+)", hosted_url)
    assert match is not None, hosted_url
    return match.group(1)


async def test_buyer_pays_on_the_page_and_the_agent_sees_the_attributed_order(shop: Shop) -> None:
    view = await _agent_checkout(shop, "chat-handoff-1")
    assert view["status"] == "ready_for_payment"
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        page = buyer.get(view["continue_url"]).text
        assert "crv_handoff" in page  # the video the shopper saw
        assert "$24.00" in page and "name='discount_code'" in page
        hosted = _open_payment_page(buyer, view["continue_url"])
        assert hosted.startswith(shop.stripe)
        stripe_id = _stripe_session(hosted)
        session = httpx.get(
            f"{shop.stripe}/v1/checkout/sessions/{stripe_id}", auth=(API_KEY, ""), timeout=10
        ).json()
        paid = _pay(buyer, hosted)
    assert session["metadata"]["checkout_session_id"] == view["checkout_id"]
    assert session["metadata"]["shopper_id"] == "chat-handoff-1"
    assert session["metadata"]["creative_id"] == "crv_handoff"
    total = view["totals"]["total"]["amount"]
    assert session["amount_total"] == total
    # Back on the store's page, which already knows (the webhook came before the redirect).
    assert paid.status_code == 200 and "data-status='completed'" in paid.text
    polled = await _agent_polls(shop, view["checkout_id"])
    assert polled["status"] == "completed" and polled["order"] is not None
    with shop.db.session() as s:
        order = s.get(Order, polled["order"]["order_id"])
        assert order is not None and order.creative_id == "crv_handoff"
        assert order.subject == "chat-handoff-1" and order.total_minor == total
    assert len(_deliveries(shop.stripe, stripe_id)) >= 1


@pytest.mark.parametrize("mode", ["drop", "twice", "after"])
async def test_webhook_faults_end_in_one_order(shop: Shop, mode: str) -> None:
    _delivery(shop.stripe, mode, delay_s=0.3)
    try:
        view = await _agent_checkout(shop, f"chat-fault-{mode}")
        before = len(httpx.get(f"{shop.stripe}/_config/checkout_deliveries", timeout=10).json())
        with httpx.Client(timeout=30, follow_redirects=True) as buyer:
            hosted = _open_payment_page(buyer, view["continue_url"])
            if mode == "drop":
                # The buyer closes the tab on Stripe's page: nobody comes back to the store.
                paid = _pay(httpx.Client(timeout=30, follow_redirects=False), hosted)
                assert paid.status_code == 303
            else:
                paid = _pay(buyer, hosted)
                assert paid.status_code == 200
    finally:
        _delivery(shop.stripe, "before")
    if mode == "drop":
        with shop.db.session() as s:
            cs = s.get(CheckoutSession, view["checkout_id"])
            assert cs is not None and cs.status == "ready_for_payment"  # nobody told the store
        service = build_checkout_service(shop.db, shop.store, shop.settings)
        report = reconcile_payments(service)
        assert report.settled["hosted"] == 1
    if mode == "after":
        expected = before + 1
        wait_for(
            lambda: len(httpx.get(f"{shop.stripe}/_config/checkout_deliveries").json()) >= expected,
            10,
        )
    polled = await _agent_polls(shop, view["checkout_id"])
    assert polled["status"] == "completed"
    delivered = httpx.get(f"{shop.stripe}/_config/checkout_deliveries", timeout=10).json()
    sent = delivered[before:]
    assert len(sent) == {"drop": 0, "twice": 2, "after": 1}[mode]
    assert all(d["status"] == 200 for d in sent)
    with shop.db.session() as s:
        orders = s.query(Order).filter_by(checkout_session_id=view["checkout_id"]).all()
    assert len(orders) == 1


async def test_two_tabs_paying_twice_are_refunded_once(shop: Shop) -> None:
    view = await _agent_checkout(shop, "chat-two-tabs")
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        with httpx.Client(timeout=30) as first_tab:
            first = _open_payment_page(first_tab, view["continue_url"])
        with httpx.Client(timeout=30) as second_tab:
            second = _open_payment_page(second_tab, view["continue_url"])
        assert _stripe_session(first) != _stripe_session(second)
        assert _pay(buyer, first).status_code == 200
        assert _pay(buyer, second).status_code == 200
    with shop.db.session() as s:
        orders = s.query(Order).filter_by(checkout_session_id=view["checkout_id"]).all()
    assert len(orders) == 1
    refunds = httpx.get(
        f"{shop.stripe}/v1/refunds", params={"limit": 100}, auth=(API_KEY, ""), timeout=10
    ).json()["data"]
    intents = {
        pi["id"]
        for pi in httpx.get(
            f"{shop.stripe}/v1/payment_intents",
            params={"limit": 100},
            auth=(API_KEY, ""),
            timeout=10,
        ).json()["data"]
        if pi["metadata"].get("checkout_session_id") == view["checkout_id"]
    }
    assert len(intents) == 2
    assert len([r for r in refunds if r["payment_intent"] in intents]) == 1


async def test_checkout_ending_mid_payment_is_never_charged_or_is_refunded(shop: Shop) -> None:
    # The agent cancels while the buyer is on Stripe's page: the page is closed at Stripe.
    canceled = await _agent_checkout(shop, "chat-cancel-mid")
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        hosted = _open_payment_page(buyer, canceled["continue_url"])
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        async with Client(streamable_http_client(f"{shop.base}/mcp", http_client=http)) as client:
            done = await client.call_tool(
                "cancel_checkout", {"checkout_id": canceled["checkout_id"]}
            )
        assert done.structured_content["status"] == "canceled"
        refused = _pay(buyer, hosted)
        assert refused.status_code == 409 and "expired" in refused.text
    # The checkout expires while Stripe's page is still open: the late payment is refunded.
    expired = await _agent_checkout(shop, "chat-expire-mid")
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        hosted = _open_payment_page(buyer, expired["continue_url"])
        with shop.db.session() as s:
            cs = s.get(CheckoutSession, expired["checkout_id"])
            assert cs is not None
            cs.expires_at = cs.created_at  # its time is up
        paid = _pay(buyer, hosted)
        assert paid.status_code == 200 and "data-status='expired'" in paid.text
    polled = await _agent_polls(shop, expired["checkout_id"])
    assert polled["status"] == "expired" and polled["order"] is None


def test_every_succeeded_payment_has_one_order_or_one_refund(shop: Shop) -> None:
    """Read last (the tests above share this shop): the stand-in's records against ours."""
    assert shop.checkouts, "runs after the handoff tests"
    counts = assert_money_invariant(shop.db, shop.stripe, shop.checkouts, STOCK)
    assert counts["charged"] == counts["orders"] + counts["refunded"]


def test_a_forged_webhook_is_refused(shop: Shop) -> None:
    body = b'{"id":"evt_1","type":"checkout.session.completed","data":{"object":{}}}'
    forged = httpx.post(
        f"{shop.base}/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": "t=1,v1=" + "0" * 64},
        timeout=10,
    )
    assert forged.status_code == 400
