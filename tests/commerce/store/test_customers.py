"""Known buyers' stored addresses as destinations, over the UCP suite's flower shop."""

from __future__ import annotations

import pytest

from commerce.store.customers import (
    Address,
    SignedInShopper,
    destinations_for,
    match_stored,
    stored_addresses,
)
from reelcart.db import Database
from tests.commerce.flower_shop import flower_shop_readonly, rows

__all__ = ["flower_shop_readonly"]


@pytest.fixture
def shop(flower_shop_readonly: Database) -> Database:
    return flower_shop_readonly


def _csv_address(address_id: str) -> Address:
    row = next(r for r in rows("addresses.csv") if r["id"] == address_id)
    return Address(
        street_address=row["street_address"],
        locality=row["city"],
        region=row["state"],
        postal_code=row["postal_code"],
        country=row["country"],
    )


def _email_of(customer_id: str) -> SignedInShopper:
    """The signed-in shopper of a customer in the suite's CSV."""
    return SignedInShopper(
        next(r["email"] for r in rows("customers.csv") if r["id"] == customer_id)
    )


def test_known_buyer_gets_stored_addresses_in_order(shop: Database) -> None:
    expected = [r["id"] for r in rows("addresses.csv") if r["customer_id"] == "customer_1"]
    with shop.session() as session:
        found = stored_addresses(
            session, SignedInShopper(_email_of("customer_1").email.upper())
        )  # any case
        assert [a.id for a in found] == expected
        assert found[1].street_address == "456 Oak Ave" and found[1].postal_code == "10012"


def test_unknown_buyer_and_buyer_without_addresses_get_none(shop: Database) -> None:
    with shop.session() as session:
        assert destinations_for(session, SignedInShopper("unknown@example.com")) == []
        assert destinations_for(session, None) == []
        # customer_3 has no row in addresses.csv.
        assert destinations_for(session, _email_of("customer_3")) == []


def test_sent_address_matching_a_stored_one_takes_its_id(shop: Database) -> None:
    sent = _csv_address("addr_1")
    # Spelled differently, without an id, as the suite sends it.
    loose = Address(
        id="",
        street_address="123  main st.",
        locality="SPRINGFIELD",
        region="il",
        postal_code="62704",
        country="us",
    )
    with shop.session() as session:
        email = _email_of("customer_1")
        assert match_stored(session, email, loose).id == "addr_1"
        listed = destinations_for(session, email, [loose, sent])
        assert [a.id for a in listed] == ["addr_1", "addr_2"]  # listed once, stored first
        # Another buyer does not get customer_1's address id.
        assert match_stored(session, _email_of("customer_2"), sent).id != "addr_1"


def test_new_address_keeps_its_id_or_gets_a_stable_one(shop: Database) -> None:
    email = _email_of("customer_1")
    toronto = Address(country="CA", postal_code="M5V 2H1", street_address="123 New St")
    with shop.session() as session:
        given = destinations_for(session, email, [Address(id="dest_new", country="CA")])
        assert [a.id for a in given] == ["addr_1", "addr_2", "dest_new"]
        first = destinations_for(session, email, [toronto])[-1].id
        again = destinations_for(session, SignedInShopper("someone@example.com"), [toronto])[-1].id
        other = destinations_for(session, email, [Address(country="CA", postal_code="M5V 2H2")])
    assert first == again and first and first.startswith("dest_")
    assert other[-1].id != first


def test_no_signed_in_shopper_no_stored_address(shop: Database) -> None:
    """Without a proven identity nothing stored is offered or matched."""
    sent = _csv_address("addr_1")
    with shop.session() as session:
        assert stored_addresses(session, None) == []
        assert match_stored(session, None, sent).id != "addr_1"
        assert [a.id for a in destinations_for(session, None, [sent])] != ["addr_1"]
