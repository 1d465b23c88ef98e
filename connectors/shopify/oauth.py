"""Installing reelcart as a public app: OAuth with the ``ShopifyAPI`` package.

``ShopifyAPI`` builds the consent URL and verifies the callback (HMAC over the query
parameters, and a timestamp no older than a day). The code-for-token exchange is a plain
httpx POST with a timeout (the package's own uses urllib without one and HTTPS only).
A Dev Dashboard app on your own store gets its token by the client credentials grant
(``credentials.py``); a legacy custom app's ``shpat_`` token goes straight into settings.
"""

from __future__ import annotations

import httpx
import shopify

from .client import ShopifyAuthError, admin_base_url

__all__ = [
    "DEFAULT_SCOPES",
    "exchange_code",
    "permission_url",
    "verify_callback",
]

DEFAULT_SCOPES = (
    "read_products",
    "write_products",
    "write_files",
    "read_orders",
    "write_orders",
)


def _configure(api_key: str, api_secret: str) -> None:
    # ShopifyAPI keeps credentials on the class; set them right before each use.
    shopify.Session.setup(api_key=api_key, secret=api_secret)


def permission_url(
    shop: str,
    api_key: str,
    api_secret: str,
    redirect_uri: str,
    state: str,
    api_version: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
) -> str:
    """Where to send the merchant to approve the app (``state`` is your CSRF nonce)."""
    _configure(api_key, api_secret)
    session = shopify.Session(shop, api_version)
    return str(session.create_permission_url(list(scopes), redirect_uri, state))


def verify_callback(params: dict[str, str], api_key: str, api_secret: str) -> bool:
    """Whether the OAuth callback's query parameters are signed by Shopify and fresh."""
    _configure(api_key, api_secret)
    return bool(shopify.Session.validate_params(dict(params)))


def exchange_code(
    shop: str,
    params: dict[str, str],
    api_key: str,
    api_secret: str,
    *,
    timeout_s: float = 30.0,
) -> str:
    """Verify the callback, then trade its ``code`` for an offline Admin API access token."""
    if not verify_callback(params, api_key, api_secret):
        raise ShopifyAuthError("OAuth callback failed HMAC or timestamp verification")
    response = httpx.post(
        f"{admin_base_url(shop)}/admin/oauth/access_token",
        data={"client_id": api_key, "client_secret": api_secret, "code": params["code"]},
        timeout=timeout_s,
    )
    if response.status_code != 200:
        raise ShopifyAuthError(f"token exchange refused (HTTP {response.status_code})")
    return str(response.json()["access_token"])
