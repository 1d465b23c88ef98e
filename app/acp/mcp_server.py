"""The ACP MCP binding's own server, at ``ACP_MCP_PATH`` (the binding lets the merchant
choose the path; ``/.well-known/acp.json`` advertises it).

It carries the binding's checkout tools with the spec's bundled schemas
(:mod:`app.acp.mcp_binding`) and nothing else: a shopping assistant uses the compact tools
at ``/mcp``, an ACP platform this endpoint.
"""

from __future__ import annotations

from mcp.server import MCPServer

from app.acp.mcp_binding import checkout_tools
from app.mcp_server_base import new_mcp_server
from commerce.checkout.service import API_VERSION, CheckoutService

__all__ = ["ACP_MCP_PATH", "build_acp_mcp_server"]

ACP_MCP_PATH = "/acp/mcp"

_INSTRUCTIONS = """\
The Agentic Commerce Protocol's MCP binding of this store: checkout sessions (create, get,
update, complete, cancel) and orders. Each tool takes meta (api_version required), the
session id where needed and the ACP REST request body as payload. Every checkout carries
continue_url, the store's page where the buyer can finish and pay.
"""


def build_acp_mcp_server(checkout: CheckoutService) -> MCPServer:
    """The ACP binding's tools over ``checkout``."""
    return new_mcp_server(
        name="reelcart-acp",
        instructions=_INSTRUCTIONS,
        version=API_VERSION,
        tools=checkout_tools(checkout),
    )
