"""Payments through the Stripe API (or any Stripe-compatible server at ``stripe_api_base``).

Every write carries an idempotency key chosen by the caller, so re-sending a write with its
key never charges twice; every call has a timeout and a bounded number of network retries.
Failures come back as three exceptions the checkout can act on: the payment was declined
(Stripe decided), Stripe is unavailable (a timeout, a dropped connection, a 5xx or a
concurrent use of the key: whether a write took effect is *unknown* until Stripe is asked),
or anything else (Stripe refused the request; nothing happened).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import stripe
from stripe import StripeClient

from reelcart.settings import Settings

__all__ = [
    "ChargeResult",
    "HostedCheckout",
    "NoSuchCredential",
    "PaymentDeclined",
    "PaymentError",
    "PaymentUnavailable",
    "StoredCard",
    "StripePayments",
]

log = logging.getLogger(__name__)
_SEARCHABLE = re.compile(r"[A-Za-z0-9_:-]{1,200}")


class PaymentError(Exception):
    """Stripe refused the request for a reason that retrying will not fix."""


class PaymentUnavailable(PaymentError):
    """No answer from Stripe: a write may or may not have taken effect. Ask Stripe later."""


class NoSuchCredential(PaymentError):
    """Stripe has no such payment method or shared payment token: the credential the
    caller sent does not exist (the caller's mistake, not the store's or Stripe's)."""


# The charge parameters that carry the caller's credential.
_CREDENTIAL_PARAMS = {"payment_method", "shared_payment_granted_token"}


class PaymentDeclined(PaymentError):
    """The card (or token) was declined; ``code`` is Stripe's decline or error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or "card_declined"


@dataclass(frozen=True)
class ChargeResult:
    """A PaymentIntent after confirmation."""

    payment_intent_id: str
    status: str  # succeeded | requires_action | processing | requires_capture | ...
    amount: int
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "requires_capture", "processing")


@dataclass(frozen=True)
class HostedCheckout:
    """A Stripe Checkout Session: Stripe's hosted payment page for one amount."""

    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent_id: str | None
    amount_total: int
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Any) -> HostedCheckout:
        data = session.to_dict() if hasattr(session, "to_dict") else dict(session)
        intent = data.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        return cls(
            id=str(data["id"]),
            url=data.get("url"),
            status=str(data.get("status")),
            payment_status=str(data.get("payment_status")),
            payment_intent_id=str(intent) if intent else None,
            amount_total=int(data.get("amount_total") or 0),
            currency=str(data.get("currency") or ""),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        )


@dataclass(frozen=True)
class StoredCard:
    """A card vaulted as a Stripe PaymentMethod (only the display fields are kept)."""

    payment_method_id: str
    brand: str
    last4: str


def _translate(exc: stripe.StripeError) -> PaymentError:
    """Map stripe-python's exceptions onto the three outcomes checkout distinguishes."""
    if isinstance(exc, stripe.CardError):
        return PaymentDeclined(exc.user_message or "card declined", exc.code)
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return PaymentUnavailable(type(exc).__name__)
    if isinstance(exc, stripe.IdempotencyError):
        # The key is in use right now, or was first used with other parameters: either way
        # an earlier request with it reached Stripe, and what it did must be looked up.
        return PaymentUnavailable("idempotency key conflict")
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.APIError) or (status is not None and status >= 500):
        return PaymentUnavailable(f"stripe error {status}")
    if status == 402:
        return PaymentDeclined(exc.user_message or "payment declined", exc.code)
    param = getattr(getattr(exc, "error", None), "param", None)
    if exc.code == "resource_missing" and (param is None or param in _CREDENTIAL_PARAMS):
        return NoSuchCredential(exc.user_message or "no such payment credential")
    return PaymentError(f"{type(exc).__name__}: {exc.user_message or exc.code or status}")


