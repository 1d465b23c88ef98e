"""Webhook signatures: base64 HMAC-SHA256 of the raw body with the app's API secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["sign_webhook", "verify_webhook"]


def sign_webhook(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_webhook(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of a delivery's signature (over the raw bytes, before parsing)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign_webhook(body, secret).encode(), header.strip().encode())
