"""generate_creatives with the diffusion engine (tiny LTX pipeline on the CPU), and the
loop's challengers remixed from a winner's footage.

Also checks that the per-GPU Prefect concurrency slot needs no pre-created limit.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import select

from experiments.generations import generation_history
from flows.campaign import run_campaign
from flows.common import database, media_store
from flows.grow import grow_campaigns
from generation.engines.registry import get_engine
from reelcart.models import Creative, ExperimentDecision
from reelcart.settings import get_settings
from tests.factories import make_product, write_catalog
from tests.generation.tiny_pipelines import save_tiny_pipeline

pytestmark = pytest.mark.xdist_group("prefect")


@pytest.fixture
def diffusion_env(
    flow_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    model = save_tiny_pipeline(tmp_path / "tiny-ltx", "ltx")
    monkeypatch.setenv("REELCART_ENGINE", "diffusion")
    monkeypatch.setenv("REELCART_DIFFUSION_PRESET", "tiny-ltx")
    monkeypatch.setenv("REELCART_MODEL_DIR", str(model))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield flow_env
    get_engine.cache_clear()


def test_campaign_generates_footage_with_one_pipeline_load(
    diffusion_env: Path, tmp_path: Path
) -> None:
    catalog = write_catalog(
        tmp_path / "store",
        [make_product(1, price="24.00", images=2), make_product(2, price="9.99")],
    )
    result = run_campaign(campaign="gpu", catalog_path=str(catalog), max_variants=4)
    assert result["rendered"] == 4
    engine = get_engine("diffusion")
    assert engine.name == "diffusion"
    times = engine.times  # type: ignore[attr-defined]
    assert times.loads == 1
    # Variants share footage: 3 product photos -> 3 clips, in batched calls.
    assert times.clips == 3
    # One call per photo: LTXConditionPipeline shares its condition across a batch.
    assert times.batches == 3


def test_a_challenger_remixes_the_winners_footage_from_the_media_store(
    diffusion_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the diffusion engine the loop's challenger is the winner's footage remixed at
    the configured strength (the real engine on the tiny pipeline), read from the store."""
    catalog = write_catalog(tmp_path / "store", [make_product(3, price="12.00")])
    factors = {"cta": ["shop_now", "buy_in_chat"], "hook": ["title", "price"]}
    run_campaign(campaign="remix", catalog_path=str(catalog), factors=factors, max_variants=2)
    db = database()
    with db.session() as session:
        winner = session.scalars(
            select(Creative).where(Creative.factors["hook"].as_string() == "price")
        ).one()
        winner_id, product_id, video_key = winner.id, winner.product_id, winner.video_key
        shots = winner.manifest["shots"]
        # Every diffusion render stored its shots' footage, text-free, for later remixes.
        footage = winner.manifest["footage"]
        session.add(
            ExperimentDecision(
                campaign_id=winner.campaign_id,
                product_id=product_id,
                kind="challengers",
                creative_id=winner_id,
                detail={
                    "remix_of": winner.factors,
                    "variants": [{"cta": "buy_in_chat", "hook": "price"}],
                },
            )
        )
    assert video_key is not None
    # Nothing of the machine that rendered the winner is left: only the media store.
    shutil.rmtree(diffusion_env / "renders")
    shutil.rmtree(diffusion_env / "footage")
    engine = get_engine("diffusion")
    clips_before = engine.times.clips  # type: ignore[attr-defined]
    calls: list[dict[str, Any]] = []
    real_remix = engine.remix  # type: ignore[attr-defined]

    def recorded(source: Any, prompt: str, **kwargs: Any) -> Any:
        calls.append({"frames": len(source), "first": source[0].copy(), **kwargs})
        return real_remix(source, prompt, **kwargs)

    monkeypatch.setattr(engine, "remix", recorded)
    # The planner runs on a `default` worker that may be set up for the motion engine: the
    # winner's own engine is what says its challengers remix footage.
    motion = get_settings().model_copy(update={"engine": "motion"})
    monkeypatch.setattr("flows.grow.settings", lambda: motion)

    grown = grow_campaigns(campaign="remix", max_rounds=2, remix_strength=0.35)

    assert grown["remix"]["rendered"] == 1
    # One video-to-video call per shot of the challenger, at the strength, each from the
    # winner's matching shot; no fresh image-to-video footage was generated for it.
    assert [(c["strength"], c["seed"]) for c in calls] == [(0.35, s["seed"]) for s in shots]
    assert engine.times.clips == clips_before  # type: ignore[attr-defined]
    # The source is the winner's own footage as stored, not its finished video.
    assert sorted(footage) == sorted(s["key"] for s in shots)
    stored = media_store().local_path(footage[shots[0]["key"]])
    assert stored is not None and stored.is_file()
    with av.open(str(stored)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert calls[0]["first"].shape == first.shape
    assert np.abs(calls[0]["first"].astype(int) - first.astype(int)).mean() < 1
    with db.session() as session:
        history = generation_history(session, "remix")
        challenger = session.scalars(
            select(Creative).where(Creative.factors["cta"].as_string() == "buy_in_chat")
        ).one()
        assert challenger.status == "published"
        assert challenger.manifest["frame_count"] > 0
        # Its own remixed footage is stored too: a challenger that wins is remixed in turn.
        assert set(challenger.manifest["footage"].values()).isdisjoint(footage.values())
    source = history[-1]["detail"]["footage"]
    assert (source["remix_of"], source["video_key"], source["strength"]) == (
        winner_id,
        video_key,
        0.35,
    )
    assert "remixed from the winner's at strength 0.35" in history[-1]["reason"]
