"""Every UCP answer parses as the official Python SDK's models (``ucp-sdk`` 0.4.6, the
2026-04-08 release, models generated from the spec by its authors): the business profile,
a checkout with its fulfillment and discount extensions, the completed checkout, the
order, and a cart."""

from __future__ import annotations

import pytest
from ucp_sdk.models.schemas import ucp
from ucp_sdk.models.schemas.shopping import cart, checkout, discount, fulfillment, order

from reelcart.db import Database
from tests.commerce.acp_helpers import MUG

from .ucp_helpers import Platform, client, complete_body, create_body, signed_get

pytestmark = pytest.mark.xdist_group("ucp-rest")


def test_answers_parse_as_the_sdk_models(served: tuple[str, Platform, Database]) -> None:
    base, platform, _ = served
    with client(base) as http:
        profile = http.get("/.well-known/ucp").json()
        business = ucp.BusinessSchema.model_validate(profile["ucp"])
        handlers = [h for group in business.payment_handlers.values() for h in group]
        assert handlers and all(h.id for h in handlers)
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        assert created.status_code == 201, created.text
        for model in (checkout.Checkout, fulfillment.Checkout, discount.Checkout):
            model.model_validate(created.json())
        shipped = fulfillment.Checkout.model_validate(created.json())
        assert shipped.fulfillment is not None
        done = http.post(
            f"/checkout-sessions/{created.json()['id']}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code == 200, done.text
        completed = checkout.Checkout.model_validate(done.json())
        assert completed.order is not None and completed.status == "completed"
        placed = signed_get(http, platform, f"/orders/{completed.order.id}")
        assert order.Order.model_validate(placed.json()).id == completed.order.id
        made = http.post(
            "/carts",
            json={"line_items": [{"item": {"id": MUG}, "quantity": 1}]},
            headers=platform.headers(),
        )
        assert made.status_code == 201, made.text
        for cart_model in (cart.Cart, discount.Cart):
            cart_model.model_validate(made.json())
