"""A Stripe reply lost on the way back: Stripe charged, the app never heard.

A fault proxy between the app and the Stripe stand-in forwards every PaymentIntent request
and drops the answer. The agent must be told "in progress" (never "nothing was charged"),
no retry of any kind may charge again or change the session until the outcome is known,
and once Stripe answers again every charge ends in an order or a refund.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from commerce.checkout.reconcile import reconcile_payments
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    MUG,
    acp_app,
    acp_settings,
    delegate,
    headers,
    localstripe,
    stock_shop,
    validate,
)
from tests.commerce.payment_checks import (
    assert_money_invariant,
    complete,
    new_session,
    stripe_list,
)
from tests.fakes.fault_proxy import Fault, HttpFaultProxy
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe"]

DECLINED_CARD = "4000000000000002"


def _drop_payment_intents(method: str, path: str) -> Fault | None:
    return Fault("drop") if path.startswith("/v1/payment_intents") else None


@pytest.fixture
def proxy(localstripe: LocalStripe) -> Iterator[HttpFaultProxy]:
    with HttpFaultProxy(localstripe.port) as running:
        yield running


def _intents(stripe_url: str, checkout_id: str) -> list[dict]:
    return [
        pi
        for pi in stripe_list(stripe_url, "payment_intents")
        if pi["metadata"].get("checkout_session_id") == checkout_id
    ]


def test_lost_reply_is_in_progress_until_stripe_is_asked(
    db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
    proxy: HttpFaultProxy,
) -> None:
    stock_shop(db, store, tmp_path, stock=6)
    config = acp_settings(settings, localstripe.url, acp_payment_lease_seconds=2)
    payments = StripePayments(API_KEY, proxy.url, timeout_s=2.0, max_network_retries=0)
    app = acp_app(db, store, config, payments=payments)
    with serve_on_loopback(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as agent:
        (a, token_a), (b, token_b), (c, token_c) = (new_session(agent) for _ in range(3))
        d = new_session(agent)[0]
        token_d = delegate(agent, d, card=DECLINED_CARD)
        run = {a["id"], b["id"], c["id"], d["id"]}

        proxy.set_rule(_drop_payment_intents)
        lost = complete(agent, a["id"], token_a, key="agent-a-1")
        assert lost.status_code == 503, lost.text
        validate("Error", lost.json())
        assert lost.json()["code"] == "payment_in_progress"
        assert lost.json()["type"] == "service_unavailable"
        assert int(lost.headers["Retry-After"]) >= 1
        assert proxy.faults("drop"), "the fault proxy dropped no reply"
        # Stripe did charge: the app must not have said otherwise.
        assert [pi["status"] for pi in _intents(localstripe.url, a["id"])] == ["succeeded"]
        state = agent.get(f"/checkout_sessions/{a['id']}", headers=headers(key=None)).json()
        assert state["status"] == "complete_in_progress"

        # The agent retries every way it can; none may charge again or change the session.
        assert complete(agent, a["id"], token_a, key="agent-a-1").status_code == 503
        assert complete(agent, a["id"], token_a).status_code == 503
        changed = agent.post(
            f"/checkout_sessions/{a['id']}",
            json={"line_items": [{"id": MUG, "quantity": 2}]},
            headers=headers(),
        )
        assert changed.status_code == 503, changed.text
        assert complete(agent, a["id"], delegate(agent, a)).status_code == 503
        canceled = agent.post(f"/checkout_sessions/{a['id']}/cancel", json={}, headers=headers())
        assert canceled.status_code == 503, canceled.text
        assert len(_intents(localstripe.url, a["id"])) == 1

        for session, token in ((b, token_b), (c, token_c), (d, token_d)):
            assert complete(agent, session["id"], token).status_code == 503

        proxy.set_rule(None)
        # Same key once Stripe answers: the truth, the order for the one charge.
        done = complete(agent, a["id"], token_a, key="agent-a-1")
        assert done.status_code == 200, done.text
        validate("CheckoutSessionWithOrder", done.json())
        assert done.json()["status"] == "completed"
        # B cancels: the outcome is found first (charged): a completed session is not
        # canceled (405); its order stands.
        undone = agent.post(f"/checkout_sessions/{b['id']}/cancel", json={}, headers=headers())
        assert undone.status_code == 405, undone.text
        # C and D walked away: the reconciler settles them.

    service = CheckoutService(db, config, store, StripePayments(API_KEY, localstripe.url))
    report = reconcile_payments(service)
    assert dict(report.settled) == {"succeeded": 1, "failed": 1}
    assert not reconcile_payments(service).settled, "a second pass must find nothing to do"
    counts = assert_money_invariant(db, localstripe.url, run, initial_stock=6)
    assert counts == {"charged": 3, "orders": 3, "refunded": 0, "sold": 3, "asked_again": 4}
    states = {s["id"]: service.retrieve(s["id"])["status"] for s in (a, b, c, d)}
    assert states == {
        a["id"]: "completed",
        b["id"]: "completed",
        c["id"]: "completed",
        d["id"]: "not_ready_for_payment",
    }
