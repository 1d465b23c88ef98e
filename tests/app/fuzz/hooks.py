"""Schemathesis hooks for the served-store fuzz run (loaded with ``SCHEMATHESIS_HOOKS``).

Each request gets its own ``Idempotency-Key`` and a UUID ``Request-Id``. The generator
would otherwise reuse the spec's example key for different bodies, which ACP and UCP
rightly answer with ``422 idempotency_conflict`` (same key, different body) — an artefact
of the fuzzer, not a rejected valid request.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

__all__ = ["before_call", "before_load_schema"]


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    if case.headers is None:
        case.headers = {}
    for name in [n for n in case.headers if n.lower() in ("idempotency-key", "request-id")]:
        del case.headers[name]
    case.headers["Request-Id"] = str(uuid.uuid4())
    if case.method.upper() in ("POST", "PUT"):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """UCP's REST document lacks the order update the official UCP conformance suite sends
    (``PUT /orders/{id}``, ``order_test.py``), which this store serves: declare it, with
    ``get_order``'s parameters and response, so it is fuzzed instead of reported as an
    undeclared method."""
    order = raw_schema.get("paths", {}).get("/orders/{id}")
    if order is None or "put" in order or "get" not in order:
        return
    order["put"] = {
        "operationId": "update_order",
        "parameters": order["get"]["parameters"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "responses": order["get"]["responses"],
    }
