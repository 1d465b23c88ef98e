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
from tests.generation.engines.diffusion import published_configs as published
from tests.generation.tiny_pipelines import build_tiny_pipeline, saved_tiny_pipeline

W, H = 64, 64


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_product_photo(tmp_path_factory.mktemp("calls") / "bottle.png")


def tiny_weights(name: str, **changes: object) -> ModelPreset:
    """The production preset ``name`` with its weights taken from a tiny local folder."""
    preset = get_preset(name)
    return dataclasses.replace(preset, model_id=None, architecture=None, **changes)  # type: ignore[arg-type]


class CallRecorder:
    """What a tiny pipeline is asked for: its call's arguments, the scheduler's timesteps
    and sigmas, and the timestep of every transformer pass."""

    def __init__(self, pipe: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[dict[str, Any]] = []
        self.schedules: list[list[float]] = []
        self.sigmas: list[list[float]] = []
        self.steps: list[float] = []
        call = type(pipe).__call__

        def record_call(this: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(kwargs)
            return call(this, *args, **kwargs)

        monkeypatch.setattr(type(pipe), "__call__", record_call)
        scheduler = pipe.scheduler
        original = scheduler.set_timesteps

        @functools.wraps(original)  # the pipeline inspects its signature for ``timesteps``
        def set_timesteps(*args: Any, **kwargs: Any) -> None:
            self.schedules.append([float(t) for t in kwargs.get("timesteps") or []])
            original(*args, **kwargs)
            self.sigmas.append([float(s) for s in scheduler.sigmas])

        scheduler.set_timesteps = set_timesteps

        def transformer(_: Any, args: Any, kwargs: dict[str, Any]) -> None:
            self.steps.append(float(kwargs["timestep"].max()))

        pipe.transformer.register_forward_pre_hook(transformer, with_kwargs=True)


def test_distilled_ltx_runs_the_published_first_pass_numbers(
    photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml, defaults = published.DISTILLED_YAML, published.INFERENCE_DEFAULTS
    preset = tiny_weights("ltx-video-i2v")
    engine = DiffusionEngine(preset, model_dir=saved_tiny_pipeline("ltx"))
    seen = CallRecorder(engine.pipeline(), monkeypatch)
    frames = list(engine.frames(ShotSpec(photo, "push_in", 0.25, 1), W, H, 24))
    assert len(frames) == 6
    sigmas = yaml["first_pass"]["timesteps"]
    # The scheduler got the yaml's sigmas (x1000, diffusers' scale), ends at sigma 0 by
    # itself, and the transformer ran once per published timestep: seven passes.
    assert seen.schedules == [[round(s * 1000, 1) for s in sigmas]]
    np.testing.assert_allclose(seen.sigmas[0], [*sigmas, 0.0], atol=1e-6)
    np.testing.assert_allclose(seen.steps, [s * 1000 for s in sigmas], atol=1e-3)
    ((call,),) = [seen.calls]
    assert call["guidance_scale"] == yaml["first_pass"]["guidance_scale"]
    assert call["decode_timestep"] == yaml["decode_timestep"]
    assert call["decode_noise_scale"] == yaml["decode_noise_scale"]
    assert call["image_cond_noise_scale"] == defaults["image_cond_noise_scale"]
    assert call["max_sequence_length"] == defaults["text_encoder_max_tokens"]
    assert call["prompt_embeds"].shape[1] == defaults["text_encoder_max_tokens"]
    assert type(engine.pipeline()).__name__ == "LTXConditionPipeline"


def test_small_ltx_preset_has_its_yaml_numbers() -> None:
    preset, yaml = get_preset("ltx-video-2b"), published.LTX_2B_YAML
    assert (preset.steps, preset.guidance) == (yaml["num_inference_steps"], yaml["guidance_scale"])
    assert preset.call_kwargs["decode_timestep"] == yaml["decode_timestep"]
    assert preset.call_kwargs["decode_noise_scale"] == yaml["decode_noise_scale"]
    assert preset.max_sequence_length == published.INFERENCE_DEFAULTS["text_encoder_max_tokens"]


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
