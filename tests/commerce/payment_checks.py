"""What the payment fault tests share: agents that retry as agents do, and the money
invariant checked against the Stripe stand-in's own records.

The invariant, over a whole run: every succeeded charge has exactly one live order or is
refunded in full (never both, never twice); no order lacks a succeeded charge of its amount;
stock = initial − units sold; and no payment is left with an unknown outcome.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from reelcart.db import Database
from reelcart.models import Base, Order, PaymentAttempt, ProductVariant
from tests.commerce.acp_helpers import (
    MUG,
    complete_body,
    create_body,
    delegate,
    headers,
)
from tests.fakes.fault_proxy import HttpFaultProxy
from tests.fakes.stripe_server import API_KEY

__all__ = [
    "STYLES",
    "assert_money_invariant",
    "charges_sent",
    "complete",
    "new_session",
    "postgres_db",
    "shop_like_an_agent",
    "stripe_list",
    "wait_for",
]


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """The PostgreSQL half of ``db`` alone: for faults only a networked database has."""
    database = Database(postgres_url)
    yield database
    with database.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    database.dispose()


def stripe_list(stripe_url: str, resource: str) -> list[dict[str, Any]]:
    """Every object of a Stripe list endpoint (all pages), read from the stand-in itself."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = httpx.get(
            f"{stripe_url}/v1/{resource}", params=params, auth=(API_KEY, ""), timeout=30
        )
        page.raise_for_status()
        body = page.json()
        found.extend(body["data"])
        if not body.get("has_more") or not body["data"]:
            return found
        params["starting_after"] = body["data"][-1]["id"]


def charges_sent(proxy: HttpFaultProxy) -> int:
    """How many PaymentIntent creations went through the fault proxy to Stripe."""
    return sum(1 for s in proxy.seen if s.method == "POST" and s.path == "/v1/payment_intents")


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def new_session(client: httpx.Client, quantity: int = 1) -> tuple[dict[str, Any], str]:
    """An agent's session for ``quantity`` mugs and a delegated token for its total."""
    created = client.post(
        "/checkout_sessions", json=create_body({"id": MUG, "quantity": quantity}), headers=headers()
    )
    assert created.status_code == 201, created.text
    session = created.json()
    return session, delegate(client, session) if session["status"] == "ready_for_payment" else ""


def complete(
    client: httpx.Client, checkout_id: str, token: str, key: str | None = "auto"
) -> httpx.Response:
    return client.post(
        f"/checkout_sessions/{checkout_id}/complete",
        json=complete_body(token),
        headers=headers(key),
    )


STYLES = ("same_key", "new_key", "changed_cart", "new_token", "cancel")


def _act(client: httpx.Client, checkout_id: str, token: str, style: str, tries: int) -> str:
    """One move of an agent in ``style``; returns the token it will pay with next."""
    path = f"/checkout_sessions/{checkout_id}"
    if tries == 0 or style in ("same_key", "new_key"):
        key = f"{style}-{checkout_id}" if style == "same_key" else "auto"
        response = complete(client, checkout_id, token, key)
    elif style == "cancel":
        response = client.post(f"{path}/cancel", json={}, headers=headers())
    elif style == "changed_cart" and tries % 2 == 1:
        response = client.post(
            path, json={"line_items": [{"id": MUG, "quantity": 2}]}, headers=headers()
        )
    else:
        session = client.get(path, headers=headers(key=None)).json()
        if style == "new_token" or session["status"] == "ready_for_payment":
            token = delegate(client, session)
        response = complete(client, checkout_id, token)
    if response.status_code in (409, 503) or response.status_code >= 500:
        raise _Busy(float(response.headers.get("Retry-After", "1")))
    return token


class _Busy(Exception):
    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s


