"""ACP ``affiliate_attribution`` read as the store's own attribution.

ACP lets an agent carry an affiliate attribution on checkout create (first touch) and
complete (last touch). When its ``provider`` is this store's namespace
(:data:`ATTRIBUTION_PROVIDER`), ``sub_id`` is the shopper id the catalog tools chose the
video for and ``creative_id`` the video the agent showed. They are kept, protocol-neutral,
as the session's ``extra["attribution"]`` (``shopper_id``, ``creative_id``); the order's
attribution (:func:`commerce.checkout.orders.attributed_creative`) still checks them
against the impressions the server recorded. Another provider's attribution is kept as
sent and not interpreted.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ATTRIBUTION_PROVIDER", "merge_attribution", "read_affiliate"]

ATTRIBUTION_PROVIDER = "reelcart"
_MAX = 255


def read_affiliate(raw: dict[str, Any] | None) -> dict[str, str]:
    """``{"shopper_id", "creative_id"}`` (those present) of this store's attribution."""
    if not raw or raw.get("provider") != ATTRIBUTION_PROVIDER:
        return {}
    found = {"shopper_id": raw.get("sub_id"), "creative_id": raw.get("creative_id")}
    return {k: v[:_MAX] for k, v in found.items() if isinstance(v, str) and v}


def merge_attribution(
    current: dict[str, Any] | None, metadata_shopper: Any, affiliate: dict[str, Any] | None
) -> dict[str, str]:
    """The session's attribution after a request: the later touch wins field by field, and
    a ``metadata.shopper_id`` (sent on create only) names the shopper as it always has."""
    merged = {k: str(v) for k, v in (current or {}).items() if v} | read_affiliate(affiliate)
    if metadata_shopper:
        merged["shopper_id"] = str(metadata_shopper)[:_MAX]
    return merged
