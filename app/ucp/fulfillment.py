"""The UCP fulfillment extension's shapes over the store's destinations and options.

A checkout holds one shipping method; its destinations are the ones the platform sent. A
buyer's stored addresses are offered only to a signed-in shopper (UCP identity linking,
which this door does not offer), never to whoever types an e-mail in ``buyer``
(:mod:`commerce.store.customers`). Options exist for the selected
destination only: they depend on its country (the store's rates and free-shipping rules,
:mod:`commerce.pricing.quote`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from commerce.pricing.quote import FulfillmentOption, PricedCart
from commerce.store.customers import (
    Address,
    SignedInShopper,
    address_key,
    destinations_for,
    match_stored,
)

from .envelope import UcpError

__all__ = [
    "Method",
    "address_view",
    "method_view",
    "parse_address",
    "resolve_method",
    "shipping_address",
]

_TEXT_FIELDS = {
    "street_address": "street_address",
    "extended_address": "extended_address",
    "address_locality": "locality",
    "address_region": "region",
    "postal_code": "postal_code",
    "address_country": "country",
    "phone_number": "phone",
}


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 512:
        raise UcpError(400, "invalid_input", f"{where} must be a string of at most 512 characters")
    return value


def parse_address(raw: Any, where: str) -> Address:
    """A UCP ``PostalAddress`` (with an optional ``id``) as the store's :class:`Address`."""
    if not isinstance(raw, dict):
        raise UcpError(400, "invalid_input", f"{where} must be an object")
    values = {
        ours: _text(raw.get(theirs), f"{where}.{theirs}") or ""
        for theirs, ours in _TEXT_FIELDS.items()
    }
    first = _text(raw.get("first_name"), f"{where}.first_name")
    last = _text(raw.get("last_name"), f"{where}.last_name")
    full = _text(raw.get("full_name"), f"{where}.full_name")
    name = full or " ".join(p for p in (first, last) if p) or None
    return Address(
        id=_text(raw.get("id"), f"{where}.id") or None,
        street_address=values["street_address"],
        extended_address=values["extended_address"] or None,
        locality=values["locality"],
        region=values["region"],
        postal_code=values["postal_code"],
        country=values["country"].strip().upper(),
        full_name=name,
        phone=values["phone"] or None,
    )


def address_view(address: Address) -> dict[str, Any]:
    """A ``shipping_destination.json`` object."""
    view: dict[str, Any] = {
        "id": address.id,
        "street_address": address.street_address,
        "address_locality": address.locality,
        "address_region": address.region,
        "postal_code": address.postal_code,
        "address_country": address.country,
    }
    if address.extended_address:
        view["extended_address"] = address.extended_address
    if address.full_name:
        first, _, last = address.full_name.partition(" ")
        view["first_name"] = first
        if last:
            view["last_name"] = last
    if address.phone:
        view["phone_number"] = address.phone
    return view


@dataclass
class Method:
    """The stored shipping method of a checkout (JSON in the session's ``extra``)."""

    id: str = "method_1"
    destinations: list[dict[str, Any]] = field(default_factory=list)
    selected_destination_id: str | None = None
    group_id: str = "group_1"
    selected_option_id: str | None = None

    def selected(self) -> Address | None:
        for raw in self.destinations:
            if raw.get("id") == self.selected_destination_id:
                return Address(**raw)
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Method | None:
        return cls(**data) if data else None


def _implied_destination(
    previous: Method | None, provided: list[Address], destinations: list[Address]
) -> str | None:
    """The destination a request that names none means: the one already chosen, else the
    only address the platform sent (its intent is plain)."""
    if previous is not None and previous.selected_destination_id:
        return previous.selected_destination_id
    if len(provided) == 1:
        key = address_key(provided[0])
        return next((d.id for d in destinations if address_key(d) == key), None)
    return None


