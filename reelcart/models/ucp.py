"""UCP (Universal Commerce Protocol) state beside the shared checkout tables.

A UCP checkout is a row of ``checkout_sessions`` like an ACP one (stock is shared); what
only UCP has lives here: the order's post-purchase record (fulfillment expectations and
events, adjustments) with the platform that placed it, and the outbox of order webhooks
sent to that platform's ``webhook_url``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

__all__ = ["UcpCart", "UcpOrder", "UcpWebhook"]


class UcpCart(Base):
    """A UCP cart (``cart.md``): what a platform means to buy, priced as an estimate; no
    stock is held and nothing is paid until a checkout is made from it (``cart_id``)."""

    __tablename__ = "ucp_carts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("cart"))
    # The platform profile named in UCP-Agent: the cart answers to it alone.
    platform_profile: Mapped[str | None] = mapped_column(String(2048), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | canceled
    currency: Mapped[str] = mapped_column(String(3))
    # [{"id": item id, "quantity": n}] as requested; prices come from the catalog.
    items: Mapped[list[Any]] = mapped_column(default=list)
    buyer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    discount_codes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class UcpOrder(Base):
    """The UCP side of an order placed through UCP (one per order)."""

    __tablename__ = "ucp_orders"

    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    checkout_session_id: Mapped[str] = mapped_column(String(64), index=True)
    # The platform profile named in UCP-Agent when the checkout was created.
    platform_profile: Mapped[str | None] = mapped_column(String(2048), default=None)
    # {"expectations": [...], "events": [...]} as the order capability shapes them.
    fulfillment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    adjustments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UcpWebhook(Base):
    """An order event for a platform, delivered (signed) with retries and backoff."""

    __tablename__ = "ucp_webhook_outbox"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("uwh"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    # The platform profile whose order capability names the webhook URL (resolved when sent).
    platform_profile: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
