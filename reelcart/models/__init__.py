"""The app database's models (SQLAlchemy 2), one module per area; imported from here."""

from .base import NAMING_CONVENTION, Base, new_id, utcnow
from .campaigns import Campaign, Creative, CreativeShot, Shot
from .catalog import Product, ProductImage, ProductVariant
from .checkout import (
    CheckoutSession,
    DelegatedPaymentToken,
    DiscountRedemption,
    IdempotencyRecord,
    InventoryReservation,
    Order,
    OrderWebhook,
    PaymentAttempt,
)
from .embeddings import ProductEmbedding as ProductEmbedding
from .events import Event
from .experiments import Allocation, ExperimentDecision
from .generations import Generation, RenderClaim
from .shopify import ShopifyCreativeMedia, ShopifySyncSeen, ShopifySyncState, ShopifyWebhookDelivery
from .store import Customer, CustomerAddress, DiscountCode, FreeShippingRule, ShippingRateRule
from .ucp import UcpCart, UcpOrder, UcpWebhook

__all__ = [
    "NAMING_CONVENTION",
    "Allocation",
    "Base",
    "Campaign",
    "CheckoutSession",
    "Creative",
    "CreativeShot",
    "Customer",
    "CustomerAddress",
    "DelegatedPaymentToken",
    "DiscountCode",
    "DiscountRedemption",
    "Event",
    "ExperimentDecision",
    "FreeShippingRule",
    "Generation",
    "IdempotencyRecord",
    "InventoryReservation",
    "Order",
    "OrderWebhook",
    "PaymentAttempt",
    "Product",
    "ProductImage",
    "ProductVariant",
    "RenderClaim",
    "ShippingRateRule",
    "ShopifyCreativeMedia",
    "ShopifySyncSeen",
    "ShopifySyncState",
    "ShopifyWebhookDelivery",
    "Shot",
    "UcpCart",
    "UcpOrder",
    "UcpWebhook",
    "new_id",
    "utcnow",
]
