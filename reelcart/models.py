"""SQLAlchemy 2 models: the app database (SQLite by default, PostgreSQL at scale).

Money is integer minor units; ids coming from Shopify keep their ``gid://`` form so a row
can always be traced back to the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Campaign",
    "CheckoutSession",
    "Creative",
    "CreativeShot",
    "DelegatedPaymentToken",
    "Event",
    "IdempotencyRecord",
    "InventoryReservation",
    "Order",
    "OrderWebhook",
    "Product",
    "ProductImage",
    "ProductVariant",
    "Shot",
    "new_id",
    "utcnow",
]

# Named constraints so Alembic migrations are portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A readable random id such as ``cmp_3f9c…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(512))
    description_html: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str] = mapped_column(String(255), default="")
    product_type: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    options: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE", index=True)
    currency: Mapped[str] = mapped_column(String(3))
    brand_name: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(32), default="file")
    # sha256 of the product as synced: a re-sync that changes nothing writes nothing, and a
    # creative records which version of the product it shows.
    content_hash: Mapped[str] = mapped_column(String(64))
    source_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductVariant.position"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )
    creatives: Mapped[list[Creative]] = relationship(back_populates="product")


class ProductVariant(Base):
    __tablename__ = "product_variants"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(255), default=None)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    compare_at_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    inventory_quantity: Mapped[int] = mapped_column(Integer, default=0)
    available_for_sale: Mapped[bool] = mapped_column(Boolean, default=True)
    selected_options: Mapped[list[Any]] = mapped_column(default=list)

    product: Mapped[Product] = relationship(back_populates="variants")


class ProductImage(Base):
    __tablename__ = "product_images"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source_url: Mapped[str] = mapped_column(Text)
    # Key in the media store; images are stored once per content hash.
    media_key: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    alt_text: Mapped[str | None] = mapped_column(Text, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)

    product: Mapped[Product] = relationship(back_populates="images")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("cmp"))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The variant matrix: {"factors": {"hook": ["title", "price"], ...}, "max_variants": N}
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    creatives: Mapped[list[Creative]] = relationship(back_populates="campaign")


class Shot(Base):
    """A distinct piece of footage; creatives that differ only in copy share it."""

    __tablename__ = "shots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("sht"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    engine: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Creative(Base):
    """One video variant of one product in one campaign."""

    __tablename__ = "creatives"
    __table_args__ = (UniqueConstraint("campaign_id", "product_id", "variant_key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # Canonical "factor=level;..." string: the variant's identity within the campaign.
    variant_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    factors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    # Hash of everything that determines the rendered file; a change means re-render.
    render_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    product_version: Mapped[str | None] = mapped_column(String(64), default=None)
    video_path: Mapped[str | None] = mapped_column(Text, default=None)
    poster_path: Mapped[str | None] = mapped_column(Text, default=None)
    video_key: Mapped[str | None] = mapped_column(String(512), default=None)
    poster_key: Mapped[str | None] = mapped_column(String(512), default=None)
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rendered_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship(back_populates="creatives")
    product: Mapped[Product] = relationship(back_populates="creatives")
    shots: Mapped[list[CreativeShot]] = relationship(
        cascade="all, delete-orphan", order_by="CreativeShot.position"
    )


class CreativeShot(Base):
    __tablename__ = "creative_shots"

    creative_id: Mapped[str] = mapped_column(
        ForeignKey("creatives.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    shot_id: Mapped[str] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)


class Event(Base):
    """Something a shopper did, attributed to the creative they saw."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_creative_kind", "creative_id", "kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("evt"))
    kind: Mapped[str] = mapped_column(String(16))
    # Same dedupe key twice is the same event (retries, replays, webhooks delivered twice).
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    product_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


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
    # --- ACP checkout (commerce/checkout_orders.py); migration 0002_checkout ---
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    totals: Mapped[list[Any]] = mapped_column(default=list)


# --- ACP checkout tables (commerce/checkout*.py, commerce/acp_*.py); migration 0002_checkout ---


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


# --- Shopify connector (issue 3): sync state, webhook deliveries, published media ---------


class ShopifySyncState(Base):
    """Where the Shopify catalog sync stands: the running sync's cursor, the last watermark.

    One row per shop. A sync persists its cursor after every page it applies, so a crash
    resumes at the next page; ``watermark`` (the newest ``updatedAt`` fully synced) is
    advanced only when a sync completes.
    """

    __tablename__ = "shopify_sync_state"

    shop: Mapped[str] = mapped_column(String(255), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(default=None)
    last_full_at: Mapped[datetime | None] = mapped_column(default=None)
    last_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    run_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    run_query: Mapped[str | None] = mapped_column(Text, default=None)
    run_cursor: Mapped[str | None] = mapped_column(Text, default=None)
    run_watermark: Mapped[datetime | None] = mapped_column(default=None)
    run_started_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShopifySyncSeen(Base):
    """Products a running full sync has seen; the rest are archived when it completes."""

    __tablename__ = "shopify_sync_seen"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ShopifyWebhookDelivery(Base):
    """A webhook delivery, kept by ``X-Shopify-Webhook-Id`` so a redelivery is a no-op."""

    __tablename__ = "shopify_webhook_deliveries"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    shop: Mapped[str] = mapped_column(String(255), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(255), default="")


class ShopifyCreativeMedia(Base):
    """The Shopify video media a creative is published as (one per creative)."""

    __tablename__ = "shopify_creative_media"

    creative_id: Mapped[str] = mapped_column(
        ForeignKey("creatives.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    media_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The render published: a re-render replaces the Shopify video.
    render_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ += [  # kept apart from the list above so parallel edits don't clash
    "ShopifyCreativeMedia",
    "ShopifySyncSeen",
    "ShopifySyncState",
    "ShopifyWebhookDelivery",
]
# --- end Shopify connector ---


# --- experiments (issue 7): allocation history and decisions ---
class Allocation(Base):
    """Traffic weights for one product's creatives in a campaign, from one evaluation.

    Rows are history: the newest per (campaign, product) is what ``get_product`` serves;
    the older ones let the sample-ratio check know what split each period promised.
    """

    __tablename__ = "experiment_allocations"
    __table_args__ = (
        Index("ix_experiment_allocations_product_created", "product_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("alc"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    # {creative_id: weight}; weights sum to 1 over the creatives live when computed.
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    method: Mapped[str] = mapped_column(String(32), default="uniform")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExperimentDecision(Base):
    """What the decision rule concluded: a winner, a retired loser, or challengers wanted."""

    __tablename__ = "experiment_decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("dec"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    creative_id: Mapped[str | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), default=None
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ += ["Allocation", "ExperimentDecision"]  # experiments block, apart from the list above
# --- end experiments ---
