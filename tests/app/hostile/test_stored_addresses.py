"""A typed e-mail proves nothing: a UCP checkout never shows a known customer's saved
addresses, names or phone number to the platform that typed the e-mail (saved addresses
belong to a shopper who proved who they are, UCP ``identity-linking.md``)."""

from __future__ import annotations

import pytest

from reelcart.db import Database
from reelcart.models import Customer, CustomerAddress
from tests.app.ucp.conftest import served, sqlite_db
from tests.app.ucp.ucp_helpers import ADDRESS, Platform, client, create_body
from tests.commerce.acp_helpers import localstripe

__all__ = ["localstripe", "served", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")

SECRET_STREET = "77 Hidden Lane"
SECRET_PHONE = "+1 555 0100 999"


def _known_customer(db: Database) -> None:
    with db.session() as session:
        session.add(
            Customer(id="c_grace", email="grace@example.com", first_name="Grace", last_name="H")
        )
        session.add(
            CustomerAddress(
                id="addr_secret",
                customer_id="c_grace",
                position=0,
                full_name="Grace Hopper",
                street_address=SECRET_STREET,
                locality="Arlington",
                region="VA",
                postal_code="22201",
                country="US",
                phone=SECRET_PHONE,
            )
        )


def test_an_email_alone_reveals_no_saved_address(served: tuple[str, Platform, Database]) -> None:
    base, platform, db = served
    _known_customer(db)
    body = {**create_body(), "buyer": {"email": "grace@example.com"}}
    with client(base) as http:
        created = http.post("/checkout-sessions", json=body, headers=platform.headers())
        assert created.status_code == 201, created.text
        text = created.text
        assert SECRET_STREET not in text and SECRET_PHONE not in text
        assert "addr_secret" not in text and "Grace Hopper" not in text
        destinations = created.json()["fulfillment"]["methods"][0]["destinations"]
        # Only what the platform itself sent.
        assert [d["street_address"] for d in destinations] == [ADDRESS["street_address"]]
        # Sending the hidden address does not confirm it either (no stored id comes back).
        guess = {
            **ADDRESS,
            "id": "guess",
            "street_address": SECRET_STREET,
            "address_locality": "Arlington",
            "address_region": "VA",
            "postal_code": "22201",
        }
        body["fulfillment"]["methods"][0]["destinations"] = [guess]
        body["fulfillment"]["methods"][0]["selected_destination_id"] = "guess"
        again = http.post("/checkout-sessions", json=body, headers=platform.headers())
        assert again.status_code == 201, again.text
        assert "addr_secret" not in again.text and SECRET_PHONE not in again.text
