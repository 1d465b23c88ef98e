"""Every UCP answer validates against the spec's own JSON Schemas (2026-04-08, unchanged in
``../shared/specs``): the business profile, a checkout with the fulfillment, discount and
buyer-consent extensions, the in-band error response, an order, catalog search and lookup."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reelcart.db import Database
from tests.commerce.acp_helpers import BOTTLE, MUG

from .ucp_helpers import ADDRESS, Platform, client, complete_body, create_body, signed_get

pytestmark = pytest.mark.xdist_group("ucp-rest")

SPEC = Path(
    os.environ.get(
        "REELCART_UCP_SPEC_DIR",
        Path(__file__).resolve().parents[4] / "shared" / "specs" / "ucp-2026-04-08",
    )
)
BASE = "https://ucp.dev/"


@cache
def _registry() -> Registry:
    """Every schema under the URL of its file (``schemas/…`` is also its ``$id``; the
    discovery profile's relative references resolve from its file's place)."""
    resources = []
    for path in (SPEC / "source").rglob("*.json"):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and "$schema" in document:
            url = BASE + path.relative_to(SPEC / "source").as_posix()
            resources.append((url, Resource.from_contents({**document, "$id": url})))
    return Registry().with_resources(resources)


def _validate(ref: str, instance: Any) -> None:
    if not SPEC.is_dir():
        message = f"UCP spec not found at {SPEC} (set REELCART_UCP_SPEC_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    validator = Draft202012Validator({"$ref": BASE + ref}, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_answers_validate_against_the_spec_schemas(served: tuple[str, Platform, Database]) -> None:
    base, platform, _ = served
    with client(base) as http:
        _validate(
            "discovery/profile_schema.json#/$defs/business_profile",
            http.get("/.well-known/ucp").json(),
        )
        body = {
            **create_body(quantity=2),
            "buyer": {
                "email": "ada@example.com",
                "first_name": "Ada",
                "consent": {"marketing": True, "analytics": False},
            },
            "discounts": {"codes": ["NOPE"]},
        }
        created = http.post("/checkout-sessions", json=body, headers=platform.headers())
        assert created.status_code == 201, created.text
        checkout = created.json()
        for ref in (
            "schemas/shopping/checkout.json",
            "schemas/shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout",
            "schemas/shopping/discount.json#/$defs/dev.ucp.shopping.checkout",
            "schemas/shopping/buyer_consent.json#/$defs/dev.ucp.shopping.checkout",
        ):
            _validate(ref, checkout)
        assert checkout["fulfillment"]["methods"][0]["destinations"][0]["id"] == ADDRESS["id"]
        sold_out = http.post(
            "/checkout-sessions", json=create_body(item=BOTTLE), headers=platform.headers()
        )
        assert sold_out.status_code == 200
        _validate("schemas/shopping/types/error_response.json", sold_out.json())
        done = http.post(
            f"/checkout-sessions/{checkout['id']}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code == 200, done.text
        _validate("schemas/shopping/checkout.json", done.json())
        order = signed_get(http, platform, f"/orders/{done.json()['order']['id']}")
        _validate("schemas/shopping/order.json", order.json())
        found = http.post("/catalog/search", json={"query": "mug"}, headers=platform.headers())
        _validate("schemas/shopping/catalog_search.json#/$defs/search_response", found.json())
        looked = http.post("/catalog/lookup", json={"ids": [MUG]}, headers=platform.headers())
        _validate("schemas/shopping/catalog_lookup.json#/$defs/lookup_response", looked.json())
        assert looked.json()["products"][0]["variants"][0]["inputs"] == [
            {"id": MUG, "match": "exact"}
        ]
