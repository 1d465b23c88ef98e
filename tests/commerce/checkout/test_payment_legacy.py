"""Sessions a checkout without payment attempts left stuck in ``complete_in_progress``
(charged or not, no order) are adopted by the reconciler and settled, not stuck forever."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import CheckoutSession, DelegatedPaymentToken, utcnow
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_app, acp_settings, localstripe, stock_shop, total_of
from tests.commerce.payment_checks import assert_money_invariant, complete, new_session
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]


def _stuck_the_old_way(db: Database, checkout_id: str, token: str, key: str, lease_s: int) -> None:
    with db.session() as session:
        cs = session.get(CheckoutSession, checkout_id)
        assert cs is not None
        cs.status = "complete_in_progress"
        cs.payment = {
            "previous_status": "ready_for_payment",
            "token": token,
            "stripe_idempotency_key": key,
            "lease_until": (utcnow() + timedelta(seconds=lease_s)).isoformat(),
        }


def test_reconciler_adopts_payments_from_before_attempts(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    stock_shop(db, store, tmp_path, stock=4)
    config = acp_settings(settings, localstripe.url)
    stripe = StripePayments(API_KEY, localstripe.url)
    app = acp_app(db, store, config)
    with serve_on_loopback(app) as base_url, httpx.Client(base_url=base_url) as agent:
        (charged, token_c), (never_sent, token_n), (live, token_l) = (
            new_session(agent) for _ in range(3)
        )
        with db.session() as session:
            vault = session.get(DelegatedPaymentToken, token_c)
            assert vault is not None
            payment_method = vault.payment_method_id
        # The old checkout charged with a key derived from the session, then died.
        old_key = f"reelcart:{charged['id']}:pay:0123456789abcdef01234567"
        stripe.charge(
            amount=total_of(charged),
            currency="usd",
            idempotency_key=old_key,
            payment_method=payment_method,
            metadata={"checkout_session_id": charged["id"]},
        )
        _stuck_the_old_way(db, charged["id"], token_c, old_key, lease_s=-1)
        _stuck_the_old_way(
            db, never_sent["id"], token_n, f"reelcart:{never_sent['id']}:pay:ab", lease_s=-1
        )
        # An old worker still inside its lease is left alone.
        _stuck_the_old_way(db, live["id"], token_l, f"reelcart:{live['id']}:pay:cd", 300)
        assert complete(agent, charged["id"], token_c).status_code == 503

        service = CheckoutService(db, config, store, stripe)
        report = reconcile_payments(service)
        assert dict(report.settled) == {"succeeded": 2}
        assert (
            agent.get(
                f"/checkout_sessions/{live['id']}",
                headers={"Authorization": "Bearer test-token", "API-Version": "2026-04-17"},
            ).json()["status"]
            == "complete_in_progress"
        )
    run = {charged["id"], never_sent["id"]}
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=4)
    assert counts["charged"] == 2 and counts["orders"] == 2
