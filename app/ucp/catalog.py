"""The UCP catalog capability (search and lookup), each product with its showcase video.

A product's ``media`` starts with the video this shopper is shown (``type: "video"``):
the creative the experiment allocates to them (:func:`commerce.catalog.showcase.show_creative`,
which also counts the impression), then the product photos. The shopper is named by the
platform's ``attribution.shopper_id``; without one a new id is made and returned in the
response's ``attribution``, so the platform can send it back at checkout and the sale is
attributed to the video that was shown (:mod:`experiments.tracking`).
"""

from __future__ import annotations

import uuid
from typing import Any

from commerce.catalog import store as catalog
from commerce.catalog.product_views import ProductDetail, product_detail
from commerce.catalog.search import search_products
from commerce.catalog.showcase import show_creative
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product, ProductVariant

from .envelope import UcpError, error_message, response_meta

__all__ = ["Catalog"]

MAX_IDS = 50


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency.upper()}


def _product_view(
    product: Product, detail: ProductDetail, inputs: dict[str, list[dict[str, str]]] | None = None
) -> dict[str, Any]:
    currency = product.currency
    prices = [v.price.amount for v in detail.variants] or [0]
    media: list[dict[str, Any]] = []
    if detail.creative is not None:
        video: dict[str, Any] = {
            "type": "video",
            "url": detail.creative.video_url,
            "alt_text": f"{detail.title}: showcase video",
        }
        if detail.creative.width and detail.creative.height:
            video.update(width=detail.creative.width, height=detail.creative.height)
        media.append(video)
    media += [{"type": "image", "url": url, "alt_text": detail.title} for url in detail.image_urls]
    variants = []
    for v in detail.variants:
        variant: dict[str, Any] = {
            "id": v.id,
            "title": v.title,
            "description": {"plain": v.title},
            "price": _money(v.price.amount, currency),
            "availability": {"available": v.available},
        }
        if v.sku:
            variant["sku"] = v.sku
        if v.compare_at_price is not None:
            variant["list_price"] = _money(v.compare_at_price.amount, currency)
        if inputs is not None:
            variant["inputs"] = inputs.get(v.id, [])
        variants.append(variant)
    if inputs is not None:
        variants = [v for v in variants if v["inputs"]]
    view: dict[str, Any] = {
        "id": product.id,
        "handle": product.handle,
        "title": detail.title,
        "description": {"plain": detail.description or detail.title},
        "price_range": {
            "min": _money(min(prices), currency),
            "max": _money(max(prices), currency),
        },
        "media": media,
        "variants": variants,
    }
    if detail.product_type:
        view["categories"] = [{"value": detail.product_type}]
    return view


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _shopper(body: dict[str, Any]) -> str:
    attribution = body.get("attribution")
    shopper = attribution.get("shopper_id") if isinstance(attribution, dict) else None
    if isinstance(shopper, str) and 0 < len(shopper) <= 255:
        return shopper
    return f"ucp_{uuid.uuid4().hex}"


class Catalog:
    """Search and lookup over the store's catalog, in UCP shapes."""

    def __init__(self, db: Database, store: MediaStore) -> None:
        self.db = db
        self.store = store

    def search(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        query = body.get("query") or ""
        if not isinstance(query, str) or len(query) > 500:
            raise UcpError(400, "invalid_input", "query must be a string", path="$.query")
        pagination = _object(body.get("pagination"))
        limit = pagination.get("limit", 10)
        limit = min(limit, 50) if type(limit) is int and limit > 0 else 10
        price = _object(_object(body.get("filters")).get("price"))
        low, high = price.get("min"), price.get("max")
        shopper = _shopper(body)
        with self.db.session() as session:
            found = search_products(
                session,
                query,
                limit=limit,
                min_price_minor=low if type(low) is int else None,
                max_price_minor=high if type(high) is int else None,
            )
            products = [self._shown(session, p, shopper) for p in found]
        return {
            "ucp": response_meta(["dev.ucp.shopping.catalog.search"]),
            "products": products,
            "pagination": {"has_next_page": False},
            "attribution": {"shopper_id": shopper},
        }

    def product(self, body: Any) -> dict[str, Any]:
        """``get_product``: one product (``product``, singular); a product that is not in
        the catalog is an application outcome (200, ``ucp.status: "error"``), not an error
        of the transport (``catalog/rest.md``, Product Not Found)."""
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise UcpError(400, "invalid_input", "id must name a product or variant", path="$.id")
        found = self.lookup({**body, "ids": [body["id"]]})
        meta = response_meta(["dev.ucp.shopping.catalog.lookup"])
        if not found["products"]:
            missing = error_message(
                "not_found", f"Product not found: {body['id'][:255]}", severity="unrecoverable"
            )
            return {"ucp": {**meta, "status": "error"}, "messages": [missing]}
        view = {"ucp": meta, "product": found["products"][0]}
        if "attribution" in found:
            view["attribution"] = found["attribution"]
        return view

    def lookup(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise UcpError(400, "invalid_input", "the request body must be a JSON object")
        ids = body.get("ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS:
            raise UcpError(400, "invalid_input", f"ids must list 1 to {MAX_IDS} ids", path="$.ids")
        shopper = _shopper(body)
        messages: list[dict[str, Any]] = []
        with self.db.session() as session:
            inputs: dict[str, dict[str, list[dict[str, str]]]] = {}
            order: list[Product] = []
            for requested in ids:
                if not isinstance(requested, str) or not 0 < len(requested) <= 255:
                    raise UcpError(400, "invalid_input", "every id must be a string", path="$.ids")
                product, match = self._resolve(session, requested)
                if product is None:
                    messages.append(
                        {
                            "type": "warning",
                            "code": "not_found",
                            "content": f"No product or variant {requested!r} in this catalog.",
                        }
                    )
                    continue
                if product.id not in inputs:
                    inputs[product.id] = {}
                    order.append(product)
                for variant_id in match:
                    kind = "exact" if len(match) == 1 and requested == variant_id else "featured"
                    inputs[product.id].setdefault(variant_id, []).append(
                        {"id": requested, "match": kind}
                    )
            products = [self._shown(session, p, shopper, inputs[p.id]) for p in order]
        view: dict[str, Any] = {
            "ucp": response_meta(["dev.ucp.shopping.catalog.lookup"]),
            "products": products,
            "attribution": {"shopper_id": shopper},
        }
        if messages:
            view["messages"] = messages
        return view

    @staticmethod
    def _resolve(session: Any, requested: str) -> tuple[Product | None, list[str]]:
        variant = session.get(ProductVariant, requested)
        if variant is not None and variant.product.status == "ACTIVE":
            return catalog.get_product(session, variant.product_id), [variant.id]
        product = catalog.get_product(session, requested)
        if product is None or not product.variants:
            return None, []
        return product, [product.variants[0].id]

    def _shown(
        self,
        session: Any,
        product: Product,
        shopper: str,
        inputs: dict[str, list[dict[str, str]]] | None = None,
    ) -> dict[str, Any]:
        creative = show_creative(session, product, shopper)
        return _product_view(
            product, product_detail(product, self.store, creative, shopper), inputs
        )
