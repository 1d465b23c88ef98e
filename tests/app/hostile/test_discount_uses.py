"""A code's usage limit counts the orders placed here, atomically (real HTTP, SQLite and
PostgreSQL): a one-use code takes money off one order only, and of agents racing to pay
with a code's last use exactly one wins — the others are refused before any money
moves, as the Stripe stand-in's own records show."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import DiscountCode
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
)
from tests.commerce.payment_checks import assert_money_invariant
from tests.fakes.stripe_server import LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

pytestmark = pytest.mark.xdist_group("hostile")


def _one_use_code(db: Database) -> None:
    with db.session() as session:
        session.add(
            DiscountCode(
                id="disc_half",
                code="HALF",
                title="Half off",
                kind="percentage",
                percent_bps=5000,
                usage_limit=1,
                times_used=0,
            )
        )


def _checkout_with_code(http: httpx.Client) -> dict[str, Any]:
    body = {**create_body({"id": MUG}), "discounts": {"codes": ["HALF"]}}
    created = http.post("/checkout_sessions", json=body, headers=headers())
    assert created.status_code == 201, created.text
    return dict(created.json())


def _pay(http: httpx.Client, session: dict[str, Any]) -> httpx.Response:
    token = delegate(http, session)
    return http.post(
        f"/checkout_sessions/{session['id']}/complete",
        json=complete_body(token),
        headers=headers(),
    )


def test_a_one_use_code_discounts_one_order_only(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=10)
    _one_use_code(db)
    app = acp_app(db, store, acp_settings(settings, localstripe.url))
    with serve_on_loopback(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        first, second = _checkout_with_code(http), _checkout_with_code(http)
        # Both quotes apply it: nobody has used it yet.
        assert total_of(first) == total_of(second)
        assert _pay(http, first).json()["status"] == "completed"
        refused = _pay(http, second)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "discount_code_usage_limit_reached"
        # Quoted afresh, the code is used up: no discount, a warning instead.
        third = _checkout_with_code(http)
        assert total_of(third) > total_of(first)
    counts = assert_money_invariant(
        db, localstripe.url, {first["id"], second["id"], third["id"]}, initial_stock=10
    )
    assert counts["charged"] == 1


def test_racing_orders_for_a_last_use_code_one_wins(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=10)
    _one_use_code(db)
    app = acp_app(db, store, acp_settings(settings, localstripe.url))
    racers = 6
    start = threading.Barrier(racers)
    with serve_on_loopback(app) as base:

        def race(_: int) -> tuple[str, int, str]:
            with httpx.Client(base_url=base, timeout=60) as http:
                session = _checkout_with_code(http)
                token = delegate(http, session)
                start.wait(timeout=30)
                done = http.post(
                    f"/checkout_sessions/{session['id']}/complete",
                    json=complete_body(token),
                    headers=headers(),
                )
                return session["id"], done.status_code, done.json().get("code", "")

        with ThreadPoolExecutor(racers) as pool:
            results = list(pool.map(race, range(racers)))
    won = [r for r in results if r[1] == 200]
    lost = [r for r in results if r[1] != 200]
    assert len(won) == 1, results
    assert {(r[1], r[2]) for r in lost} == {(400, "discount_code_usage_limit_reached")}
    counts = assert_money_invariant(db, localstripe.url, {r[0] for r in results}, initial_stock=10)
    assert counts["charged"] == 1 and counts["orders"] == 1
