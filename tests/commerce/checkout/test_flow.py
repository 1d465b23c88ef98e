"""Checkout over ACP REST against localstripe: happy path, totals, prices, declines, 3DS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event, Order, ProductVariant
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    BOTTLE,
    MUG,
    NOTES,
    acp_app,
    acp_settings,
    complete_body,
    create_body,
    delegate,
    headers,
    localstripe,
    stock_shop,
    total_of,
    validate,
)
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]


@pytest.fixture
def client(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[TestClient]:
    stock_shop(db, store, tmp_path)
    app = acp_app(db, store, acp_settings(settings, localstripe.url))
    with TestClient(app) as test_client:
        yield test_client


def _create(client: httpx.Client, body: dict) -> dict:
    response = client.post("/checkout_sessions", json=body, headers=headers())
    assert response.status_code == 201, response.text
    validate("CheckoutSession", response.json())
    return response.json()


def test_happy_path_totals_add_up_and_order_is_created(client: TestClient, db: Database) -> None:
    session = _create(client, create_body({"id": MUG}, {"id": MUG, "quantity": 2}))
    assert session["status"] == "ready_for_payment"
    (line,) = session["line_items"]  # both forms merged: 1 + 2 units of the mug
    assert line["quantity"] == 3 and line["unit_amount"] == 2400
    amounts = {t["type"]: t["amount"] for t in session["totals"]}
    tax = (7200 * 825 + 5000) // 10000
    assert amounts == {
        "items_base_amount": 7200,
        "subtotal": 7200,
        "fulfillment": 500,
        "tax": tax,
        "total": 7200 + 500 + tax,
    }
    line_totals = {t["type"]: t["amount"] for t in line["totals"]}
    assert line_totals["total"] == line_totals["subtotal"] + line_totals["tax"]
    assert session["links"] and session["capabilities"]["payment"]["handlers"][0]["psp"] == "stripe"

    # Choosing express shipping changes the totals, computed by the server.
    update = {
        "selected_fulfillment_options": [
            {"type": "shipping", "option_id": "express", "item_ids": [line["id"]]}
        ]
    }
    response = client.post(f"/checkout_sessions/{session['id']}", json=update, headers=headers())
    assert response.status_code == 200, response.text
    validate("CheckoutSession", response.json())
    assert total_of(response.json()) == 7200 + 1500 + tax

    token = delegate(client, response.json())
    done = client.post(
        f"/checkout_sessions/{session['id']}/complete", json=complete_body(token), headers=headers()
    )
    assert done.status_code == 200, done.text
    validate("CheckoutSessionWithOrder", done.json())
    assert done.json()["status"] == "completed"
    order = done.json()["order"]
    assert order["checkout_session_id"] == session["id"]
    got = client.get(f"/checkout_sessions/{session['id']}", headers=headers(key=None))
    validate("CheckoutSessionWithOrder", got.json())
    with db.session() as s:
        assert s.get(ProductVariant, MUG).inventory_quantity == 2
        assert s.scalars(select(Order)).one().total_minor == 7200 + 1500 + tax
        kinds = sorted(e.kind for e in s.scalars(select(Event)))
        assert kinds == ["checkout", "purchase"]


def test_agent_prices_are_ignored_and_totals_refused(client: TestClient) -> None:
    cheap = create_body({"id": MUG, "unit_amount": 1, "name": "free mug"})
    session = _create(client, cheap)
    assert session["line_items"][0]["unit_amount"] == 2400
    assert session["line_items"][0]["name"] == "Stoneware Mug"
    forged = create_body() | {"totals": [{"type": "total", "display_text": "x", "amount": 1}]}
    response = client.post("/checkout_sessions", json=forged, headers=headers())
    assert response.status_code == 400
    validate("Error", response.json())
    assert response.json()["param"] == "$.totals"


def test_unknown_item_and_out_of_stock(client: TestClient) -> None:
    response = client.post(
        "/checkout_sessions", json=create_body({"id": "nope"}), headers=headers()
    )
    assert response.status_code == 400
    validate("Error", response.json())
    assert response.json() == {
        "type": "invalid_request",
        "code": "invalid_item_id",
        "message": "The item ID 'nope' does not exist.",
        "param": "$.line_items[0].id",
    }
    session = _create(client, create_body({"id": BOTTLE}))
    assert session["status"] == "not_ready_for_payment"
    assert [m["code"] for m in session["messages"]] == ["out_of_stock"]


def test_missing_address_then_digital_needs_none(client: TestClient) -> None:
    session = _create(client, create_body({"id": MUG}, address=False))
    assert session["status"] == "not_ready_for_payment"
    assert session["messages"][0]["param"] == "$.fulfillment_details.address"
    digital = _create(client, create_body({"id": NOTES}, address=False))
    assert digital["status"] == "ready_for_payment"
    assert digital["fulfillment_options"][0]["type"] == "digital"


def test_decline_leaves_no_order_and_3ds_needs_authentication(
    client: TestClient, db: Database, localstripe: LocalStripe
) -> None:
    session = _create(client, create_body())
    declined = delegate(client, session, card="4000000000000002")
    response = client.post(
        f"/checkout_sessions/{session['id']}/complete",
        json=complete_body(declined),
        headers=headers(),
    )
    assert response.status_code == 402 and response.json()["code"] == "payment_declined"
    validate("Error", response.json())
    after = client.get(f"/checkout_sessions/{session['id']}", headers=headers(key=None)).json()
    validate("CheckoutSession", after)
    assert after["status"] == "ready_for_payment"
    assert [m["code"] for m in after["messages"]] == ["payment_declined"]

    three_ds = delegate(client, session, card="4000002760003184")
    response = client.post(
        f"/checkout_sessions/{session['id']}/complete",
        json=complete_body(three_ds),
        headers=headers(),
    )
    assert response.status_code == 402 and response.json()["code"] == "authentication_required"
    state = client.get(f"/checkout_sessions/{session['id']}", headers=headers(key=None)).json()
    assert state["status"] == "authentication_required"
    again = client.post(
        f"/checkout_sessions/{session['id']}/complete",
        json=complete_body(three_ds),
        headers=headers(),
    )
    assert again.status_code == 400 and again.json()["code"] == "requires_3ds"
    assert again.json()["param"] == "$.authentication_result"
    with db.session() as s:
        assert s.scalars(select(Order)).all() == []


def test_allowance_is_enforced(client: TestClient) -> None:
    session = _create(client, create_body())
    small = delegate(client, session, max_amount=100)
    response = client.post(
        f"/checkout_sessions/{session['id']}/complete", json=complete_body(small), headers=headers()
    )
    assert response.status_code == 400 and "max_amount" in response.json()["message"]
    other = _create(client, create_body())
    foreign = delegate(client, other)
    response = client.post(
        f"/checkout_sessions/{session['id']}/complete",
        json=complete_body(foreign),
        headers=headers(),
    )
    assert response.status_code == 400 and "another checkout session" in response.json()["message"]


def test_cancel_releases_stock_and_a_paid_session_cannot_be_canceled(
    client: TestClient, db: Database
) -> None:
    held = _create(client, create_body({"id": MUG, "quantity": 5}))
    assert held["status"] == "ready_for_payment"
    blocked = _create(client, create_body({"id": MUG}))
    assert blocked["status"] == "not_ready_for_payment"
    canceled = client.post(f"/checkout_sessions/{held['id']}/cancel", json={}, headers=headers())
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    validate("CheckoutSession", canceled.json())
    again = client.post(f"/checkout_sessions/{held['id']}/cancel", json={}, headers=headers())
    assert again.status_code == 405
    retried = client.post(f"/checkout_sessions/{blocked['id']}", json={}, headers=headers())
    assert retried.json()["status"] == "ready_for_payment"

    token = delegate(client, retried.json())
    done = client.post(
        f"/checkout_sessions/{blocked['id']}/complete", json=complete_body(token), headers=headers()
    )
    assert done.status_code == 200
    # The RFC: 405 once completed; the order is refunded through its own lifecycle.
    refused = client.post(f"/checkout_sessions/{blocked['id']}/cancel", json={}, headers=headers())
    assert refused.status_code == 405, refused.text
    validate("Error", refused.json())
    kept = client.get(f"/checkout_sessions/{blocked['id']}", headers=headers(None)).json()
    assert kept["status"] == "completed" and kept["order"]["status"] == "confirmed"
    with db.session() as s:
        assert s.get(ProductVariant, MUG).inventory_quantity == 4
