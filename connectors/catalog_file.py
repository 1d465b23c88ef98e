"""Read a catalog export file (JSON or JSONL in Shopify's product shape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reelcart.domain import CatalogProduct, CatalogShop, CatalogSnapshot
from reelcart.money import to_minor_units

__all__ = ["CatalogFileError", "load_catalog_file"]


class CatalogFileError(ValueError):
    """The catalog file is unreadable or a product in it is malformed."""


def _describe(product: Any, index: int) -> str:
    if isinstance(product, dict):
        name = product.get("handle") or product.get("id") or product.get("title")
        if name:
            return f"product {index} ({name})"
    return f"product {index}"


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _parse_product(raw: Any, index: int, currency: str) -> CatalogProduct:
    try:
        product = CatalogProduct.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CatalogFileError(
            f"{_describe(raw, index)}: field {_field_path(first['loc'])}: {first['msg']}"
        ) from exc
    # Prices must be exact in the shop's currency: checked here so the error names the field.
    for v, variant in enumerate(product.variants):
        for field, amount in (
            ("price", variant.price),
            ("compareAtPrice", variant.compare_at_price),
        ):
            if amount is None:
                continue
            try:
                to_minor_units(amount, currency)
            except ValueError as exc:
                raise CatalogFileError(
                    f"{_describe(raw, index)}: field variants[{v}].{field}: {exc}"
                ) from exc
    return product


def _read_records(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        # JSONL: a first line {"shop": {...}}, then one product per line.
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise CatalogFileError(f"{path}: empty file")
        try:
            records = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise CatalogFileError(f"{path}: not valid JSON Lines: {exc}") from exc
        return {"shop": records[0].get("shop"), "products": records[1:]}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogFileError(f"{path}: expected an object with 'shop' and 'products'")
    return data


def load_catalog_file(path: Path) -> CatalogSnapshot:
    """Parse and validate a whole catalog file; any bad product fails the whole file.

    Image URLs that are relative are resolved against the file's folder, so an export can
    ship its photos beside it.
    """
    if not path.is_file():
        raise CatalogFileError(f"{path}: no such file")
    data = _read_records(path)
    try:
        shop = CatalogShop.model_validate(data.get("shop"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CatalogFileError(f"shop: field {_field_path(first['loc'])}: {first['msg']}") from exc
    raw_products = data.get("products")
    if not isinstance(raw_products, list):
        raise CatalogFileError(f"{path}: 'products' must be a list")
    products = [
        _parse_product(raw, index, shop.currency_code) for index, raw in enumerate(raw_products)
    ]
    seen: dict[str, int] = {}
    for index, product in enumerate(products):
        for key in (product.id, f"handle:{product.handle}"):
            if key in seen:
                raise CatalogFileError(
                    f"{_describe(raw_products[index], index)}: field "
                    f"{'id' if key == product.id else 'handle'}: duplicate of product {seen[key]}"
                )
            seen[key] = index
    resolved = [_resolve_image_urls(product, path.parent) for product in products]
    return CatalogSnapshot(shop=shop, products=resolved)


def _resolve_image_urls(product: CatalogProduct, base: Path) -> CatalogProduct:
    images = []
    for image in product.images:
        if "://" in image.url:
            images.append(image)
        else:
            images.append(image.model_copy(update={"url": str((base / image.url).resolve())}))
    return product.model_copy(update={"images": images})
