"""The ASGI app: MCP over streamable HTTP at /mcp, published media at /media, health.

A composition root: it wires every package together and nothing imports it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from commerce.acp_rest import acp_routes, build_checkout_service
from commerce.mcp_server import build_mcp_server
from commerce.shopify_publish import shopify_order_hook
from commerce.shopify_webhooks import webhook_routes as shopify_webhook_routes
from connectors.shopify import shopify_configured
from connectors.storage import MediaStore
from experiments.report_routes import report_routes
from reelcart.db import Database
from reelcart.settings import Settings

__all__ = ["BearerAuth", "create_app"]

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",
}


class BearerAuth:
    """ASGI middleware: requests need ``Authorization: Bearer <token>`` (constant-time check).

    With no token configured every request is refused: an acting endpoint is never open
    by accident.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        scheme, _, supplied = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        ok = (
            self._token is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(supplied.strip().encode(), self._token)
        )
        if ok:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "message": "a valid bearer token is required"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="reelcart"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _media_endpoint(store: MediaStore):  # type: ignore[no-untyped-def]
    async def media(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            exists = store.exists(key)
        except ValueError:
            exists = False
        if not exists:
            return JSONResponse({"error": "not_found", "message": "no such media"}, status_code=404)
        suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key else ""
        media_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
        local = store.local_path(key)
        headers = {"cache-control": "public, max-age=300"}
        if local is not None:
            return FileResponse(local, media_type=media_type, headers=headers)

        def chunks():  # type: ignore[no-untyped-def]
            with store.open(key) as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk

        return StreamingResponse(chunks(), media_type=media_type, headers=headers)

    return media


async def _health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings, db: Database | None = None, store: MediaStore | None = None
) -> Starlette:
    """Build the app; ``db`` and ``store`` default to what ``settings`` name."""
    db = db or Database.from_settings(settings)
    store = store or MediaStore.from_settings(settings)
    # agent checkout (ACP): one checkout core behind REST and the MCP tools
    hooks = [shopify_order_hook(db, settings)] if shopify_configured(settings) else []
    checkout = build_checkout_service(db, store, settings, order_hooks=hooks)
    mcp = build_mcp_server(db, store, checkout=checkout)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    # The SDK's app routes /mcp itself; wrapping it whole keeps POST /mcp free of redirects.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=settings.host)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    return Starlette(
        routes=[
            Route("/healthz", _health),
            Route("/media/{key:path}", _media_endpoint(store), methods=["GET", "HEAD"]),
            Route("/mcp", endpoint=BearerAuth(mcp_app, token)),
            # experiments: report page, event ingestion, click redirect, impression pixel
            *report_routes(db, store, settings, auth=lambda app: BearerAuth(app, token)),
            # ACP REST + /.well-known/acp.json (bearer auth checked inside, in ACP's error shape)
            *acp_routes(db, store, settings, service=checkout),
            # Shopify webhooks at /webhooks/shopify (HMAC-verified, deduplicated)
            *shopify_webhook_routes(db, store, settings),
        ],
        lifespan=lifespan,
    )
