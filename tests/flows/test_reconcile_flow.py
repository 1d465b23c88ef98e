"""The reconcile_payments flow under Prefect settles a charge whose reply was lost."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from connectors.stripe import StripePayments
from flows.common import database, media_store
from flows.reconcile import reconcile_payments
from reelcart.models import Order
from reelcart.settings import get_settings
from tests.commerce.acp_helpers import acp_app, localstripe, stock_shop
from tests.commerce.payment_checks import assert_money_invariant, complete, new_session
from tests.fakes.fault_proxy import Fault, HttpFaultProxy
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

pytestmark = pytest.mark.xdist_group("prefect")


def test_reconcile_flow_writes_the_order_of_a_lost_reply(
    flow_env: Path, tmp_path: Path, localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELCART_API_TOKEN", "test-token")
    monkeypatch.setenv("REELCART_STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("REELCART_STRIPE_API_BASE", localstripe.url)
    monkeypatch.setenv("REELCART_ACP_PAYMENT_LEASE_SECONDS", "1")
    get_settings.cache_clear()
    db, store = database(), media_store()
    stock_shop(db, store, tmp_path, stock=3)
    with HttpFaultProxy(localstripe.port) as proxy:
        proxy.set_rule(lambda method, path: Fault("drop") if "payment_intents" in path else None)
        payments = StripePayments(API_KEY, proxy.url, timeout_s=2.0, max_network_retries=0)
        app = acp_app(db, store, get_settings(), payments=payments)
        with serve_on_loopback(app) as base_url, httpx.Client(base_url=base_url) as agent:
            session, token = new_session(agent)
            assert complete(agent, session["id"], token).status_code == 503

    report = reconcile_payments()
    assert report["succeeded"] == 1 and report["webhooks_delivered"] == 0
    with db.session() as s:
        assert s.scalars(select(Order.checkout_session_id)).all() == [session["id"]]
    assert_money_invariant(db, localstripe.url, {session["id"]}, initial_stock=3)
    assert reconcile_payments().get("succeeded", 0) == 0
