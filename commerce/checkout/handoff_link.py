"""Where a buyer finishes a checkout on the store's own page: its ``continue_url``.

Every door's checkout (ACP REST and MCP, UCP REST and MCP, the shopping tools) carries this
link. The checkout id is random and known only to whoever created the checkout, so the link
is the buyer's capability to open that one checkout, as the agent's API calls are.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["CHECKOUT_PAGE_PREFIX", "continue_url"]

CHECKOUT_PAGE_PREFIX = "/checkout"


def continue_url(base_url: str, checkout_id: str) -> str:
    """The checkout page of ``checkout_id`` on the store at ``base_url``."""
    return f"{base_url.rstrip('/')}{CHECKOUT_PAGE_PREFIX}/{quote(checkout_id, safe='')}"
