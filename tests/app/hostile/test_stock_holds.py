"""No client can hold the store's stock (real sockets): a line asks for at most the store's
per-line cap, the free stock is never told, a client's open checkouts and held units are
bounded, and a hold lasts only while the checkout moves toward payment — a paying
customer gets the units a stalled checkout held, and the stalled one cannot then pay for
what it no longer holds. The Stripe stand-in's records agree at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.app.ucp.conftest import sqlite_db
from tests.app.ucp.ucp_helpers import (
    Platform,
    client,
    complete_body,
    create_body,
    platform_on_loopback,
    ucp_app,
    ucp_settings,
)
from tests.commerce.acp_helpers import MUG, NOTES, localstripe, stock_shop
from tests.commerce.payment_checks import assert_money_invariant
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")

HOLD_S = 2


@pytest.fixture
def shop(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> Iterator[tuple[str, Platform, Platform, Database]]:
    stock_shop(sqlite_db, store, tmp_path, stock=5)
    port = free_port()
    configured = ucp_settings(
        settings,
        localstripe.url,
        port,
        checkout_hold_seconds=HOLD_S,
        checkout_max_open_per_client=3,
        checkout_max_held_units_per_client=4,
    )
    with (
        platform_on_loopback() as hoarder,
        platform_on_loopback() as buyer,
        serve_on_loopback(ucp_app(sqlite_db, store, configured), port) as base,
    ):
        yield base, hoarder, buyer, sqlite_db


def _create(http: httpx.Client, platform: Platform, body: dict[str, Any]) -> httpx.Response:
    return http.post("/checkout-sessions", json=body, headers=platform.headers())


def _codes(view: dict[str, Any]) -> list[str]:
    return [m["code"] for m in view.get("messages", []) if m["type"] == "error"]


def test_a_huge_quantity_is_refused_without_telling_the_stock(
    shop: tuple[str, Platform, Platform, Database],
) -> None:
    base, hoarder, _, _ = shop
    with client(base) as http:
        asked = _create(http, hoarder, create_body(NOTES, quantity=100_000)).json()
        assert asked["status"] == "incomplete" and _codes(asked) == ["out_of_stock"]
        assert "100" not in asked["messages"][0]["content"]  # the free count untold
        # In stock, but more than one order may take: the per-line cap, nothing held.
        capped = _create(http, hoarder, create_body(NOTES, quantity=11)).json()
        assert capped["status"] == "incomplete" and _codes(capped) == ["quantity_exceeded"]
        # Within the cap but more than is free: out of stock, the free count untold.
        mugs = _create(http, hoarder, create_body(MUG, quantity=9)).json()
        assert _codes(mugs) == ["out_of_stock"]
        assert not any(str(n) in mugs["messages"][0]["content"] for n in range(1, 9))


def test_a_client_cannot_hold_the_stock_from_paying_customers(
    shop: tuple[str, Platform, Platform, Database], localstripe: LocalStripe
) -> None:
    base, hoarder, buyer, db = shop
    with client(base) as http:
        # Held units are bounded per client: 5 mugs is more than one client may hold.
        too_many = _create(http, hoarder, create_body(MUG, quantity=5)).json()
        assert too_many["status"] == "incomplete" and _codes(too_many) == ["maximum_exceeded"]
        held = _create(http, hoarder, create_body(MUG, quantity=4)).json()
        assert held["status"] == "ready_for_complete", held
        more = _create(http, hoarder, create_body(MUG, quantity=1)).json()
        assert _codes(more) == ["maximum_exceeded"]
        # So are open checkouts (three are open now).
        refused = _create(http, hoarder, create_body(NOTES, quantity=1))
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_open_checkouts"

        # A paying customer wants 3: out of stock while the hoarder's hold lasts ...
        wanted = _create(http, buyer, create_body(MUG, quantity=3)).json()
        assert _codes(wanted) == ["out_of_stock"]
        # ... and gets them once it lapses (the hoarder never moved toward paying).
        deadline = time.monotonic() + HOLD_S + 10
        while True:
            again = http.put(
                f"/checkout-sessions/{wanted['id']}",
                json=create_body(MUG, quantity=3),
                headers=buyer.headers(),
            ).json()
            if again["status"] == "ready_for_complete" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again["status"] == "ready_for_complete", again
        paid = http.post(
            f"/checkout-sessions/{wanted['id']}/complete",
            json=complete_body(),
            headers=buyer.headers(),
        )
        assert paid.json()["status"] == "completed", paid.text
        # The hoarder's lapsed hold is not revived over stock that was sold meanwhile.
        late = http.post(
            f"/checkout-sessions/{held['id']}/complete",
            json=complete_body(),
            headers=hoarder.headers(),
        )
        assert late.status_code == 400 and late.json()["code"] == "out_of_stock", late.text
    ids = {too_many["id"], held["id"], more["id"], wanted["id"]}
    counts = assert_money_invariant(db, localstripe.url, ids, initial_stock=5)
    assert counts == {**counts, "orders": 1, "sold": 3, "charged": 1}
