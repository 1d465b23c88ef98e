"""Processes and databases fail between the charge and the order.

- The server is killed with SIGKILL while concurrent completes wait for Stripe's replies
  (Stripe has charged; no order is written). It is started again; agents retry as agents do.
- The database becomes unreachable for seconds while completes wait for Stripe (a TCP proxy
  in front of PostgreSQL is cut), then comes back.

After each, the reconciler runs and the invariant is checked against the Stripe stand-in's
own records: every succeeded charge has exactly one order or one refund, no order lacks a
charge, stock = initial − sold.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import Order
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_app, acp_settings, localstripe, stock_shop
from tests.commerce.acp_process import AcpProcess, process_env
from tests.commerce.payment_checks import (
    STYLES,
    assert_money_invariant,
    charges_sent,
    complete,
    new_session,
    postgres_db,
    shop_like_an_agent,
    stripe_list,
    wait_for,
)
from tests.fakes.fault_proxy import Fault, HttpFaultProxy, Rule, TcpProxy
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe", "postgres_db"]

# Server processes and cut connections: one xdist worker runs these one after another.
pytestmark = pytest.mark.xdist_group("payment-processes")

STOCK = 6


def _hold_charge_replies(seconds: float) -> Rule:
    def rule(method: str, path: str) -> Fault | None:
        if method == "POST" and path == "/v1/payment_intents":
            return Fault("delay", seconds)
        return None

    return rule


def _try_complete(base_url: str, checkout_id: str, token: str) -> int | None:
    try:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            return complete(client, checkout_id, token).status_code
    except httpx.TransportError:
        return None


def _paid_without_order(db: Database, stripe_url: str, run: set[str]) -> int:
    charged = {
        pi["metadata"]["checkout_session_id"]
        for pi in stripe_list(stripe_url, "payment_intents")
        if pi["status"] == "succeeded" and pi["metadata"].get("checkout_session_id") in run
    }
    with db.session() as session:
        ordered = set(session.scalars(select(Order.checkout_session_id)).all())
    return len(charged - ordered)


def _agents(base_url: object, ready: list[tuple[str, str]]) -> list[str]:
    styles = [STYLES[i % len(STYLES)] for i in range(len(ready))]
    with ThreadPoolExecutor(len(ready)) as pool:
        return list(
            pool.map(
                lambda job: shop_like_an_agent(
                    base_url,  # type: ignore[arg-type]
                    job[0][0],
                    job[0][1],
                    job[1],
                    tried=True,
                ),
                zip(ready, styles, strict=True),
            )
        )


def test_server_killed_between_charge_and_order(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=STOCK)
    port = free_port()
    with HttpFaultProxy(localstripe.port) as proxy:
        env = process_env(
            db.url, tmp_path, proxy.url, stripe_timeout_s="10", acp_payment_lease_seconds="2"
        )
        server = AcpProcess(env, port, tmp_path / "server.log").start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                sessions = [new_session(client) for _ in range(STOCK)]
            ready = [(s["id"], token) for s, token in sessions]
            run = {cid for cid, _ in ready}
            # Stripe charges at once; its replies are held, so the kill lands in between.
            proxy.set_rule(_hold_charge_replies(5.0))
            with ThreadPoolExecutor(STOCK) as pool:
                first = [pool.submit(_try_complete, server.url, cid, tok) for cid, tok in ready]
                wait_for(lambda: charges_sent(proxy) >= STOCK // 2, 30)
                server.kill()
                assert all(f.result() is None for f in first), "a reply came back after the kill"
            assert _paid_without_order(db, localstripe.url, run) >= 1  # the harm, reproduced
            proxy.set_rule(None)
            server.start()  # a run of the start-up reconciler, then agents retrying
            finals = _agents(lambda: server.url, ready)
        finally:
            server.stop()
    # A paid session is not canceled (the RFC's 405): the canceling agent's order stands.
    assert "completed" in finals, finals
    service = CheckoutService(
        db, acp_settings(settings, localstripe.url), store, StripePayments(API_KEY, localstripe.url)
    )
    reconcile_payments(service)
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=STOCK)
    assert counts["orders"] >= 1, counts


def test_database_unreachable_mid_complete(
    postgres_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    """PostgreSQL only: an SQLite file cannot become unreachable over a network."""
    db = postgres_db
    stock_shop(db, store, tmp_path, stock=STOCK)
    url = make_url(db.url)
    config = acp_settings(settings, localstripe.url, acp_payment_lease_seconds=2)
    with TcpProxy(url.port or 5432, url.host or "127.0.0.1") as cable:
        through = Database(url.set(port=cable.port).render_as_string(hide_password=False))
        with HttpFaultProxy(localstripe.port) as proxy:
            payments = StripePayments(API_KEY, proxy.url, timeout_s=10)
            app = acp_app(through, store, config, payments=payments)
            with serve_on_loopback(app) as base_url:
                with httpx.Client(base_url=base_url, timeout=30) as client:
                    sessions = [new_session(client) for _ in range(STOCK)]
                ready = [(s["id"], token) for s, token in sessions]
                run = {cid for cid, _ in ready}
                proxy.set_rule(_hold_charge_replies(1.5))
                with ThreadPoolExecutor(STOCK) as pool:
                    first = [pool.submit(_try_complete, base_url, cid, tok) for cid, tok in ready]
                    wait_for(lambda: charges_sent(proxy) >= STOCK // 2, 30)
                    cable.cut()  # replies come back to an app without its database
                    time.sleep(3.0)
                    assert _paid_without_order(db, localstripe.url, run) >= 1
                    cable.restore()
                    codes = [f.result() for f in first]
                assert any(code is not None and code >= 500 for code in codes), codes
                proxy.set_rule(None)
                finals = _agents(lambda: base_url, ready)
        through.dispose()
    # A paid session is not canceled (the RFC's 405): the canceling agent's order stands.
    assert "completed" in finals, finals
    service = CheckoutService(db, config, store, StripePayments(API_KEY, localstripe.url))
    reconcile_payments(service)
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=STOCK)
    assert counts["orders"] >= 1, counts
