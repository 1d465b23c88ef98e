"""generate_creatives with the diffusion engine (tiny LTX pipeline on the CPU).

Also checks that the per-GPU Prefect concurrency slot needs no pre-created limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.campaign import run_campaign
from generation.engines.registry import get_engine
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
