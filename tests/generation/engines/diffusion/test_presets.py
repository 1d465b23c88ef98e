"""Full-size preset architectures, checked offline on the ``meta`` device (no memory).

The real shapes are built from the hyper-parameters in ``generation.engines.diffusion.presets``
(which mirror the published configs) and their parameter counts compared with the published
model sizes. The random-weight pipeline builder is then run end to end through the engine on the
CPU with the same code path at toy width, so ``bench/generation.py --random-init`` is exercised
without a GPU or the hub."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generation.engines.diffusion.engine import DiffusionEngine, prompt_for
from generation.engines.diffusion.presets import PRESETS, Architecture, get_preset
from generation.engines.diffusion.random_weights import (
    build_transformer,
    random_loader,
    transformer_parameters,
)
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import toy_preset

FULL_SIZE = {
    # preset: (lo, hi) billions of transformer parameters, from the published model cards
    "ltx-video-2b": (1.9, 2.1),
    "ltx-video-i2v": (12.5, 13.5),  # LTX-Video 0.9.7 distilled is the 13B model
    "wan2.2-ti2v-5b": (4.8, 5.2),
    # "14B" names the text-to-video backbone; image cross-attention brings I2V to 16.4B.
    "wan2.1-i2v-14b-480p": (16.0, 16.8),
}


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_full_size_transformer_has_the_published_parameter_count(name: str) -> None:
    preset = get_preset(name)
    billions = transformer_parameters(preset) / 1e9
    lo, hi = FULL_SIZE[name]
    assert lo <= billions <= hi, f"{name}: {billions:.3f}B"
    assert preset.architecture is not None and preset.architecture.params_b == (lo, hi)


def test_every_hub_preset_has_an_architecture_and_tiny_ones_do_not() -> None:
    for preset in PRESETS.values():
        assert (preset.architecture is None) == (preset.model_id is None), preset.name
    with pytest.raises(ValueError, match="no full-size architecture"):
        build_transformer(get_preset("tiny-wan"))


def test_meta_build_allocates_nothing_and_keeps_the_default_dtype() -> None:
    transformer = build_transformer(get_preset("wan2.2-ti2v-5b"), "meta", torch.bfloat16)
    params = list(transformer.parameters())
    assert all(p.is_meta for p in params)
    # bf16, except what loading keeps in float32 (test_random_weights.py checks which).
    assert sum(p.numel() for p in params if p.dtype == torch.bfloat16) > 0.99 * sum(
        p.numel() for p in params
    )
    assert torch.get_default_dtype() == torch.float32


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_random_pipeline_runs_through_the_engine(tmp_path: Path, name: str) -> None:
    preset = toy_preset(get_preset(name))
    torch.manual_seed(0)
    # The bench's loader: built inside the engine's load, after the plan, no weights.
    engine = DiffusionEngine(preset, loader=random_loader(preset))
    photo = draw_product_photo(tmp_path / "photo.png")
    frames = np.stack(list(engine.frames(ShotSpec(photo, "push_in", 0.25, 1), 64, 64, 8)))
    assert frames.shape == (2, 64, 64, 3) and frames.dtype == np.uint8
    if preset.remix_pipeline is not None:  # remix shares the modules, with its own pipeline
        remixed = np.stack(list(engine.remix(frames, "remix", strength=0.5, fps=8)))
        assert remixed.shape == frames.shape
    embeds = engine.embeddings("a product")
    assert embeds.embeds.shape == (1, preset.max_sequence_length, 32)


def test_architecture_is_plain_data() -> None:
    arch = get_preset("ltx-video-2b").architecture
    assert isinstance(arch, Architecture)
    assert arch.transformer["num_layers"] == 28 and arch.text_dim == 4096


# --- model identity in render hashes, product prompts in diffusion shot keys -------------


def _job(photo: Path, description: str) -> Any:
    from reelcart.domain import CreativeJob

    return CreativeJob(
        creative_id="crv_1",
        name="p1",
        product_id="p1",
        product_title="Aloe Face Wash",
        description=description,
        price_minor=2400,
        currency="USD",
        brand_name="Acme",
        image_paths=(str(photo),),
        factors={},
        seed=7,
    )


def test_switching_the_diffusion_preset_changes_the_render_hash(tmp_path: Path) -> None:
    from generation.engines.motion import MotionEngine
    from generation.footage import FootageCache
    from generation.jobs import engine_fingerprint, render_hash
    from generation.storyboard import RenderConfig, storyboard

    photo = draw_product_photo(tmp_path / "photo.png")
    config = RenderConfig(width=144, height=256, fps=12, engine="diffusion")
    spec = storyboard(_job(photo, "Gentle. Daily."), config)
    ltx, wan = DiffusionEngine("ltx-video-2b"), DiffusionEngine("wan2.2-ti2v-5b")
    hashes = {
        render_hash(spec, "diffusion", config, engine_fingerprint(e))
        for e in (ltx, wan, DiffusionEngine("ltx-video-i2v"))
    }
    assert len(hashes) == 3
    # Seen through the footage cache too, and stable for the same preset.
    cached = FootageCache(wan, tmp_path / "footage")
    assert engine_fingerprint(cached) == engine_fingerprint(DiffusionEngine("wan2.2-ti2v-5b"))
    # Other weights or step counts for one preset name are another model as well.
    local = DiffusionEngine("wan2.2-ti2v-5b", model_dir=tmp_path / "wan")
    fewer = DiffusionEngine(dataclasses.replace(get_preset("wan2.2-ti2v-5b"), steps=8))
    assert len({engine_fingerprint(e) for e in (wan, local, fewer)}) == 3
    # The motion engine has no model: its hashes are what they were before fingerprints.
    assert engine_fingerprint(MotionEngine()) is None
    assert render_hash(spec, "motion", config, None) == render_hash(spec, "motion", config)


def test_product_text_enters_diffusion_shot_keys_only(tmp_path: Path) -> None:
    from generation.storyboard import RenderConfig, storyboard

    photo = draw_product_photo(tmp_path / "photo.png")
    soap = _job(photo, "A gentle cleanser for every day. Made with aloe.")
    serum = _job(photo, "A vitamin C serum that brightens. Made with aloe.")
    diffusion = RenderConfig(width=144, height=256, fps=12, engine="diffusion")
    motion = RenderConfig(width=144, height=256, fps=12)

    soap_shots, serum_shots = storyboard(soap, diffusion).shots, storyboard(serum, diffusion).shots
    assert soap_shots[0].prompt == "Aloe Face Wash. A gentle cleanser for every day"
    assert soap_shots[0].key() != serum_shots[0].key()
    assert prompt_for(soap_shots[0]).startswith("Aloe Face Wash. A gentle cleanser")
    # Motion ignores text: same photo, same keys, and the key predates the prompt field.
    motion_shots = storyboard(soap, motion).shots
    assert motion_shots[0].prompt == ""
    assert motion_shots[0].key() == storyboard(serum, motion).shots[0].key()
    plain = ShotSpec(photo, motion_shots[0].motion, motion_shots[0].duration_s, 7)
    assert plain.key() == motion_shots[0].key()
    with pytest.raises(ValueError, match="prompt"):
        ShotSpec(photo, "push_in", 1.0, 1, prompt=3)  # type: ignore[arg-type]
