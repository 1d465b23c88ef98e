"""A creative that failed the render's quality gate is never published; one that passed is."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from commerce.catalog.store import active_products, sync_snapshot
from commerce.publishing import QualityGateFailed, creatives_to_publish, publish_creative
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from experiments.campaigns import ensure_campaign, plan_creatives, record_render
from generation.brand import BrandKit
from generation.engines.motion import MotionEngine
from generation.render import render_creative
from generation.storyboard import RenderConfig, storyboard
from reelcart.db import Database
from reelcart.domain import CampaignPlan
from reelcart.models import Creative
from tests.factories import make_product, write_catalog
from tests.generation.conftest import draw_product_photo

CONFIG = RenderConfig(width=144, height=256, fps=8, brand=BrandKit(voiceover=False))


def test_failed_gate_blocks_publishing(db: Database, store: MediaStore, tmp_path: Path) -> None:
    product = make_product(1, title="Stoneware Mug", price="24.00")
    product["variants"].append(  # type: ignore[union-attr]
        {"id": "gid://shopify/ProductVariant/12", "title": "Large", "price": "28.00",
         "inventoryQuantity": 3, "availableForSale": True}
    )  # fmt: skip
    # A real-looking photo (a flat colour would rightly fail the gate as a frozen picture).
    (tmp_path / "shop").mkdir()
    draw_product_photo(tmp_path / "shop" / "p1-0.png")
    with db.session() as session:
        sync_snapshot(
            session, load_catalog_file(write_catalog(tmp_path / "shop", [product])), store
        )
        plan = CampaignPlan(factors={"hook": ["title", "price"], "duration": ["6s"]})
        campaign = ensure_campaign(session, "gate", plan)
        jobs = plan_creatives(
            session, campaign, active_products(session), lambda key: store.local_path(key)
        )
    assert len(jobs) == 2 and jobs[0].price_max_minor == 2800
    outcomes = {}
    for job, stale in zip(jobs, (False, True), strict=True):
        spec = storyboard(job, CONFIG)
        assert spec.price_text == "from $24.00"
        if stale:  # what the reported bug drew: one price, no "from"
            spec = dataclasses.replace(spec, price_text="$24.00")
        rendered = render_creative(spec, tmp_path / "out", MotionEngine(), job.name)
        outcomes[job.creative_id] = rendered.manifest["qa"]["passed"]
        with db.session() as session:
            record_render(
                session,
                job.creative_id,
                render_hash=f"h-{job.creative_id}",
                video_path=rendered.video_path,
                poster_path=rendered.poster_path,
                manifest=rendered.manifest,
                engine="motion",
            )
    good, bad = (jobs[0].creative_id, jobs[1].creative_id)
    assert outcomes == {good: True, bad: False}
    with db.session() as session:
        assert creatives_to_publish(session, "gate") == [good]
        with pytest.raises(QualityGateFailed, match="price_matches_catalog"):
            publish_creative(session, store, bad)
        publish_creative(session, store, good)
    with db.session() as session:
        assert session.get(Creative, good).status == "published"  # type: ignore[union-attr]
        assert session.get(Creative, bad).status == "rendered"  # type: ignore[union-attr]
        assert session.get(Creative, bad).video_key is None  # type: ignore[union-attr]
