"""The pricing core's rules on hand-written carts: stacking, limits, windows, rounding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.pricing.quote import CartLine, Resolved, price_cart
from commerce.pricing.rules import DiscountRule, FreeShippingSpec, RateSpec, StoreRules
from reelcart.models import Product, ProductVariant

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _line(pid: str, price: int, quantity: int = 1, tags: list[str] | None = None) -> CartLine:
    product = Product(id=pid, title=pid, tags=tags or [], currency="USD")
    variant = ProductVariant(id=f"{pid}-v", title="Default", price_minor=price)
    return CartLine(Resolved(pid, product, variant), quantity)


def _pct(code: str, percent: int, **kw: Any) -> DiscountRule:
    rule = DiscountRule(code, code, code, "percentage", percent_bps=percent * 100)
    return replace(rule, **kw)


def _fixed(code: str, amount: int, **kw: Any) -> DiscountRule:
    return replace(DiscountRule(code, code, code, "fixed_amount", amount_minor=amount), **kw)


def test_spec_stacking_example_percentage_then_fixed() -> None:
    # UCP discount spec: $100, 20 % off (priority 1) then $10 off (priority 2) = $70.
    rules = StoreRules.of([_pct("A", 20), _fixed("B", 1000)])
    priced = price_cart(rules, [_line("p", 10_000)], codes=["B", "A"], now=NOW)
    assert [(d.code, d.priority, d.amount) for d in priced.discounts] == [
        ("A", 1, 2000),
        ("B", 2, 1000),
    ]
    assert priced.subtotal == 7000


def test_fixed_amount_spread_adds_up_exactly_and_never_below_zero() -> None:
    rules = StoreRules.of([_fixed("HALF", 50), _fixed("HUGE", 1_000_000)])
    lines = [_line("a", 1), _line("b", 1), _line("c", 1), _line("d", 97)]
    spread = price_cart(rules, lines, codes=["HALF"], now=NOW)
    # 50 × (1, 1, 1, 97) / 100 = 0.5, 0.5, 0.5, 48.5: every remainder ties, so the two
    # units left over go to the earliest lines.
    assert [line.discount for line in spread.lines] == [1, 1, 0, 48]
    assert spread.discounts[0].allocations == ((0, 1), (1, 1), (3, 48))
    capped = price_cart(rules, lines, codes=["HUGE"], now=NOW)
    assert capped.subtotal == 0 and capped.discounts[0].amount == 100
    assert all(line.subtotal == 0 for line in capped.lines)


def test_percentage_rounds_half_up_per_line() -> None:
    rules = StoreRules.of([_pct("TEN", 10)])
    # 10 % of 15 = 1.5 → 2, of 25 = 2.5 → 3: half up per line, not on the sum.
    priced = price_cart(rules, [_line("a", 15), _line("b", 25)], codes=["ten"], now=NOW)
    assert [line.discount for line in priced.lines] == [2, 3]


def test_a_code_that_does_not_stack_refuses_the_others_after_it() -> None:
    rules = StoreRules.of([_pct("SOLO", 50, stackable=False), _pct("TEN", 10)])
    priced = price_cart(rules, [_line("p", 1000)], codes=["TEN", "SOLO"], now=NOW)
    assert [d.code for d in priced.discounts] == ["TEN"]
    assert [(r.code, r.reason) for r in priced.rejected] == [
        ("SOLO", "discount_code_combination_disallowed")
    ]
    first = price_cart(rules, [_line("p", 1000)], codes=["SOLO", "TEN"], now=NOW)
    assert [d.code for d in first.discounts] == ["SOLO"] and first.subtotal == 500


def test_window_minimum_usage_and_product_limits() -> None:
    rules = StoreRules.of(
        [
            _pct("LATER", 10, starts_at=NOW + timedelta(days=1)),
            _pct("OVER", 10, ends_at=NOW),
            _pct("NAIVE", 10, ends_at=(NOW + timedelta(hours=1)).replace(tzinfo=None)),
            _pct("BIG", 10, min_subtotal_minor=2001),
            _pct("USED", 10, usage_limit=5, times_used=5),
            _pct("MUGS", 50, product_ids=frozenset({"mug"})),
            _pct("HATS", 50, product_ids=frozenset({"hat"})),
        ]
    )
    lines = [_line("mug", 1000), _line("pen", 1000)]
    codes = ["LATER", "OVER", "NAIVE", "BIG", "USED", "MUGS", "HATS"]
    priced = price_cart(rules, lines, codes=codes, now=NOW)
    assert {r.code: r.reason for r in priced.rejected} == {
        "LATER": "discount_code_invalid",
        "OVER": "discount_code_expired",
        "BIG": "discount_code_minimum_not_met",
        "USED": "discount_code_usage_limit_reached",
        "HATS": "discount_code_invalid",
    }
    # NAIVE (a zone-less end, as SQLite returns it, read as UTC) still runs for an hour.
    assert [d.code for d in priced.discounts] == ["NAIVE", "MUGS"]
    assert [line.discount for line in priced.lines] == [100 + 450, 100]


@pytest.mark.parametrize(("subtotal", "free"), [(9_999, False), (10_000, True), (10_001, True)])
def test_free_shipping_threshold_boundary(subtotal: int, free: bool) -> None:
    rules = StoreRules.of(
        rates=[RateSpec("std", "Standard", 500), RateSpec("exp", "Express", 1500, "express")],
        free_shipping=[
            FreeShippingSpec(
                "over100", "Free over $100", 10_000, service_levels=frozenset({"standard"})
            )
        ],
    )
    priced = price_cart(rules, [_line("p", subtotal)], country="US", now=NOW)
    std, exp = priced.option("std"), priced.option("exp")
    assert std is not None and exp is not None
    assert std.amount == (0 if free else 500) and std.list_amount == 500
    assert exp.amount == 1500  # express is not part of the promotion


def test_country_rates_replace_the_default_per_service_level() -> None:
    rules = StoreRules.of(
        rates=[
            RateSpec("std", "Standard", 500),
            RateSpec("exp", "Express", 2500, "express"),
            RateSpec("exp-us", "Express US", 1500, "express", country="US"),
        ],
        free_shipping=[FreeShippingSpec("eu", "Free in Germany", countries=frozenset({"DE"}))],
    )
    cart = [_line("p", 100)]
    assert [o.id for o in price_cart(rules, cart, country="us", now=NOW).options] == [
        "std",
        "exp-us",
    ]
    assert [o.id for o in price_cart(rules, cart, country="CA", now=NOW).options] == ["std", "exp"]
    assert [o.id for o in price_cart(rules, cart, now=NOW).options] == ["std", "exp"]
    german = price_cart(rules, cart, country="DE", now=NOW)
    assert [(o.id, o.amount) for o in german.options] == [("std", 0), ("exp", 0)]


def test_digital_cart_is_delivered_digitally_at_no_charge() -> None:
    rules = StoreRules.of(rates=[RateSpec("std", "Standard", 500)])
    priced = price_cart(
        rules, [_line("ebook", 900, tags=["Digital"])], selected_option_id="digital", now=NOW
    )
    assert priced.digital and priced.fulfillment == 0 and priced.total == 900


def test_catalog_file_codes_do_not_stack_unless_the_file_says_so() -> None:
    """60 % + 70 % + $20 must not make an order free: a file's code combines only when
    it is marked ``stackable`` (Shopify's default is combinesWith false)."""
    from connectors.store_data import DiscountData

    plain = DiscountData(code="SIXTY", kind="percentage", percentage=60)
    assert plain.stackable is False
    assert DiscountData(code="X", kind="percentage", percentage=5, stackable=True).stackable