def shop_like_an_agent(
    base_url: Callable[[], str],
    checkout_id: str,
    token: str,
    style: str,
    *,
    tried: bool = False,
    budget_s: float = 30,
) -> str:
    """Pay (or cancel) the session as an agent in ``style`` would, retrying through faults
    and "in progress" answers; returns the session's final status (or the last seen).
    ``tried``: the agent already sent its first complete (and got no usable answer)."""
    deadline = time.monotonic() + budget_s
    tries, status = int(tried), "unknown"
    while time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=base_url(), timeout=20) as client:
                token = _act(client, checkout_id, token, style, tries)
                tries += 1
                status = client.get(
                    f"/checkout_sessions/{checkout_id}", headers=headers(key=None)
                ).json()["status"]
            if status in ("completed", "canceled", "expired", "not_ready_for_payment"):
                return status
        except _Busy as busy:
            tries += 1
            time.sleep(min(busy.wait_s, 0.5))
        except httpx.TransportError:  # the server is down or restarting
            tries += 1
            time.sleep(0.3)
    return status


def assert_money_invariant(
    db: Database, stripe_url: str, checkout_ids: set[str], initial_stock: int
) -> dict[str, int]:
    """Check the invariant for the sessions of this run; returns a few counts for the test."""
    intents = [
        pi
        for pi in stripe_list(stripe_url, "payment_intents")
        if pi["metadata"].get("checkout_session_id") in checkout_ids
    ]
    by_id = {pi["id"]: pi for pi in intents}
    refunded: Counter[str] = Counter()
    for refund in stripe_list(stripe_url, "refunds"):
        if refund.get("payment_intent") in by_id:
            refunded[refund["payment_intent"]] += int(refund["amount"])
    with db.session() as session:
        orders = [
            o for o in session.scalars(select(Order)) if o.checkout_session_id in checkout_ids
        ]
        open_attempts = session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.checkout_session_id.in_(checkout_ids),
                PaymentAttempt.state.in_(("pending", "unknown", "refund_pending")),
            )
        ).all()
        asked_again = len(
            session.scalars(
                select(PaymentAttempt.id).where(
                    PaymentAttempt.checkout_session_id.in_(checkout_ids),
                    PaymentAttempt.checks > 1,
                )
            ).all()
        )
        variant = session.get(ProductVariant, MUG, populate_existing=True)
        assert variant is not None
        stock = variant.inventory_quantity
    assert not open_attempts, [(a.id, a.state, a.last_error) for a in open_attempts]
    live = [o for o in orders if o.status == "confirmed"]
    live_by_pi = Counter(o.payment_reference for o in live)
    succeeded = [pi for pi in intents if pi["status"] == "succeeded"]
    for pi in succeeded:
        orders_for = live_by_pi[pi["id"]]
        back = refunded[pi["id"]]
        assert (orders_for, back) in ((1, 0), (0, pi["amount"])), (
            f"{pi['id']} ({pi['metadata']['checkout_session_id']}): "
            f"{orders_for} live orders, {back} of {pi['amount']} refunded"
        )
    for pi_id, amount in refunded.items():
        assert amount <= by_id[pi_id]["amount"], f"{pi_id} refunded more than charged"
    for order in orders:
        charge = by_id.get(str(order.payment_reference))
        assert charge is not None and charge["status"] == "succeeded", f"{order.id}: no charge"
        assert charge["amount"] == order.total_minor
        assert charge["metadata"]["checkout_session_id"] == order.checkout_session_id
        if order.status == "canceled":
            assert refunded[charge["id"]] == charge["amount"], f"{order.id} canceled, not refunded"
    assert len({o.checkout_session_id for o in live}) == len(live), "two orders for one session"
    sold = sum(int(line["quantity"]) for o in live for line in o.line_items)
    assert stock == initial_stock - sold, (stock, initial_stock, sold)
    return {
        "charged": len(succeeded),
        "orders": len(live),
        "refunded": sum(1 for pi in succeeded if refunded[pi["id"]]),
        "sold": sold,
        # attempts whose first answer was lost, so Stripe had to be asked again
        "asked_again": asked_again,
    }
