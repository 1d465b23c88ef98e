"""Which reverse proxies are believed about the client's address: configured, not assumed.

Uvicorn believes ``X-Forwarded-For``/``-Proto`` from loopback unless told otherwise, so any
client that reaches the server over loopback (a sidecar, a tunnel, an SSH forward) could
pick its own address with each request — and per-address limits (``/login``) would count
nothing. Here proxy headers are read only from the addresses in
``REELCART_TRUSTED_PROXIES`` (none by default: the peer address is the client's).
"""

from __future__ import annotations

from typing import Any

from reelcart.settings import Settings

__all__ = ["proxy_options"]


def proxy_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that say whose forwarding headers to believe."""
    trusted = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
