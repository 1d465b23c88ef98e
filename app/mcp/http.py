"""The MCP door over HTTP: ``/mcp`` (both protocol eras), its auth and its RFC 9728 metadata.

``/mcp`` is an OAuth 2.1 resource server (``app.oauth_resource``): JWTs from the
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

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm_search, self.db)
        async with self.server.session_manager.run():
            yield


def mcp_door(
    settings: Settings, db: Database, store: MediaStore, checkout: CheckoutService
) -> McpDoor:
    """``/mcp`` and ``/.well-known/oauth-protected-resource`` for the app."""
    server = build_mcp_server(db, store, checkout=checkout, read_cache=settings.read_cache)
    resource_url = f"{settings.resolved_public_base_url}/mcp"
    # The SDK's app routes /mcp itself; wrapping it whole keeps POST /mcp free of redirects.
    app = server.streamable_http_app(streamable_http_path="/mcp", host=settings.host)
    verifier = verifier_from_settings(settings, resource_url, SCOPES)
    routes: list[BaseRoute] = [
        Route(
            "/mcp",
            endpoint=protect(
                app,
                verifier,
                resource_url,
                TOOL_SCOPES,
                advertise_metadata=settings.oauth_issuer is not None,
            ),
        )
    ]
    if settings.oauth_issuer:
        routes += resource_metadata_routes(resource_url, [settings.oauth_issuer], SCOPES)
    return McpDoor(server=server, routes=routes, db=db)
