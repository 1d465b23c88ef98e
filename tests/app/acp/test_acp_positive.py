"""ACP accepts every spec-valid request: positive bodies generated from the JSON Schemas.

For every operation a body is generated from the spec's own definition twice — with every
optional property present and with only the required ones — checked valid with
``jsonschema``, and sent to the real ACP app (real checkout core, SQLite, localstripe). The
answer must be a 2xx whose body is valid per the spec. Values the schema only describes in
prose (an ISO country, a card number, an expiry) get realistic spellings; ids that must
exist (catalog variants, the session, the delegated token) point at real ones, and a body
stays schema-valid after every such substitution. The negative side is test_acp_fuzz.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    ADDRESS,
    MUG,
    NOTES,
    acp_app,
    acp_settings,
    create_body,
    headers,
    localstripe,
    require_spec,
    stock_shop,
    total_of,
    validate,
)
from tests.commerce.schema_bodies import Mode, SchemaBodies
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]

MODES: tuple[Mode, ...] = ("full", "minimal")

# What the schema leaves to prose, spelt the way a real agent would send it.
_REALISTIC: dict[str, Any] = {
    "currency": "usd",
    "country": "US",
    "state": "CA",
    "postal_code": "94131",
    "city": "San Francisco",
    "line_one": "1 Chat Road",
    "number": "4242424242424242",
    "exp_month": "12",
    "exp_year": "2030",
    "cvc": "123",
    "iin": "424242",
    "display_brand": "visa",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "phone_number": "+14155550123",
}


@cache
def _bodies(bundle: str) -> SchemaBodies:
    return SchemaBodies(json.loads((require_spec() / "json-schema" / bundle).read_text()))


def _realistic(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _REALISTIC[k] if k in _REALISTIC and isinstance(v, str) else _realistic(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_realistic(v) for v in value]
    return value


def body(
    definition: str, mode: Mode, bundle: str = "schema.agentic_checkout.json", rotation: int = 0
) -> Any:
    bodies = _bodies(bundle)
    generated = _realistic(bodies.body(definition, mode, rotation))
    bodies.check(definition, generated)
    return generated


def _sent(definition: str, value: Any, bundle: str = "schema.agentic_checkout.json") -> Any:
    """Every body is checked again after real ids went in: still spec-valid."""
    _bodies(bundle).check(definition, value)
    return value


@pytest.fixture
def client(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[TestClient]:
    stock_shop(db, store, tmp_path, stock=100)
    with TestClient(acp_app(db, store, acp_settings(settings, localstripe.url))) as test_client:
        yield test_client


def _ok(response: Any, definition: str, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    validate(definition, result)
    return result


# -- spec-valid payloads with real ids (shared with the MCP binding's test) -------------
def create_payload(mode: Mode, rotation: int = 0) -> dict[str, Any]:
    request = body("CheckoutSessionCreateRequest", mode, rotation=rotation)
    request["line_items"] = [{**item, "id": MUG} for item in request["line_items"]]
    for group in request.get("fulfillment_groups", []):
        group["item_ids"] = [MUG]
    return _sent("CheckoutSessionCreateRequest", request)


def update_payload(mode: Mode, session: dict[str, Any], rotation: int = 0) -> dict[str, Any]:
    """An update that leaves ``session`` ready for payment (it names where to ship)."""
    update = body("CheckoutSessionUpdateRequest", mode, rotation=rotation)
    if "line_items" in update:
        update["line_items"] = [{**item, "id": MUG} for item in update["line_items"]]
    update.setdefault("fulfillment_details", {"name": "Ada", "address": ADDRESS})
    for group in update.get("fulfillment_groups", []):
        group["item_ids"] = [MUG]
    if "selected_fulfillment_options" in update:
        option = session["fulfillment_options"][0]
        lines = [line["id"] for line in session["line_items"]]
        update["selected_fulfillment_options"] = [
            {"type": option["type"], "option_id": option["id"], "item_ids": lines}
        ]
    return _sent("CheckoutSessionUpdateRequest", update)


def card_payload(mode: Mode, session: dict[str, Any], rotation: int = 0) -> dict[str, Any]:
    card = body("DelegatePaymentRequest", mode, "schema.delegate_payment.json", rotation)
    if mode == "minimal":
        # Without an expiry only a network token can pay (see the tests below).
        card["payment_method"]["card_number_type"] = "network_token"
    card["allowance"] |= {
        "checkout_session_id": session["id"],
        "max_amount": total_of(session),
        "merchant_id": "reelcart",
    }
    return _sent("DelegatePaymentRequest", card, "schema.delegate_payment.json")


def complete_payload(mode: Mode, token: str, rotation: int = 0) -> dict[str, Any]:
    complete = body("CheckoutSessionCompleteRequest", mode, rotation=rotation)
    complete["payment_data"] |= {
        "handler_id": "card_tokenized",
        "instrument": {"type": "card", "credential": {"type": "spt", "token": token}},
    }
    return _sent("CheckoutSessionCompleteRequest", complete)


def cancel_payload(mode: Mode, rotation: int = 0) -> dict[str, Any]:
    return _sent("CancelSessionRequest", body("CancelSessionRequest", mode, rotation=rotation))


def delegate_card(client: TestClient, card: dict[str, Any]) -> str:
    response = client.post("/agentic_commerce/delegate_payment", json=card, headers=headers())
    assert response.status_code == 201, response.text
    validate("DelegatePaymentResponse", response.json(), "schema.delegate_payment.json")
    return str(response.json()["id"])


def _create(client: TestClient, mode: Mode, rotation: int = 0) -> dict[str, Any]:
    created = client.post(
        "/checkout_sessions", json=create_payload(mode, rotation), headers=headers()
    )
    return _ok(created, "CheckoutSession", 201)


def _flow(client: TestClient, mode: Mode, rotation: int = 0) -> None:
    """Create, read, update, delegate, complete, read the order, cancel: all 2xx."""
    session = _create(client, mode, rotation)
    sid = session["id"]
    _ok(client.get(f"/checkout_sessions/{sid}", headers=headers(key=None)), "CheckoutSession")
    update = update_payload(mode, session, rotation)
    session = _ok(
        client.post(f"/checkout_sessions/{sid}", json=update, headers=headers()),
        "CheckoutSession",
    )
    assert session["status"] == "ready_for_payment", session["messages"]
    token = delegate_card(client, card_payload(mode, session, rotation))
    done = _ok(
        client.post(
            f"/checkout_sessions/{sid}/complete",
            json=complete_payload(mode, token, rotation),
            headers=headers(),
        ),
        "CheckoutSessionWithOrder",
    )
    assert done["status"] == "completed"
    _ok(client.get(f"/orders/{done['order']['id']}", headers=headers(key=None)), "Order")

    other = client.post(
        "/checkout_sessions", json=create_body({"id": NOTES}), headers=headers()
    ).json()
    canceled = _ok(
        client.post(
            f"/checkout_sessions/{other['id']}/cancel",
            json=cancel_payload(mode, rotation),
            headers=headers(),
        ),
        "CheckoutSession",
    )
    assert canceled["status"] == "canceled"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_every_operation_accepts_generated_bodies(client: TestClient, mode: Mode) -> None:
    _flow(client, mode)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_every_enum_value_and_schema_branch_is_accepted(client: TestClient) -> None:
    """The full bodies again, rotated until every enum value and every ``oneOf`` /
    ``anyOf`` branch of every request has been sent once."""
    most = max(
        _bodies(bundle).rotations(definition)
        for bundle, definition in (
            ("schema.agentic_checkout.json", "CheckoutSessionCreateRequest"),
            ("schema.agentic_checkout.json", "CheckoutSessionUpdateRequest"),
            ("schema.agentic_checkout.json", "CheckoutSessionCompleteRequest"),
            ("schema.agentic_checkout.json", "CancelSessionRequest"),
            ("schema.delegate_payment.json", "DelegatePaymentRequest"),
        )
    )
    for rotation in range(1, most):
        _flow(client, "full", rotation)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_spec_minimal_network_token_is_vaulted(client: TestClient) -> None:
    """A network token needs no expiry or CVC (its cryptogram stands for them)."""
    session = _create(client, "minimal")
    session = client.post(
        f"/checkout_sessions/{session['id']}",
        json={"fulfillment_details": {"name": "Ada", "address": ADDRESS}},
        headers=headers(),
    ).json()
    card = card_payload("minimal", session)
    assert card["payment_method"]["card_number_type"] == "network_token"
    assert not {"exp_month", "exp_year", "cvc"} & set(card["payment_method"])
    assert delegate_card(client, card).startswith("vt_")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_card_number_without_expiry_is_the_rfcs_invalid_card(client: TestClient) -> None:
    """A primary account number cannot be charged without its expiry: the RFC's own
    ``invalid_card`` example, not an unknown-field or server error."""
    session = _create(client, "minimal")
    card = body("DelegatePaymentRequest", "minimal", "schema.delegate_payment.json")
    card["allowance"]["checkout_session_id"] = session["id"]
    refused = client.post(
        "/agentic_commerce/delegate_payment",
        json=_sent("DelegatePaymentRequest", card, "schema.delegate_payment.json"),
        headers=headers(),
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_card"
    assert refused.json()["param"] == "$.payment_method.exp_month"
