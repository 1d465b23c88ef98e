"""ACP REST answers exactly as the OpenAPI documents declare them (what a REST client or a
schema fuzzer validates against): version errors in the documents' ``Error`` shape, and a
method the path lacks answered with a ``405`` whose ``Allow`` lists every method it has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    acp_app,
    acp_settings,
    create_body,
    headers,
    require_spec,
    stock_shop,
)


def _error_schema(document: str) -> dict[str, Any]:
    raw = yaml.safe_load((require_spec() / "openapi" / document).read_text())
    schema: dict[str, Any] = raw["components"]["schemas"]["Error"]
    return schema


@pytest.fixture
def client(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    stock_shop(db, store, tmp_path)
    with TestClient(acp_app(db, store, acp_settings(settings, None))) as test_client:
        yield test_client


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_version_errors_are_the_openapi_error(client: TestClient) -> None:
    checkout = Draft202012Validator(_error_schema("openapi.agentic_checkout.yaml"))
    delegate = Draft202012Validator(_error_schema("openapi.delegate_payment.yaml"))
    for version in (None, "2025-01-01"):
        sent = headers()
        if version is None:
            del sent["API-Version"]
        else:
            sent["API-Version"] = version
        created = client.post("/checkout_sessions", json=create_body(), headers=sent)
        fetched = client.get("/checkout_sessions/cs_x", headers=sent)
        for answer in (created, fetched):
            assert answer.status_code == 400
            checkout.validate(answer.json())
            assert "2026-04-17" in answer.json()["message"]
        delegated = client.post("/agentic_commerce/delegate_payment", json={}, headers=sent)
        assert delegated.status_code == 400
        assert not [
            e.message
            for e in delegate.iter_errors(delegated.json())
            if e.validator == "additionalProperties"
        ]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_405_allows_every_method_of_the_path(client: TestClient) -> None:
    schema = Draft202012Validator(_error_schema("openapi.agentic_checkout.yaml"))
    session = client.post("/checkout_sessions", json=create_body(), headers=headers()).json()
    for method in ("OPTIONS", "DELETE", "PUT", "PATCH"):
        answer = client.request(method, f"/checkout_sessions/{session['id']}", headers=headers())
        assert answer.status_code == 405, method
        assert {m.strip() for m in answer.headers["Allow"].split(",")} == {"GET", "HEAD", "POST"}
        schema.validate(answer.json())
    # The methods the path has still reach their handlers.
    assert client.get(f"/checkout_sessions/{session['id']}", headers=headers()).status_code == 200
    updated = client.post(f"/checkout_sessions/{session['id']}", json={}, headers=headers())
    assert updated.status_code == 200, updated.text
