"""The ASGI app: MCP, ACP REST, reports, webhooks, published media, health.

A composition root: it wires every package together and nothing imports it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Scope

from app.acp.envelope import limit_writes
from app.acp.rest import acp_routes
from app.checkout_page import checkout_page_routes
from app.http_auth import BearerAuth, login_routes
from app.http_limits import DATABASE_DOWN, RETRY_AFTER_S, RequestLimits
from app.mcp.http import mcp_door
from app.order_page import order_page_routes
from app.reports import report_routes
from app.shopify_webhooks import webhook_routes as shopify_webhook_routes
from app.ucp.door import names_platform
from app.ucp.envelope import UcpError
from app.ucp.mcp_binding import ucp_mcp_door
from app.ucp.parts import build_ucp
from app.ucp.rest import ucp_routes
from commerce.catalog.search import SemanticIndex
from commerce.checkout.factory import build_checkout_service
from commerce.checkout.reconcile import reconcile_in_background
from commerce.shopify.publish import shopify_order_hook, write_back_pending
from connectors.shopify import shopify_configured
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings, get_settings
from reelcart.signing import settings_key

__all__ = ["app_from_environment", "configure_logging", "create_app"]

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


def _media_endpoint(store: MediaStore):  # type: ignore[no-untyped-def]
    async def media(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            # A folder (``/media/images``) is not media: only files are served.
            exists = bool(store.fs.isfile(store._path(key)))
        except (ValueError, OSError):
            exists = False
        if not exists:
            return JSONResponse({"error": "not_found", "message": "no such media"}, status_code=404)
        suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key else ""
        media_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
        local = store.local_path(key)
        # Public media: any page may load it, captions in a sandboxed MCP App included.
        headers = {"cache-control": "public, max-age=300", "access-control-allow-origin": "*"}
        if local is not None:
            return FileResponse(local, media_type=media_type, headers=headers)

        def chunks():  # type: ignore[no-untyped-def]
            with store.open(key) as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk

        return StreamingResponse(chunks(), media_type=media_type, headers=headers)

    return media


_NOT_READY: tuple[type[Exception], ...] = (TimeoutError, *DATABASE_DOWN)


def _not_ready(**why: str) -> Response:
    return JSONResponse(
        why,
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _health_endpoint(db: Database):  # type: ignore[no-untyped-def]
    def ping() -> None:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def health(_: Request) -> Response:
        # Not ready without the database, nor while every worker thread is taken: requests
        # would only queue. The ping runs in the same pool as requests, so a pool that
        # cannot serve one within the timeout reads as not ready.
        workers = anyio.to_thread.current_default_thread_limiter()
        if workers.borrowed_tokens >= workers.total_tokens:
            return _not_ready(status="busy", workers="all taken")
        try:
            with anyio.fail_after(3.0):
                await anyio.to_thread.run_sync(ping)
        except _NOT_READY:
            return _not_ready(status="unavailable", database="unreachable")
        # "search" lets a load balancer or a benchmark wait until semantic search is warm.
        return JSONResponse(
            {"status": "ok", "database": "ok", "search": SemanticIndex.shared().status()}
        )

    return health


_ACP_PATHS = ("/checkout_sessions", "/orders/", "/agentic_commerce/")
# UCP's own paths; /orders/ is UCP's for requests that name a platform (UCP-Agent).
_UCP_PATHS = ("/checkout-sessions", "/carts", "/catalog/", "/.well-known/ucp")
# JSON-RPC doors: the shoppers' MCP server and the ACP and UCP MCP bindings.
_MCP_PATHS = ("/mcp", "/acp/mcp", "/ucp/mcp")


def _error_shape(scope: Scope, status: int, code: str, message: str) -> dict[str, Any]:
    """Errors raised outside a route, in the shape of the protocol the request is for."""
    path: str = scope.get("path", "")
    if path.startswith(_MCP_PATHS):
        rpc = -32700 if code == "invalid_json" else -32600 if status < 500 else -32603
        return {"jsonrpc": "2.0", "id": None, "error": {"code": rpc, "message": message}}
    if path.startswith(_UCP_PATHS) or names_platform(scope):
        return UcpError(status, code, message).body()
    if path.startswith(_ACP_PATHS):
        kind = "service_unavailable" if status == 503 else "invalid_request"
        return {"type": kind, "code": code, "message": message}
    return {"error": code, "message": message}


async def _not_found(request: Request, _: Exception) -> Response:
    """An unknown path answers JSON in the shape of the protocol the request is for."""
    body = _error_shape(request.scope, 404, "not_found", f"no such resource: {request.url.path}")
    return JSONResponse(body, status_code=404)


def create_app(
    settings: Settings, db: Database | None = None, store: MediaStore | None = None
) -> Starlette:
    """Build the app; ``db`` and ``store`` default to what ``settings`` name."""
    db = db or Database.from_settings(settings)
    store = store or MediaStore.from_settings(settings)
    limit_writes(settings.write_threads)
    # agent checkout (ACP): one checkout core behind REST and the MCP tools
    shopify = shopify_configured(settings)
    hooks = [shopify_order_hook(db, settings)] if shopify else []
    checkout = build_checkout_service(db, store, settings, order_hooks=hooks)
    # UCP over the same checkout core: its orders get a UCP record and an order_placed webhook
    ucp = build_ucp(checkout)
    checkout.order_hooks.append(ucp.order_hook())
    ucp_mcp = ucp_mcp_door(ucp, ucp.catalog, host=settings.host)  # UCP's MCP binding, /ucp/mcp
    # MCP at /mcp (both eras, OAuth resource server) + /.well-known/oauth-protected-resource
    mcp = mcp_door(settings, db, store, checkout)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    secure_cookie = settings.resolved_public_base_url.startswith("https://")
    session_key = settings_key(settings, "session")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # payments a crash left unknown are settled; the Shopify write-backs it missed sent
        catch_up = [lambda: write_back_pending(db, settings)] if shopify else []
        reconcile_in_background(checkout, catch_up=catch_up)
        ucp.dispatcher.kick()  # UCP order webhooks a restart left undelivered
        # search warmed before the server says it is ready
        async with mcp.running(), ucp_mcp.running():
            yield

    return Starlette(
        routes=[
            Route("/healthz", _health_endpoint(db)),
            Route("/media/{key:path}", _media_endpoint(store), methods=["GET", "HEAD"]),
            *mcp.routes,
            # experiments: report page, event ingestion, click redirect, impression pixel
            # Report pages also take the /login cookie (GET only), so a browser can open them.
            *login_routes(
                token,
                secure_cookie=secure_cookie,
                session_key=session_key,
                attempts_per_minute=settings.login_attempts_per_minute,
            ),
            *report_routes(
                db,
                store,
                settings,
                auth=lambda app: BearerAuth(app, token, allow_cookie=True, session_key=session_key),
            ),
            # the buyer's order page, what order.permalink_url names (its token is the key)
            *order_page_routes(db),
            # UCP REST + /.well-known/ucp (before ACP: /orders/{id} with UCP-Agent is UCP's)
            *ucp_routes(ucp),
            *ucp_mcp.routes,
            # the buyer's checkout page (every checkout's continue_url) and Stripe's webhook
            *checkout_page_routes(checkout),
            # ACP REST + /.well-known/acp.json (bearer auth checked inside, in ACP's error shape)
            *acp_routes(db, store, settings, service=checkout),
            # Shopify webhooks at /webhooks/shopify (HMAC-verified, deduplicated)
            *shopify_webhook_routes(db, store, settings),
        ],
        lifespan=lifespan,
        exception_handlers={404: _not_found},
        middleware=[
            Middleware(
                RequestLimits,
                max_body=settings.max_request_bytes,
                error_body=_error_shape,
                json_paths=_MCP_PATHS,  # the MCP SDK parses JSON without a depth bound
            )
        ],
    )


def configure_logging() -> None:
    """Plain log lines on stderr for a server process, set before the MCP SDK would install
    its Rich handler: rendering a Rich table for every Stripe and HTTP client request's
    INFO line cost a tenth of a busy server's CPU. Those libraries log warnings only."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("stripe", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def app_from_environment() -> Starlette:
    """The app as the environment configures it: what each ``serve --workers`` process runs."""
    configure_logging()
    return create_app(get_settings())
