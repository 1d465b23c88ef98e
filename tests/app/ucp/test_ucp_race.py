"""Both protocols race for the same last units: 50 agents, half over ACP REST and half over
UCP REST, for the last 10 mugs → exactly 10 orders and 10 charges (read from the Stripe
stand-in's own records), stock 0; on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Order, ProductVariant
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    MUG,
    complete_body,
    create_body,
    delegate,
    headers,
    localstripe,
    stock_shop,
)
from tests.commerce.payment_checks import stripe_list
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from . import ucp_helpers
from .ucp_helpers import Platform, platform_on_loopback, ucp_app, ucp_settings

__all__ = ["localstripe"]

pytestmark = pytest.mark.xdist_group("ucp-race")


def _acp_agent(base: str) -> tuple[str, bool]:
    with httpx.Client(base_url=base, timeout=120) as client:
        created = client.post(
            "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
        )
        assert created.status_code == 201, created.text
        session = created.json()
        if session["status"] != "ready_for_payment":
            return session["id"], False
        token = delegate(client, session)
        done = client.post(
            f"/checkout_sessions/{session['id']}/complete",
            json=complete_body(token),
            headers=headers(),
        )
        assert done.status_code in (200, 400), done.text
        return session["id"], done.status_code == 200


def _ucp_agent(base: str, platform: Platform) -> tuple[str, bool]:
    with httpx.Client(base_url=base, timeout=120) as client:
        created = client.post(
            "/checkout-sessions", json=ucp_helpers.create_body(), headers=platform.headers()
        )
        assert created.status_code in (200, 201), created.text
        checkout = created.json()
        if checkout.get("status") != "ready_for_complete":  # in-band out_of_stock, or held
            assert any(m["code"] == "out_of_stock" for m in checkout["messages"]), checkout
            return str(checkout.get("id", "")), False
        done = client.post(
            f"/checkout-sessions/{checkout['id']}/complete",
            json=ucp_helpers.complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code in (200, 409), done.text
        return checkout["id"], done.status_code == 200


def test_acp_and_ucp_agents_race_for_the_last_ten_units(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=10)
    port = free_port()
    app = ucp_app(db, store, ucp_settings(settings, localstripe.url, port))
    with (
        platform_on_loopback() as platform,
        serve_on_loopback(app, port) as base,
        ThreadPoolExecutor(50) as pool,
    ):
        runs = [
            pool.submit(_acp_agent, base) if i % 2 else pool.submit(_ucp_agent, base, platform)
            for i in range(50)
        ]
        results = [run.result() for run in runs]
    assert sum(1 for _, sold in results if sold) == 10
    ours = {checkout_id for checkout_id, _ in results if checkout_id}
    with db.session() as session:
        orders = session.scalars(select(Order)).all()
        assert len(orders) == 10
        mug = session.get(ProductVariant, MUG)
        assert mug is not None and mug.inventory_quantity == 0
    charged = [
        pi
        for pi in stripe_list(localstripe.url, "payment_intents")
        if pi["metadata"].get("checkout_session_id") in ours and pi["status"] == "succeeded"
    ]
    assert len(charged) == 10
    assert {pi["metadata"]["checkout_session_id"] for pi in charged} == {
        o.checkout_session_id for o in orders
    }
