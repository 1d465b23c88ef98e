"""The whole app's answers where a platform strays: unknown paths answer JSON in the shape
of the protocol the request is for (checked against the spec's schemas), never plain text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_settings, stock_shop, validate

from .test_ucp_schemas import _validate

UCP_AGENT = {"UCP-Agent": 'profile="https://platform.example/profile"'}


@pytest.fixture
def app_client(
    sqlite_db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    stock_shop(sqlite_db, store, tmp_path / "shop")
    # Without the lifespan: these answers need no start-up work.
    yield TestClient(create_app(acp_settings(settings, None), sqlite_db, store))


def _ucp_error(body: dict[str, Any]) -> None:
    _validate(
        "schemas/shopping/types/error_response.json",
        {"ucp": body["ucp"], "messages": body["messages"]},
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/carts/c1/merge"), ("GET", "/returns/r1"), ("POST", "/checkout-sessions/x/y/z")],
)
def test_unknown_ucp_paths_answer_ucp_json(app_client: TestClient, method: str, path: str) -> None:
    answer = app_client.request(method, path, json={}, headers=UCP_AGENT)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    _ucp_error(body)
    assert body["code"] == "not_found"


def test_unknown_acp_and_other_paths_answer_json(app_client: TestClient) -> None:
    acp = app_client.post("/checkout_sessions/x/nothing", json={})
    assert acp.status_code == 404
    validate("Error", acp.json())
    other = app_client.get("/no/such/page")
    assert other.status_code == 404
    assert other.json()["error"] == "not_found"
