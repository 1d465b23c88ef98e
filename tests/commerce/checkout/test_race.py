"""No oversell, over real HTTP: 50 agents race for the last 10 units; Stripe outages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Order, ProductVariant
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
    validate,
)
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]


def _payment_intents(stripe_url: str) -> list[dict]:
    response = httpx.get(
        f"{stripe_url}/v1/payment_intents", params={"limit": 100}, auth=(API_KEY, "")
    )
    response.raise_for_status()
    return list(response.json()["data"])


def _agent(base_url: str, index: int) -> tuple[str, int, str]:
    """One shopping agent: create a session for one mug, get a token, complete."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = client.post(
            "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
        )
        assert created.status_code == 201, created.text
        session = created.json()
        token = delegate(client, session)
        done = client.post(
            f"/checkout_sessions/{session['id']}/complete",
            json=complete_body(token),
            headers=headers(),
        )
        code = done.json().get("code", "") if done.status_code != 200 else ""
        if done.status_code != 200:
            validate("Error", done.json())
        return session["id"], done.status_code, code


def test_fifty_agents_race_for_ten_units(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=10)
    app = acp_app(db, store, acp_settings(settings, localstripe.url))
    with serve_on_loopback(app) as base_url, ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda i: _agent(base_url, i), range(50)))
    ok = [r for r in results if r[1] == 200]
    refused = [r for r in results if r[1] != 200]
    assert len(ok) == 10
    assert len(refused) == 40 and {(r[1], r[2]) for r in refused} == {(400, "out_of_stock")}
    with db.session() as session:
        assert len(session.scalars(select(Order)).all()) == 10
        assert session.get(ProductVariant, MUG).inventory_quantity == 0
    ours = {r[0] for r in results}
    charged = [
        pi
        for pi in _payment_intents(localstripe.url)
        if pi["metadata"].get("checkout_session_id") in ours and pi["status"] == "succeeded"
    ]
    assert len(charged) == 10


def test_stripe_down_mid_checkout_then_back(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    stock_shop(db, store, tmp_path, stock=1)
    stripe = LocalStripe(tmp_path / "stripe").start()
    try:
        app = acp_app(db, store, acp_settings(settings, stripe.url))
        with (
            serve_on_loopback(app) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            session = client.post(
                "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
            ).json()
            token = delegate(client, session)
            stripe.stop()
            complete_headers = headers("complete-1")
            url = f"/checkout_sessions/{session['id']}/complete"
            down = client.post(url, json=complete_body(token), headers=complete_headers)
            assert down.status_code == 503, down.text
            validate("Error", down.json())
            assert down.json()["type"] == "service_unavailable"
            state = client.get(f"/checkout_sessions/{session['id']}", headers=headers(key=None))
            # Stripe never answered: the outcome is unknown, so the session waits (stock held).
            assert state.json()["status"] == "complete_in_progress"
            assert down.headers["Retry-After"]
            rival = client.post(
                "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
            )
            assert rival.json()["status"] == "not_ready_for_payment"

            stripe.start()
            back = client.post(url, json=complete_body(token), headers=complete_headers)
            assert back.status_code == 200, back.text
            assert "Idempotent-Replayed" not in back.headers  # the 503 was not stored
            validate("CheckoutSessionWithOrder", back.json())
            replay = client.post(url, json=complete_body(token), headers=complete_headers)
            assert replay.headers["Idempotent-Replayed"] == "true"
            assert replay.json()["order"]["id"] == back.json()["order"]["id"]
        charged = [
            pi
            for pi in _payment_intents(stripe.url)
            if pi["metadata"].get("checkout_session_id") == session["id"]
        ]
        assert [pi["status"] for pi in charged] == ["succeeded"]
    finally:
        stripe.stop()
