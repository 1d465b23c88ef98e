"""Many reconcilers at once settle each unknown payment once: one order per charge, no
double refund, every attempt claimed by one worker at a time."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_app, acp_settings, headers, localstripe, stock_shop
from tests.commerce.payment_checks import assert_money_invariant, complete, new_session
from tests.fakes.fault_proxy import Fault, HttpFaultProxy
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

SESSIONS = 6
WORKERS = 4


def test_concurrent_reconcilers_settle_each_payment_once(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=SESSIONS)
    config = acp_settings(settings, localstripe.url)
    with HttpFaultProxy(localstripe.port) as proxy:
        payments = StripePayments(API_KEY, proxy.url, timeout_s=2.0, max_network_retries=0)
        app = acp_app(db, store, config, payments=payments)
        with serve_on_loopback(app) as base_url, httpx.Client(base_url=base_url) as agent:
            sessions = [new_session(agent) for _ in range(SESSIONS)]
            proxy.set_rule(
                lambda method, path: Fault("drop") if "payment_intents" in path else None
            )
            for session, token in sessions:
                assert complete(agent, session["id"], token).status_code == 503
            # Nobody may cancel a payment whose outcome is not known yet.
            refused = agent.post(
                f"/checkout_sessions/{sessions[0][0]['id']}/cancel", json={}, headers=headers()
            )
            assert refused.status_code == 503

    start = threading.Barrier(WORKERS)

    def worker(_: int) -> Counter[str]:
        engine = Database(db.url)  # a worker of its own, as on another machine
        try:
            service = CheckoutService(
                engine, config, store, StripePayments(API_KEY, localstripe.url)
            )
            start.wait()
            return reconcile_payments(service).settled
        finally:
            engine.dispose()

    with ThreadPoolExecutor(WORKERS) as pool:
        reports = list(pool.map(worker, range(WORKERS)))
    total = sum(reports, Counter())
    # Each attempt settled by exactly one worker; the others found it claimed or done.
    assert total["succeeded"] == SESSIONS, reports
    run = {s["id"] for s, _ in sessions}
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=SESSIONS)
    assert counts["orders"] == SESSIONS and counts["refunded"] == 0, counts
