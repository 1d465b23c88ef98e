"""A complete naming a payment token that does not exist is the agent's error: a 4xx in
ACP's ``Error`` shape (the spec's schema), not a 502, and the session stays payable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    acp_app,
    acp_settings,
    complete_body,
    create_body,
    headers,
    localstripe,
    stock_shop,
    total_of,
    validate,
)
from tests.fakes.stripe_server import API_KEY, LocalStripe

__all__ = ["localstripe"]


@pytest.fixture
def client(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> Iterator[TestClient]:
    stock_shop(sqlite_db, store, tmp_path)
    app = acp_app(sqlite_db, store, acp_settings(settings, localstripe.url))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'acp.db'}")
    database.migrate()
    yield database
    database.dispose()


def test_a_token_that_does_not_exist_is_a_4xx_and_the_session_stays_payable(
    client: TestClient, localstripe: LocalStripe
) -> None:
    created = client.post("/checkout_sessions", json=create_body(), headers=headers())
    assert created.status_code == 201, created.text
    session = created.json()
    path = f"/checkout_sessions/{session['id']}/complete"
    refused = client.post(path, json=complete_body("spt_does_not_exist"), headers=headers())
    assert refused.status_code == 400, refused.text
    validate("Error", refused.json())
    assert refused.json()["type"] == "invalid_request"
    assert refused.json()["param"] == "$.payment_data.instrument.credential.token"
    after = client.get(f"/checkout_sessions/{session['id']}", headers=headers(key=None))
    assert after.json()["status"] == "ready_for_payment", after.text
    # A token that exists pays the same session.
    payments = StripePayments(API_KEY, localstripe.url)
    card = payments.vault_card(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
    spt = payments.grant_test_spt(
        payment_method=card.payment_method_id,
        currency="usd",
        max_amount=total_of(session),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    done = client.post(path, json=complete_body(spt), headers=headers())
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
