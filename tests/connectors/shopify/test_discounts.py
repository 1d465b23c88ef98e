"""Discount codes and customers from the fake Shopify Admin GraphQL into the store rules,
and priced by the core as Shopify defines them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse
from pydantic import SecretStr
from sqlalchemy import select

from commerce.pricing.quote import CartLine, Resolved, price_cart
from commerce.pricing.rules import load_rules
from commerce.shopify.sync import run_shopify_sync
from commerce.store.customers import SignedInShopper, stored_addresses
from commerce.store.sync import sync_shopify_store
from connectors.shopify.client import ScaledClock, ShopifyClient
from connectors.shopify.customers import CUSTOMERS_PAGE, fetch_customers
from connectors.shopify.discounts import DISCOUNTS_PAGE, fetch_discount_codes
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Customer, DiscountCode, Product, ProductVariant
from reelcart.settings import Settings
from tests.fakes.shopify_resolvers import build_schema
from tests.fakes.shopify_schema import MAX_QUERY_COST, requested_cost
from tests.fakes.shopify_server import FakeShopify
from tests.fakes.shopify_state import FakeShopState
from tests.fakes.shopify_store import add_customer, add_discount_code

CLOCK = ScaledClock(200)


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, restore_rate=100) as fake:
        yield fake


def _run(shop: FakeShopify, work: Any) -> Any:
    async def go() -> Any:
        client = ShopifyClient(
            shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK, timeout_s=2.0
        )
        async with client:
            return await work(client)

    return asyncio.run(go())


def _stock(shop: FakeShopify) -> None:
    state = shop.state
    add_discount_code(state, "TENOFF", percentage=0.1, combines_with_order=True)
    add_discount_code(state, "FIVER", amount="5.00", combines_with_order=True)
    add_discount_code(state, "BIGSPEND", percentage=0.25, min_subtotal="100.00")
    add_discount_code(state, "GONE", percentage=0.5, status="EXPIRED")
    add_discount_code(state, "SHIPFREE", kind="DiscountCodeFreeShipping", percentage=1.0)
    add_customer(
        state,
        "Ada@Example.com",
        first_name="Ada",
        last_name="Lovelace",
        addresses=[
            {"address1": "1 Chat Road", "city": "London", "zip": "N1 9GU", "countryCodeV2": "GB"},
            {
                "address1": "2 Elm St",
                "city": "Austin",
                "provinceCode": "TX",
                "zip": "73301",
                "countryCodeV2": "US",
            },
            {"address1": "nowhere"},  # no country: cannot be priced, so not offered
        ],
    )
    add_customer(state, None, first_name="No", last_name="Email")


def test_queries_fit_shopifys_cost_cap() -> None:
    schema = build_schema(FakeShopState(clock=CLOCK))
    for query, first in ((DISCOUNTS_PAGE, 10), (CUSTOMERS_PAGE, 50)):
        cost = requested_cost(schema, parse(query), {"first": first, "after": None})
        # Unions (codeDiscount, its value and items) are counted: far above a page of 10.
        assert 200 < cost <= MAX_QUERY_COST


def test_codes_and_customers_read_as_shopify_defines_them(shop: FakeShopify) -> None:
    _stock(shop)
    codes = {d.code: d for d in _run(shop, fetch_discount_codes)}
    # Free-shipping codes are a kind the core does not take from Shopify; expired ones are
    # kept but inactive, so a buyer who types one is told it is not valid.
    assert sorted(codes) == ["BIGSPEND", "FIVER", "GONE", "TENOFF"]
    assert codes["TENOFF"].percent_bps == 1000 and codes["TENOFF"].stackable
    assert codes["FIVER"].amount_minor == 500 and codes["FIVER"].kind == "fixed_amount"
    assert codes["BIGSPEND"].min_subtotal_minor == 10_000 and not codes["BIGSPEND"].stackable
    assert not codes["GONE"].active
    (ada,) = _run(shop, fetch_customers)
    assert ada.email == "ada@example.com"
    assert [(a.country, a.locality, a.region) for a in ada.addresses] == [
        ("GB", "London", ""),
        ("US", "Austin", "TX"),
    ]
    assert all(a.id.startswith("gid://shopify/MailingAddress/") for a in ada.addresses)


def test_sync_writes_rules_the_core_prices_with(
    shop: FakeShopify, db: Database, settings: Settings
) -> None:
    _stock(shop)
    first = _run(shop, lambda client: sync_shopify_store(db, client))
    assert first.counts == {"discounts": 4, "customers": 1}
    with db.session() as session:
        rules = load_rules(session, settings)
        ada = stored_addresses(session, SignedInShopper("ada@example.com"))
        assert [a.country for a in ada] == ["GB", "US"]
        assert session.scalars(select(Customer)).one().source == "shopify"
    product = Product(id="p", title="p", tags=[], currency="USD")
    variant = ProductVariant(id="v", title="Default", price_minor=4000)
    line = CartLine(Resolved("p", product, variant), 1)
    both = price_cart(rules, [line], codes=["tenoff", "FIVER", "GONE", "BIGSPEND"])
    # 10 % of 40.00 = 4.00, then 5.00: both combine with order discounts. GONE is inactive,
    # BIGSPEND needs 100.00.
    assert both.items_discount == 400 + 500
    assert {r.code: r.reason for r in both.rejected} == {
        "GONE": "discount_code_invalid",
        "BIGSPEND": "discount_code_minimum_not_met",
    }

    # A code deleted in Shopify disappears at the next sync; other sources are untouched.
    with db.session() as session:
        session.add(
            DiscountCode(
                id="file-code",
                code="FILE",
                title="file",
                kind="percentage",
                percent_bps=500,
                source="file",
            )
        )
    gone = next(k for k, v in shop.state.discounts.items() if "FIVER" in str(v))
    del shop.state.discounts[gone]
    second = _run(shop, lambda client: sync_shopify_store(db, client))
    assert second.removed["discounts"] == 1
    with db.session() as session:
        assert sorted(d.code for d in session.scalars(select(DiscountCode))) == [
            "BIGSPEND",
            "FILE",
            "GONE",
            "TENOFF",
        ]


def test_the_catalog_sync_brings_codes_and_customers_along(
    shop: FakeShopify, db: Database, store: MediaStore, settings: Settings
) -> None:
    _stock(shop)
    shop.state.add_product(1, images=0)
    configured = settings.model_copy(
        update={
            "shopify_shop": shop.base_url,
            "shopify_access_token": SecretStr(shop.state.access_token),
        }
    )
    counts = run_shopify_sync(db, store, configured, "full")
    assert counts["created"] == 1
    with db.session() as session:
        assert len(session.scalars(select(DiscountCode)).all()) == 4
        assert [
            a.country for a in stored_addresses(session, SignedInShopper("ada@example.com"))
        ] == ["GB", "US"]
