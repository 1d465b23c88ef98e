"""UCP Embedded Checkout (``embedded-checkout.md``): what the business declares and allows.

Discovery lists the ``embedded`` transport and every open UCP checkout carries an embedded
service binding whose ``config.delegate`` names the delegations this store allows. The
store allows ``window.open`` only: payment runs on Stripe's hosted page, which cannot be
framed, so the embedded page asks the host to open it (``ec.window.open_request``). It
takes no payment credential from a host, so no unsolicited payment request can exist.

Embedding needs hosts the store trusts: the page may be framed only by the origins in
``REELCART_EMBEDDED_HOST_ORIGINS`` (its CSP ``frame-ancestors``, and the only origins it
speaks to); with none configured the transport is not offered at all. ``ec_auth`` is not
required: the checkout id in ``continue_url`` is already the buyer's capability, as it is
for the API calls, so the page ignores any token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reelcart.settings import Settings

from .envelope import SPEC_BASE, UCP_VERSION, error_message

__all__ = [
    "BUSINESS_DELEGATIONS",
    "COLOR_SCHEMES",
    "EMBEDDED_SCHEMA",
    "EmbeddedSession",
    "checkout_services",
    "discovery_service",
    "embedded_session",
    "host_origins",
]

EMBEDDED_SCHEMA = f"{SPEC_BASE}/services/shopping/embedded.openrpc.json"
BUSINESS_DELEGATIONS = ("window.open",)
COLOR_SCHEMES = ("light", "dark")
_OPEN = frozenset({"incomplete", "ready_for_complete", "requires_escalation"})
# An origin only (no path, quote or space), so a configured value cannot widen the CSP.
_ORIGIN = re.compile(r"^https?://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def host_origins(settings: Settings) -> tuple[str, ...]:
    """The origins allowed to embed the checkout page (well-formed entries only)."""
    listed = (o.strip().rstrip("/") for o in settings.embedded_host_origins.split(","))
    return tuple(o for o in listed if _ORIGIN.match(o))


def discovery_service(settings: Settings) -> dict[str, Any] | None:
    """The ``embedded`` entry of ``/.well-known/ucp`` (None when no host may embed)."""
    if not host_origins(settings):
        return None
    return {
        "version": UCP_VERSION,
        "spec": f"{SPEC_BASE}/specification/embedded-checkout",
        "transport": "embedded",
        "schema": EMBEDDED_SCHEMA,
        "config": {"delegate": list(BUSINESS_DELEGATIONS), "color_scheme": list(COLOR_SCHEMES)},
    }


def checkout_services(settings: Settings, status: str) -> dict[str, Any] | None:
    """The per-checkout embedded binding (``ucp.services``) while the buyer can still act."""
    if status not in _OPEN or not host_origins(settings):
        return None
    binding = {
        "version": UCP_VERSION,
        "transport": "embedded",
        "config": {"delegate": list(BUSINESS_DELEGATIONS), "color_scheme": list(COLOR_SCHEMES)},
    }
    return {"dev.ucp.shopping": [binding]}


@dataclass(frozen=True)
class EmbeddedSession:
    """An ECP session as the page starts it: what it accepts, or why it cannot start."""

    version: str
    delegate: list[str]
    color_scheme: str | None
    hosts: tuple[str, ...]
    checkout: dict[str, Any] | None
    error: dict[str, Any] | None

    def state(self) -> dict[str, Any]:
        """What the page's script needs (the host origins it may talk to, no secrets)."""
        return {
            "version": self.version,
            "delegate": self.delegate,
            "hosts": list(self.hosts),
            "checkout": self.checkout,
            "error": self.error,
        }


def _session_error(code: str, content: str, continue_url: str) -> dict[str, Any]:
    """``error_response.json``, the payload of ``ec.error``."""
    return {
        "ucp": {"version": UCP_VERSION, "status": "error"},
        "messages": [error_message(code, content, severity="unrecoverable")],
        "continue_url": continue_url,
    }


def embedded_session(
    query: Mapping[str, str],
    settings: Settings,
    checkout: dict[str, Any] | None,
    continue_url: str,
) -> EmbeddedSession | None:
    """The session the ``ec_*`` parameters ask for (None: not an embedded load).

    ``checkout`` is the UCP view of the checkout, None when it is not a UCP checkout.
    Accepted delegations are those the host asked for that the business allows
    (``config.delegate ⊇ ec_delegate ⊇ ec.ready delegate``).
    """
    version = query.get("ec_version")
    if version is None:
        return None
    version = version[:32]
    requested = [d.strip() for d in query.get("ec_delegate", "").split(",")[:16]]
    accepted = [d for d in BUSINESS_DELEGATIONS if d in requested]
    scheme = query.get("ec_color_scheme")
    error = None
    if checkout is None:
        error = _session_error(
            "not_supported_error", "This checkout cannot be embedded.", continue_url
        )
    elif version != checkout["ucp"]["version"]:
        error = _session_error(
            "version_unsupported",
            f"ec_version {version} does not match this checkout's version"
            f" {checkout['ucp']['version']}.",
            continue_url,
        )
    return EmbeddedSession(
        version=version,
        delegate=accepted,
        color_scheme=scheme if scheme in COLOR_SCHEMES else None,
        hosts=host_origins(settings),
        checkout=checkout if error is None else None,
        error=error,
    )
