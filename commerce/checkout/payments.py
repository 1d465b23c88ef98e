"""Paying for a checkout session: which credential, within which allowance, with which key.

Two credentials are accepted through the ``dev.acp.tokenized.card`` handler:
- ``vt_…`` vault tokens issued by reelcart's own Delegate Payment endpoint (test mode /
  a Stripe emulator): their allowance (session, currency, max amount, expiry, merchant)
  is enforced here;
- ``spt_…`` Stripe Shared Payment Tokens granted by the agent's platform: Stripe
  enforces their usage limits.

Which Stripe request is sent, with which idempotency key, is the payment attempt's business
(:mod:`commerce.checkout.attempts`): each attempt has its own random key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from reelcart.models import CheckoutSession, DelegatedPaymentToken
from reelcart.settings import Settings

from .acp_requests import CompleteRequest
from .errors import CheckoutError

__all__ = ["HANDLER_ID", "PaymentPlan", "payment_handler", "plan_payment", "total_minor"]

HANDLER_ID = "card_tokenized"


def payment_handler(settings: Settings) -> dict[str, Any]:
    """The one payment handler reelcart offers: tokenized cards through Stripe."""
    key = settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else ""
    live = key.startswith(("sk_live_", "rk_live_")) and not settings.stripe_api_base
    return {
        "id": HANDLER_ID,
        "name": "dev.acp.tokenized.card",
        "display_name": "Credit Card",
        "version": "2026-01-22",
        "spec": "https://acp.dev/handlers/tokenized.card",
        "requires_delegate_payment": True,
        "requires_pci_compliance": False,
        "psp": "stripe",
        "config_schema": "https://acp.dev/schemas/handlers/tokenized.card/config.json",
        "instrument_schemas": ["https://acp.dev/schemas/handlers/tokenized.card/instrument.json"],
        "config": {
            "merchant_id": settings.acp_merchant_id,
            "psp": "stripe",
            "accepted_brands": ["visa", "mastercard", "amex", "discover"],
            "accepted_funding_types": ["credit", "debit"],
            "supports_3ds": True,
            "credential_types": ["spt"] if live else ["spt", "vault_token"],
            "environment": "production" if live else "test",
        },
        "display_order": 0,
    }


@dataclass(frozen=True)
class PaymentPlan:
    """How to charge: a PaymentMethod (from a vault token) or a Shared Payment Token."""

    token: str
    payment_method: str | None
    shared_payment_token: str | None


def total_minor(cs: CheckoutSession) -> int:
    """The checkout's total in minor units, the amount any payment of it must carry."""
    return int(next(t["amount"] for t in cs.totals if t["type"] == "total"))


def plan_payment(
    session: Session,
    cs: CheckoutSession,
    request: CompleteRequest,
    settings: Settings,
    now: datetime,
) -> PaymentPlan:
    """Check the credential against the session; raise ``CheckoutError`` when it cannot pay."""
    data = request.payment_data
    if data.instrument is None:
        raise CheckoutError(
            400,
            "unsupported",
            "only card payments through a delegated token are accepted",
            param="$.payment_data.instrument",
        )
    if data.handler_id not in (None, HANDLER_ID):
        raise CheckoutError(
            400,
            "invalid",
            f"unknown payment handler {data.handler_id!r}",
            param="$.payment_data.handler_id",
        )
    token = data.instrument.credential.token
    amount, currency = total_minor(cs), cs.currency.lower()
    param = "$.payment_data.instrument.credential.token"
    if token.startswith("spt_"):
        return PaymentPlan(token, None, token)
    vault = session.get(DelegatedPaymentToken, token)
    if vault is None:
        raise CheckoutError(400, "invalid", "unknown payment token", param=param)
    problem = None
    if vault.checkout_session_id != cs.id:
        problem = "the token's allowance is for another checkout session"
    elif vault.merchant_id != settings.acp_merchant_id:
        problem = "the token's allowance is for another merchant"
    elif vault.currency.lower() != currency:
        problem = f"the token's allowance is in {vault.currency}, the session in {currency}"
    elif vault.max_amount < amount:
        problem = f"the session total {amount} exceeds the token's max_amount {vault.max_amount}"
    elif vault.expires_at <= now:
        problem = "the token's allowance has expired"
    elif vault.used_at is not None and (cs.payment or {}).get("token") != token:
        problem = "the token has already been used"
    if problem:
        raise CheckoutError(400, "invalid", problem, param=param)
    return PaymentPlan(token, vault.payment_method_id, None)
