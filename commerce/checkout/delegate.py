"""ACP Delegate Payment (``POST /agentic_commerce/delegate_payment``) for test mode.

In production the agent's payment provider vaults the card and hands over a Shared
Payment Token. Locally — a test-mode key or a Stripe emulator — reelcart plays that part:
it vaults the card as a PaymentMethod in the Stripe server in use and returns a ``vt_…``
token whose allowance ``complete`` enforces. Card data is passed straight to Stripe and
never stored or logged here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.stripe import PaymentError, PaymentUnavailable, StripePayments
from reelcart.db import Database
from reelcart.models import DelegatedPaymentToken, new_id, utcnow
from reelcart.models.base import as_utc
from reelcart.settings import Settings

from .core import parse
from .errors import PAYMENTS_NOT_CONFIGURED, CheckoutError

__all__ = ["TEST_MODE_ONLY", "delegate_payment", "delegate_payment_enabled"]

TEST_MODE_ONLY = (
    "delegate payment is served only in test mode (a sk_test_ key or "
    "REELCART_STRIPE_API_BASE); in production the agent's platform issues the token"
)


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["card"]
    card_number_type: Literal["fpan", "network_token"]
    number: str = Field(pattern=r"^\d{12,19}$")
    exp_month: str | None = Field(default=None, pattern=r"^(0?[1-9]|1[0-2])$")
    exp_year: str | None = Field(default=None, pattern=r"^\d{4}$")
    name: str | None = None
    cvc: str | None = Field(default=None, pattern=r"^\d{3,4}$")
    cryptogram: str | None = None
    eci_value: str | None = Field(default=None, max_length=2)
    checks_performed: list[str] | None = None
    iin: str | None = Field(default=None, max_length=8)
    display_card_funding_type: Literal["credit", "debit", "prepaid"] | None = None
    display_wallet_type: str | None = None
    display_brand: str | None = None
    display_last4: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    metadata: dict[str, str] | None = None
    virtual: bool | None = None


class _Allowance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["one_time"]
    max_amount: int = Field(ge=1)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    checkout_session_id: str = Field(min_length=1, max_length=255)
    merchant_id: str = Field(max_length=256)
    expires_at: datetime


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method: _Card
    allowance: _Allowance
    billing_address: dict[str, Any] | None = None
    risk_signals: list[dict[str, Any]]
    metadata: dict[str, str]


def _expiry(card: _Card, allowance: _Allowance) -> tuple[int, int]:
    """The month and year the vaulted card is good until.

    A primary account number cannot be charged without its expiry: the RFC's own
    ``invalid_card`` example is a missing or malformed expiry. A network token may come
    without one (and without a CVC: its cryptogram authenticates it); the vaulted
    credential then lasts as long as the allowance it was delegated for.
    """
    if card.exp_month is not None and card.exp_year is not None:
        return int(card.exp_month), int(card.exp_year)
    if card.card_number_type == "network_token" and card.exp_month is None:
        ends = as_utc(allowance.expires_at)
        return ends.month, ends.year
    raise CheckoutError(
        400,
        "invalid_card",
        "exp_month and exp_year are required for a card number (fpan)",
        param="$.payment_method.exp_month",
    )


def delegate_payment_enabled(settings: Settings) -> bool:
    """Only in test mode: a Stripe emulator, or a test-mode key."""
    key = settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else ""
    return bool(key) and (settings.stripe_api_base is not None or key.startswith("sk_test_"))


def delegate_payment(
    db: Database,
    settings: Settings,
    payments: StripePayments | None,
    body: Any,
    idempotency_key: str,
) -> dict[str, Any]:
    """Vault the card and return ``DelegatePaymentResponse`` (raises ``CheckoutError``)."""
    if payments is None or not delegate_payment_enabled(settings):
        # The server's configuration, not the card: say which setting is missing. (The
        # delegate Error schema's closed code list has nothing closer than invalid_card;
        # the type and status say it is the service.)
        raise CheckoutError(
            503,
            "invalid_card",
            PAYMENTS_NOT_CONFIGURED if payments is None else TEST_MODE_ONLY,
            type="service_unavailable",
        )
    request = parse(_Request, body)
    card, allowance = request.payment_method, request.allowance
    exp_month, exp_year = _expiry(card, allowance)
    if as_utc(allowance.expires_at) <= utcnow():
        raise CheckoutError(
            400,
            "invalid_request",
            "the allowance has already expired",
            param="$.allowance.expires_at",
        )
    billing = None
    if request.billing_address:
        address = request.billing_address
        billing = {
            "name": address.get("name"),
            "address": {
                "line1": address.get("line_one"),
                "city": address.get("city"),
                "state": address.get("state"),
                "country": address.get("country"),
                "postal_code": address.get("postal_code"),
            },
        }
    try:
        stored = payments.vault_card(
            number=card.number,
            exp_month=exp_month,
            exp_year=exp_year,
            cvc=card.cvc,
            billing_details=billing,
        )
    except PaymentUnavailable:
        raise CheckoutError(
            503, "service_unavailable", "the card vault is unavailable", type="service_unavailable"
        ) from None
    except PaymentError:
        raise CheckoutError(
            400, "invalid_card", "the card was refused", param="$.payment_method.number"
        ) from None
    now = utcnow()
    token = DelegatedPaymentToken(
        id=new_id("vt"),
        payment_method_id=stored.payment_method_id,
        checkout_session_id=allowance.checkout_session_id,
        merchant_id=allowance.merchant_id,
        max_amount=allowance.max_amount,
        currency=allowance.currency,
        expires_at=as_utc(allowance.expires_at),
        display={"brand": stored.brand, "last4": stored.last4},
        token_metadata=dict(request.metadata),
        created_at=now,
    )
    with db.session() as session:
        session.add(token)
    return {
        "id": token.id,
        "created": now.isoformat(),
        "metadata": {
            **request.metadata,
            "merchant_id": allowance.merchant_id,
            "idempotency_key": idempotency_key,
        },
    }
