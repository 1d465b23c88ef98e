"""Reading the catalog from Shopify: paginated pages, or one Bulk Operation for big stores.

Both paths yield ``CatalogProduct``s in the same shape the catalog-file loader produces
(connections flattened), so ``commerce.catalog.store.sync_snapshot`` stores either. Pages are
sorted by ``UPDATED_AT``: a product edited while a sync runs moves behind the cursor and
is read again, so the newest ``updatedAt`` seen is a safe watermark for the next
incremental sync.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reelcart.domain import CatalogProduct, CatalogShop

from .client import ShopifyClient, ShopifyError, ShopifyUserError
from .sanitize import ISO_4217, product_from_node

__all__ = [
    "BulkResult",
    "ProductPage",
    "ShopifyCatalogError",
    "bulk_products",
    "count_products",
    "fetch_shop",
    "page_size",
    "product_pages",
]

log = logging.getLogger(__name__)

MAX_QUERY_COST = 1000
VARIANTS_FIRST = 10
MEDIA_FIRST = 10

_VARIANT = """id title sku price compareAtPrice inventoryQuantity availableForSale
  selectedOptions { name value }"""
_MEDIA = """__typename id alt ... on MediaImage { image { url altText width height } }"""
_PRODUCT_SCALARS = """id handle title descriptionHtml vendor productType tags status createdAt
  updatedAt options { name values }"""

PRODUCTS_PAGE = f"""
query ReelcartProducts($first: Int!, $after: String, $query: String,
                       $variantsFirst: Int!, $mediaFirst: Int!) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {_PRODUCT_SCALARS}
      variants(first: $variantsFirst) {{
        pageInfo {{ hasNextPage endCursor }} nodes {{ {_VARIANT} }}
      }}
      media(first: $mediaFirst, query: "media_type:IMAGE") {{
        pageInfo {{ hasNextPage endCursor }} nodes {{ {_MEDIA} }}
      }}
    }}
  }}
}}"""

MORE_VARIANTS = f"""
query ReelcartMoreVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: 250, after: $after) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {_VARIANT} }}
    }}
  }}
}}"""

MORE_MEDIA = f"""
query ReelcartMoreMedia($id: ID!, $after: String) {{
  product(id: $id) {{
    media(first: 100, after: $after, query: "media_type:IMAGE") {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {_MEDIA} }}
    }}
  }}
}}"""

SHOP = "query ReelcartShop { shop { name myshopifyDomain currencyCode } }"
COUNT = "query ReelcartCount($query: String) { productsCount(query: $query) { count } }"

BULK_RUN = """
mutation ReelcartBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}"""
BULK_POLL = """
query ReelcartBulkPoll($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url createdAt }
}"""


class ShopifyCatalogError(ShopifyError):
    """The catalog cannot be read as a whole (unknown currency, failed bulk operation)."""


def page_size(variants_first: int = VARIANTS_FIRST, media_first: int = MEDIA_FIRST) -> int:
    """The most products per page whose requested cost stays within 1,000 points.

    Per product: the node 1, options 1, variants ``2 + 2·v`` (a variant and its selected
    options), media ``2 + 2·m`` (a media node and its image); the page adds 2.
    """
    per_product = 1 + 1 + (2 + 2 * variants_first) + (2 + 2 * media_first)
    return max(1, min(250, (MAX_QUERY_COST - 2) // per_product))


def _bulk_query(search: str | None) -> str:
    args = f"(query: {json.dumps(search)})" if search else ""
    return f"""{{
  products{args} {{ edges {{ node {{
    {_PRODUCT_SCALARS}
    variants {{ edges {{ node {{ {_VARIANT} }} }} }}
    media(query: "media_type:IMAGE") {{ edges {{ node {{ {_MEDIA} }} }} }}
  }} }} }}
}}"""


async def fetch_shop(client: ShopifyClient) -> CatalogShop:
    """The shop's name and currency; an unknown currency stops the sync (nothing is priced)."""
    data = await client.execute(SHOP)
    shop = data["shop"]
    code = str(shop.get("currencyCode") or "")
    if code not in ISO_4217:
        raise ShopifyCatalogError(f"the shop's currency {code!r} is not a known ISO 4217 code")
    return CatalogShop.model_validate(shop)


async def count_products(client: ShopifyClient, search: str | None = None) -> int:
    data = await client.execute(COUNT, {"query": search})
    return int((data.get("productsCount") or {}).get("count") or 0)


@dataclass
class ProductPage:
    """One page: converted products, skipped ids with reasons, and where to resume."""

    products: list[CatalogProduct]
    skipped: dict[str, list[str]]
    seen_ids: list[str]
    end_cursor: str | None
    has_next: bool
    max_updated_at: datetime | None


def _max_updated(nodes: list[dict[str, Any]]) -> datetime | None:
    stamps = [
        datetime.fromisoformat(str(n["updatedAt"]).replace("Z", "+00:00"))
        for n in nodes
        if n.get("updatedAt")
    ]
    return max(stamps) if stamps else None


