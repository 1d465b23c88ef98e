"""How MCP hosts introduce themselves at initialize, for tests that depend on it."""

from __future__ import annotations

from typing import Any

from mcp.client.extension import ClientExtension

__all__ = ["AppsHost"]


class AppsHost(ClientExtension):
    """A host that renders MCP Apps (``io.modelcontextprotocol/ui`` with the App MIME type)."""

    identifier = "io.modelcontextprotocol/ui"

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": ["text/html;profile=mcp-app"]}
