"""Read a catalog export file (JSON or JSONL in Shopify's product shape)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from reelcart.domain import CatalogProduct, CatalogShop, CatalogSnapshot
from reelcart.money import to_minor_units

from .store_data import StoreData

__all__ = ["STORE_SECTIONS", "CatalogFileError", "load_catalog_file", "load_store_sections"]

# Optional store rules beside the products (see connectors.store_data for their fields).
STORE_SECTIONS = ("discounts", "shipping_rates", "free_shipping", "customers")


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
        head = records[0] if isinstance(records[0], dict) else {}
        sections = {k: head[k] for k in STORE_SECTIONS if k in head}
        return {"shop": head.get("shop"), "products": records[1:], **sections}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogFileError(f"{path}: expected an object with 'shop' and 'products'")
    return data


def load_catalog_file(path: Path) -> CatalogSnapshot:
    """Parse and validate a whole catalog file; any bad product fails the whole file.

    Image URLs are ``http(s)`` (fetched under :mod:`connectors.safe_fetch` at sync) or
    paths relative to the file's folder, so an export can ship its photos beside it. A path
    that leaves the folder (``../``, an absolute path, a symlink out) or any other scheme
    (``file://``) fails the file: a catalog never makes the server read the rest of its disk.
    """
    if not path.is_file():
        raise CatalogFileError(f"{path}: no such file")
    data = _read_records(path)
    try:
        shop = CatalogShop.model_validate(data.get("shop"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CatalogFileError(f"shop: field {_field_path(first['loc'])}: {first['msg']}") from exc
    _store_sections(path, data)
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
    resolved = [
        _resolve_image_urls(product, path.parent, _describe(raw_products[index], index))
        for index, product in enumerate(products)
    ]
    return CatalogSnapshot(shop=shop, products=resolved)


def _store_sections(path: Path, data: dict[str, Any]) -> StoreData:
    try:
        return StoreData.model_validate({k: data[k] for k in STORE_SECTIONS if k in data})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CatalogFileError(
            f"{path}: field {_field_path(first['loc'])}: {first['msg']}"
        ) from exc


def load_store_sections(path: Path) -> StoreData:
    """The file's store rules (JSON: top-level keys; JSONL: keys of the first line beside
    ``shop``). A section left out is None: that kind of rule is not the file's to change."""
    if not path.is_file():
        raise CatalogFileError(f"{path}: no such file")
    return _store_sections(path, _read_records(path))


def _local_image(url: str, base: Path) -> Path:
    """The photo ``url`` names inside ``base``; ``ValueError`` if it would leave it."""
    relative = PurePosixPath(url.replace("\\", "/"))
    if (
        relative.is_absolute()
        or PureWindowsPath(url).drive
        or ".." in relative.parts
        or "\x00" in url
    ):
        raise ValueError("must be a path inside the catalog's folder (no '..', not absolute)")
    root = base.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ValueError("leaves the catalog's folder (through a link)")
    return target


def _resolve_image_urls(product: CatalogProduct, base: Path, name: str) -> CatalogProduct:
    images = []
    for index, image in enumerate(product.images):
        scheme = urlsplit(image.url).scheme.lower()
        if scheme in ("http", "https"):
            images.append(image)
            continue
        try:
            if scheme and len(scheme) > 1:  # "C:" is a drive, refused by _local_image
                raise ValueError(f"scheme {scheme!r} is not allowed (http or https only)")
            local = _local_image(image.url, base)
        except ValueError as exc:
            raise CatalogFileError(f"{name}: field images[{index}].url: {exc}") from None
        images.append(image.model_copy(update={"url": str(local)}))
    return product.model_copy(update={"images": images})