async def _complete(client: ShopifyClient, node: dict[str, Any]) -> None:
    """Fetch the variants and photos past the first page of a product with many."""
    for name, query in (("variants", MORE_VARIANTS), ("media", MORE_MEDIA)):
        connection = node.get(name) or {}
        while (connection.get("pageInfo") or {}).get("hasNextPage"):
            data = await client.execute(
                query, {"id": node["id"], "after": connection["pageInfo"]["endCursor"]}
            )
            more = ((data.get("product") or {}).get(name)) or {}
            connection["nodes"] = list(connection.get("nodes") or []) + list(
                more.get("nodes") or []
            )
            connection["pageInfo"] = more.get("pageInfo") or {}
        node[name] = connection


def convert(nodes: list[dict[str, Any]], currency: str) -> tuple[list[CatalogProduct], dict]:
    """Convert nodes; returns products and ``{id: reasons}`` for those skipped."""
    products: list[CatalogProduct] = []
    skipped: dict[str, list[str]] = {}
    for node in nodes:
        result = product_from_node(node, currency)
        if result.notes:
            log.info("shopify product %s: %s", node.get("id"), "; ".join(result.notes))
        if result.product is None:
            skipped[str(node.get("id"))] = result.notes
        else:
            products.append(result.product)
    return products, skipped


async def product_pages(
    client: ShopifyClient,
    currency: str,
    *,
    search: str | None = None,
    after: str | None = None,
    first: int | None = None,
) -> AsyncIterator[ProductPage]:
    """Pages of products matching ``search``, starting after the cursor ``after``."""
    first = first or page_size()
    while True:
        data = await client.execute(
            PRODUCTS_PAGE,
            {
                "first": first,
                "after": after,
                "query": search,
                "variantsFirst": VARIANTS_FIRST,
                "mediaFirst": MEDIA_FIRST,
            },
        )
        connection = data["products"]
        nodes = list(connection.get("nodes") or [])
        for node in nodes:
            await _complete(client, node)
        products, skipped = convert(nodes, currency)
        info = connection.get("pageInfo") or {}
        yield ProductPage(
            products=products,
            skipped=skipped,
            seen_ids=[str(n["id"]) for n in nodes],
            end_cursor=info.get("endCursor") or after,
            has_next=bool(info.get("hasNextPage")),
            max_updated_at=_max_updated(nodes),
        )
        if not info.get("hasNextPage"):
            return
        after = info.get("endCursor")


@dataclass
class BulkResult:
    """A finished bulk read: products, skips, and the operation's start (the watermark)."""

    operation_id: str
    created_at: datetime | None
    products: list[CatalogProduct] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    seen_ids: list[str] = field(default_factory=list)


async def start_bulk(client: ShopifyClient, search: str | None = None) -> str:
    """Start a bulk products query; returns its id."""
    payload = await client.mutate(BULK_RUN, {"query": _bulk_query(search)}, "bulkOperationRunQuery")
    return str(payload["bulkOperation"]["id"])


async def bulk_products(
    client: ShopifyClient,
    currency: str,
    *,
    search: str | None = None,
    operation_id: str | None = None,
    poll_s: float = 1.0,
    max_polls: int = 100_000,
) -> BulkResult:
    """Run (or resume polling) a bulk query, download its JSONL and reassemble products.

    Child rows (variants, media) carry ``__parentId``; Shopify writes them after their
    parent but not necessarily right after it, so rows are grouped by parent id.
    """
    op_id = operation_id
    if op_id is None:
        try:
            op_id = await start_bulk(client, search)
        except ShopifyUserError as exc:
            raise ShopifyCatalogError(f"bulk operation refused: {exc}") from exc
    for _ in range(max_polls):
        op = (await client.execute(BULK_POLL, {"id": op_id})).get("bulkOperation")
        if op is None:
            raise ShopifyCatalogError(f"bulk operation {op_id} not found")
        status = op["status"]
        if status == "COMPLETED":
            break
        if status in ("FAILED", "CANCELED", "EXPIRED"):
            raise ShopifyCatalogError(
                f"bulk operation {op_id} {status.lower()}: {op.get('errorCode') or 'no code'}"
            )
        await client.clock.sleep(poll_s)
    else:
        raise ShopifyCatalogError(f"bulk operation {op_id} did not finish")
    created = op.get("createdAt")
    result = BulkResult(
        operation_id=op_id,
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
    )
    if not op.get("url"):  # no objects matched: Shopify gives no file
        return result
    with tempfile.TemporaryDirectory(prefix="reelcart-bulk-") as tmp:
        path = await client.download(op["url"], Path(tmp) / "result.jsonl")
        nodes = _assemble(path)
    result.products, result.skipped = convert(nodes, currency)
    result.seen_ids = [str(n["id"]) for n in nodes]
    return result


def _assemble(path: Path) -> list[dict[str, Any]]:
    products: dict[str, dict[str, Any]] = {}
    children: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if "__parentId" in row:
                children.append(row)
            else:
                row["variants"], row["media"] = {"nodes": []}, {"nodes": []}
                products[row["id"]] = row
    for row in children:
        parent = products.get(row.pop("__parentId"))
        if parent is None:
            continue
        kind = "variants" if "/ProductVariant/" in str(row.get("id")) else "media"
        parent[kind]["nodes"].append(row)
    return list(products.values())
