"""A UCP checkout handed to the buyer: ``continue_url`` opens the store's page, the buyer
pays through Stripe Checkout (the stand-in), and the platform reads ``completed`` over UCP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.asgi import create_app
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ucp_helpers import (
    Platform,
    client,
    complete_body,
    create_body,
    platform_on_loopback,
    signed_get,
    ucp_settings,
)


@contextmanager
def served_shop(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, stripe: LocalStripe
) -> Iterator[tuple[Platform, str, httpx.Client]]:
    """A stocked shop served on loopback, Stripe's signed webhooks delivered to it, and a
    platform on loopback to sign its requests: (platform, base URL, client)."""
    stock_shop(db, store, tmp_path, stock=5)
    port = free_port()
    secret = "whsec_" + secrets.token_hex(16)
    configured = ucp_settings(settings, stripe.url, port, stripe_webhook_secret=secret)
    httpx.post(
        f"{stripe.url}/_config/webhooks/reelcart-{port}",
        data={"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": secret},
        timeout=10,
    ).raise_for_status()
    with (
        platform_on_loopback() as platform,
        serve_on_loopback(create_app(configured, db, store), port) as base,
        client(base) as http,
    ):
        yield platform, base, http


def pay_on_the_page(continue_url: str) -> str:
    """The buyer's part: Pay on the store's page, then the hosted Stripe page's test card."""
    with httpx.Client(timeout=30, follow_redirects=True) as buyer:
        pay = buyer.post(f"{continue_url}/pay", follow_redirects=False)
        assert pay.status_code == 303, pay.text[:300]
        return buyer.post(pay.headers["location"], data={"card": "4242424242424242"}).text


def test_a_ucp_checkout_is_finished_by_the_buyer_on_the_stores_page(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    with served_shop(sqlite_db, store, settings, tmp_path, localstripe) as (platform, base, http):
        url = f"{base}/checkout-sessions"
        raw, headers = platform.signed("POST", url, create_body())
        created = http.post(url, content=raw, headers=headers)
        assert created.status_code == 201, created.text
        checkout = created.json()
        assert checkout["status"] == "ready_for_complete"
        assert checkout["continue_url"] == f"{base}/checkout/{checkout['id']}"
        assert "data-status='completed'" in pay_on_the_page(checkout["continue_url"])
        after = signed_get(http, platform, f"/checkout-sessions/{checkout['id']}")
    assert after.status_code == 200, after.text
    view = after.json()
    assert view["status"] == "completed"
    assert view["order"]["id"]
    assert view["continue_url"] == checkout["continue_url"]


def test_a_payment_the_api_cannot_finish_escalates_to_the_stores_page(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    """A card that needs 3-D Secure cannot be finished over the API: UCP's answer is
    ``requires_escalation`` with ``continue_url``, where the buyer completes it."""
    with served_shop(sqlite_db, store, settings, tmp_path, localstripe) as (platform, base, http):
        url = f"{base}/checkout-sessions"
        raw, headers = platform.signed("POST", url, create_body())
        checkout = http.post(url, content=raw, headers=headers).json()
        done_url = f"{url}/{checkout['id']}/complete"
        raw, headers = platform.signed("POST", done_url, complete_body("requires_3ds_token"))
        escalated = http.post(done_url, content=raw, headers=headers)
        view = signed_get(http, platform, f"/checkout-sessions/{checkout['id']}").json()
        assert view["status"] == "requires_escalation", (escalated.status_code, escalated.text)
        assert view["continue_url"] == f"{base}/checkout/{checkout['id']}"
        pay_on_the_page(view["continue_url"])
        after = signed_get(http, platform, f"/checkout-sessions/{checkout['id']}").json()
    assert after["status"] == "completed"
    assert after["order"]["id"]
