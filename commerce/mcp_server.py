"""The MCP server: the tools AI assistants call to find products and show their videos."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from connectors.storage import MediaStore
from reelcart.db import Database

from . import catalog
from .checkout import CheckoutService
from .mcp_checkout import register_checkout_tools
from .product_views import ProductDetail, ProductSummary, product_detail, product_summary
from .search import search_products as semantic_search
from .showcase import show_creative

__all__ = ["SearchResults", "build_mcp_server"]

INSTRUCTIONS = """\
reelcart sells this store's products to shoppers through you. Find products with
search_products, then call get_product: it returns purchasable variants with prices and a
showcase video (creative) to show the shopper. Prices are integer minor units with a
display string; never quote a price that a tool did not return. Pass a stable shopper_id
so the shopper keeps seeing the same video.
"""


class SearchResults(BaseModel):
    query: str
    count: int
    products: list[ProductSummary]


def build_mcp_server(
    db: Database, store: MediaStore, *, checkout: CheckoutService | None = None
) -> MCPServer:
    """An MCP server over the catalog in ``db``, with media URLs from ``store``.

    With ``checkout``, the ACP MCP binding's checkout tools and ``get_order`` are added.
    """
    server = MCPServer(name="reelcart", instructions=INSTRUCTIONS, version="0.1.0")
    if checkout is not None:  # ACP checkout tools (commerce/mcp_checkout.py)
        register_checkout_tools(server, checkout)

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
            Field(ge=0, description="Only products from at most this price, minor units."),
        ] = None,
        in_stock_only: Annotated[
            bool, Field(description="Hide products that are sold out.")
        ] = False,
        min_price: Annotated[
            int | None,
            Field(ge=0, description="Only products from at least this price, minor units."),
        ] = None,
    ) -> SearchResults:
        """Search the store's catalog by meaning (e.g. "gift for a coffee lover"), with
        price range and in-stock filters."""
        with db.session() as session:
            # Semantic search (commerce/search.py); keyword search when the model is absent.
            products = semantic_search(
                session,
                query,
                limit=limit,
                min_price_minor=min_price,
                max_price_minor=max_price,
                in_stock_only=in_stock_only,
                wait=False,  # keyword answers while the model warms up in the background
            )
            summaries = [product_summary(p, store) for p in products]
        return SearchResults(query=query, count=len(summaries), products=summaries)

    @server.tool(
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
    ) -> ProductDetail:
        """Full product details, purchasable variants with prices, and its showcase video."""
        with db.session() as session:
            product = catalog.get_product(session, product_id)
            if product is None:
                raise ToolError(
                    f"No product with id or handle {product_id!r}. "
                    "Use search_products to find valid ids."
                )
            creative = show_creative(session, product, shopper_id)
            return product_detail(product, store, creative)

    return server
