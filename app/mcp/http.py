"""The MCP doors over HTTP: the shoppers' ``/mcp`` and the ACP binding's endpoint (both
protocol eras), their auth and their RFC 9728 metadata.

Each is an OAuth 2.1 resource server (``app.oauth_resource``): JWTs from the
configured authorization server, or the static development token. Before the door says it
is ready (the app's lifespan), semantic search is warmed, so the first search is answered
by meaning rather than by a cold model.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from mcp.server import MCPServer
from starlette.routing import BaseRoute, Route

from app.acp.mcp_binding import CHECKOUT_TOOL_NAMES
from app.acp.mcp_server import ACP_MCP_PATH, build_acp_mcp_server
from app.mcp.server import CATALOG_SCOPE, CHECKOUT_SCOPE, TOOL_SCOPES, build_mcp_server
from app.oauth_resource import protect, resource_metadata_routes, verifier_from_settings
from commerce.catalog.search import SemanticIndex
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings

__all__ = ["McpDoor", "mcp_door", "warm_search"]

log = logging.getLogger(__name__)
SCOPES = [CATALOG_SCOPE, CHECKOUT_SCOPE]


def warm_search(db: Database) -> str:
    """Load the search model and embed the catalog; returns the index status.

    A database that cannot be read yet (not migrated) leaves search to warm on first use.
    """
    try:
        with db.session() as session:
            return SemanticIndex.shared().warm(session)
    except Exception:
        log.exception("search not warmed at start")
        return SemanticIndex.shared().status()


@dataclass
class McpDoor:
    server: MCPServer
    routes: list[BaseRoute]
    db: Database
    acp_server: MCPServer | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm_search, self.db)
        async with self.server.session_manager.run():
            if self.acp_server is None:
                yield
                return
            async with self.acp_server.session_manager.run():
                yield


def _protected_route(
    settings: Settings, server: MCPServer, path: str, tool_scopes: dict[str, str]
) -> list[BaseRoute]:
    """``path`` served by ``server`` behind bearer auth, with its RFC 9728 metadata."""
    resource_url = f"{settings.resolved_public_base_url}{path}"
    # The SDK's app routes the path itself; wrapping it whole keeps POST free of redirects.
    app = server.streamable_http_app(streamable_http_path=path, host=settings.host)
    verifier = verifier_from_settings(settings, resource_url, SCOPES)
    routes: list[BaseRoute] = [
        Route(
            path,
            endpoint=protect(
                app,
                verifier,
                resource_url,
                tool_scopes,
                advertise_metadata=settings.oauth_issuer is not None,
            ),
        )
    ]
    if settings.oauth_issuer:
        routes += resource_metadata_routes(resource_url, [settings.oauth_issuer], SCOPES)
    return routes


def mcp_door(
    settings: Settings, db: Database, store: MediaStore, checkout: CheckoutService
) -> McpDoor:
    """``/mcp``, the ACP binding's endpoint and their ``/.well-known/oauth-protected-resource``."""
    server = build_mcp_server(db, store, checkout=checkout, read_cache=settings.read_cache)
    acp_server = build_acp_mcp_server(checkout)
    routes = _protected_route(settings, server, "/mcp", TOOL_SCOPES)
    acp_scopes = dict.fromkeys(CHECKOUT_TOOL_NAMES, CHECKOUT_SCOPE)
    routes += _protected_route(settings, acp_server, ACP_MCP_PATH, acp_scopes)
    return McpDoor(server=server, routes=routes, db=db, acp_server=acp_server)
