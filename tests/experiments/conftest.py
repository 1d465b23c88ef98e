"""A synced catalog with a campaign of published creatives (posters in the media store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from experiments.campaigns import creative_id_for
from reelcart.db import Database
from reelcart.models import Campaign, Creative, Event
from tests.factories import make_product, write_catalog

HOOKS = ("price", "title")
PRODUCTS = ("gid://shopify/Product/1", "gid://shopify/Product/2")


@pytest.fixture
def campaign(db: Database, store: MediaStore, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Campaign "spring": 2 products × hook in {price, title}; returns {product: {hook: id}}."""
    products = [make_product(1, title="Stoneware Mug"), make_product(2, title="Steel Bottle")]
    poster = tmp_path / "poster.jpg"
    Image.new("RGB", (90, 160), (40, 90, 160)).save(poster)
    ids: dict[str, dict[str, str]] = {}
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(tmp_path, products)), store)
        row = Campaign(name="spring", plan={"factors": {"hook": list(HOOKS)}, "max_variants": 8})
        session.add(row)
        session.flush()
        for n, product_id in enumerate(PRODUCTS, start=1):
            for hook in HOOKS:
                cid = creative_id_for(row.id, product_id, f"hook={hook}")
                key = store.put_file(poster, f"creatives/{row.id}/{cid}.jpg")
                session.add(
                    Creative(
                        id=cid,
                        campaign_id=row.id,
                        product_id=product_id,
                        variant_key=f"hook={hook}",
                        name=f"product-{n}__hook-{hook}",
                        factors={"hook": hook},
                        status="published",
                        video_key=f"creatives/{row.id}/{cid}.mp4",
                        poster_key=key,
                        duration_s=4.0,
                        width=1080,
                        height=1920,
                    )
                )
                ids.setdefault(product_id, {})[hook] = cid
    return ids


def add_traffic(
    db: Database,
    creative_id: str,
    product_id: str,
    shown: int,
    buyers: int,
    *,
    price: int = 2400,
    prefix: str = "u",
    start: datetime | None = None,
) -> None:
    """Bulk events: ``shown`` impressions of which the first ``buyers`` purchase."""
    start = start or datetime.now(UTC) - timedelta(hours=1)
    rows = []
    for i in range(shown):
        subject = f"{prefix}-{creative_id}-{i}"
        rows.append(
            Event(
                kind="impression",
                dedupe_key=f"impression:{subject}:{creative_id}",
                creative_id=creative_id,
                product_id=product_id,
                subject=subject,
                occurred_at=start,
            )
        )
        if i < buyers:
            rows.append(
                Event(
                    kind="purchase",
                    dedupe_key=f"purchase:{subject}",
                    creative_id=creative_id,
                    product_id=product_id,
                    subject=subject,
                    amount_minor=price,
                    currency="USD",
                    occurred_at=start + timedelta(minutes=5),
                )
            )
    with db.session() as session:
        session.add_all(rows)
