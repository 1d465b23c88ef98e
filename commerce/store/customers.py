"""Known buyers: their stored addresses offered as shipping destinations — to them only.

Saved addresses belong to a shopper who has proved who they are (a signed-in session, an
identity-linking token): the functions here take a :class:`SignedInShopper`, which a door
builds only from such a proof, never from an e-mail a request typed. Without one, a
checkout shows exactly the addresses the client sent.

A destination keeps one id for one address. A stored address is offered under its own id
(``addr_1``, a Shopify ``MailingAddress`` id); an address the buyer sends that matches a
stored one in content (street, city, region, postal code, country; case, spacing and
punctuation aside) is given the stored id; any other address without an id gets one
derived from its content, so sending the same address twice yields the same id. Nothing
here writes: a checkout never adds to a customer's address book on its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from reelcart.models import Customer, CustomerAddress

__all__ = [
    "Address",
    "SignedInShopper",
    "address_key",
    "destination_id",
    "destinations_for",
    "find_customer",
    "match_stored",
    "stored_addresses",
]


@dataclass(frozen=True)
class Address:
    """A postal address in protocol-neutral names (UCP ``PostalAddress`` maps 1:1)."""

    id: str | None = None
    street_address: str = ""
    extended_address: str | None = None
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    full_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class SignedInShopper:
    """A shopper whose identity was proved; ``email`` is the account's, not a typed one."""

    email: str


_PUNCT = re.compile(r"[^\w]+")


def _norm(text: str | None) -> str:
    return " ".join(_PUNCT.sub(" ", (text or "").casefold()).split())


def address_key(address: Address) -> tuple[str, ...]:
    """What makes two addresses the same place (names and phones aside)."""
    return (
        _norm(address.street_address),
        _norm(address.extended_address),
        _norm(address.locality),
        _norm(address.region),
        _norm(address.postal_code).replace(" ", ""),
        address.country.strip().upper(),
    )


def destination_id(address: Address) -> str:
    """A stable id for an address that has none: the same content, the same id."""
    digest = hashlib.sha256("\x1f".join(address_key(address)).encode()).hexdigest()
    return f"dest_{digest[:16]}"


def find_customer(session: Session, email: str | None) -> Customer | None:
    """The known customer with this e-mail (case-insensitive), addresses loaded."""
    if not email or not email.strip():
        return None
    return session.scalars(
        select(Customer)
        .where(func.lower(Customer.email) == email.strip().lower())
        .options(selectinload(Customer.addresses))
    ).first()


def _from_row(row: CustomerAddress) -> Address:
    return Address(
        id=row.id,
        street_address=row.street_address,
        extended_address=row.extended_address,
        locality=row.locality,
        region=row.region,
        postal_code=row.postal_code,
        country=row.country,
        full_name=row.full_name,
        phone=row.phone,
    )


def stored_addresses(session: Session, shopper: SignedInShopper | None) -> list[Address]:
    """A signed-in buyer's stored addresses in their order; none for anyone else."""
    customer = find_customer(session, shopper.email) if shopper is not None else None
    return [] if customer is None else [_from_row(row) for row in customer.addresses]


def destinations_for(
    session: Session, shopper: SignedInShopper | None, provided: Sequence[Address] = ()
) -> list[Address]:
    """The destinations a checkout shows: the buyer's stored ones, then the ones sent.

    A sent address matching a stored one becomes that stored address (its id), so it is
    listed once; a sent address with an id keeps it; one without gets :func:`destination_id`.
    """
    stored = stored_addresses(session, shopper)
    by_key = {address_key(a): a for a in stored}
    result = list(stored)
    seen_ids = {a.id for a in stored}
    for address in provided:
        match = by_key.get(address_key(address))
        if match is not None:
            continue  # already listed under its stored id
        given = address if address.id else replace(address, id=destination_id(address))
        if given.id in seen_ids:
            continue
        seen_ids.add(given.id)
        result.append(given)
    return result


def match_stored(session: Session, shopper: SignedInShopper | None, address: Address) -> Address:
    """``address`` as the checkout should hold it: the stored address it matches, else
    itself with an id (its own, or :func:`destination_id`)."""
    for stored in stored_addresses(session, shopper):
        if address_key(stored) == address_key(address):
            return stored
    return address if address.id else replace(address, id=destination_id(address))
