"""The Shopify connector: one import for what the rest of reelcart uses.

Split by concern: ``client`` (HTTP, pacing, retries), ``catalog`` (pages and bulk reads),
``sanitize`` (bad input), ``media`` (video publishing), ``orders`` (order write-back),
``discounts`` and ``customers`` (store rules), ``webhook`` (HMAC), ``credentials`` (a Dev Dashboard
app's token by the client credentials grant), ``oauth`` (installing a public app with the
ShopifyAPI package).
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
    ShopifyUnreachable,
    ShopifyUserError,
    SystemClock,
)
from .credentials import ClientCredentials
from .media import PublishedVideo, delete_media, publish_video
from .orders import OrderLine, create_shopify_order, order_tag
from .webhook import sign_webhook, verify_webhook

__all__ = [
    "BulkResult",
    "ClientCredentials",
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
    "ShopifyUnreachable",
    "ShopifyUserError",
    "SystemClock",
    "bulk_products",
    "client_from_settings",
    "count_products",
    "create_shopify_order",
    "delete_media",
    "fetch_shop",
    "not_configured_message",
    "order_tag",
    "product_pages",
    "publish_video",
    "shopify_configured",
    "shopify_missing",
    "sign_webhook",
    "verify_webhook",
]


class ShopifyNotConfigured(ShopifyError):
    """The settings do not name a shop and a way to get its Admin API token."""


def shopify_missing(settings: Settings) -> list[str]:
    """The settings still to set before Shopify can be used (empty: configured).

    A token comes either from a Dev Dashboard app (client ID and secret, the client
    credentials grant) or, for a legacy custom app, straight from the access token.
    """
    missing = [] if settings.shopify_shop else ["REELCART_SHOPIFY_SHOP"]
    if settings.shopify_access_token:
        return missing
    if not settings.shopify_api_key:
        missing.append("REELCART_SHOPIFY_API_KEY")
    if not settings.shopify_api_secret:
        missing.append("REELCART_SHOPIFY_API_SECRET")
    return missing


def shopify_configured(settings: Settings) -> bool:
    """Whether the settings name a shop and a way to get its Admin API token."""
    return not shopify_missing(settings)


def not_configured_message(missing: list[str]) -> str:
    """What to set, said once for the CLI, the flows and the server."""
    return (
        f"Shopify is not configured: set {', '.join(missing)} (a Dev Dashboard app's "
        "client ID and secret, REELCART_SHOPIFY_API_KEY and REELCART_SHOPIFY_API_SECRET, or "
        "a legacy custom app's REELCART_SHOPIFY_ACCESS_TOKEN, with REELCART_SHOPIFY_SHOP)"
    )


def client_from_settings(settings: Settings, clock: Clock | None = None) -> ShopifyClient:
    """A client for the configured shop (the token is read here and nowhere else)."""
    missing = shopify_missing(settings)
    if missing or settings.shopify_shop is None:
        raise ShopifyNotConfigured(not_configured_message(missing))
    token: str | ClientCredentials
    if settings.shopify_access_token:
        token = settings.shopify_access_token.get_secret_value()
    else:
        assert settings.shopify_api_key and settings.shopify_api_secret
        token = ClientCredentials(
            settings.shopify_shop,
            settings.shopify_api_key,
            settings.shopify_api_secret.get_secret_value(),
        )
    return ShopifyClient(
        settings.shopify_shop,
        token,
        settings.shopify_api_version,
        timeout_s=settings.shopify_timeout_s,
        max_retries=settings.shopify_max_retries,
        clock=clock,
    )
