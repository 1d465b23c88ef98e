"""Stripe answers late: replies held back longer than the app waits, while agents race.

Every PaymentIntent reply is delayed past the client's timeout, so each complete ends with
an outcome the app does not know. Agents keep at it as agents do (the same key, a new key, a
changed cart, a new token, a cancel); the delay is lifted; then the reconciler runs. The
Stripe stand-in's own records must show every charge ending in one order or one refund.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_app, acp_settings, localstripe, stock_shop
from tests.commerce.payment_checks import (
    STYLES,
    assert_money_invariant,
    charges_sent,
    new_session,
    shop_like_an_agent,
    wait_for,
)
from tests.fakes.fault_proxy import Fault, HttpFaultProxy
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

STOCK = 5


def test_delayed_replies_with_agents_retrying(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=STOCK)
    config = acp_settings(settings, localstripe.url, acp_payment_lease_seconds=2)
    with HttpFaultProxy(localstripe.port) as proxy:
        payments = StripePayments(API_KEY, proxy.url, timeout_s=0.6, max_network_retries=0)
        app = acp_app(db, store, config, payments=payments)
        with serve_on_loopback(app) as base_url:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                sessions = [new_session(client) for _ in range(STOCK + 1)]
            ready = [(s["id"], token) for s, token in sessions if token]
            assert len(ready) == STOCK  # the last agent found no stock left
            proxy.set_rule(
                lambda method, path: (
                    Fault("delay", 1.5) if path.startswith("/v1/payment_intents") else None
                )
            )
            with ThreadPoolExecutor(len(ready)) as pool:
                agents = [
                    pool.submit(shop_like_an_agent, lambda: base_url, cid, token, style)
                    for (cid, token), style in zip(ready, STYLES, strict=True)
                ]
                # Every agent's first charge is under way (and its reply late) before the
                # delay is lifted.
                wait_for(lambda: charges_sent(proxy) >= len(ready), 30)
                time.sleep(1.0)
                assert proxy.faults("delay"), "no reply was delayed"
                proxy.set_rule(None)
                finals = [agent.result() for agent in agents]
    # A paid session is not canceled (the RFC's 405): the canceling agent's order stands.
    assert finals.count("completed") >= 1, finals

    service = CheckoutService(db, config, store, StripePayments(API_KEY, localstripe.url))
    reconcile_payments(service)
    assert not reconcile_payments(service).settled
    run = {s["id"] for s, _ in sessions}
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=STOCK)
    assert counts["orders"] >= 3, counts
    assert counts["asked_again"] >= 1, counts
