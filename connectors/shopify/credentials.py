"""A Dev Dashboard app's Admin API token, by the client credentials grant.

Since 2026-01-01 new custom apps come from the Dev Dashboard; on a store of your own
organization the app exchanges its client ID and secret for a token: a POST to
``https://{shop}/admin/oauth/access_token`` with ``grant_type=client_credentials`` answers
``{access_token, scope, expires_in}``. The token lives about 24 hours and comes with no
refresh token, so it is requested again shortly before it expires (and once more if
Shopify refuses it as expired). RFC 6749 section 4.4.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from .client import ShopifyAuthError, ShopifyUnreachable, admin_base_url

__all__ = ["ClientCredentials"]

# Ask again this long before the token's stated expiry (clock skew, a slow request).
_EXPIRY_MARGIN_S = 300.0


@dataclass
class ClientCredentials:
    """Admin API tokens for one shop by the client credentials grant, cached until expiry.

    The secret is held here and sent only to the shop's own token endpoint.
    """

    shop: str
    client_id: str
    client_secret: str = field(repr=False)
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    scope: str = ""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def endpoint(self) -> str:
        return f"{admin_base_url(self.shop)}/admin/oauth/access_token"

    def invalidate(self) -> None:
        """Forget the token (Shopify refused it): the next call asks for a new one."""
        self._token, self._expires_at = None, 0.0

    async def token(self, http: httpx.AsyncClient) -> str:
        """A token valid for a while yet, requested over ``http`` when needed."""
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            try:
                response = await http.post(
                    self.endpoint,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                    },
                    headers={"Accept": "application/json"},
                )
            except httpx.TransportError as exc:
                # A shop that cannot be reached will not be reached by waiting: say which.
                raise ShopifyUnreachable(
                    f"cannot reach the shop at {admin_base_url(self.shop)} "
                    f"({type(exc).__name__}: {exc}); check REELCART_SHOPIFY_SHOP"
                ) from exc
            body = _json(response)
            if response.status_code != 200 or not isinstance(body.get("access_token"), str):
                detail = body.get("error_description") or body.get("error") or response.text
                raise ShopifyAuthError(
                    f"{admin_base_url(self.shop)} refused the client credentials grant "
                    f"(HTTP {response.status_code}: {str(detail)[:200]}); check "
                    "REELCART_SHOPIFY_API_KEY (client ID) and REELCART_SHOPIFY_API_SECRET, "
                    "and that the app is installed on this store"
                )
            stated = body.get("expires_in")
            lifetime = float(stated) if isinstance(stated, int | float) and stated > 0 else 86399.0
            self._token = str(body["access_token"])
            self.scope = str(body.get("scope") or "")
            self._expires_at = time.monotonic() + max(lifetime - _EXPIRY_MARGIN_S, 0.0)
            return self._token


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
