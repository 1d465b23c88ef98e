"""The ACP MCP binding (``mcp-binding.md``): the five checkout tools, plus ``get_order``.

Each tool takes ``{meta, id, payload}``: ``meta`` carries what REST sends as headers
(``api_version`` required, ``idempotency_key`` optional but honoured exactly as in REST),
``payload`` is the REST request body. Results are the same ``CheckoutSession`` objects;
ACP errors are JSON-RPC errors with code -32000 and the ACP ``Error`` in ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ToolAnnotations
from pydantic import Field

from reelcart.models import Order

from .acp_idempotency import IdempotencyStore, fingerprint
from .acp_rest import SUPPORTED_VERSIONS
from .checkout import CheckoutService
from .checkout_errors import AcpError
from .checkout_orders import order_view

__all__ = ["ACP_ERROR_CODE", "register_checkout_tools"]

ACP_ERROR_CODE = -32000

Meta = Annotated[
    dict[str, Any],
    Field(
        description="Protocol metadata: api_version (required, e.g. 2026-04-17), "
        "idempotency_key, request_id, ..."
    ),
]
SessionId = Annotated[str, Field(min_length=1, max_length=255, description="Checkout session id.")]
Payload = Annotated[dict[str, Any], Field(description="The ACP REST request body.")]

_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def _rpc_error(error: AcpError) -> MCPError:
    return MCPError(code=ACP_ERROR_CODE, message=error.message, data=error.body())


def register_checkout_tools(server: MCPServer, checkout: CheckoutService) -> None:
    """Add the ACP checkout tools and ``get_order`` to ``server``."""
    idempotency = IdempotencyStore(checkout.db)

    async def call(
        meta: dict[str, Any], scope: str, body: Any, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            version = meta.get("api_version")
            if version not in SUPPORTED_VERSIONS:
                raise AcpError(
                    400,
                    "missing_api_version" if version is None else "unsupported_api_version",
                    f"meta.api_version must be one of {', '.join(SUPPORTED_VERSIONS)}",
                    param="$.meta.api_version",
                    supported_versions=SUPPORTED_VERSIONS,
                )
            key = meta.get("idempotency_key")
            if not key:
                return await anyio.to_thread.run_sync(run)
            scope = f"mcp {scope}"
            replay = await anyio.to_thread.run_sync(
                idempotency.begin, scope, str(key), fingerprint(body)
            )
            if replay is not None:
                if replay.status >= 400:
                    raise AcpError(replay.status, replay.body["code"], replay.body["message"])
                return dict(replay.body)
            try:
                result = await anyio.to_thread.run_sync(run)
            except AcpError as error:
                await anyio.to_thread.run_sync(
                    idempotency.finish, scope, str(key), error.status, error.body()
                )
                raise
            except Exception:
                await anyio.to_thread.run_sync(idempotency.abandon, scope, str(key))
                raise
            await anyio.to_thread.run_sync(idempotency.finish, scope, str(key), 200, result)
            return result
        except AcpError as error:
            raise _rpc_error(error) from None

    @server.tool(title="Create checkout session", annotations=_WRITE)
    async def create_checkout_session(meta: Meta, payload: Payload) -> dict[str, Any]:
        """Start an ACP checkout: payload is CheckoutSessionCreateRequest (line_items,
        currency, capabilities, fulfillment_details, metadata.shopper_id). Prices and
        totals are computed by the store."""
        return await call(meta, "create", payload, lambda: checkout.create(payload))

    @server.tool(
        title="Get checkout session",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    async def get_checkout_session(meta: Meta, id: SessionId) -> dict[str, Any]:
        """The current state of a checkout session."""
        return await call(
            meta | {"idempotency_key": None}, "get", None, lambda: checkout.retrieve(id)
        )

    @server.tool(title="Update checkout session", annotations=_WRITE)
    async def update_checkout_session(
        meta: Meta, id: SessionId, payload: Payload
    ) -> dict[str, Any]:
        """Change items, buyer, fulfillment details or the selected fulfillment option."""
        return await call(meta, f"update {id}", payload, lambda: checkout.update(id, payload))

    @server.tool(
        title="Complete checkout session",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    async def complete_checkout_session(
        meta: Meta, id: SessionId, payload: Payload
    ) -> dict[str, Any]:
        """Pay with payload.payment_data (a delegated token) and create the order."""
        return await call(meta, f"complete {id}", payload, lambda: checkout.complete(id, payload))

    @server.tool(title="Cancel checkout session", annotations=_WRITE)
    async def cancel_checkout_session(
        meta: Meta, id: SessionId, payload: Payload | None = None
    ) -> dict[str, Any]:
        """Cancel a session (releases held stock; a paid session is refunded)."""
        body = payload or {}
        return await call(meta, f"cancel {id}", body, lambda: checkout.cancel(id, body))

    @server.tool(
        title="Get order", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False)
    )
    async def get_order(
        order_id: Annotated[str, Field(min_length=1, max_length=64, description="Order id.")],
    ) -> dict[str, Any]:
        """An order created by a completed checkout (ACP Order object)."""

        def load() -> dict[str, Any]:
            with checkout.db.session() as session:
                order = session.get(Order, order_id)
                if order is None:
                    raise AcpError(404, "order_not_found", "Order not found", param="$.order_id")
                return order_view(order, checkout.base_url)

        try:
            return await anyio.to_thread.run_sync(load)
        except AcpError as error:
            raise _rpc_error(error) from None
