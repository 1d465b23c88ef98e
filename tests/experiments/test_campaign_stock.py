"""An ad never shows or names a variant a shopper cannot buy.

Checked on the demo store's own export: its Stoneware Mug comes in Sand (40 in stock)
and Slate (0 in stock, not for sale), with one photo of each.
"""

from __future__ import annotations

import json
from pathlib import Path

from commerce.catalog.store import active_products, sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from experiments.campaigns import ensure_campaign, plan_creatives
from generation.storyboard import RenderConfig, storyboard
from reelcart.db import Database
from reelcart.domain import CampaignPlan
from reelcart.money import to_minor_units
from tests.factories import make_product, write_catalog
from tests.generation.conftest import draw_product_photo

DEMO = Path(__file__).resolve().parents[2] / "reelcart" / "demo_store" / "products.json"


def _export() -> dict:
    return json.loads(DEMO.read_text(encoding="utf-8"))


def _jobs(db: Database, store: MediaStore, catalog: Path, factors: dict[str, list[str]]) -> list:
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(catalog), store)
        campaign = ensure_campaign(session, "stock", CampaignPlan(factors=factors))
        return plan_creatives(
            session, campaign, active_products(session), lambda key: store.local_path(key)
        )


def test_sold_out_variant_is_neither_shown_nor_named(db: Database, store: MediaStore) -> None:
    export = _export()
    mug = next(p for p in export["products"] if p["handle"] == "stoneware-mug")
    sold_out = {
        o["value"]
        for v in mug["variants"]
        if not (v["availableForSale"] and v["inventoryQuantity"] > 0)
        for o in v["selectedOptions"]
    }
    assert sold_out == {"Slate"}  # the reproduction's premise, read from the export
    jobs = _jobs(db, store, DEMO, {"duration": ["15s"]})
    job = next(j for j in jobs if j.product_title == "Stoneware Mug")
    # The photos: none whose alt text names the sold-out colour.
    slate_photo = next(i for i in mug["images"] if "Slate" in i["altText"])
    assert all(Path(p).name != Path(slate_photo["url"]).name for p in job.image_paths)
    assert all(Path(p).is_file() for p in job.image_paths)
    assert dict(job.options) == {"Color": ("Sand",)}
    spec = storyboard(job, RenderConfig(width=144, height=256, fps=8))
    script = " ".join(spec.lines)
    assert "Slate" not in script and "2 color options" not in script


def test_prices_and_products_come_from_purchasable_variants(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    dearer_gone = make_product(1, price="24.00")
    dearer_gone["variants"].append(  # type: ignore[union-attr]
        {"id": "gid://shopify/ProductVariant/12", "title": "Large", "price": "31.00",
         "inventoryQuantity": 0, "availableForSale": False}
    )  # fmt: skip
    all_gone = make_product(2, price="9.00", stock=0)
    (tmp_path / "shop").mkdir()
    for n in (1, 2):
        draw_product_photo(tmp_path / "shop" / f"p{n}-0.png")
    catalog = write_catalog(tmp_path / "shop", [dearer_gone, all_gone])
    jobs = _jobs(db, store, catalog, {"duration": ["6s"]})
    assert [j.product_title for j in jobs] == ["Product 1"]  # nothing of product 2 to buy
    job = jobs[0]
    assert job.price_minor == job.price_max_minor == to_minor_units("24.00", "USD")
    spec = storyboard(job, RenderConfig(width=144, height=256, fps=8))
    assert spec.price_text == "$24.00"  # not "from $24.00": the $31.00 one is sold out
