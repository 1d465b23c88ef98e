"""A buyer who completes 3-D Secure after the session was canceled is refunded, not kept."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import PaymentAttempt
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    acp_app,
    acp_settings,
    delegate,
    headers,
    localstripe,
    stock_shop,
)
from tests.commerce.payment_checks import assert_money_invariant, complete, new_session
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

THREE_DS_CARD = "4000002760003184"


def test_late_authentication_of_a_canceled_session_is_refunded(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=2)
    config = acp_settings(settings, localstripe.url)
    app = acp_app(db, store, config)
    with serve_on_loopback(app) as base_url, httpx.Client(base_url=base_url) as agent:
        session = new_session(agent)[0]
        token = delegate(agent, session, card=THREE_DS_CARD)
        challenged = complete(agent, session["id"], token)
        assert challenged.json()["code"] == "authentication_required"
        canceled = agent.post(
            f"/checkout_sessions/{session['id']}/cancel", json={}, headers=headers()
        )
        assert canceled.json()["status"] == "canceled"
    with db.session() as s:
        payment_intent = s.scalars(select(PaymentAttempt.payment_intent_id)).one()
    # The buyer answers the issuer's challenge anyway: Stripe now holds a charge.
    stripe = httpx.Client(base_url=localstripe.url, auth=(API_KEY, ""), timeout=10)
    with stripe:
        secret = stripe.get(f"/v1/payment_intents/{payment_intent}").json()["client_secret"]
        done = stripe.post(
            f"/v1/payment_intents/{payment_intent}/_authenticate",
            data={"client_secret": secret, "success": "true"},
        )
        assert done.json()["status"] == "succeeded", done.text

    service = CheckoutService(db, config, store, StripePayments(API_KEY, localstripe.url))
    report = reconcile_payments(service)
    assert dict(report.settled) == {"refunded": 1}
    counts = assert_money_invariant(db, localstripe.url, {session["id"]}, initial_stock=2)
    assert counts == {"charged": 1, "orders": 0, "refunded": 1, "sold": 0, "asked_again": 1}
