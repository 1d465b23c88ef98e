"""The MCP server: the tools AI assistants call to find products, watch their videos and buy.

One builder serves every transport (streamable HTTP at ``/mcp``, stdio, in-memory): the same
catalog tools, checkout tools and MCP App. The SDK negotiates the protocol era (the
2025-11-25 handshake or 2026-07-28's stateless ``server/discover``); list results carry
caching hints.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.apps import Apps
from mcp.server.caching import CacheHint
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from app.mcp.apps import APP_ONLY_TOOLS, APP_URI, register_app
from app.mcp.checkout_tools import SHOPPING_CHECKOUT_TOOLS, shopping_checkout_tools
from app.mcp.schemas import ShoppingMcpServer, inline_refs
from app.mcp_server_base import new_mcp_server
from commerce.catalog.product_views import ProductDetail, ProductSummary, ProductViews
from commerce.catalog.search import search_product_ids
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from reelcart.db import Database

__all__ = ["CATALOG_SCOPE", "CHECKOUT_SCOPE", "TOOL_SCOPES", "SearchResults", "build_mcp_server"]

INSTRUCTIONS = """\
reelcart sells this store's products to shoppers through you. Find products with
search_products, then call get_product: it returns the variants with prices and a showcase
video to show the shopper. Prices are integer minor units (cents) with a display string;
never quote a price that a tool did not return. Pass the same shopper_id to get_product and
create_checkout, so the sale is credited to the video the shopper saw. create_checkout
returns continue_url: give it to the shopper, who reviews the order and pays on the store's
page; then call get_checkout until its status is completed.
"""

CATALOG_SCOPE = "catalog:read"
CHECKOUT_SCOPE = "checkout"
# The OAuth scope each tool needs: reading the catalog vs. buying and reading orders.
TOOL_SCOPES: dict[str, str] = {
    "search_products": CATALOG_SCOPE,
    "get_product": CATALOG_SCOPE,
    "record_video_event": CATALOG_SCOPE,
    "delegate_test_payment": CHECKOUT_SCOPE,
    "pay_checkout": CHECKOUT_SCOPE,
    **dict.fromkeys(SHOPPING_CHECKOUT_TOOLS, CHECKOUT_SCOPE),
}

# The tool set changes only with a deploy; any caller may share a cached list.
_LIST_TTL_MS = 5 * 60 * 1000
CACHE_HINTS: dict[str, CacheHint] = {
    "server/discover": CacheHint(ttl_ms=_LIST_TTL_MS, scope="public"),
    "tools/list": CacheHint(ttl_ms=_LIST_TTL_MS, scope="public"),
    "resources/list": CacheHint(ttl_ms=_LIST_TTL_MS, scope="public"),
    "resources/templates/list": CacheHint(ttl_ms=_LIST_TTL_MS, scope="public"),
    "resources/read": CacheHint(ttl_ms=60 * 1000, scope="public"),
    "prompts/list": CacheHint(ttl_ms=_LIST_TTL_MS, scope="public"),
}


class SearchResults(BaseModel):
    query: str
    count: int
    products: list[ProductSummary]


def _detail_text(detail: ProductDetail) -> str:
    """The whole answer in words, for clients that show no structured content or app."""
    lines = [f"{detail.title} ({detail.id}) by {detail.vendor}", detail.description, "Variants:"]
    for v in detail.variants:
        state = "available" if v.available else "sold out"
        lines.append(f"- {v.title} [{v.id}]: {v.price.display} ({state})")
    if detail.creative:
        c = detail.creative
        lines.append(
            f"Showcase video {c.creative_id} ({c.width}x{c.height}, {c.duration_s:.0f} s): "
            f"{c.video_url} poster {c.poster_url}"
        )
    else:
        lines.append("No showcase video yet.")
    return "\n".join(line for line in lines if line)


def _media_links(detail: ProductDetail) -> list[ResourceLink]:
    c = detail.creative
    if c is None:
        return []
    links = [
        ResourceLink(
            uri=c.video_url,
            name=f"{detail.handle}-video",
            title=f"{detail.title}: showcase video",
            mime_type="video/mp4",
        ),
        ResourceLink(
            uri=c.poster_url,
            name=f"{detail.handle}-poster",
            title=f"{detail.title}: poster",
            mime_type="image/jpeg" if c.poster_url.endswith((".jpg", ".jpeg")) else "image/png",
        ),
    ]
    if c.captions_url:
        links.append(
            ResourceLink(
                uri=c.captions_url,
                name=f"{detail.handle}-captions",
                title=f"{detail.title}: captions",
                mime_type="text/vtt",
            )
        )
    return links


def build_mcp_server(
    db: Database,
    store: MediaStore,
    *,
    checkout: CheckoutService | None = None,
    read_cache: bool = True,
) -> MCPServer:
    """An MCP server over the catalog in ``db``, with media URLs from ``store``.

    With ``checkout``, the compact checkout tools (``continue_url`` hands the shopper to the
    store's checkout page), ``get_order`` and the App's Buy button are added; every
    transport should pass one. ``read_cache=False`` reads every
    product view whole from the database (the serving benchmark's baseline).
    """
    apps = Apps()
    # Product views' catalog part per process; stock, status and creatives read every call.
    views = ProductViews(store, enabled=read_cache)
    server_tools = shopping_checkout_tools(checkout) if checkout is not None else []

    @apps.tool(
        resource_uri=APP_URI,
        name="get_product",
        title="Get product",
        # Not read-only: showing the video counts an impression for the experiment.
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
    def get_product(
        product_id: Annotated[
            str, Field(min_length=1, max_length=255, description="Product id or handle.")
        ],
        shopper_id: Annotated[
            str | None,
            Field(max_length=128, description="Stable id of the shopper or conversation."),
        ] = None,
    ) -> Annotated[CallToolResult, ProductDetail]:
        """A product's details, variants with prices, and its showcase video to show the
        shopper (hosts with MCP Apps play it with a Buy button). Showing it counts a view
        of that video."""
        # An anonymous caller gets a fresh subject, returned so a purchase can cite it.
        subject = shopper_id or f"anon_{uuid.uuid4().hex}"
        with db.session() as session:
            detail = views.detail(session, product_id, subject)
        if detail is None:
            raise ToolError(
                f"No product with id or handle {product_id!r}. "
                "Use search_products to find valid ids."
            )
        return CallToolResult(
            content=[TextContent(type="text", text=_detail_text(detail)), *_media_links(detail)],
            structured_content=detail.model_dump(mode="json"),
        )

    register_app(apps, db, store.public_base_url, checkout)
    server = new_mcp_server(
        server_class=ShoppingMcpServer,
        name="reelcart",
        instructions=INSTRUCTIONS,
        version="0.2.0",
        tools=server_tools,
        extensions=[apps],
        cache_hints=CACHE_HINTS,
        app_only_tools=APP_ONLY_TOOLS,
    )

    @server.tool(
        title="Search products",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    def search_products(
        query: Annotated[
            str, Field(max_length=200, description="Words to look for; empty lists all.")
        ],
        limit: Annotated[int, Field(ge=1, le=50, description="Most results to return.")] = 10,
        max_price: Annotated[
            int | None,
            Field(ge=0, description="Highest price in cents (minor units), e.g. 5000 = $50."),
        ] = None,
        in_stock_only: Annotated[bool, Field(description="Hide sold-out products.")] = False,
        min_price: Annotated[
            int | None,
            Field(ge=0, description="Lowest price in cents (minor units)."),
        ] = None,
    ) -> SearchResults:
        """Search the store's products by meaning (e.g. "gift for a coffee lover"), with
        price range (in cents) and in-stock filters. An empty list means nothing fits:
        widen the price range or try other words."""
        with db.session() as session:
            ids = search_product_ids(
                session,
                query,
                limit=limit,
                min_price_minor=min_price,
                max_price_minor=max_price,
                in_stock_only=in_stock_only,
            )
            summaries = views.summaries(session, ids)
        return SearchResults(query=query, count=len(summaries), products=summaries)

    # Every schema without $defs: small shapes written where used, none repeated per tool.
    for tool in server._tool_manager.list_tools():
        tool.parameters = inline_refs(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = inline_refs(tool.fn_metadata.output_schema)
    return server
