"""What the engine asks of a loaded pipeline: schedule, call arguments, options, dtypes.

Real diffusers pipelines at toy size, saved and loaded through ``from_pretrained``; the
presets are the production ones with only their weights swapped for the tiny folders.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generation.engines.diffusion.devices import DevicePlan
from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import ModelPreset, get_preset
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import build_tiny_pipeline, saved_tiny_pipeline

W, H = 64, 64


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_product_photo(tmp_path_factory.mktemp("calls") / "bottle.png")


def tiny_weights(name: str, **changes: object) -> ModelPreset:
    """The production preset ``name`` with its weights taken from a tiny local folder."""
    preset = get_preset(name)
    return dataclasses.replace(preset, model_id=None, architecture=None, **changes)  # type: ignore[arg-type]


# The published single-pass schedule of the 0.9.7 distilled checkpoint (Lightricks'
# ltxv-13b-0.9.7-distilled.yaml, the diffusers LTX docs).
PUBLISHED_DISTILLED = (1000, 993, 987, 981, 975, 909, 725, 0.03)


def test_distilled_ltx_runs_the_published_timesteps(photo: Path) -> None:
    preset = tiny_weights("ltx-video-i2v")
    engine = DiffusionEngine(preset, model_dir=saved_tiny_pipeline("ltx"))
    seen: list[list[float]] = []
    scheduler = engine.pipeline().scheduler
    original = scheduler.set_timesteps

    @functools.wraps(original)  # the pipeline inspects its signature for ``timesteps``
    def record(*args: Any, **kwargs: Any) -> None:
        seen.append([float(t) for t in kwargs.get("timesteps") or []])
        original(*args, **kwargs)

    scheduler.set_timesteps = record
    frames = list(engine.frames(ShotSpec(photo, "push_in", 0.25, 1), W, H, 24))
    assert len(frames) == 6
    # The scheduler got exactly the published list, and denoised through all of it.
    assert seen == [[float(t) for t in PUBLISHED_DISTILLED]]
    np.testing.assert_allclose(
        scheduler.timesteps.float().numpy(), np.array(PUBLISHED_DISTILLED), rtol=1e-6
    )
    assert engine.preset.guidance == 1.0 and engine.preset.steps == 8
    assert type(engine.pipeline()).__name__ == "LTXConditionPipeline"


def test_unknown_call_argument_fails_at_load() -> None:
    preset = tiny_weights("ltx-video-i2v")
    bad = dataclasses.replace(preset, call_kwargs={**preset.call_kwargs, "sigma_max": 1.0})
    engine = DiffusionEngine(bad, model_dir=saved_tiny_pipeline("ltx"))
    with pytest.raises(ValueError, match=r"sigma_max.*LTXConditionPipeline"):
        engine.pipeline()
    reserved = dataclasses.replace(preset, call_kwargs={"height": 64})
    with pytest.raises(ValueError, match="may not set"):
        DiffusionEngine(reserved, model_dir=saved_tiny_pipeline("ltx")).pipeline()


def test_mask_refusing_backend_goes_to_ltx_self_attention_only(photo: Path) -> None:
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    before = _AttentionBackendRegistry._active_backend
    # _native_flash refuses masks like flash / flash-3 / sage, and runs on a CPU.
    engine = DiffusionEngine(
        "tiny-ltx", model_dir=saved_tiny_pipeline("ltx"), attention_backend="_native_flash"
    )
    frames = list(engine.frames(ShotSpec(photo, "push_in", 0.5, 1), W, H, 8))
    assert len(frames) == 4
    backends = {
        name.rsplit(".", 1)[-1]: module.processor._attention_backend
        for name, module in engine.pipeline().transformer.named_modules()
        if name.endswith(("attn1", "attn2"))
    }
    assert str(backends["attn1"]) == "AttentionBackendName._NATIVE_FLASH"
    assert backends["attn2"] is None  # masked cross-attention keeps the default
    assert _AttentionBackendRegistry._active_backend == before  # process state untouched
    transformer = engine.pipeline().transformer
    engine.close()
    assert all(
        m.processor._attention_backend is None
        for n, m in transformer.named_modules()
        if n.endswith("attn1")
    )
    with pytest.raises(ValueError, match="unknown attention backend"):
        DiffusionEngine("tiny-ltx", attention_backend="fastest")


def test_first_block_cache_with_compiled_blocks_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        DiffusionEngine("tiny-wan", compile_blocks=True, first_block_cache=0.05)


def test_compiled_blocks_compile_at_most_twice_across_batch_sizes() -> None:
    from torch._dynamo.utils import counters

    from generation.engines.diffusion.speed import compile_blocks

    transformer = build_tiny_pipeline("wan", "t2v").transformer
    torch._dynamo.reset()
    counters.clear()
    compile_blocks(transformer, backend="eager")
    with torch.inference_mode():
        for batch in (1, 2, 3, 4):
            transformer(
                hidden_states=torch.randn(batch, 16, 3, 4, 4),
                timestep=torch.full((batch,), 500.0),
                encoder_hidden_states=torch.randn(batch, 8, 32),
                return_dict=False,
            )
    # Static for the first shape, dynamic from the second: never one graph per batch.
    assert counters["stats"]["unique_graphs"] == 2
    torch._dynamo.reset()


def test_wan_vae_loads_in_float32_beside_a_bf16_transformer() -> None:
    from generation.engines.diffusion.devices import load_dtypes
    from generation.engines.diffusion.load import load_pipeline

    wan = get_preset("wan2.2-ti2v-5b")
    gpu_plan = DevicePlan(torch.device("cuda"), torch.bfloat16)
    assert load_dtypes(wan, gpu_plan) == {"default": torch.bfloat16, "vae": torch.float32}
    clip_wan = get_preset("wan2.1-i2v-14b-480p")
    assert load_dtypes(clip_wan, gpu_plan)["image_encoder"] == torch.float32  # type: ignore[index]
    assert load_dtypes(get_preset("ltx-video-i2v"), gpu_plan) == torch.bfloat16
    # The mapping is what from_pretrained honours, component by component.
    pipe = load_pipeline(
        "WanImageToVideoPipeline",
        str(saved_tiny_pipeline("wan")),
        local_files_only=True,
        dtype=load_dtypes(get_preset("tiny-wan"), gpu_plan),
    )
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32