def resolve_method(
    session: Session,
    shopper: SignedInShopper | None,
    requested: Any,
    previous: Method | None,
) -> Method | None:
    """The method a ``fulfillment`` object asks for (``None``: no fulfillment requested)."""
    if requested is None:
        return previous
    if not isinstance(requested, dict):
        raise UcpError(400, "invalid_input", "fulfillment must be an object")
    methods = requested.get("methods")
    if not isinstance(methods, list) or not methods:
        return None
    raw = methods[0]
    if not isinstance(raw, dict):
        raise UcpError(400, "invalid_input", "fulfillment.methods[0] must be an object")
    if raw.get("type", "shipping") != "shipping":
        raise UcpError(400, "invalid_input", "only shipping is offered", path="$.fulfillment")
    # An update that leaves out ``destinations`` (checkout-mcp.md's update example does)
    # keeps the ones the checkout has, and the chosen one with them.
    kept_previous = "destinations" not in raw and previous is not None
    sent = raw.get("destinations") or []
    if not isinstance(sent, list):
        raise UcpError(400, "invalid_input", "destinations must be a list")
    provided, aliases = [], {}
    for index, item in enumerate(sent):
        address = parse_address(item, f"$.fulfillment.methods[0].destinations[{index}]")
        kept = match_stored(session, shopper, address)
        if address.id and kept.id != address.id:
            aliases[address.id] = kept.id
        provided.append(kept)
    if kept_previous and previous is not None:
        provided = [Address(**d) for d in previous.destinations]
    destinations = destinations_for(session, shopper, provided)
    known = {d.id for d in destinations}
    selected = raw.get("selected_destination_id")
    selected = aliases.get(selected, selected) if isinstance(selected, str) else None
    if "selected_destination_id" not in raw:
        selected = _implied_destination(previous, provided, destinations)
    if selected not in known:
        selected = None
    groups = raw.get("groups") or []
    group = groups[0] if isinstance(groups, list) and groups and isinstance(groups[0], dict) else {}
    option = group.get("selected_option_id")
    given_id = raw.get("id")
    method_id = given_id if isinstance(given_id, str) and given_id else "method_1"
    group_id = group.get("id") if isinstance(group.get("id"), str) and group.get("id") else None
    return Method(
        id=method_id[:255],
        destinations=[asdict(d) for d in destinations],
        selected_destination_id=selected,
        group_id=(group_id or (previous.group_id if previous else "group_1"))[:255],
        selected_option_id=option if isinstance(option, str) else None,
    )


def _option_view(option: FulfillmentOption, now: datetime) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": option.id,
        "title": option.title,
        "totals": [{"type": "total", "display_text": option.title, "amount": option.amount}],
    }
    if option.min_days is not None and option.max_days is not None:
        view["description"] = f"Arrives in {option.min_days}-{option.max_days} days"
        view["earliest_fulfillment_time"] = (now + timedelta(days=option.min_days)).isoformat()
        view["latest_fulfillment_time"] = (now + timedelta(days=option.max_days)).isoformat()
    if option.carrier:
        view["carrier"] = option.carrier
    return view


def method_view(
    method: Method, line_ids: list[str], priced: PricedCart | None, now: datetime
) -> dict[str, Any]:
    """The ``fulfillment`` object of a checkout response (one shipping method)."""
    group: dict[str, Any] = {"id": method.group_id, "line_item_ids": line_ids}
    if priced is not None and method.selected() is not None:
        group["options"] = [_option_view(o, now) for o in priced.options]
        group["selected_option_id"] = priced.selected.id if priced.selected else None
    view: dict[str, Any] = {
        "id": method.id,
        "type": "shipping",
        "line_item_ids": line_ids,
        "destinations": [address_view(Address(**d)) for d in method.destinations],
        "selected_destination_id": method.selected_destination_id,
        "groups": [group],
    }
    return {"methods": [view]}


def shipping_address(method: Method | None, buyer: dict[str, Any]) -> dict[str, Any]:
    """The selected destination in the checkout core's ACP shape (order hooks read it)."""
    chosen = method.selected() if method else None
    if chosen is None:
        return {}
    name = chosen.full_name or " ".join(
        p for p in (buyer.get("first_name"), buyer.get("last_name")) if p
    )
    return {
        "name": name or "",
        "address": {
            "name": name or "",
            "line_one": chosen.street_address,
            "line_two": chosen.extended_address,
            "city": chosen.locality,
            "state": chosen.region,
            "country": chosen.country,
            "postal_code": chosen.postal_code,
        },
    }
