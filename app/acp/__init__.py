"""ACP (Agentic Commerce Protocol, 2026-04-17) doors over the checkout core.

- ``rest.py``: the REST API and ``/.well-known/acp.json``
- ``mcp_binding.py`` + ``tool_schemas.py``: the MCP binding's tools and their bundled schemas
- ``envelope.py``: what both share (versions, idempotency keys, replays, errors)
"""
