"""Recomputing a checkout session from its inputs, and its ACP JSON view.

``recompute`` is the single place where a session's line items, fulfilment options,
messages, totals, status and stock holds are derived, from the requested items, the
catalog and the store settings, after every change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.pricing.quote import Resolved, UnknownItem, resolve_items
from connectors.storage import MediaStore
from reelcart.models import CheckoutSession, Product
from reelcart.settings import Settings

from . import inventory
from .acp_render import (
    acp_discounts,
    acp_fulfillment_options,
    acp_line_item,
    acp_totals,
    price_acp_session,
)
from .errors import CheckoutError
from .handoff_link import continue_url
from .orders import record_checkout_events
from .payments import payment_handler

__all__ = [
    "API_VERSION",
    "catalog_currency",
    "check_items",
    "check_selection",
    "negotiate",
    "recompute",
    "session_view",
]

API_VERSION = "2026-04-17"
SUPPORTED_INTERVENTIONS = ("3ds",)


def catalog_currency(session: Session) -> str | None:
    """The store's currency (every product of a shop shares it)."""
    return session.scalar(select(Product.currency).where(Product.status == "ACTIVE").limit(1))


def check_items(session: Session, items: list[dict[str, Any]]) -> list[Resolved]:
    """Resolve every requested item or refuse the request naming the first unknown one."""
    try:
        return resolve_items(session, items)
    except UnknownItem as unknown:
        raise CheckoutError(
            400,
            "invalid_item_id",
            f"The item ID {unknown.item_id!r} does not exist.",
            param=f"$.line_items[{unknown.index}].id",
        ) from None


