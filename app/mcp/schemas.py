"""What the shopping server shows a model, kept small and plain.

- :func:`inline_refs`: a tool's schema without ``$defs`` (each small shape written where it
  is used), so no two tools repeat the same definitions block.
- :func:`plain_argument_problems`: arguments that do not fit a tool's input, every problem
  at once, in words (never a validation library's dump or link).
- :class:`ShoppingMcpServer`: lists app-only tools only to hosts that negotiated MCP Apps,
  and answers wrong arguments with :func:`plain_argument_problems`.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ListToolsResult, PaginatedRequestParams
from pydantic import ValidationError

__all__ = ["ShoppingMcpServer", "inline_refs", "plain_argument_problems"]

_DROP = ("title",)  # pydantic's per-field titles repeat the property names


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every local ``$ref`` replaced by its definition and no ``$defs``."""
    defs = schema.get("$defs", {})

    def walk(node: Any, depth: int = 0) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < 16:
                target = walk(defs[ref.removeprefix("#/$defs/")], depth + 1)
                extra = {k: walk(v, depth) for k, v in node.items() if k != "$ref"}
                return {**target, **extra}
            return {
                k: walk(v, depth)
                for k, v in node.items()
                if k != "$defs" and not (k in _DROP and isinstance(v, str))
            }
        if isinstance(node, list):
            return [walk(v, depth) for v in node]
        return node

    return walk(schema)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("function-after", "function-wrap")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "arguments"


def plain_argument_problems(tool: str, error: ValidationError) -> str:
    """Every argument problem of one call, in words, with the next step."""
    lines = []
    for problem in error.errors(include_url=False):
        kind = problem["type"]
        if kind == "missing":
            text = "is required"
        elif kind == "extra_forbidden":
            text = "is not an argument of this tool"
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            expected = kind.removesuffix("_type").removesuffix("_parsing").replace("_", " ")
            text = f"must be {'an' if expected[:1] in 'aeiou' else 'a'} {expected}"
        else:
            text = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"- {_where(tuple(problem['loc']))}: {text}")
    return (
        f"The arguments to {tool} do not fit:\n"
        + "\n".join(lines)
        + f"\nNext: fix these and call {tool} again (its input schema lists every argument)."
    )


class ShoppingMcpServer(MCPServer):
    """The shoppers' MCP server: capability-aware listing, plain-word argument errors."""

    def __init__(self, *args: Any, app_only_tools: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app_only_tools = frozenset(app_only_tools)

    async def _handle_list_tools(
        self, ctx: Any, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        tools = await self.list_tools()
        # A tool only an MCP App calls is noise to a model whose host cannot show the App.
        if self.app_only_tools and not _supports_apps(ctx):
            tools = [t for t in tools if t.name not in self.app_only_tools]
        return ListToolsResult(tools=tools)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(plain_argument_problems(name, exc.__cause__)) from exc.__cause__
            raise


def _supports_apps(ctx: Any) -> bool:
    try:
        return client_supports_apps(ctx)
    except (AttributeError, LookupError):
        return False
