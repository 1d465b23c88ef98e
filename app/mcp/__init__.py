"""The shoppers' MCP door at ``/mcp``: ``server.py`` (the tools), ``apps.py`` (the MCP App
that plays the video in the chat), ``http.py`` (the transport, its auth and metadata)."""
