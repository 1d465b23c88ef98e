"""An agent re-sends the same complete, with the same ``Idempotency-Key``, after the server
died between Stripe's charge and the order: it gets what its charge became (the completed
session and its order), at once, not a minute of 409s and then "already completed".

The server is a real process killed with SIGKILL while Stripe's reply is held (a fault
proxy), so Stripe has charged and nothing else happened; it comes back (a fresh service
over the same database, served in this process) with the payment and idempotency leases
at their defaults (60 s), still held by the dead process. Checked against the Stripe stand-in's own
records: one charge, one order. A charge nobody asks about again is settled by the
reconciler's start-up pass, without waiting for the dead process's lease.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import CheckoutSession, Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_app, acp_settings, localstripe, stock_shop
from tests.commerce.acp_process import AcpProcess, process_env
from tests.commerce.payment_checks import (
    charges_sent,
    complete,
    new_session,
    stripe_list,
    wait_for,
)
from tests.fakes.fault_proxy import Fault, HttpFaultProxy, Rule
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe"]

pytestmark = pytest.mark.xdist_group("payment-processes")


def _hold_charge_replies(method: str, path: str) -> Fault | None:
    if method == "POST" and path == "/v1/payment_intents":
        return Fault("delay", 30.0)
    return None


HOLD: Rule = _hold_charge_replies


def _charged(stripe_url: str, checkout_id: str) -> list[str]:
    return [
        pi["id"]
        for pi in stripe_list(stripe_url, "payment_intents")
        if pi["status"] == "succeeded" and pi["metadata"].get("checkout_session_id") == checkout_id
    ]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'replay.db'}")
    database.migrate()
    yield database
    database.dispose()


def test_the_same_complete_resent_after_a_crash_answers_the_order(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=3)
    port = free_port()
    with HttpFaultProxy(localstripe.port) as proxy:
        server = AcpProcess(
            process_env(db.url, tmp_path, proxy.url), port, tmp_path / "server.log"
        ).start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                (first, first_token), (second, second_token), (third, third_token) = (
                    new_session(client),
                    new_session(client),
                    new_session(client),
                )
            proxy.set_rule(HOLD)
            paid = ((first, first_token), (second, second_token), (third, third_token))
            for session, token in paid:
                key = f"agent-key-{session['id']}"
                try:
                    with httpx.Client(base_url=server.url, timeout=1.5) as client:
                        complete(client, session["id"], token, key)
                except httpx.TimeoutException:
                    pass  # the agent's connection gives up; Stripe has the charge
            wait_for(lambda: charges_sent(proxy) >= 3, 20)
            server.kill()
        finally:
            server.stop()
    # The server again (in this process: a new service over the same database and Stripe).
    restarted = acp_app(db, store, acp_settings(settings, localstripe.url))
    with serve_on_loopback(restarted) as base, httpx.Client(base_url=base, timeout=30) as client:
        # While its payment is unsettled: answered as soon as Stripe can say.
        started = time.monotonic()
        retried = complete(client, first["id"], first_token, f"agent-key-{first['id']}")
        assert retried.status_code == 200, retried.text
        assert time.monotonic() - started < 20
        assert retried.json()["status"] == "completed"
        order_id = retried.json()["order"]["id"]
        again = complete(client, first["id"], first_token, f"agent-key-{first['id']}")
        assert again.status_code == 200 and again.json()["order"]["id"] == order_id
        # Settled by another request first (a retry under a new key) ...
        other = complete(client, second["id"], second_token, "another-key")
        assert other.status_code == 200, other.text
        # ... the original request, re-sent, answers what its charge became.
        original = complete(client, second["id"], second_token, f"agent-key-{second['id']}")
        assert original.status_code == 200, original.text
        assert original.json()["order"]["id"] == other.json()["order"]["id"]
    # Nobody re-sends the third: the start-up pass of the reconciler settles it at once
    # (Stripe has decided), where one that waits for the dead process's lease does not.
    service = CheckoutService(
        db, acp_settings(settings, localstripe.url), store, StripePayments(API_KEY, localstripe.url)
    )
    assert reconcile_payments(service).settled == {}
    assert reconcile_payments(service, peek=True).settled == {"succeeded": 1}
    for checkout_id in (first["id"], second["id"], third["id"]):
        assert len(_charged(localstripe.url, checkout_id)) == 1
        with db.session() as rows:
            orders = select(func.count()).select_from(Order)
            assert rows.scalar(orders.where(Order.checkout_session_id == checkout_id)) == 1
            paid = rows.get(CheckoutSession, checkout_id)
            assert paid is not None and paid.status == "completed"
