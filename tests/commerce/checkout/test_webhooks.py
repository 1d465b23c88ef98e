"""Order webhooks (signed, retried) and server-side attribution of orders to creatives."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from commerce.catalog.showcase import show_creative
from commerce.checkout.webhooks import deliver_due, sign, verify
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event, OrderWebhook, Product
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
)
from tests.factories import add_published_creatives
from tests.fakes.stripe_server import LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]
SECRET = "whsec_test"


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"type":"order_create"}'
    header = sign(SECRET, body, int(time.time()))
    assert verify(header, body, SECRET)
    assert not verify(header, body + b" ", SECRET)  # tampered body
    assert not verify(header.replace("v1=", "v1=0"), body, SECRET)  # tampered signature
    assert not verify(header, body, "other-secret")
    assert not verify(sign(SECRET, body, int(time.time()) - 3600), body, SECRET)  # stale
    assert not verify("garbage", body, SECRET)


def _receiver(received: list[dict], fail_first: list[bool]) -> Starlette:
    async def events(request: Request) -> Response:
        raw = await request.body()
        if not verify(request.headers.get("merchant-signature", ""), raw, SECRET):
            return JSONResponse({"type": "invalid_request", "code": "invalid_signature"}, 401)
        if fail_first and fail_first.pop():
            return JSONResponse({"error": "try later"}, 503)
        received.append(json.loads(raw))
        return JSONResponse({"received": True})

    return Starlette(
        routes=[Route("/agentic_checkout/webhooks/order_events", events, methods=["POST"])]
    )


def test_order_is_attributed_and_webhook_delivered_with_retry(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path)
    add_published_creatives(db, "gid://shopify/Product/1", {"crv_a": "a"})
    with db.session() as session:
        product = session.get(Product, "gid://shopify/Product/1")
        assert show_creative(session, product, "shopper-7").id == "crv_a"

    received: list[dict] = []
    fail_first = [True]
    with serve_on_loopback(_receiver(received, fail_first)) as hook_url:
        app_settings = acp_settings(
            settings,
            localstripe.url,
            acp_webhook_url=f"{hook_url}/agentic_checkout/webhooks/order_events",
            acp_webhook_secret=SECRET,
        )
        placed: list = []
        app = acp_app(db, store, app_settings, order_hooks=[lambda p: placed.append(p) or "shop-1"])
        with TestClient(app) as client:
            body = create_body({"id": MUG}, shopper="shopper-7")
            body["metadata"]["creative_id"] = "crv_forged"  # claims are ignored
            session = client.post("/checkout_sessions", json=body, headers=headers()).json()
            token = delegate(client, session)
            done = client.post(
                f"/checkout_sessions/{session['id']}/complete",
                json=complete_body(token),
                headers=headers(),
            )
            assert done.status_code == 200
        deadline = time.monotonic() + 15
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [e["type"] for e in received] == ["order_create"]
    assert received[0]["data"]["checkout_session_id"] == session["id"]
    assert placed and placed[0].order_id == done.json()["order"]["id"]  # the Shopify seam ran
    with db.session() as s:
        purchase = s.scalars(select(Event).where(Event.kind == "purchase")).one()
        assert (purchase.creative_id, purchase.subject) == ("crv_a", "shopper-7")
        assert purchase.amount_minor == 2400 and purchase.currency == "USD"
        checkout = s.scalars(select(Event).where(Event.kind == "checkout")).one()
        assert checkout.creative_id == "crv_a"
        webhook = s.scalars(select(OrderWebhook)).one()
        assert webhook.attempts == 2 and webhook.delivered_at is not None


def test_undeliverable_webhook_backs_off(db: Database, settings: Settings) -> None:
    app_settings = acp_settings(
        settings, None, acp_webhook_url="http://127.0.0.1:9/hooks", acp_webhook_secret=SECRET
    )
    from reelcart.models import Order

    with db.session() as s:
        order = Order(currency="USD", total_minor=100, line_items=[])
        s.add(order)
        s.flush()
        s.add(
            OrderWebhook(
                order_id=order.id, event_type="order_create", payload={"type": "order_create"}
            )
        )
    with httpx.Client(timeout=2) as client:
        assert deliver_due(db, app_settings, client) == 0
        assert deliver_due(db, app_settings, client) == 0  # not due again yet
    with db.session() as s:
        webhook = s.scalars(select(OrderWebhook)).one()
        assert webhook.attempts == 1 and webhook.last_error


def test_one_orders_events_arrive_in_the_order_they_happened(
    db: Database, settings: Settings
) -> None:
    """A retried order_create is not overtaken by the order_update queued after it."""
    from datetime import timedelta

    from sqlalchemy import update

    from reelcart.models import Order
    from reelcart.models.base import utcnow

    with db.session() as s:
        order = Order(currency="USD", total_minor=100, line_items=[])
        s.add(order)
        s.flush()
        first = utcnow() - timedelta(seconds=2)
        for offset, kind in enumerate(("order_create", "order_update")):
            s.add(
                OrderWebhook(
                    order_id=order.id,
                    event_type=kind,
                    payload={"type": kind, "data": {"id": order.id}},
                    created_at=first + timedelta(seconds=offset),
                    next_attempt_at=first,
                )
            )
    received: list[dict] = []
    with serve_on_loopback(_receiver(received, [True])) as hook_url:
        app_settings = acp_settings(
            settings,
            None,
            acp_webhook_url=f"{hook_url}/agentic_checkout/webhooks/order_events",
            acp_webhook_secret=SECRET,
        )
        with httpx.Client(timeout=5) as client:
            deliver_due(db, app_settings, client)  # order_create refused once (503)
            with db.session() as s:  # its retry falls due at once
                s.execute(update(OrderWebhook).values(next_attempt_at=utcnow()))
            deliver_due(db, app_settings, client)
    assert [e["type"] for e in received] == ["order_create", "order_update"]
