"""Fuzz the ACP REST API from its OpenAPI documents with schemathesis (issue 6).

Every operation of ``openapi.agentic_checkout.yaml`` and ``openapi.delegate_payment.yaml``
gets schema-generated requests (positive and negative data) sent in-process to the real
ACP app (real checkout core, SQLite, localstripe). The checks: never a 5xx, and every
response conforms to the spec (status code, content type, headers, body schema).

The run is bounded and reproducible: few examples per operation, ``derandomize=True``,
no deadline (the machine is shared and busy). Auth, ``API-Version`` and a fresh
``Idempotency-Key`` are set on every request so the fuzzer reaches the business code
instead of bouncing off the protocol gates (those are covered in test_acp_rest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    MUG,
    SPEC,
    VERSION,
    acp_app,
    acp_settings,
    create_body,
    headers,
    localstripe,
    stock_shop,
)
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25


def _schema(name: str) -> Any:
    path = SPEC / "openapi" / name
    if not path.is_file():
        pytest.skip(f"ACP spec not found at {path}")
    return schemathesis.openapi.from_path(path)


def _operations() -> list[tuple[str, str]]:
    found = []
    for name in ("openapi.agentic_checkout.yaml", "openapi.delegate_payment.yaml"):
        path = SPEC / "openapi" / name
        if path.is_file():
            schema = schemathesis.openapi.from_path(path)
            found += [(name, op.ok().label) for op in schema.get_all_operations()]
    return found or [("missing", "missing")]


@pytest.fixture
def app(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[tuple[Starlette, str]]:
    """The ACP app on a stocked shop, and the id of one open checkout session."""
    stock_shop(db, store, tmp_path, stock=1000)
    application = acp_app(db, store, acp_settings(settings, localstripe.url))
    with TestClient(application) as client:
        created = client.post(
            "/checkout_sessions", json=create_body({"id": MUG}), headers=headers()
        )
        assert created.status_code == 201, created.text
        yield application, str(created.json()["id"])


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("document", "label"), _operations())
def test_fuzz_operation(document: str, label: str, app: tuple[Starlette, str]) -> None:
    application, session_id = app
    operation = _schema(document).find_operation_by_label(label)
    assert operation is not None, label
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if "{checkout_session_id}" in operation.path:
        # Half the cases target a real session so the fuzzer gets past the 404.
        strategies += [
            operation.as_strategy(mode, path_parameters={"checkout_session_id": session_id})
            for mode in GenerationMode
        ]

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def fuzz(case: schemathesis.Case) -> None:
        required = {
            "Authorization": "Bearer test-token",
            "API-Version": VERSION,
            "Content-Type": "application/json",
        }
        if operation.method.upper() == "POST":
            required["Idempotency-Key"] = str(uuid.uuid4())
        case.call_and_validate(app=application, headers=required, checks=CHECKS)

    fuzz()