class StripePayments:
    """The few Stripe calls checkout needs, with timeouts, retries and idempotency keys."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        timeout_s: float = 10.0,
        max_network_retries: int = 1,
    ) -> None:
        base = {"api": api_base.rstrip("/")} if api_base else None
        self.api_base = api_base
        self._client = StripeClient(
            api_key,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            http_client=stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripePayments | None:
        """The configured Stripe, or None when no key is set (checkout then refuses to pay)."""
        if settings.stripe_api_key is None:
            return None
        return cls(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_api_base,
            timeout_s=settings.stripe_timeout_s,
        )

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            error = _translate(exc)
            log.warning("stripe call failed: %s", type(error).__name__)
            raise error from exc

    def vault_card(
        self,
        *,
        number: str,
        exp_month: int,
        exp_year: int,
        cvc: str | None,
        billing_details: dict[str, Any] | None = None,
    ) -> StoredCard:
        """Store a card as a PaymentMethod (test mode / emulator: raw numbers are accepted).

        ``cvc`` is optional in Stripe's API (a network token's cryptogram stands for it).
        """
        card: dict[str, Any] = {"number": number, "exp_month": exp_month, "exp_year": exp_year}
        if cvc is not None:
            card["cvc"] = cvc
        params: dict[str, Any] = {"type": "card", "card": card}
        if billing_details:
            params["billing_details"] = billing_details
        pm = self._call(self._client.v1.payment_methods.create, cast(Any, params)).to_dict()
        card = pm.get("card") or {}
        return StoredCard(pm["id"], str(card.get("brand", "card")), str(card.get("last4", "")))

    def charge(
        self,
        *,
        amount: int,
        currency: str,
        idempotency_key: str,
        payment_method: str | None = None,
        shared_payment_token: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ChargeResult:
        """Create and confirm a PaymentIntent; the same key returns the same PaymentIntent.

        Pass either a PaymentMethod id or a Shared Payment Token (``spt_…``) granted by the
        agent's platform; Stripe enforces the token's own usage limits.
        """
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": metadata or {},
        }
        if shared_payment_token:
            params["shared_payment_granted_token"] = shared_payment_token
        elif payment_method:
            params["payment_method"] = payment_method
        else:
            raise PaymentError("a payment method or shared payment token is required")
        pi = self._call(
            self._client.v1.payment_intents.create,
            cast(Any, params),
            {"idempotency_key": idempotency_key},
        )
        return ChargeResult(pi["id"], pi["status"], int(pi["amount"]), str(pi["currency"]))

    def retrieve(self, payment_intent_id: str) -> ChargeResult:
        """The PaymentIntent as it stands now."""
        pi = self._call(self._client.v1.payment_intents.retrieve, payment_intent_id)
        return ChargeResult(pi["id"], pi["status"], int(pi["amount"]), str(pi["currency"]))

    def find_by_metadata(self, key: str, value: str) -> list[ChargeResult]:
        """PaymentIntents whose ``metadata[key]`` is ``value`` (Stripe's search API).

        Stripe's search index lags writes by up to a minute, so an empty answer is not proof
        that nothing was charged; re-sending the write with its idempotency key is.
        """
        if not _SEARCHABLE.fullmatch(key) or not _SEARCHABLE.fullmatch(value):
            raise ValueError("metadata keys and values searched must be plain identifiers")
        found = self._call(
            self._client.v1.payment_intents.search,
            {"query": f"metadata['{key}']:'{value}'", "limit": 10},
        )
        intents = [pi.to_dict() for pi in found["data"]]
        return [
            ChargeResult(
                pi["id"],
                pi["status"],
                int(pi["amount"]),
                str(pi["currency"]),
                {str(k): str(v) for k, v in (pi.get("metadata") or {}).items()},
            )
            for pi in intents
        ]

    def open_checkout(
        self,
        *,
        amount: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        expires_at: datetime,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> HostedCheckout:
        """A Checkout Session charging ``amount`` once, on Stripe's hosted page.

        The amount is one line: the store's own total (items, discounts, shipping, tax),
        so Stripe charges exactly what the store priced. ``metadata`` goes on the session
        and on its PaymentIntent.
        """
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": description},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": int(expires_at.timestamp()),
            "client_reference_id": metadata.get("checkout_session_id"),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        session = self._call(
            self._client.v1.checkout.sessions.create,
            cast(Any, params),
            {"idempotency_key": idempotency_key},
        )
        return HostedCheckout.of(session)

    def checkout(self, session_id: str) -> HostedCheckout:
        """The Checkout Session as it stands now."""
        return HostedCheckout.of(self._call(self._client.v1.checkout.sessions.retrieve, session_id))

    def expire_checkout(self, session_id: str) -> HostedCheckout:
        """Close an open Checkout Session so it can no longer be paid."""
        return HostedCheckout.of(self._call(self._client.v1.checkout.sessions.expire, session_id))

    def refund(self, payment_intent_id: str, *, idempotency_key: str) -> str:
        """Refund a PaymentIntent in full; returns the refund id."""
        refund = self._call(
            self._client.v1.refunds.create,
            {"payment_intent": payment_intent_id},
            {"idempotency_key": idempotency_key},
        )
        return str(refund["id"])

    def grant_test_spt(
        self, *, payment_method: str, currency: str, max_amount: int, expires_at: datetime
    ) -> str:
        """Test mode only: have Stripe grant us a Shared Payment Token over a PaymentMethod."""
        token = self._call(
            self._client.raw_request,
            "post",
            "/v1/test_helpers/shared_payment/granted_tokens",
            payment_method=payment_method,
            usage_limits={
                "currency": currency.lower(),
                "max_amount": max_amount,
                "expires_at": int(expires_at.timestamp()),
            },
        )
        return str(json.loads(token.body)["id"])
