"""The buyer handoff over real HTTP: the store's page, Stripe Checkout in the stand-in, the
signed webhook, and the agent polling — with the faults a real Stripe brings.

A fresh app serves the page and ``/webhooks/stripe``; the Stripe stand-in (localstripe with
Checkout Sessions, a hosted page and signed webhooks) is told to deliver to it. An agent
shops with the compact tools over MCP (the SDK's HTTP client); the buyer is an HTTP client
following the page's forms and redirects. Every test ends with the money invariant read
from the stand-in's own records: every succeeded payment has exactly one order or one
refund.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from commerce.checkout.factory import build_checkout_service
from commerce.checkout.reconcile import reconcile_payments
from reelcart.models import CheckoutSession, Order, ProductVariant
from tests.app.handoff_shop import TOKEN, Shop, served_shop
from tests.commerce.acp_helpers import ADDRESS, MUG, localstripe
from tests.commerce.payment_checks import assert_money_invariant, wait_for
from tests.fakes.stripe_server import API_KEY

__all__ = ["localstripe", "served_shop"]
pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("checkout-handoff")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def shop(served_shop: Shop) -> Iterator[Shop]:
    yield served_shop
    _delivery(served_shop.stripe, "before")


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
    return view


def _stock(shop: Shop) -> int:
    with shop.db.session() as s:
        variant = s.get(ProductVariant, MUG)
        assert variant is not None
        return variant.inventory_quantity


def _money_invariant(shop: Shop, checkout_ids: set[str], stock_before: int) -> dict[str, int]:
    """Read from the stand-in's own records: every succeeded payment of these checkouts has
    exactly one order or one full refund, and the stock moved by what was sold."""
    counts = assert_money_invariant(shop.db, shop.stripe, checkout_ids, stock_before)
    assert counts["charged"] == counts["orders"] + counts["refunded"]
    return counts


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
    stock = _stock(shop)
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
    assert _money_invariant(shop, {view["checkout_id"]}, stock)["orders"] == 1


@pytest.mark.parametrize("mode", ["drop", "twice", "after"])
async def test_webhook_faults_end_in_one_order(shop: Shop, mode: str) -> None:
    stock = _stock(shop)
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
    assert _money_invariant(shop, {view["checkout_id"]}, stock)["refunded"] == 0


async def test_two_tabs_paying_twice_are_refunded_once(shop: Shop) -> None:
    stock = _stock(shop)
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
    counts = _money_invariant(shop, {view["checkout_id"]}, stock)
    assert (counts["charged"], counts["orders"], counts["refunded"]) == (2, 1, 1)


async def test_checkout_ending_mid_payment_is_never_charged_or_is_refunded(shop: Shop) -> None:
    stock = _stock(shop)
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
    both = {canceled["checkout_id"], expired["checkout_id"]}
    counts = _money_invariant(shop, both, stock)
    assert (counts["charged"], counts["orders"], counts["refunded"]) == (1, 0, 1)


def test_a_forged_webhook_is_refused(shop: Shop) -> None:
    body = b'{"id":"evt_1","type":"checkout.session.completed","data":{"object":{}}}'
    forged = httpx.post(
        f"{shop.base}/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": "t=1,v1=" + "0" * 64},
        timeout=10,
    )
    assert forged.status_code == 400


async def test_the_page_changes_the_checkout_through_the_one_pricing_core(shop: Shop) -> None:
    view = await _agent_checkout(shop, "chat-page-form")
    express = max(view["shipping_options"], key=lambda o: o["price"]["amount"])
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        changed = buyer.post(
            view["continue_url"],
            data={"quantity_0": "2", "shipping_option": express["id"], "email": "b@example.com"},
        )
        assert changed.status_code == 200, changed.text[:500]
        cleared = buyer.post(view["continue_url"], data={"quantity_0": "2", "city": ""})
    acp = httpx.get(
        f"{shop.base}/checkout_sessions/{view['checkout_id']}",
        headers={"Authorization": f"Bearer {TOKEN}", "API-Version": "2026-04-17"},
        timeout=10,
    ).json()
    # What the page shows is what every protocol reads: the same session, priced once.
    assert acp["continue_url"] == view["continue_url"]
    assert acp["line_items"][0]["quantity"] == 2
    assert acp["selected_fulfillment_options"][0]["option_id"] == express["id"]
    for total in acp["totals"]:
        shown = f"data-total='{total['type']}'><td>{total['display_text']}</td>"
        assert shown in changed.text, total
    total = next(t["amount"] for t in acp["totals"] if t["type"] == "total")
    assert total == 2 * 2400 + express["price"]["amount"] + _tax(acp)
    assert cleared.status_code == 200  # an empty field keeps what the checkout has


def _tax(view: dict[str, Any]) -> int:
    return int(next(t["amount"] for t in view["totals"] if t["type"] == "tax"))


async def test_pay_before_the_checkout_is_ready_names_what_is_missing(shop: Shop) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with Client(streamable_http_client(f"{shop.base}/mcp", http_client=http)) as client:
        created = await client.call_tool(
            "create_checkout", {"items": [{"variant_id": MUG, "quantity": 1}]}
        )
    view = dict(created.structured_content or {})
    assert view["status"] == "not_ready_for_payment"
    assert "shipping address" in " ".join(view["problems"])
    with httpx.Client(timeout=30) as buyer:
        page = buyer.get(view["continue_url"])
        refused = buyer.post(f"{view['continue_url']}/pay", follow_redirects=False)
        missing = buyer.get(f"{shop.base}/checkout/cs_nope")
    assert "id='pay'" not in page.text
    assert refused.status_code == 400 and "shipping address" in refused.text
    assert missing.status_code == 404


async def test_cancel_after_an_unannounced_payment_finds_the_order(shop: Shop) -> None:
    """The buyer paid but Stripe's webhook is lost; the agent cancels: the store asks Stripe
    first, so the payment is found and its order written — never orphaned — and the cancel
    is refused as ACP's cancel of a completed session is (the order stands)."""
    stock = _stock(shop)
    _delivery(shop.stripe, "drop")
    try:
        view = await _agent_checkout(shop, "chat-cancel-after-pay")
        with httpx.Client(timeout=30, follow_redirects=False) as buyer:
            hosted = _open_payment_page(buyer, view["continue_url"])
            assert _pay(buyer, hosted).status_code == 303  # the tab is closed on Stripe's page
    finally:
        _delivery(shop.stripe, "before")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with Client(streamable_http_client(f"{shop.base}/mcp", http_client=http)) as client:
        canceled = await client.call_tool("cancel_checkout", {"checkout_id": view["checkout_id"]})
        seen = await client.call_tool("get_checkout", {"checkout_id": view["checkout_id"]})
    assert canceled.is_error
    refusal = canceled.content[0].text  # type: ignore[union-attr]
    assert "completed" in refusal and "get_checkout" in refusal
    assert seen.structured_content["status"] == "completed"
    assert seen.structured_content["order"]["status"] != "canceled"
    counts = _money_invariant(shop, {view["checkout_id"]}, stock)
    assert (counts["charged"], counts["orders"], counts["refunded"]) == (1, 1, 0)
