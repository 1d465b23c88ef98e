"""HMAC signatures for values the app hands out and must recognise later.

Each use gets its own key, derived from one secret (``REELCART_SIGNING_SECRET``, else the
API token), so a signature made for one purpose (a tracking link) is worthless for another
(a sign-in session), and the secret itself never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from reelcart.settings import Settings

__all__ = ["derive_key", "settings_key", "sign", "verify"]


def derive_key(secret: str, purpose: str) -> bytes:
    """The key for ``purpose``: HMAC-SHA256 of the purpose under the secret."""
    return hmac.new(secret.encode(), f"reelcart:{purpose}".encode(), hashlib.sha256).digest()


def settings_key(settings: Settings, purpose: str) -> bytes | None:
    """The key for ``purpose`` from the settings' secret; ``None`` when none is configured."""
    for secret in (settings.signing_secret, settings.api_token):
        if secret is not None and secret.get_secret_value():
            return derive_key(secret.get_secret_value(), purpose)
    return None


def sign(key: bytes, message: str) -> str:
    """URL-safe signature of ``message``."""
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(key: bytes | None, message: str, signature: str) -> bool:
    """Constant-time check of ``signature``; never true without a key."""
    return key is not None and hmac.compare_digest(sign(key, message), signature)
