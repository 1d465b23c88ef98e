"""Agent checkout (ACP): sessions, orders, idempotency keys, stock holds, payment tokens,
webhooks."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

__all__ = [
    "CheckoutSession",
    "DelegatedPaymentToken",
    "DiscountRedemption",
    "IdempotencyRecord",
    "InventoryReservation",
    "Order",
    "OrderWebhook",
    "PaymentAttempt",
]


class CheckoutSession(Base):
    """An agent checkout (ACP): line items and totals computed by the server."""

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("cs"))
    status: Mapped[str] = mapped_column(String(32), default="not_ready_for_payment")
    currency: Mapped[str] = mapped_column(String(3))
    line_items: Mapped[list[Any]] = mapped_column(default=list)
    totals: Mapped[list[Any]] = mapped_column(default=list)
    buyer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fulfillment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # --- ACP checkout (commerce/checkout*.py); migration 0002_checkout ---
    # The shopper (or conversation) the agent acts for: attribution looks up what it was shown.
    subject: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    # Requested items as [{"id": ..., "quantity": n}] (merged), the input of every recompute.
    items: Mapped[list[Any]] = mapped_column(default=list)
    messages: Mapped[list[Any]] = mapped_column(default=list)
    # Everything else of the ACP session that is stored as sent or negotiated: capabilities,
    # fulfillment options and selection, order notes, locale, metadata.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Payment attempt: Stripe PaymentIntent id, its idempotency key, refund id.
    payment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The party that created the session and the only one it answers to: "acp" (the bearer
    # identity) or "ucp <profile URL>"; migration 0008_hostile.
    owner: Mapped[str | None] = mapped_column(String(512), default=None, index=True)


class DiscountRedemption(Base):
    """A discount code used by a checkout: it counts toward the code's usage limit while the
    checkout is being paid or paid (a declined or refunded one gives the use back)."""

    __tablename__ = "discount_redemptions"
    __table_args__ = (UniqueConstraint("discount_code_id", "checkout_session_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("red"))
    discount_code_id: Mapped[str] = mapped_column(String(255), index=True)
    checkout_session_id: Mapped[str] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("ord"))
    checkout_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="SET NULL"), unique=True, default=None
    )
    status: Mapped[str] = mapped_column(String(32), default="confirmed")
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    line_items: Mapped[list[Any]] = mapped_column(default=list)
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    payment_reference: Mapped[str | None] = mapped_column(String(255), default=None)
    external_order_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # --- ACP checkout (commerce/checkout/orders.py); migration 0002_checkout ---
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    totals: Mapped[list[Any]] = mapped_column(default=list)
    # Claim on the Shopify write-back (migration 0004_payment_attempts): one writer at a time.
    writeback_lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # The buyer's order page is /order-status/<page_token> (migration 0008_ucpexact): a
    # random capability for this one order, never derived from its id.
    page_token: Mapped[str | None] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(24)
    )


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of an ACP POST: in flight, or its stored response (>= 24 h)."""

    __tablename__ = "acp_idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("idk"))
    # Authenticated identity + method + path: the same key on another endpoint is another key.
    scope: Mapped[str] = mapped_column(String(512))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_flight")
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An in-flight claim older than this is taken over (its worker died).
    locked_until: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class InventoryReservation(Base):
    """Units of a variant held for a checkout session until it completes, cancels or expires."""

    __tablename__ = "inventory_reservations"
    __table_args__ = (Index("ix_inventory_reservations_variant_state", "variant_id", "state"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("rsv"))
    checkout_session_id: Mapped[str] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: a catalog re-sync replaces variant rows, a hold must survive that.
    variant_id: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class DelegatedPaymentToken(Base):
    """A vault token from the ACP Delegate Payment endpoint, with its allowance."""

    __tablename__ = "delegated_payment_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("vt"))
    payment_method_id: Mapped[str] = mapped_column(String(255))
    checkout_session_id: Mapped[str] = mapped_column(String(255), index=True)
    merchant_id: Mapped[str] = mapped_column(String(256))
    max_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    expires_at: Mapped[datetime] = mapped_column()
    display: Mapped[dict[str, Any]] = mapped_column(default=dict)
    token_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OrderWebhook(Base):
    """Outbox of order events for the agent platform, delivered with retries and backoff."""

    __tablename__ = "order_webhook_outbox"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("whk"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentAttempt(Base):
    """One try at charging a checkout session, written before Stripe is called.

    ``pending`` (Stripe may be deciding right now) and ``unknown`` (the answer was lost)
    are outcomes not known yet: the session stays ``complete_in_progress`` until Stripe is
    asked. ``succeeded`` ends in an order or, when the session no longer wants it, in
    ``refund_pending`` → ``refunded``; ``failed`` released nothing but the attempt.
    ``lease_until`` is a claim: whoever set it (a request or a reconciler) is asking Stripe.
    """

    __tablename__ = "payment_attempts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("pay"))
    checkout_session_id: Mapped[str] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Random, never derived from the request: a retry re-sends this exact key and parameters.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    credential: Mapped[str] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255), default=None)
    shared_payment_token: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    refund_id: Mapped[str | None] = mapped_column(String(255), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
