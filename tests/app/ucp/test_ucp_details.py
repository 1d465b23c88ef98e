"""UCP REST details where clients of other lineages trip, each checked against the spec:
``/catalog/product`` answers the singular ``get_product`` shape and a missing product in
the envelope (``catalog/rest.md``), a ``Request-Id`` must be a UUID (``rest.openapi.json``),
and fulfillment destinations survive updates that do not repeat them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from reelcart.db import Database
from tests.commerce.acp_helpers import MUG, NOTES

from .test_ucp_schemas import _validate
from .ucp_helpers import ADDRESS, Platform, client, complete_body, create_body, signed_get

pytestmark = pytest.mark.xdist_group("ucp-rest")


def test_catalog_product_answers_one_product_or_a_not_found_outcome(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    with client(base) as http:
        found = http.post("/catalog/product", json={"id": MUG}, headers=platform.headers())
        assert found.status_code == 200, found.text
        _validate("schemas/shopping/catalog_lookup.json#/$defs/get_product_response", found.json())
        assert found.json()["product"]["variants"][0]["id"] == MUG
        missing = http.post(
            "/catalog/product", json={"id": "prod_invalid"}, headers=platform.headers()
        )
        assert missing.status_code == 200, missing.text
        body = missing.json()
        _validate("schemas/shopping/types/error_response.json", body)
        assert body["ucp"]["status"] == "error"
        assert body["messages"][0]["code"] == "not_found"
        assert body["messages"][0]["severity"] == "unrecoverable"
        assert "product" not in body and "products" not in body


@pytest.mark.parametrize("request_id", ["not-a-uuid", "12345", "x" * 36])
def test_a_request_id_that_is_not_a_uuid_is_refused(
    served: tuple[str, Platform, Database], request_id: str
) -> None:
    base, platform, _ = served
    with client(base) as http:
        answer = http.post(
            "/checkout-sessions",
            json=create_body(),
            headers=platform.headers(**{"Request-Id": request_id}),
        )
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["code"] == "invalid_input" and "Request-Id" in body["content"]
        good = str(uuid.uuid4())
        accepted = http.post(
            "/checkout-sessions",
            json=create_body(),
            headers=platform.headers(**{"Request-Id": good}),
        )
        assert accepted.status_code == 201 and accepted.headers["request-id"] == good


def _method(view: dict[str, Any]) -> dict[str, Any]:
    return dict(view["fulfillment"]["methods"][0])


def test_one_inline_destination_is_selected_and_kept_by_updates_that_omit_it(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    body = create_body(option=None)
    del body["fulfillment"]["methods"][0]["selected_destination_id"]
    with client(base) as http:
        created = http.post("/checkout-sessions", json=body, headers=platform.headers())
        assert created.status_code == 201, created.text
        method = _method(created.json())
        assert method["selected_destination_id"] == ADDRESS["id"]
        options = method["groups"][0]["options"]
        assert options, method  # options follow the selected destination's country
        chosen = options[-1]["id"]
        # checkout-mcp.md's update: the method by id, its group's option, no destinations.
        update = {
            "line_items": [{"item": {"id": MUG}, "quantity": 1}],
            "currency": "USD",
            "fulfillment": {
                "methods": [
                    {
                        "id": method["id"],
                        "line_item_ids": method["line_item_ids"],
                        "groups": [{"id": method["groups"][0]["id"], "selected_option_id": chosen}],
                    }
                ]
            },
        }
        updated = http.put(
            f"/checkout-sessions/{created.json()['id']}", json=update, headers=platform.headers()
        )
        assert updated.status_code == 200, updated.text
        after = _method(updated.json())
        _validate(
            "schemas/shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout", updated.json()
        )
        assert after["selected_destination_id"] == ADDRESS["id"]
        assert [d["id"] for d in after["destinations"]] == [ADDRESS["id"]]
        assert after["groups"][0]["selected_option_id"] == chosen


def test_the_order_permalink_is_a_page_the_buyer_can_open(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    with client(base) as http:
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        done = http.post(
            f"/checkout-sessions/{created.json()['id']}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code == 200, done.text
        order = done.json()["order"]
        url = order["permalink_url"]
        assert url.startswith(base) and order["id"] not in url  # not derived from the id
        assert signed_get(http, platform, f"/orders/{order['id']}").json()["permalink_url"] == url
    # The buyer: a browser with nothing but the URL.
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert order["label"] in page.text and "Stoneware Mug" in page.text
    assert "Springfield" in page.text  # where it goes (the UCP fulfillment expectation)
    token = url.rsplit("/", 1)[1]
    forged = url[: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:]
    assert httpx.get(forged).status_code == 404
    assert httpx.get(f"{base}/order-status/{order['id']}").status_code == 404


def test_a_cart_is_priced_from_the_catalog_and_becomes_a_checkout(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    with client(base) as http:
        body = {
            "line_items": [{"item": {"id": MUG}, "quantity": 2}],
            "buyer": {"email": "ada@example.com", "first_name": "Ada"},
        }
        created = http.post("/carts", json=body, headers=platform.headers())
        assert created.status_code == 201, created.text
        cart = created.json()
        _validate("schemas/shopping/cart.json", cart)
        assert cart["line_items"][0]["item"]["price"] == 2400  # the catalog's price
        assert cart["line_items"][0]["quantity"] == 2
        path = f"/carts/{cart['id']}"
        assert http.get(path, headers=platform.headers()).json()["id"] == cart["id"]
        update = {"id": cart["id"], "line_items": [{"item": {"id": MUG}, "quantity": 1}]}
        updated = http.put(path, json=update, headers=platform.headers())
        assert updated.status_code == 200, updated.text
        _validate("schemas/shopping/cart.json", updated.json())
        assert updated.json()["line_items"][0]["quantity"] == 1
        checkout = http.post(
            "/checkout-sessions",
            json={"cart_id": cart["id"], "line_items": [{"item": {"id": NOTES}, "quantity": 9}]},
            headers=platform.headers(),
        )
        assert checkout.status_code == 201, checkout.text
        made = checkout.json()
        # cart.md: the cart's contents win over the same fields of the request.
        assert [(li["item"]["id"], li["quantity"]) for li in made["line_items"]] == [(MUG, 1)]
        assert made["buyer"]["email"] == "ada@example.com"
        canceled = http.post(f"{path}/cancel", json={}, headers=platform.headers())
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        refused = http.post(
            "/checkout-sessions", json={"cart_id": cart["id"]}, headers=platform.headers()
        )
        assert refused.status_code == 409, refused.text
