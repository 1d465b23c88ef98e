"""The UCP MCP binding (``checkout-mcp.md``, ``mcp.openrpc.json``) at ``/ucp/mcp``.

Its own MCP server, beside the store's ``/mcp``: UCP's tool names (``get_order``,
``get_product``) are not the ACP binding's or the catalog tools', and a UCP platform
identifies itself by its profile (``meta["ucp-agent"]``), not a bearer token. Each tool
takes ``meta`` (``ucp-agent``, ``idempotency-key``) and the REST body (``checkout``,
``catalog``) or an ``id``; the answers are the REST answers, in ``structuredContent``.
Versions, idempotency and errors go through the same envelope as REST
(:mod:`app.ucp.envelope`): a protocol error is a JSON-RPC error (-32001 for discovery and
version failures, -32000 otherwise) with ``{code, content}`` in ``data``; a business
outcome (an in-band error response) is a result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ToolAnnotations
from pydantic import Field
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.idempotency import IdempotencyStore
from app.mcp_server_base import new_mcp_server
from commerce.checkout.errors import CheckoutError

from .catalog import Catalog
from .envelope import UcpError, from_checkout_error, intersect, narrow, parse_agent, run_once
from .parts import UcpParts
from .profiles import ProfileCache, check_signature, negotiate

__all__ = ["UCP_MCP_PATH", "UcpMcpDoor", "ucp_mcp_door"]

log = logging.getLogger(__name__)
UCP_MCP_PATH = "/ucp/mcp"
# The platform profile whose signature this request carried (verified), if any.
VERIFIED_PROFILE: ContextVar[str | None] = ContextVar("ucp_verified_profile", default=None)
_DISCOVERY_CODES = {
    "version_unsupported",
    "profile_unreachable",
    "profile_malformed",
    "invalid_profile_url",
}

Meta = Annotated[
    dict[str, Any],
    Field(description='Request metadata: {"ucp-agent": {"profile": URL}, "idempotency-key": …}'),
]
Id = Annotated[str, Field(min_length=1, max_length=255, description="The resource id.")]
Body = Annotated[dict[str, Any], Field(description="The UCP REST request body.")]
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _rpc_error(error: UcpError) -> MCPError:
    code = -32001 if error.code in _DISCOVERY_CODES else -32000
    return MCPError(
        code=code, message=error.content, data={"code": error.code, "content": error.content}
    )


def _agent(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    agent = meta.get("ucp-agent")
    if isinstance(agent, dict):
        profile, version = agent.get("profile"), agent.get("version")
        return (
            profile if isinstance(profile, str) else None,
            version if isinstance(version, str) else None,
        )
    parsed = parse_agent(agent if isinstance(agent, str) else None)
    return parsed.profile, parsed.version


@dataclass
class UcpMcpDoor:
    server: MCPServer
    routes: list[BaseRoute]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.server.session_manager.run():
            yield


def ucp_mcp_door(parts: UcpParts, shop: Catalog, *, host: str) -> UcpMcpDoor:
    """The UCP MCP server and its route."""
    desk, orders = parts.checkout, parts.orders
    idempotency = IdempotencyStore(desk.db)

    async def call(
        meta: Any, name: str, body: Any, run: Callable[[str | None], Any], *, mutating: bool
    ) -> dict[str, Any]:
        try:
            if not isinstance(meta, dict):
                raise UcpError(400, "invalid_input", "meta is required")
            profile, version = _agent(meta)
            fetched = await anyio.to_thread.run_sync(negotiate, parts.profiles, profile, version)
            active = intersect(fetched) if fetched is not None else None

            def answer() -> tuple[int, Any]:
                result = run(profile)
                return result if isinstance(result, tuple) else (200, result)

            key = meta.get("idempotency-key") if mutating else None
            if isinstance(key, str) and 0 < len(key) <= 255:
                scope = f"ucp-mcp {str(profile)[:300]} {name}"
                status, result, _ = await run_once(idempotency, scope, key, body, answer)
            else:
                status, result = await anyio.to_thread.run_sync(answer)
            if status >= 400:
                raise UcpError(status, str(result.get("code")), str(result.get("content")))
            return dict(narrow(result, active))
        except CheckoutError as error:
            raise _rpc_error(from_checkout_error(error)) from None
        except UcpError as error:
            raise _rpc_error(error) from None
        except MCPError:
            raise
        except Exception:
            log.exception("UCP MCP %s failed", name)
            raise MCPError(code=-32603, message="unexpected server error") from None

    server: MCPServer = new_mcp_server(
        name="reelcart-ucp",
        instructions="UCP shopping service (checkout, order, catalog) of this store.",
        version="2026-04-08",
    )

    @server.tool(title="Create checkout", annotations=_WRITE, structured_output=True)
    async def create_checkout(meta: Meta, checkout: Body) -> dict[str, Any]:
        """Create a checkout session (prices and totals come from the store's catalog; a
        ``cart_id`` makes it of that cart's contents)."""
        body = checkout
        return await call(
            meta,
            "create_checkout",
            body,
            lambda p: desk.create(parts.carts.checkout_request(body, p), p),
            mutating=True,
        )

    @server.tool(title="Get checkout", annotations=_READ, structured_output=True)
    async def get_checkout(meta: Meta, id: Id) -> dict[str, Any]:
        """The checkout session's current state."""
        return await call(meta, "get_checkout", None, lambda p: desk.get(id, p), mutating=False)

    @server.tool(title="Update checkout", annotations=_WRITE, structured_output=True)
    async def update_checkout(meta: Meta, id: Id, checkout: Body) -> dict[str, Any]:
        """Replace line items, buyer, fulfillment, discount codes or payment instruments."""
        body = checkout
        return await call(
            meta,
            f"update_checkout {id}",
            body,
            lambda p: desk.update(id, body, p),
            mutating=True,
        )

    @server.tool(title="Complete checkout", annotations=_WRITE, structured_output=True)
    async def complete_checkout(meta: Meta, id: Id, checkout: Body) -> dict[str, Any]:
        """Pay with ``payment.instruments[0]`` and place the order."""
        body = checkout
        return await call(
            meta,
            f"complete_checkout {id}",
            body,
            lambda p: desk.complete(id, body, p),
            mutating=True,
        )

    @server.tool(title="Cancel checkout", annotations=_WRITE, structured_output=True)
    async def cancel_checkout(meta: Meta, id: Id) -> dict[str, Any]:
        """Cancel an open checkout session; its held stock is released."""
        return await call(
            meta, f"cancel_checkout {id}", {"id": id}, lambda p: desk.cancel(id, p), mutating=True
        )

    @server.tool(title="Get order", annotations=_READ, structured_output=True)
    async def get_order(meta: Meta, id: Id) -> dict[str, Any]:
        """The order's current state (fulfillment expectations and events, adjustments)."""
        signed = VERIFIED_PROFILE.get()
        return await call(
            meta,
            "get_order",
            None,
            lambda p: orders.get(id, p, signed=signed is not None and signed == p),
            mutating=False,
        )

    @server.tool(title="Search catalog", annotations=_READ, structured_output=True)
    async def search_catalog(meta: Meta, catalog: Body) -> dict[str, Any]:
        """Search products; each comes with the showcase video this shopper is shown."""
        body = catalog
        return await call(meta, "search_catalog", body, lambda p: shop.search(body), mutating=False)

    @server.tool(title="Lookup catalog", annotations=_READ, structured_output=True)
    async def lookup_catalog(meta: Meta, catalog: Body) -> dict[str, Any]:
        """Products and variants by id."""
        body = catalog
        return await call(meta, "lookup_catalog", body, lambda p: shop.lookup(body), mutating=False)

    @server.tool(title="Get product", annotations=_READ, structured_output=True)
    async def get_product(meta: Meta, catalog: Body) -> dict[str, Any]:
        """One product in full, by ``id``."""
        body = catalog
        return await call(meta, "get_product", body, lambda p: shop.product(body), mutating=False)

    app = server.streamable_http_app(
        streamable_http_path=UCP_MCP_PATH, host=host, stateless_http=True, json_response=True
    )
    verified = SignaturesChecked(app, parts.profiles, parts.settings.max_request_bytes)
    return UcpMcpDoor(server=server, routes=[Route(UCP_MCP_PATH, endpoint=verified)])


class SignaturesChecked:
    """A signed MCP request (RFC 9421 over the JSON-RPC body, ``UCP-Agent`` in the HTTP
    headers) is verified against the platform profile's keys before the server sees it.
    (An ASGI app as a class: Starlette mounts it whole, every method.)"""

    def __init__(self, app: ASGIApp, profiles: ProfileCache, max_body: int) -> None:
        self.app, self.profiles, self.max_body = app, profiles, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app, profiles, max_body = self.app, self.profiles, self.max_body
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["type"] != "http" or not {"signature", "signature-input"} & set(headers):
            await app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                await _rpc_refusal(send, 413, UcpError(413, "request_too_large", "body too large"))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        agent = parse_agent(headers.get("ucp-agent"))
        try:
            fetched = await anyio.to_thread.run_sync(
                partial(negotiate, profiles, agent.profile, agent.version, required=True)
            )
            assert fetched is not None
            check_signature(
                fetched,
                method=scope["method"],
                authority=headers.get("host", ""),
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                headers=headers,
                body=body,
            )
        except UcpError as error:
            await _rpc_refusal(send, error.status, error)
            return
        # The tools see who signed (the server handles the request within this context).
        VERIFIED_PROFILE.set(agent.profile)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)


async def _rpc_refusal(send: Send, status: int, error: UcpError) -> None:
    rpc = _rpc_error(error)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": rpc.error.code,
                "message": error.content,
                "data": {"code": error.code, "content": error.content},
            },
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
