"""The distilled LTX preset in its published two passes, end to end on the CPU.

A tiny ``LTXConditionPipeline`` and a tiny ``LTXLatentUpsamplerModel`` saved side by side
and loaded through ``from_pretrained``, as a downloaded checkpoint would be; the preset is
the production one with only its weights swapped. The full-size upsampler is checked on
the meta device against the published config.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import ModelPreset, ModelWeightsMissing, get_preset
from generation.engines.diffusion.random_weights import build_upsampler, parameter_count
from generation.engines.diffusion.two_pass import first_pass_size
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.engines.diffusion import published_configs as published
from tests.generation.tiny_pipelines import save_tiny_upsampler, saved_tiny_two_pass

TWO_PASS = "ltx-video-i2v-2pass"


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_product_photo(tmp_path_factory.mktemp("two-pass") / "bottle.png")


def tiny_weights(name: str) -> ModelPreset:
    """The production preset ``name`` with its weights taken from a tiny local folder."""
    return dataclasses.replace(get_preset(name), model_id=None, architecture=None)


class Recorder:
    """What the scheduler is asked for and what the transformer and upsampler see."""

    def __init__(self, engine: DiffusionEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        pipe = engine.pipeline()
        prepare = type(pipe).prepare_latents

        def prepare_latents(this: Any, *args: Any, sigma: Any = None, **kwargs: Any) -> Any:
            self.start_sigmas.append(None if sigma is None else sigma.flatten().tolist())
            return prepare(this, *args, sigma=sigma, **kwargs)

        monkeypatch.setattr(type(pipe), "prepare_latents", prepare_latents)
        self.schedules: list[list[float]] = []
        self.steps: list[tuple[float, int]] = []  # (timestep, tokens) per transformer call
        self.sigmas: list[list[float]] = []  # the scheduler's, after each set_timesteps
        self.start_sigmas: list[list[float] | None] = []  # what given latents are noised to
        self.upsampled: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        original = pipe.scheduler.set_timesteps

        @functools.wraps(original)  # the pipeline inspects its signature for ``timesteps``
        def set_timesteps(*args: Any, **kwargs: Any) -> None:
            self.schedules.append([float(t) for t in kwargs.get("timesteps") or []])
            original(*args, **kwargs)
            self.sigmas.append([float(s) for s in pipe.scheduler.sigmas])

        pipe.scheduler.set_timesteps = set_timesteps

        def transformer(_: Any, args: Any, kwargs: dict[str, Any]) -> None:
            hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
            self.steps.append((float(kwargs["timestep"].max()), int(hidden.shape[1])))

        pipe.transformer.register_forward_pre_hook(transformer, with_kwargs=True)
        assert engine._loaded is not None and engine._loaded.upsample is not None
        engine._loaded.upsample.latent_upsampler.register_forward_hook(
            lambda _, args, out: self.upsampled.append((tuple(args[0].shape), tuple(out.shape)))
        )


def test_two_pass_runs_both_published_schedules_and_returns_the_asked_size(
    photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The refining pass runs at twice the first pass (64x64), not at the native size
    # (64x96): the frames still come out at the asked size.
    width, height = 64, 96
    preset = tiny_weights(TWO_PASS)
    engine = DiffusionEngine(preset, model_dir=saved_tiny_two_pass())
    seen = Recorder(engine, monkeypatch)
    shot, other = (ShotSpec(photo, "push_in", 0.25, seed) for seed in (1, 2))
    assert engine.prepare([shot, other], width, height, 24) == 2  # one batch of two
    frames = list(engine.frames(shot, width, height, 24))
    assert len(frames) == 6 and all(f.shape == (height, width, 3) for f in frames)
    yaml = published.DISTILLED_YAML
    first_sigmas, second_sigmas = (yaml[p]["timesteps"] for p in ("first_pass", "second_pass"))
    # The transformer ran the yaml's first pass (seven steps), then its second (three).
    timesteps = [t for t, _ in seen.steps]
    np.testing.assert_allclose(
        timesteps, [1000 * s for s in (*first_sigmas, *second_sigmas)], atol=1e-3
    )
    # The first pass ends at sigma 0; the second starts from the upsampled latents noised
    # to its first sigma (one sigma per sample of the batch), and ends at 0 too.
    np.testing.assert_allclose(seen.sigmas[0], [*first_sigmas, 0.0], atol=1e-6)
    assert seen.start_sigmas == [None, pytest.approx([second_sigmas[0]] * 2, abs=1e-6)]
    assert seen.schedules[0] == [round(1000 * s, 1) for s in first_sigmas]
    # The first pass at int(side x 0.6666666) rounded down to a multiple of 32.
    native = engine.native_clip(shot, width, height)[1]
    first = first_pass_size(preset, native.width, native.height)
    factor, multiple = yaml["downscale_factor"], published.LTX_VAE_SCALE_FACTOR
    assert first == tuple(
        max(multiple, int(side * factor) // multiple * multiple)
        for side in (native.width, native.height)
    )
    tokens = [n for _, n in seen.steps]
    assert len(set(tokens[:7])) == 1 and len(set(tokens[7:])) == 1
    assert tokens[7] == 4 * tokens[0]  # twice the height and width: four times the tokens
    # One upsampler call, 2x height and width, latent frames and channels kept.
    ((inp, out),) = seen.upsampled
    assert inp[0] == out[0] == 2
    latent_h, latent_w = first[1] // 4, first[0] // 4  # the tiny VAE compresses 4x
    assert inp[1] == out[1] == 8 and inp[2] == out[2]
    assert (inp[3], inp[4], out[3], out[4]) == (latent_h, latent_w, 2 * latent_h, 2 * latent_w)
    assert "two_pass" in engine.times.applied
    up = engine._loaded.upsample.latent_upsampler  # type: ignore[union-attr]
    assert up.device.type == "cpu" and up.dtype == engine.pipeline().transformer.dtype
    # Each sample of the batch is noised by its own generator and sigma: generated alone
    # (a fresh engine, a fresh load) it comes out the same, up to a rounding step.
    alone = DiffusionEngine(preset, model_dir=saved_tiny_two_pass()).native_clip(
        shot, width, height
    )[0]
    batched = engine.native_clip(shot, width, height)[0]
    assert np.abs(alone.astype(int) - batched.astype(int)).max() <= 2
    assert engine.times.batches == 1
    assert (native.width, native.height) == (64, 96) and first == (32, 32)  # 96 x 0.67 -> 63 -> 32


def test_a_missing_or_mismatched_upsampler_fails_at_load(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(saved_tiny_two_pass(), bare)
    shutil.rmtree(bare / "latent_upsampler")
    with pytest.raises(ModelWeightsMissing, match="latent upsampler"):
        DiffusionEngine(tiny_weights(TWO_PASS), model_dir=bare).pipeline()
    save_tiny_upsampler(bare, in_channels=16)  # not the pipeline's 8 latent channels
    with pytest.raises(ValueError, match="does not fit"):
        DiffusionEngine(tiny_weights(TWO_PASS), model_dir=bare).pipeline()
    shutil.rmtree(bare / "latent_upsampler")
    save_tiny_upsampler(bare, temporal_upsample=True)  # would change the frame count
    with pytest.raises(ValueError, match="spatial-only"):
        DiffusionEngine(tiny_weights(TWO_PASS), model_dir=bare).pipeline()


def _conv(c_in: int, c_out: int, kernel: int) -> int:
    return c_in * c_out * kernel + c_out


def test_full_size_upsampler_is_the_published_one_on_meta() -> None:
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    preset = get_preset(TWO_PASS)
    assert preset.two_pass is not None and preset.two_pass.upsampler_id is not None
    config = published.UPSAMPLER[preset.two_pass.upsampler_id]
    built = build_upsampler(preset)
    with torch.device("meta"):
        reference = LTXLatentUpsamplerModel(**config)
    for key, value in config.items():
        assert built.config[key] == value, key
    # Counted by hand: 3x3x3 convolutions, 2x2-pixel-shuffle 3x3 convolution, group norms.
    c, mid, blocks = config["in_channels"], config["mid_channels"], config["num_blocks_per_stage"]
    res_block = 2 * _conv(mid, mid, 27) + 2 * (2 * mid)
    expected = (
        _conv(c, mid, 27)
        + 2 * mid
        + 2 * blocks * res_block
        + _conv(mid, 4 * mid, 9)
        + _conv(mid, c, 27)
    )
    assert parameter_count(built) == parameter_count(reference) == expected  # 126.25 M
    # Latent channels in and out are the transformer's and the VAE's.
    arch = preset.architecture
    assert arch is not None
    assert c == arch.transformer["in_channels"] == arch.vae["latent_channels"]
    # A 480x832 clip's first pass: int(480 x 0.6666666) = 319 -> 288, int(832 x 0.6666666)
    # = 554 -> 544 (LTXMultiScalePipeline); refined at 576x1088.
    assert first_pass_size(preset, 832, 480) == (544, 288)
    latents = torch.empty(1, c, 16, 10, 17, device="meta", dtype=built.dtype)
    with torch.no_grad():
        assert tuple(built(latents).shape) == (1, c, 16, 20, 34)
