"""Creative jobs for the demo store's products, read straight from its catalog export.

Prices go through ``reelcart.money.to_minor_units`` from the export's decimal strings,
the cheapest and dearest variant as the campaign planner takes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from reelcart.domain import CampaignPlan, CreativeJob
from reelcart.money import to_minor_units

DEMO = Path(__file__).resolve().parents[2] / "reelcart" / "demo_store"


def demo_products() -> list[dict]:
    data = json.loads((DEMO / "products.json").read_text(encoding="utf-8"))
    return [dict(p, currency=data["shop"]["currencyCode"]) for p in data["products"]]


def demo_job(product: dict, factors: dict[str, str], seed: int = 5) -> CreativeJob:
    prices = [to_minor_units(v["price"], product["currency"]) for v in product["variants"]]
    key = CampaignPlan.variant_key(factors)
    name = re.sub(r"[^a-z0-9]+", "-", f"{product['handle']}-{key}".lower()).strip("-")
    return CreativeJob(
        creative_id=f"crv_{name}"[:60],
        name=name[:120],
        product_id=product["id"],
        product_title=product["title"],
        price_minor=min(prices),
        price_max_minor=max(prices),
        currency=product["currency"],
        brand_name=product["vendor"],
        image_paths=tuple(str(DEMO / image["url"]) for image in product["images"]),
        factors=factors,
        seed=seed,
        description=product["descriptionHtml"],
        options=tuple((o["name"], tuple(o["values"])) for o in product["options"]),
    )
