"""Reading catalog export files: the demo store, and bad input with clear errors."""

import json
from pathlib import Path

import pytest

from connectors.catalog_file import CatalogFileError, load_catalog_file
from reelcart.settings import DEMO_CATALOG
from tests.factories import make_product, write_catalog


def test_demo_store_loads_with_real_images() -> None:
    snapshot = load_catalog_file(DEMO_CATALOG)
    assert len(snapshot.products) >= 8
    assert snapshot.shop.currency_code == "USD"
    for product in snapshot.products:
        assert product.images, product.handle
        for image in product.images:
            assert Path(image.url).is_file(), image.url
    origins = (DEMO_CATALOG.parent / "IMAGES.md").read_text()
    for product in snapshot.products:
        for image in product.images:
            assert Path(image.url).name in origins, f"no origin noted for {image.url}"


def test_relative_image_urls_resolve_against_the_file(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, [make_product(1)])
    snapshot = load_catalog_file(path)
    assert snapshot.products[0].images[0].url == str((tmp_path / "p1-0.png").resolve())


def test_jsonl_form(tmp_path: Path) -> None:
    lines = [
        json.dumps({"shop": {"name": "S", "currencyCode": "EUR"}}),
        json.dumps(make_product(1)),
        json.dumps(make_product(2)),
    ]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(lines))
    snapshot = load_catalog_file(path)
    assert [p.handle for p in snapshot.products] == ["product-1", "product-2"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda p: p["variants"][0].update(price="twelve"),
            r"product 1 \(product-2\): field variants\[0\]\.price",
        ),
        (
            lambda p: p["variants"][0].update(price="12.345"),
            r"product 1 \(product-2\): field variants\[0\]\.price: .*decimals",
        ),
        (lambda p: p.pop("title"), r"product 1 \(product-2\): field title"),
        (lambda p: p.update(variants=[]), r"product 1 \(product-2\): field variants"),
        (
            lambda p: p["variants"][0].update(inventoryQuantity=-3),
            r"field variants\[0\]\.inventoryQuantity",
        ),
        (
            lambda p: p.update(handle="product-1"),
            r"product 1 \(product-1\): field handle: duplicate",
        ),
    ],
)
def test_malformed_product_names_product_and_field(tmp_path: Path, mutate, message: str) -> None:
    bad = make_product(2)
    mutate(bad)
    path = write_catalog(tmp_path, [make_product(1), bad])
    with pytest.raises(CatalogFileError, match=message):
        load_catalog_file(path)


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"shop": {"name": "S", "currencyCode": "usd"}, "products": []}']
)
def test_malformed_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(content)
    with pytest.raises(CatalogFileError):
        load_catalog_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError, match="no such file"):
        load_catalog_file(tmp_path / "nope.json")
