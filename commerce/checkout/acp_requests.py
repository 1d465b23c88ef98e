"""Typed ACP request bodies (2026-04-17), strict where it matters.

Unknown top-level fields are refused (an agent cannot send ``totals``); nested objects the
checkout does not interpret (affiliate attribution, risk signals, consents) are kept as
JSON. Quantity: the 2026-04-17 ``Item`` has no quantity, so each ``line_items`` entry is one
unit and repeating an id adds units; the open proposal's ``quantity`` (default 1) is also
accepted. Both forms merge into one line per item. Integers are strict (``true`` or
``"3"`` is not a quantity); ``metadata`` is bounded in size (it is stored and echoed).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StrictInt,
    StringConstraints,
)
from typing_extensions import TypedDict

__all__ = [
    "METADATA_MAX_BYTES",
    "Address",
    "AuthenticationResult",
    "Buyer",
    "CancelRequest",
    "Capabilities",
    "CompanyInfo",
    "CompleteRequest",
    "CreateRequest",
    "FulfillmentDetails",
    "Item",
    "LoyaltyInfo",
    "PaymentData",
    "SelectedFulfillmentOption",
    "TaxExemption",
    "UpdateRequest",
    "merge_items",
]


# A pragmatic address check (no extra dependency): something@domain.tld, no spaces.
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(_Strict):
    id: str = Field(min_length=1, max_length=255)
    # Informational only: the merchant's catalog sets names and prices.
    name: str | None = None
    unit_amount: StrictInt | None = None
    # The open proposal's quantity (not in the 2026-04-17 schema); default one unit.
    quantity: StrictInt | None = Field(default=None, ge=1, le=10_000)


class Address(_Strict):
    name: str
    line_one: str
    line_two: str | None = None
    city: str
    state: str
    country: str = Field(min_length=2, max_length=2)
    postal_code: str
    company: str | None = None


def _rfc3339(value: str) -> str:
    """Accept an RFC 3339 date-time but keep the agent's spelling (it is echoed back)."""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None
    return value


DateTime = Annotated[str, AfterValidator(_rfc3339)]


class CompanyInfo(_Strict):
    name: str
    tax_id: str | None = None
    department: str | None = None
    cost_center: str | None = None


class LoyaltyInfo(_Strict):
    tier: str | None = None
    points_balance: StrictInt | None = None
    member_since: DateTime | None = None


class TaxExemption(_Strict):
    certificate_id: str
    certificate_type: Literal["resale", "exempt_organization", "government"]
    exempt_regions: list[str] | None = None
    expires_at: DateTime | None = None


class Buyer(_Strict):
    # Every field typed as in the spec: the buyer is echoed in responses, so anything
    # loosely kept here could make a response that violates the CheckoutSession schema.
    email: Email
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    phone_number: str | None = None
    customer_id: str | None = None
    account_type: Literal["guest", "registered", "business"] | None = None
    authentication_status: Literal["authenticated", "guest", "requires_signin"] | None = None
    company: CompanyInfo | None = None
    loyalty: LoyaltyInfo | None = None
    tax_exemption: TaxExemption | None = None


class FulfillmentDetails(_Strict):
    name: str | None = None
    phone_number: str | None = None
    email: Email | None = None
    address: Address | None = None


class SelectedFulfillmentOption(_Strict):
    type: Literal["shipping", "digital", "pickup", "local_delivery"]
    option_id: str
    item_ids: list[str]


class Credential(BaseModel):
    type: str
    token: str = Field(min_length=1, max_length=512)


class Instrument(BaseModel):
    type: str
    credential: Credential


class PaymentData(_Strict):
    handler_id: str | None = None
    instrument: Instrument | None = None
    billing_address: Address | None = None
    purchase_order_number: str | None = None
    payment_terms: str | None = None
    due_date: str | None = None
    approval_required: bool | None = None


class AuthenticationResult(BaseModel):
    outcome: Literal[
        "abandoned",
        "attempt_acknowledged",
        "authenticated",
        "canceled",
        "denied",
        "informational",
        "internal_error",
        "not_supported",
        "processing_error",
        "rejected",
    ]
    outcome_details: dict[str, Any] | None = None


class InterventionsRequest(TypedDict, total=False):
    """``InterventionCapabilities`` as an agent sends it; context fields are kept as given."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    supported: list[str]
    display_context: str
    redirect_context: str
    max_redirects: StrictInt
    max_interaction_depth: StrictInt


class Capabilities(TypedDict, total=False):
    """The agent's ``Capabilities``: typed where the checkout reads it, a plain dict after."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    interventions: InterventionsRequest
    payment: dict[str, Any]
    extensions: list[Any]


# Validated as ``Capabilities``, handed on as the plain dict the checkout core reads.
CapabilitiesDict = Annotated[
    dict[str, Any], GetPydanticSchema(lambda _, handler: handler(Capabilities))
]

METADATA_MAX_BYTES = 16 * 1024


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":")).encode()) > METADATA_MAX_BYTES:
        raise ValueError(f"metadata is larger than {METADATA_MAX_BYTES} bytes as JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]


class CreateRequest(_Strict):
    line_items: list[Item] = Field(min_length=1, max_length=100)
    currency: str = Field(min_length=3, max_length=3)
    capabilities: CapabilitiesDict
    buyer: Buyer | None = None
    fulfillment_details: FulfillmentDetails | None = None
    fulfillment_groups: list[Any] | None = None
    affiliate_attribution: dict[str, Any] | None = None
    coupons: list[str] | None = None
    discounts: dict[str, Any] | None = None
    locale: str | None = None
    timezone: str | None = None
    quote_id: str | None = None
    metadata: Metadata | None = None
    order_notes: str | None = Field(default=None, max_length=5000)


class UpdateRequest(_Strict):
    buyer: Buyer | None = None
    line_items: list[Item] | None = Field(default=None, min_length=1, max_length=100)
    fulfillment_details: FulfillmentDetails | None = None
    fulfillment_groups: list[Any] | None = None
    selected_fulfillment_options: list[SelectedFulfillmentOption] | None = None
    coupons: list[str] | None = None
    discounts: dict[str, Any] | None = None
    order_notes: str | None = Field(default=None, max_length=5000)


class CompleteRequest(_Strict):
    payment_data: PaymentData
    buyer: Buyer | None = None
    authentication_result: AuthenticationResult | None = None
    affiliate_attribution: dict[str, Any] | None = None
    risk_signals: dict[str, Any] | None = None
    marketing_consents: list[Any] | None = None
    order_notes: str | None = Field(default=None, max_length=5000)


class CancelRequest(BaseModel):
    intent_trace: dict[str, Any] | None = None


def merge_items(items: list[Item]) -> list[dict[str, Any]]:
    """``[{"id", "quantity"}]`` in first-seen order, units of repeated ids added up."""
    merged: dict[str, int] = {}
    for item in items:
        merged[item.id] = merged.get(item.id, 0) + (item.quantity or 1)
    return [{"id": item_id, "quantity": qty} for item_id, qty in merged.items()]
