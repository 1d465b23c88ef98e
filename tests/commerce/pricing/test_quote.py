"""The pricing core over the UCP suite's flower shop: every expected amount is derived from
the shop's CSVs and the suite's fixture files, the way the suite itself derives them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from commerce.pricing.quote import CartLine, PricedCart, quote, resolve_item
from commerce.store.seed import seed_store_from_csv
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Customer, DiscountCode, Product, ProductVariant, ShippingRateRule
from reelcart.settings import Settings
from tests.commerce.flower_shop import (
    fixture_file,
    flower_shop,
    flower_shop_readonly,
    price_of,
    require_flower_shop,
    rows,
)

__all__ = ["flower_shop", "flower_shop_readonly"]


def _quote(db: Database, settings: Settings, items: list[tuple[str, int]], **kw: Any) -> PricedCart:
    with db.session() as session:
        lines = []
        for item_id, quantity in items:
            found = resolve_item(session, item_id)
            assert found is not None, item_id
            lines.append(CartLine(found, quantity))
        return quote(session, settings, lines, **kw)


def _fixtures() -> dict[str, Any]:
    data: dict[str, Any] = fixture_file("test_fixtures.json")["test_fixtures"]
    return data


def test_seed_writes_every_csv_and_a_reseed_changes_nothing(
    flower_shop: Database, store: MediaStore, settings: Settings
) -> None:
    stock = {r["product_id"]: int(r["quantity"]) for r in rows("inventory.csv")}
    with flower_shop.session() as session:
        for row in rows("products.csv"):
            product = session.get(Product, row["id"])
            assert product is not None and product.title == row["title"]
            (variant,) = product.variants
            assert variant.price_minor == int(row["price"])
            assert variant.inventory_quantity == stock[row["id"]]
            assert variant.available_for_sale == (stock[row["id"]] > 0)
        codes = {d.code: d for d in session.scalars(select(DiscountCode))}
        assert sorted(codes) == sorted(r["code"] for r in rows("discounts.csv"))
        assert codes["10OFF"].percent_bps == 1000 and codes["FIXED500"].amount_minor == 500
        assert {r.id for r in session.scalars(select(ShippingRateRule))} == {
            r["id"] for r in rows("shipping_rates.csv")
        }
        john = session.scalars(select(Customer).where(Customer.email == "john.doe@example.com"))
        assert [a.id for a in john.one().addresses] == [
            r["id"] for r in rows("addresses.csv") if r["customer_id"] == "customer_1"
        ]
    again = seed_store_from_csv(
        flower_shop, require_flower_shop(), media=store, settings=settings, fetch_images=False
    )
    assert not again.products.changed
    assert not any(again.store.removed.values())
    assert again.payment_instruments[0]["token"] == "success_token"


def test_line_amounts_come_from_the_catalog(shop: Database, settings: Settings) -> None:
    item = fixture_file("conformance_input.json")["items"][0]
    priced = _quote(shop, settings, [(item["id"], 2)])
    (line,) = priced.lines
    assert line.unit_amount == item["price"] == price_of(item["id"])
    assert priced.items_base == 2 * item["price"]
    assert priced.total == 2 * item["price"]  # no discount, nothing selected, no tax
    assert priced.fulfillment is None and priced.currency == "USD"


def test_percentage_code_takes_the_fixture_percentage(shop: Database, settings: Settings) -> None:
    fx = _fixtures()
    price = price_of(fx["valid_item"]["sku"])
    priced = _quote(shop, settings, [("bouquet_roses", 1)], codes=[fx["valid_discount_code"]])
    expected = round(price * fx["expected_discount_percentage"] / 100)
    assert priced.items_discount == expected
    assert [(d.code, d.amount) for d in priced.discounts] == [(fx["valid_discount_code"], expected)]
    assert priced.total == price - expected


def test_two_percentages_compound_in_the_order_sent(shop: Database, settings: Settings) -> None:
    fx = _fixtures()
    price = price_of("bouquet_roses")
    codes = [fx["valid_discount_code"], fx["valid_discount_code_2"]]
    priced = _quote(shop, settings, [("bouquet_roses", 1)], codes=codes)
    first = round(price * fx["expected_discount_percentage"] / 100)
    second = round((price - first) * fx["expected_discount_percentage_2"] / 100)
    assert [(d.code, d.amount, d.priority) for d in priced.discounts] == [
        (codes[0], first, 1),
        (codes[1], second, 2),
    ]
    assert priced.total == price - first - second


def test_fixed_amount_code_and_percentage_before_fixed(shop: Database, settings: Settings) -> None:
    fx = _fixtures()
    price = price_of("bouquet_roses")
    fixed = round(fx["expected_fixed_discount_reduction"] * 100)
    alone = _quote(shop, settings, [("bouquet_roses", 1)], codes=["FIXED500"])
    assert alone.items_discount == fixed and alone.discounts[0].amount == 500
    # Sent fixed first: the percentage is still computed first, on the full price (spec's
    # stacking example), then the fixed amount comes off what is left.
    both = _quote(shop, settings, [("bouquet_roses", 1)], codes=["FIXED500", "10OFF"])
    assert [d.code for d in both.discounts] == ["10OFF", "FIXED500"]
    assert both.items_discount == price * 10 // 100 + fixed
    assert both.total == price - price * 10 // 100 - fixed


def test_unknown_code_is_ignored_and_reported(shop: Database, settings: Settings) -> None:
    price = price_of("bouquet_roses")
    priced = _quote(
        shop, settings, [("bouquet_roses", 1)], codes=["10off", "INVALID_CODE", "10OFF"]
    )
    assert [d.code for d in priced.discounts] == ["10OFF"]  # matched case-insensitively
    assert [(r.code, r.index, r.reason) for r in priced.rejected] == [
        ("INVALID_CODE", 1, "discount_code_invalid"),
        ("10OFF", 2, "discount_code_already_applied"),
    ]
    assert priced.total == price - price // 10


def _expected_rates(country: str) -> dict[str, int]:
    """Read shipping_rates.csv the way the suite's tests expect: the country's own rate per
    service level, else the "default" one."""
    table = rows("shipping_rates.csv")
    own = {r["service_level"] for r in table if r["country_code"] == country}
    return {
        r["id"]: int(r["price"])
        for r in table
        if r["country_code"] == country
        or (r["country_code"] == "default" and r["service_level"] not in own)
    }


@pytest.mark.parametrize("country", ["US", "CA"])
def test_shipping_options_depend_on_the_destination_country(
    shop: Database, settings: Settings, country: str
) -> None:
    priced = _quote(shop, settings, [("pot_ceramic", 1)], country=country)
    assert {o.id: o.amount for o in priced.options} == _expected_rates(country)
    assert [o.amount for o in priced.options] == sorted(o.amount for o in priced.options)


def test_free_shipping_at_exactly_the_threshold_and_not_below(
    shop: Database, settings: Settings
) -> None:
    promo = next(r for r in rows("promotions.csv") if r["min_subtotal"])
    threshold = int(promo["min_subtotal"])
    cart = [("bouquet_tulips", 1), ("bouquet_sunflowers", 1), ("orchid_white", 1)]
    assert sum(price_of(p) * q for p, q in cart) == threshold
    at = _quote(shop, settings, cart, country="US")
    std = at.option("std-ship")
    assert std is not None and std.amount == 0 and "Free" in std.title
    assert std.free_by == promo["id"]
    express = at.option("exp-ship-us")
    assert express is not None and express.amount == _expected_rates("US")["exp-ship-us"]
    # The threshold is judged after discounts: 500 off leaves it below.
    below = _quote(shop, settings, cart, country="US", codes=["FIXED500"])
    assert below.subtotal == threshold - 500
    std = below.option("std-ship")
    assert std is not None and std.amount == _expected_rates("US")["std-ship"]


def test_free_shipping_for_an_item_only_when_every_item_is_eligible(
    shop: Database, settings: Settings
) -> None:
    roses = _quote(shop, settings, [("bouquet_roses", 1)], country="US")
    std = roses.option("std-ship")
    assert std is not None and std.amount == 0 and "Free" in std.title
    mixed = _quote(shop, settings, [("bouquet_roses", 1), ("pot_ceramic", 1)], country="US")
    std = mixed.option("std-ship")
    assert std is not None and std.amount == _expected_rates("US")["std-ship"]


def test_selected_option_is_charged_and_an_unoffered_one_ignored(
    shop: Database, settings: Settings
) -> None:
    base = price_of("pot_ceramic")
    chosen = _quote(
        shop, settings, [("pot_ceramic", 1)], country="US", selected_option_id="exp-ship-us"
    )
    assert chosen.fulfillment == _expected_rates("US")["exp-ship-us"]
    assert chosen.total == base + _expected_rates("US")["exp-ship-us"]
    wrong = _quote(
        shop,
        settings,
        [("pot_ceramic", 1)],
        country="US",
        selected_option_id="exp-ship-intl",
    )
    assert wrong.selected is None and wrong.total == base


def test_tax_is_on_the_discounted_lines_and_adds_up(shop: Database, settings: Settings) -> None:
    taxed = settings.model_copy(update={"acp_tax_rate_bps": 825})
    items = [("bouquet_roses", 1), ("pot_ceramic", 2)]
    priced = _quote(shop, taxed, items, codes=["FIXED500"], country="US")
    roses, pots = price_of("bouquet_roses"), 2 * price_of("pot_ceramic")
    # 500 spread 3500:3000 over the two lines: 269.2 and 230.8 → 269 and 231.
    assert [line.discount for line in priced.lines] == [269, 231]
    taxes = [((roses - 269) * 825 + 5_000) // 10_000, ((pots - 231) * 825 + 5_000) // 10_000]
    assert [line.tax for line in priced.lines] == taxes
    assert priced.total == roses + pots - 500 + sum(taxes)


def test_out_of_stock_item_still_prices(shop: Database, settings: Settings) -> None:
    gone = fixture_file("conformance_input.json")["out_of_stock_item"]["id"]
    with shop.session() as session:
        variant = session.get(ProductVariant, gone)
        assert variant is not None and variant.inventory_quantity == 0
    priced = _quote(shop, settings, [(gone, 1)])
    assert priced.total == price_of(gone)  # stock is the checkout's business, not pricing's


@pytest.fixture
def shop(flower_shop_readonly: Database) -> Database:
    return flower_shop_readonly
