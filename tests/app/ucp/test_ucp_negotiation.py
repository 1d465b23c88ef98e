"""Negotiation as ``overview.md`` states it: a fetched profile that is not JSON, or that
violates the discovery profile schema, is ``profile_malformed`` (422); the capabilities a
response declares are the intersection of the business's and the platform's, computed by
the spec's algorithm (names, a mutual version, orphaned extensions pruned).

The oracle for "violates the schema" is the spec's own ``discovery/profile_schema.json``
(its ``base``, the part every profile kind shares) run by ``jsonschema``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ucp.envelope import UCP_VERSION
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.servers import free_port, serve_on_loopback

from .test_ucp_schemas import BASE, _registry
from .ucp_helpers import client, create_body, ucp_app, ucp_settings

KEY = {"kid": "k1", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}


def _cap(version: str = UCP_VERSION, **extra: Any) -> list[dict[str, Any]]:
    return [{"version": version, **extra}]


# name -> (raw body served, whether the spec's schema accepts it)
PROFILES: dict[str, bytes] = {
    "not-json": b"<html>hello</html>",
    "no-ucp": json.dumps({"capabilities": {}}).encode(),
    "array": b"[1, 2]",
    "no-version": json.dumps({"ucp": {}}).encode(),
    "bad-version": json.dumps({"ucp": {"version": "latest"}}).encode(),
    "capability-not-array": json.dumps(
        {"ucp": {"version": UCP_VERSION, "capabilities": {"dev.ucp.shopping.order": {}}}}
    ).encode(),
    "capability-bad-name": json.dumps(
        {"ucp": {"version": UCP_VERSION, "capabilities": {"Checkout": _cap()}}}
    ).encode(),
    "key-without-kid": json.dumps(
        {"ucp": {"version": UCP_VERSION}, "signing_keys": [{"kty": "EC"}]}
    ).encode(),
    "service-without-transport": json.dumps(
        {"ucp": {"version": UCP_VERSION, "services": {"dev.ucp.shopping": _cap()}}}
    ).encode(),
    "handler-without-id": json.dumps(
        {"ucp": {"version": UCP_VERSION, "payment_handlers": {"com.example.pay": _cap()}}}
    ).encode(),
    "minimal": json.dumps({"ucp": {"version": UCP_VERSION}, "signing_keys": [KEY]}).encode(),
    "checkout-only": json.dumps(
        {"ucp": {"version": UCP_VERSION, "capabilities": {"dev.ucp.shopping.checkout": _cap()}}}
    ).encode(),
    "four": json.dumps(
        {
            "ucp": {
                "version": UCP_VERSION,
                "capabilities": {
                    "dev.ucp.shopping.checkout": _cap(),
                    "dev.ucp.shopping.fulfillment": _cap(extends="dev.ucp.shopping.checkout"),
                    "dev.ucp.shopping.discount": _cap(extends="dev.ucp.shopping.checkout"),
                    "dev.ucp.shopping.order": _cap(),
                },
            }
        }
    ).encode(),
    # An extension whose parent the platform lacks is pruned; an old version is not mutual.
    "orphans": json.dumps(
        {
            "ucp": {
                "version": UCP_VERSION,
                "capabilities": {
                    "dev.ucp.shopping.checkout": _cap("2025-01-01"),
                    "dev.ucp.shopping.fulfillment": _cap(extends="dev.ucp.shopping.checkout"),
                    "dev.ucp.shopping.order": _cap("2025-01-01") + _cap(),
                },
            }
        }
    ).encode(),
}


def _schema_accepts(raw: bytes) -> bool:
    try:
        document = json.loads(raw)
    except ValueError:
        return False
    validator = Draft202012Validator(
        {"$ref": BASE + "discovery/profile_schema.json#/$defs/base"}, registry=_registry()
    )
    return validator.is_valid(document)


@pytest.fixture
def shop(
    sqlite_db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    stock_shop(sqlite_db, store, tmp_path / "shop", stock=5)

    async def profile(request: Request) -> Response:
        raw = PROFILES[request.path_params["name"]]
        return Response(raw, media_type="application/json")

    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, None, port))
    profiles = Starlette(routes=[Route("/p/{name}", profile)])
    with serve_on_loopback(profiles) as profile_base, serve_on_loopback(app, port) as base:
        yield base, profile_base


def _create(shop: tuple[str, str], name: str) -> Any:
    base, profile_base = shop
    with client(base) as http:
        return http.post(
            "/checkout-sessions",
            json=create_body(),
            headers={"UCP-Agent": f'profile="{profile_base}/p/{name}"'},
        )


@pytest.mark.parametrize("name", list(PROFILES))
def test_a_profile_is_accepted_exactly_when_the_schema_accepts_it(
    shop: tuple[str, str], name: str
) -> None:
    answer = _create(shop, name)
    if _schema_accepts(PROFILES[name]):
        assert answer.status_code == 201, answer.text
    else:
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "profile_malformed", answer.text


@pytest.mark.parametrize(
    ("name", "active"),
    [
        ("minimal", set()),
        ("checkout-only", {"dev.ucp.shopping.checkout"}),
        (
            "four",
            {
                "dev.ucp.shopping.checkout",
                "dev.ucp.shopping.fulfillment",
                "dev.ucp.shopping.discount",
            },
        ),
        ("orphans", set()),
    ],
)
def test_a_response_declares_the_intersection(
    shop: tuple[str, str], name: str, active: set[str]
) -> None:
    answer = _create(shop, name)
    assert answer.status_code == 201, answer.text
    declared = answer.json()["ucp"]["capabilities"]
    assert set(declared) == active
    assert all(entry == [{"version": UCP_VERSION}] for entry in declared.values())
