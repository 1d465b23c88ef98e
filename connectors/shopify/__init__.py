"""The Shopify connector: one import for what the rest of reelcart uses.

Split by concern: ``client`` (HTTP, pacing, retries), ``catalog`` (pages and bulk reads),
``sanitize`` (bad input), ``media`` (video publishing), ``orders`` (order write-back),
``discounts`` and ``customers`` (store rules), ``webhook`` (HMAC), ``oauth`` (installing a
public app with the ShopifyAPI package).
"""

from __future__ import annotations

from reelcart.settings import Settings

from .catalog import (
    BulkResult,
    ProductPage,
    ShopifyCatalogError,
    bulk_products,
    count_products,
    fetch_shop,
    product_pages,
)
from .client import (
    Clock,
    ScaledClock,
    ShopifyAuthError,
    ShopifyClient,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyUnavailable,
    ShopifyUserError,
    SystemClock,
)
from .media import PublishedVideo, delete_media, publish_video
from .orders import OrderLine, create_shopify_order, order_tag
from .webhook import sign_webhook, verify_webhook

__all__ = [
    "BulkResult",
    "Clock",
    "OrderLine",
    "ProductPage",
    "PublishedVideo",
    "ScaledClock",
    "ShopifyAuthError",
    "ShopifyCatalogError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyNotConfigured",
    "ShopifyUnavailable",
    "ShopifyUserError",
    "SystemClock",
    "bulk_products",
    "client_from_settings",
    "count_products",
    "create_shopify_order",
    "delete_media",
    "fetch_shop",
    "order_tag",
    "product_pages",
    "publish_video",
    "shopify_configured",
    "sign_webhook",
    "verify_webhook",
]


class ShopifyNotConfigured(ShopifyError):
    """``REELCART_SHOPIFY_SHOP`` or ``REELCART_SHOPIFY_ACCESS_TOKEN`` is missing."""


def shopify_configured(settings: Settings) -> bool:
    """Whether the settings name a shop and an Admin API access token."""
    return bool(settings.shopify_shop and settings.shopify_access_token)


def client_from_settings(settings: Settings, clock: Clock | None = None) -> ShopifyClient:
    """A client for the configured shop (the token is read here and nowhere else)."""
    if not (settings.shopify_shop and settings.shopify_access_token):
        raise ShopifyNotConfigured(
            "set REELCART_SHOPIFY_SHOP and REELCART_SHOPIFY_ACCESS_TOKEN to use Shopify"
        )
    return ShopifyClient(
        settings.shopify_shop,
        settings.shopify_access_token.get_secret_value(),
        settings.shopify_api_version,
        timeout_s=settings.shopify_timeout_s,
        max_retries=settings.shopify_max_retries,
        clock=clock,
    )
