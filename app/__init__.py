"""The doors: every network entry over the commerce core, and the two composition roots.

ACP and UCP over REST and MCP, the catalog MCP tools and the MCP App, report pages and
trackers, webhook receivers, sign-in and bearer auth live here; the CLI (``app.cli``) and the
ASGI application (``app.asgi``) assemble them. Nothing below this package imports Starlette
or MCP.
"""
