"""ACP REST protocol rules: auth, versions, discovery, the idempotency matrix, spec examples."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from app.idempotency import IdempotencyStore, fingerprint
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.models import CheckoutSession, IdempotencyRecord, utcnow
from reelcart.settings import Settings, ShippingRate
from tests.commerce.acp_helpers import (
    MUG,
    acp_app,
    acp_settings,
    create_body,
    example,
    headers,
    localstripe,
    stock_shop,
    validate,
)
from tests.factories import make_product, write_catalog
from tests.fakes.stripe_server import API_KEY, LocalStripe

__all__ = ["localstripe"]


@pytest.fixture
def client(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[TestClient]:
    stock_shop(db, store, tmp_path)
    with TestClient(acp_app(db, store, acp_settings(settings, localstripe.url))) as test_client:
        yield test_client


def test_auth_and_api_version(client: TestClient) -> None:
    no_auth = client.get("/checkout_sessions/x", headers={"API-Version": "2026-04-17"})
    assert no_auth.status_code == 401
    validate("Error", no_auth.json())
    for version in (None, "2025-01-01"):
        hdrs = headers(key=None)
        if version is None:
            del hdrs["API-Version"]
        else:
            hdrs["API-Version"] = version
        response = client.get("/checkout_sessions/x", headers=hdrs)
        assert response.status_code == 400
        validate("Error", response.json())
        # The OpenAPI document's Error has no supported_versions; the message names them.
        assert "supported_versions" not in response.json()
        assert "2026-04-17" in response.json()["message"]
    missing = client.get(
        "/checkout_sessions/nope", headers=headers(key=None, **{"Request-Id": "r-1"})
    )
    assert missing.status_code == 404 and missing.headers["Request-Id"] == "r-1"
    validate("Error", missing.json())


def test_discovery_is_public(client: TestClient) -> None:
    response = client.get("/.well-known/acp.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["api_base_url"].startswith("http://127.0.0.1")
    assert doc["protocol"]["supported_versions"] == ["2026-04-17"]
    assert set(doc) >= {"protocol", "api_base_url", "transports", "capabilities"}
    assert doc["capabilities"]["supported_currencies"] == ["usd"]


def test_idempotency_matrix(client: TestClient, db: Database) -> None:
    body = create_body()
    missing = client.post("/checkout_sessions", json=body, headers=headers(key=None))
    assert missing.status_code == 400
    assert missing.json() == example("error_400_idempotency_key_required") | {
        "message": missing.json()["message"]
    }

    first = client.post("/checkout_sessions", json=body, headers=headers("k-1"))
    assert first.status_code == 201 and first.headers["Idempotency-Key"] == "k-1"
    # Same body with other key order and 1.0 for 1 is the same request: replayed.
    reordered = dict(reversed(list(body.items())))
    replay = client.post("/checkout_sessions", json=reordered, headers=headers("k-1"))
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckoutSession)) == 1  # no re-run

    conflict = client.post(
        "/checkout_sessions", json=create_body(address=False), headers=headers("k-1")
    )
    assert conflict.status_code == 422
    assert conflict.json()["code"] == example("error_422_idempotency_conflict")["code"]
    validate("Error", conflict.json())

    # The same key on another endpoint is another key.
    other = client.post(f"/checkout_sessions/{first.json()['id']}", json={}, headers=headers("k-1"))
    assert other.status_code == 200 and "Idempotent-Replayed" not in other.headers

    # A 4xx is stored and replayed too.
    bad = client.post("/checkout_sessions", json={"currency": "usd"}, headers=headers("k-2"))
    again = client.post("/checkout_sessions", json={"currency": "usd"}, headers=headers("k-2"))
    assert (
        bad.status_code == again.status_code == 400
        and again.headers["Idempotent-Replayed"] == "true"
    )

    # In flight: a claimed key answers 409 with Retry-After.
    store = IdempotencyStore(db)
    scope = "bearer POST /checkout_sessions"
    assert store.begin(scope, "k-3", fingerprint(body)) is None
    busy = client.post("/checkout_sessions", json=body, headers=headers("k-3"))
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    assert busy.json()["code"] == example("error_409_idempotency_in_flight")["code"]
    validate("Error", busy.json())

    with db.session() as s:
        row = s.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.key == "k-1", IdempotencyRecord.scope == scope
            )
        ).one()
        kept = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        assert kept - utcnow() > timedelta(hours=23, minutes=59)


def test_server_errors_are_not_stored(client: TestClient, db: Database) -> None:
    body = create_body()
    store = IdempotencyStore(db)
    scope = "bearer POST /checkout_sessions"
    assert store.begin(scope, "k-5xx", fingerprint(body)) is None
    store.finish(scope, "k-5xx", 503, {"type": "service_unavailable"})
    fresh = client.post("/checkout_sessions", json=body, headers=headers("k-5xx"))
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers


def test_expired_key_is_a_new_request(db: Database) -> None:
    store = IdempotencyStore(db, retention=timedelta(seconds=-1))
    assert store.begin("s", "k", "a") is None
    store.finish("s", "k", 200, {"x": 1})
    assert store.begin("s", "k", "b") is None  # past retention: no conflict


def test_invalid_json_is_a_clean_400(client: TestClient) -> None:
    response = client.post(
        "/checkout_sessions",
        content=b"{nope",
        headers=headers() | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    validate("Error", response.json())
    wrong = client.post("/checkout_sessions", json=[1, 2], headers=headers())
    assert wrong.status_code == 400 and wrong.json()["param"] == "$"


def test_spec_examples_replay(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> None:
    """The spec's example requests, sent as they are, against a shop holding their items."""
    product = make_product(7, title="Vintage Denim Jacket", price="3.00", stock=3)
    product["variants"][0]["id"] = "item_123"  # type: ignore[index]
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(tmp_path, [product])), store)
    rates = [
        ShippingRate(id="fulfillment_option_123", title="Standard", amount_minor=100),
        ShippingRate(id="fulfillment_option_456", title="Express", amount_minor=500),
    ]
    app_settings = acp_settings(settings, localstripe.url, acp_shipping_rates=rates)
    with TestClient(acp_app(db, store, app_settings)) as client:
        ids = []
        for name in (
            "create_checkout_session_request",
            "create_checkout_session_request_with_first_touch_attribution",
        ):
            created = client.post("/checkout_sessions", json=example(name), headers=headers())
            assert created.status_code == 201, created.text
            validate("CheckoutSession", created.json())
            ids.append(created.json()["id"])
        session_id = ids[0]
        update = client.post(
            f"/checkout_sessions/{session_id}",
            json=example("update_checkout_session_request"),
            headers=headers(),
        )
        assert update.status_code == 200, update.text
        validate("CheckoutSession", update.json())
        assert {t["type"]: t["amount"] for t in update.json()["totals"]}["fulfillment"] == 500

        # The example's spt_123 stands for a token the agent's platform granted: grant one.
        payments = StripePayments(API_KEY, localstripe.url)
        card = payments.vault_card(
            number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"
        )
        total = next(t["amount"] for t in update.json()["totals"] if t["type"] == "total")
        spt = payments.grant_test_spt(
            payment_method=card.payment_method_id,
            currency="usd",
            max_amount=total,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        complete = copy.deepcopy(example("complete_checkout_session_request"))
        complete["payment_data"]["instrument"]["credential"]["token"] = spt
        done = client.post(
            f"/checkout_sessions/{session_id}/complete", json=complete, headers=headers()
        )
        assert done.status_code == 200, done.text
        validate("CheckoutSessionWithOrder", done.json())

        first = client.post(
            "/checkout_sessions", json=example("create_checkout_session_request"), headers=headers()
        )
        for name in ("cancel_checkout_session_request",):
            canceled = client.post(
                f"/checkout_sessions/{first.json()['id']}/cancel",
                json=example(name),
                headers=headers(),
            )
            assert canceled.status_code == 200, canceled.text
            validate("CheckoutSession", canceled.json())


def test_full_app_mounts_acp(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    from app.asgi import create_app

    stock_shop(db, store, tmp_path)
    with TestClient(create_app(acp_settings(settings, None), db, store)) as client:
        assert client.get("/.well-known/acp.json").status_code == 200
        created = client.post(
            "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
        )
        assert created.status_code == 201
        unauth = client.post(
            "/checkout_sessions", json=create_body(), headers={"API-Version": "2026-04-17"}
        )
        assert unauth.status_code == 401