def negotiate(requested: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The seller's side of capability negotiation: our handler, the shared interventions."""
    interventions = requested.get("interventions") or {}
    agent = interventions.get("supported") or []
    return {
        "payment": {"handlers": [payment_handler(settings)]},
        "interventions": {
            "supported": [i for i in SUPPORTED_INTERVENTIONS if i in agent],
            "required": [],
            "enforcement": "conditional",
        },
        # Discount codes are priced by the shared core (commerce.pricing.quote).
        "extensions": [
            {
                "name": "discount",
                "extends": [
                    "$.CheckoutSessionCreateRequest.discounts",
                    "$.CheckoutSessionUpdateRequest.discounts",
                    "$.CheckoutSession.discounts",
                ],
            }
        ],
    }


def check_selection(cs: CheckoutSession, selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Selected fulfilment options must be ones the session offers."""
    offered = {o["id"]: o["type"] for o in cs.extra.get("fulfillment_options", [])}
    for index, choice in enumerate(selected):
        if offered.get(choice["option_id"]) != choice["type"]:
            raise CheckoutError(
                400,
                "invalid",
                f"unknown fulfillment option {choice['option_id']!r}",
                param=f"$.selected_fulfillment_options[{index}].option_id",
            )
    return selected


def _error(code: str, content: str, param: str, resolution: str) -> dict[str, Any]:
    return {
        "type": "error",
        "code": code,
        "severity": "high",
        "resolution": resolution,
        "param": param,
        "content_type": "plain",
        "content": content,
    }


def recompute(
    session: Session, cs: CheckoutSession, settings: Settings, store: MediaStore, now: datetime
) -> None:
    """Derive everything about the session again and hold stock when it can be paid."""
    resolved = check_items(session, cs.items)
    quantities = [int(item["quantity"]) for item in cs.items]
    address = (cs.fulfillment or {}).get("address")
    # Every amount comes from the pricing core the UCP door uses too.
    priced, selected = price_acp_session(
        session,
        settings,
        resolved,
        quantities,
        codes=(cs.extra.get("discounts") or {}).get("codes") or [],
        address=address,
        selected=cs.extra.get("selected_fulfillment_options", []),
        now=now,
    )
    lines, messages = [], []
    for index, line in enumerate(priced.lines):
        free = inventory.available(session, line.item.variant, cs.id, now)
        lines.append(acp_line_item(line, available=free, settings=settings, store=store))
        if line.quantity > settings.acp_max_quantity:
            messages.append(
                _error(
                    "quantity_exceeded",
                    f"At most {settings.acp_max_quantity} of {line.item.product.title} per order.",
                    f"$.line_items[{index}]",
                    "recoverable",
                )
            )
    options = acp_fulfillment_options(priced, now)
    if not priced.digital and not address:
        messages.append(
            _error(
                "missing",
                "A shipping address is needed to deliver this order.",
                "$.fulfillment_details.address",
                "requires_buyer_input",
            )
        )
    status = "not_ready_for_payment"
    if messages:
        inventory.release_holds(session, cs.id)
    else:
        needs: dict[str, int] = {}
        for found, quantity in zip(resolved, quantities, strict=True):
            needs[found.variant.id] = needs.get(found.variant.id, 0) + quantity
        expires = inventory.ready_hold_until(now, cs.expires_at, settings.checkout_hold_seconds)
        # The bearer is the merchant's authenticated partner: no per-client cap on its holds
        # (the per-line cap and the hold time bound them).
        short = inventory.reserve(session, cs.id, needs, now=now, expires_at=expires)
        for index, found in enumerate(resolved):
            if found.variant.id in short:
                lines[index]["availability_status"] = "out_of_stock"
                messages.append(
                    _error(
                        "out_of_stock",
                        f"{found.product.title} is out of stock"
                        f" (short by {short[found.variant.id]}).",
                        f"$.line_items[{index}]",
                        "recoverable",
                    )
                )
        status = "not_ready_for_payment" if short else "ready_for_payment"
    cs.line_items = lines
    cs.totals = acp_totals(priced)
    # What a payment redeems (commerce.checkout.redemptions), in the core's own terms.
    cs.extra = {**cs.extra, "discount_ids": [d.id for d in priced.discounts]}
    cs.messages = messages
    cs.status = status
    cs.extra = {
        **cs.extra,
        "fulfillment_options": options,
        "selected_fulfillment_options": selected,
    }
    if "discounts" in cs.extra:
        cs.extra = {**cs.extra, "discounts": acp_discounts(priced)}
    cs.updated_at = now
    session.flush()
    record_checkout_events(session, cs)


def _links(settings: Settings) -> list[dict[str, Any]]:
    base = (settings.acp_policy_base_url or settings.resolved_public_base_url).rstrip("/")
    return [
        {"type": "terms_of_use", "title": "Terms of use", "url": f"{base}/policies/terms"},
        {"type": "privacy_policy", "title": "Privacy policy", "url": f"{base}/policies/privacy"},
        {"type": "return_policy", "title": "Returns", "url": f"{base}/policies/returns"},
        {"type": "shipping_policy", "title": "Shipping", "url": f"{base}/policies/shipping"},
    ]


def session_view(
    cs: CheckoutSession, settings: Settings, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ACP ``CheckoutSession`` (``CheckoutSessionWithOrder`` once there is an order)."""
    view: dict[str, Any] = {
        "id": cs.id,
        "protocol": {"version": API_VERSION},
        "capabilities": cs.extra.get("capabilities") or negotiate({}, settings),
        "status": cs.status,
        "currency": cs.currency.lower(),
        "line_items": cs.line_items,
        "fulfillment_options": cs.extra.get("fulfillment_options", []),
        "totals": cs.totals,
        "messages": cs.messages,
        "links": _links(settings),
        # Where the buyer finishes on the store's own page (the handoff every agent can use).
        "continue_url": continue_url(settings.resolved_public_base_url, cs.id),
        "created_at": cs.created_at.isoformat(),
        "updated_at": cs.updated_at.isoformat(),
    }
    if cs.expires_at:
        view["expires_at"] = cs.expires_at.isoformat()
    if cs.buyer:
        view["buyer"] = cs.buyer
    if cs.fulfillment:
        view["fulfillment_details"] = cs.fulfillment
    if cs.extra.get("selected_fulfillment_options"):
        view["selected_fulfillment_options"] = cs.extra["selected_fulfillment_options"]
    if cs.extra.get("discounts"):
        view["discounts"] = cs.extra["discounts"]
    if cs.extra.get("locale"):
        view["locale"] = cs.extra["locale"]
    if cs.extra.get("metadata"):
        view["metadata"] = cs.extra["metadata"]
    if order is not None:
        view["order"] = order
    return view
