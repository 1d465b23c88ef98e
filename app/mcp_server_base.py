"""What every MCP server of this project shares: how it is built and its protocol errors.

Each MCP endpoint (the shopping server, the ACP and UCP bindings) is built with
``new_mcp_server`` so that the JSON-RPC answers the MCP spec prescribes hold on all of them:
a ``prompts/get`` or ``tools/call`` naming a prompt or tool the server does not have is a
request error ``-32602`` (Invalid params) in both protocol eras, not an internal error, a
code-0 error or a tool result, and nothing is logged as a crash.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

__all__ = ["UnknownNamesAreInvalidParams", "new_mcp_server"]


class UnknownNamesAreInvalidParams(ServerMiddleware[Any]):
    """Refuse ``tools/call`` and ``prompts/get`` for a name the server does not offer.

    Runs before the SDK's handlers, which would otherwise answer an unknown tool with an
    ``isError`` tool result and an unknown prompt with an internal error and a traceback.
    """

    def __init__(self, server: MCPServer) -> None:
        self._server = server

    async def _known(self, method: str) -> set[str] | None:
        if method == "tools/call":
            return {tool.name for tool in await self._server.list_tools()}
        if method == "prompts/get":
            return {prompt.name for prompt in await self._server.list_prompts()}
        return None

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        name = ctx.params.get("name") if ctx.params else None
        # A missing or non-string name is left to the SDK's own params validation.
        if ctx.request_id is not None and isinstance(name, str):
            known = await self._known(ctx.method)
            if known is not None and name not in known:
                kind = "tool" if ctx.method == "tools/call" else "prompt"
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"Unknown {kind}: {name[:200]}",
                    data={"name": name[:200], "available": sorted(known)},
                )
        return await call_next(ctx)


def new_mcp_server(server_class: type[MCPServer] = MCPServer, **options: Any) -> MCPServer:
    """A ``server_class`` (same options) with this project's protocol error rules installed."""
    server: MCPServer = server_class(**options)
    server.middleware.append(UnknownNamesAreInvalidParams(server))
    return server
