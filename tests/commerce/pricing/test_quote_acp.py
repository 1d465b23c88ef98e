"""ACP sessions price through the same core as UCP: the same cart gives the same amounts,
and ACP's discount extension reports applied and rejected codes in its schema's shape."""

from __future__ import annotations

from typing import Any

from commerce.checkout.service import CheckoutService
from commerce.pricing.quote import CartLine, quote, resolve_item
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import ADDRESS, require_spec, validate
from tests.commerce.flower_shop import flower_shop, price_of

__all__ = ["flower_shop"]

TAX_BPS = 825


def _amounts(totals: list[dict[str, Any]]) -> dict[str, int]:
    amounts: dict[str, int] = {}
    for total in totals:
        amounts[total["type"]] = amounts.get(total["type"], 0) + total["amount"]
    return amounts


def test_acp_and_the_core_agree_on_a_discounted_shipped_cart(
    flower_shop: Database, store: MediaStore, settings: Settings
) -> None:
    require_spec()
    taxed = settings.model_copy(update={"acp_tax_rate_bps": TAX_BPS})
    service = CheckoutService(flower_shop, taxed, store)
    body = {
        "currency": "usd",
        "line_items": [{"id": "bouquet_roses", "quantity": 3}],
        "fulfillment_details": {"name": "Ada", "address": ADDRESS},
        "discounts": {"codes": ["10OFF", "NOT_A_CODE"]},
        "capabilities": {},
    }
    session = service.create(body)
    validate("CheckoutSession", session)

    # Independent expectations from products.csv, discounts.csv and promotions.csv.
    base = 3 * price_of("bouquet_roses")
    discount = base * 10 // 100
    tax = ((base - discount) * TAX_BPS + 5_000) // 10_000
    # Cheapest option chosen by default: standard shipping, free for rose-only carts.
    assert _amounts(session["totals"]) == {
        "items_base_amount": base,
        "items_discount": discount,
        "subtotal": base - discount,
        "fulfillment": 0,
        "tax": tax,
        "total": base - discount + tax,
    }
    assert session["discounts"]["codes"] == ["10OFF", "NOT_A_CODE"]
    assert [a["code"] for a in session["discounts"]["applied"]] == ["10OFF"]
    assert session["discounts"]["applied"][0]["coupon"]["percent_off"] == 10
    assert session["discounts"]["rejected"][0]["reason"] == "discount_code_invalid"
    assert {o["id"] for o in session["fulfillment_options"]} == {"std-ship", "exp-ship-us"}

    chosen = service.update(
        session["id"],
        {
            "selected_fulfillment_options": [
                {
                    "type": "shipping",
                    "option_id": "exp-ship-us",
                    "item_ids": [session["line_items"][0]["id"]],
                }
            ]
        },
    )
    validate("CheckoutSession", chosen)
    acp = _amounts(chosen["totals"])
    assert acp["fulfillment"] == 1500 and acp["total"] == base - discount + tax + 1500

    # What the UCP door computes for the same cart: one call into the same core.
    with flower_shop.session() as db_session:
        roses = resolve_item(db_session, "bouquet_roses")
        assert roses is not None
        core = quote(
            db_session,
            taxed,
            [CartLine(roses, 3)],
            codes=["10OFF", "NOT_A_CODE"],
            country="US",
            selected_option_id="exp-ship-us",
        )
    assert (core.items_base, core.items_discount, core.fulfillment, core.tax, core.total) == (
        acp["items_base_amount"],
        acp["items_discount"],
        acp["fulfillment"],
        acp["tax"],
        acp["total"],
    )

    # Clearing the codes takes the discount away again.
    cleared = service.update(session["id"], {"discounts": {"codes": []}})
    validate("CheckoutSession", cleared)
    assert "items_discount" not in _amounts(cleared["totals"])
    assert cleared["discounts"] == {"codes": [], "applied": [], "rejected": []}
