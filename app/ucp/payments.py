"""UCP payment handlers, and the one place a UCP credential becomes what the core charges.

The checkout core charges a delegated vault token (``vt_…``, a Stripe PaymentMethod with an
allowance for this session and amount) or a Stripe Shared Payment Token (``spt_…``).
A UCP instrument's credential becomes one of those here:

- ``token`` ``spt_…`` / ``vt_…``: passed on as it is (Stripe, or the allowance, decides);
- ``card`` (an FPAN with expiry): vaulted in the Stripe server in use through the ACP
  delegate-payment path, test mode only, exactly as an ACP agent's card would be;
- the test handler's named tokens (``success_token``, ``fail_token`` and the like), test
  mode only: each stands for one of Stripe's published test cards, vaulted the same way,
  so a declined card is declined by Stripe (the stand-in in tests), not by this module.

Nothing here decides an outcome: the core's durable payment-attempt path does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from commerce.checkout.delegate import delegate_payment, delegate_payment_enabled
from commerce.checkout.errors import CheckoutError
from commerce.checkout.payments import HANDLER_ID
from commerce.checkout.service import CheckoutService
from reelcart.models import utcnow

from .envelope import UCP_VERSION, UcpError, from_checkout_error

__all__ = ["TEST_TOKENS", "core_payment", "payment_handlers", "public_instruments"]

# Test handler tokens -> Stripe's published test card numbers (in test mode only).
TEST_TOKENS = {
    "success_token": "4242424242424242",
    "fail_token": "4000000000000002",
    "insufficient_funds_token": "4000000000009995",
    "requires_3ds_token": "4000002760003184",
}
TOKEN_HANDLER = "com.reelcart.stripe_card"


def payment_handlers(settings: Any) -> dict[str, Any]:
    """The ``payment_handlers`` registry: cards through Stripe, tokens or (test) raw cards."""
    test_mode = delegate_payment_enabled(settings)
    handler: dict[str, Any] = {
        "id": settings.ucp_payment_handler_id,
        # The handler's name (reverse-DNS, as payment_handler.json declares it).
        "name": TOKEN_HANDLER,
        "version": UCP_VERSION,
        "spec": "https://docs.stripe.com/agentic-commerce",
        "available_instruments": [
            {"type": "card", "constraints": {"brands": ["visa", "mastercard", "amex", "discover"]}}
        ],
        "config": {
            "psp": "stripe",
            "credential_types": ["token", "card"] if test_mode else ["token"],
            "environment": "test" if test_mode else "production",
        },
    }
    if test_mode:
        handler["config"]["test_tokens"] = sorted(TEST_TOKENS)
    return {TOKEN_HANDLER: [handler]}


def public_instruments(raw: Any) -> list[dict[str, Any]]:
    """Instruments as a checkout may echo them: never a credential."""
    if not isinstance(raw, list):
        return []
    kept = []
    for item in raw[:8]:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            kept.append({k: v for k, v in item.items() if k not in ("credential",)})
    return kept


def _instrument(body: Any) -> dict[str, Any]:
    payment = body.get("payment") if isinstance(body, dict) else None
    instruments = payment.get("instruments") if isinstance(payment, dict) else None
    if not isinstance(instruments, list) or not instruments:
        raise UcpError(
            400,
            "invalid_input",
            "payment.instruments must name the instrument to charge",
            path="$.payment.instruments",
        )
    first = instruments[0]
    if not isinstance(first, dict) or not isinstance(first.get("credential"), dict):
        raise UcpError(
            400,
            "invalid_input",
            "the instrument has no credential",
            path="$.payment.instruments[0]",
        )
    return first


def _vault(
    service: CheckoutService, checkout_id: str, amount: int, currency: str, card: dict[str, Any]
) -> str:
    """A vault token for this session and amount (the ACP delegate-payment path)."""
    if not delegate_payment_enabled(service.settings):
        raise UcpError(
            400,
            "payment_failed",
            "raw cards and test tokens are accepted in test mode only; send a Stripe token",
            path="$.payment.instruments[0].credential",
        )
    body = {
        "payment_method": {
            "type": "card",
            "card_number_type": "fpan",
            "number": str(card.get("number", "")),
            "exp_month": str(card.get("expiry_month", "")),
            "exp_year": str(card.get("expiry_year", "")),
            "cvc": str(card.get("cvc", "")),
        },
        "allowance": {
            "reason": "one_time",
            "max_amount": amount,
            "currency": currency.lower(),
            "checkout_session_id": checkout_id,
            "merchant_id": service.settings.acp_merchant_id,
            "expires_at": (utcnow() + timedelta(minutes=30)).isoformat(),
        },
        "risk_signals": [],
        "metadata": {"source": "ucp"},
    }
    try:
        vaulted = delegate_payment(
            service.db, service.settings, service.payments, body, f"ucp:{checkout_id}"
        )
    except CheckoutError as error:
        raise from_checkout_error(error) from None
    return str(vaulted["id"])


def core_payment(
    service: CheckoutService, checkout_id: str, amount: int, currency: str, body: Any
) -> dict[str, Any]:
    """The checkout core's ``payment_data`` for a UCP completion body."""
    credential = _instrument(body)["credential"]
    kind = credential.get("type")
    if kind == "token":
        token = credential.get("token")
        if not isinstance(token, str) or not token or len(token) > 512:
            raise UcpError(400, "invalid_input", "the token credential has no token")
        if token in TEST_TOKENS:
            card = {"number": TEST_TOKENS[token], "expiry_month": 12, "expiry_year": 2034}
            token = _vault(service, checkout_id, amount, currency, {**card, "cvc": "123"})
        elif not token.startswith(("spt_", "vt_")):
            raise UcpError(402, "payment_failed", "the payment token was not accepted")
    elif kind == "card":
        token = _vault(service, checkout_id, amount, currency, credential)
    else:
        raise UcpError(
            400,
            "invalid_input",
            f"credential type {kind!r} is not accepted (token or card)",
            path="$.payment.instruments[0].credential.type",
        )
    return {
        "handler_id": HANDLER_ID,
        "instrument": {"type": "card", "credential": {"type": "token", "token": token}},
    }
