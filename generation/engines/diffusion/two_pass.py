"""The published multi-scale recipe of the step-distilled LTX-Video checkpoints.

Lightricks' ``configs/ltxv-13b-0.9.7-distilled.yaml`` run by ``LTXMultiScalePipeline``
(ltx_video/pipelines/pipeline_ltx_video.py), here with diffusers' ``LTXConditionPipeline``
and ``LTXLatentUpsamplePipeline``:

1. denoise at ``int(side x 0.6666666)`` rounded down to a multiple of 32 with the
   first-pass timesteps (seven steps), keeping the latents;
2. the latent upsampler doubles their height and width (AdaIN back to the first pass's
   statistics);
3. denoise again at the doubled size from those latents noised to sigma 0.9094, with the
   second-pass timesteps 909.4 / 725 / 421.9 (three steps);
4. decode, then resize to the wanted size.

The upsampler shares the condition pipeline's VAE (no second load) and runs on the
plan's device in the plan's dtype, whatever the placement of the rest: it is small
(0.13 B parameters at full size). Its config is checked against the pipeline it serves
when it loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from generation.engines.diffusion.presets import (
    ModelPreset,
    ModelWeightsMissing,
    TwoPass,
    first_pass_size,
    resolve_source,
)

from .pipes import denoise

__all__ = [
    "check_upsampler",
    "denoise_two_pass",
    "first_pass_size",
    "load_upsampler",
    "upsample_pipeline",
]


def _schedule(preset: ModelPreset) -> TwoPass:
    if preset.two_pass is None:
        raise ValueError(f"model preset {preset.name!r} has no two-pass schedule")
    return preset.two_pass


def load_upsampler(
    preset: ModelPreset, model_dir: Path | None, dtype: torch.dtype, device: torch.device
) -> Any:
    """``LTXLatentUpsamplerModel.from_pretrained`` from the hub folder or ``model_dir``.

    A local model folder holds the upsampler in its ``subfolder`` beside the pipeline's
    own components (the hub ships it as a separate pipeline folder).
    """
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    schedule = _schedule(preset)
    if model_dir is not None:
        source, local_only = resolve_source(preset, model_dir)
        if not (Path(source) / schedule.subfolder / "config.json").is_file():
            raise ModelWeightsMissing(
                f"model preset {preset.name!r} runs two passes and needs the latent upsampler "
                f"in {Path(source) / schedule.subfolder} (from {schedule.upsampler_id or 'a hub'}"
                f" folder's {schedule.subfolder!r}); none is there"
            )
    elif schedule.upsampler_id is not None:
        source, local_only = schedule.upsampler_id, resolve_source(preset)[1]
    else:
        raise ModelWeightsMissing(f"model preset {preset.name!r} names no latent upsampler")
    try:
        upsampler = LTXLatentUpsamplerModel.from_pretrained(
            source, subfolder=schedule.subfolder, dtype=dtype, local_files_only=local_only
        )
    except OSError as exc:
        raise ModelWeightsMissing(
            f"the latent upsampler of model preset {preset.name!r} ({source}, "
            f"{schedule.subfolder}) is not available: {exc}"
        ) from exc
    return upsampler.to(device)


def check_upsampler(upsampler: Any, pipe: Any) -> None:
    """The upsampler must take and give the pipeline's latents and keep their frames."""
    config = upsampler.config
    channels = {
        "upsampler in": config.in_channels,
        "vae latent": pipe.vae.config.latent_channels,
        "transformer in": pipe.transformer.config.in_channels,
    }
    if len(set(channels.values())) != 1:
        raise ValueError(f"latent upsampler does not fit the pipeline's latents: {channels}")
    if not config.spatial_upsample or config.temporal_upsample:
        raise ValueError(
            "the two-pass schedule needs a spatial-only latent upsampler (frames kept), got "
            f"spatial={config.spatial_upsample}, temporal={config.temporal_upsample}"
        )


def upsample_pipeline(pipe: Any, upsampler: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """``LTXLatentUpsamplePipeline`` over ``pipe``'s own VAE and ``upsampler``, placed."""
    from diffusers import LTXLatentUpsamplePipeline

    check_upsampler(upsampler, pipe)
    if upsampler.dtype != dtype:
        # Loaded (or built) in the plan's dtype; a cast here would hide a loading bug.
        raise ValueError(f"latent upsampler is {upsampler.dtype}, the plan runs {dtype}")
    upsampler.to(device)
    upsample: Any = LTXLatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=upsampler)
    upsample.set_progress_bar_config(disable=True)
    return upsample


def denoise_two_pass(
    pipe: Any,
    upsample: Any,
    preset: ModelPreset,
    *,
    images: Sequence[Image.Image],
    embeds: dict[str, torch.Tensor],
    generators: list[torch.Generator],
    width: int,
    height: int,
    num_frames: int,
    marks: dict[str, float],
    clock: Callable[[], float],
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Both passes and the upsampler between them; returns the second pass's latents and
    their ``(width, height, frames)`` (twice the first pass's size)."""
    schedule = _schedule(preset)
    first_w, first_h = first_pass_size(preset, width, height)
    common: dict[str, Any] = {
        "images": images,
        "video": None,
        "embeds": embeds,
        "generators": generators,
        "num_frames": num_frames,
        "marks": marks,
        "clock": clock,
    }
    low = denoise(pipe, preset, width=first_w, height=first_h, strength=None, **common)
    device = upsample.latent_upsampler.device
    upscaled = upsample(
        latents=low.to(device),
        adain_factor=schedule.adain_factor,
        tone_map_compression_ratio=schedule.tone_map_compression_ratio,
        output_type="latent",
    ).frames
    second = dataclasses.replace(
        preset,
        steps=len(schedule.second_timesteps),
        call_kwargs={**preset.call_kwargs, "timesteps": list(schedule.second_timesteps)},
    )
    size = (2 * first_w, 2 * first_h)
    with _per_sample_sigma(pipe):
        latents = denoise(
            pipe,
            second,
            width=size[0],
            height=size[1],
            strength=schedule.denoise_strength,
            start=upscaled,
            **common,
        )
    return latents, (size[0], size[1], num_frames)


@contextmanager
def _per_sample_sigma(pipe: Any) -> Iterator[None]:
    """Noise start latents to their sigma sample by sample.

    ``LTXConditionPipeline`` (diffusers 0.42.1) hands ``prepare_latents`` one sigma per
    sample as a flat ``(batch,)`` tensor and multiplies it into ``(batch, C, F, H, W)``
    noise, which broadcasts over the *width* and fails (or mixes samples) for a batch of
    more than one; shaped ``(batch, 1, 1, 1, 1)`` it noises each sample by its own sigma.
    """
    prepare = type(pipe).prepare_latents.__get__(pipe)

    def prepare_latents(*args: Any, sigma: torch.Tensor | None = None, **kwargs: Any) -> Any:
        if sigma is not None and sigma.ndim == 1:
            sigma = sigma.view(-1, 1, 1, 1, 1)
        return prepare(*args, sigma=sigma, **kwargs)

    pipe.prepare_latents = prepare_latents
    try:
        yield
    finally:
        del pipe.prepare_latents


def denoise_for(
    pipe: Any,
    upsample: Any,
    preset: ModelPreset,
    *,
    images: Sequence[Image.Image] | None,
    video: Sequence[Image.Image] | None,
    width: int,
    height: int,
    num_frames: int,
    strength: float | None,
    **common: Any,
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """One pass, or the preset's two for image-to-video (a remix is one pass from the
    source clip); returns the latents and their ``(width, height, frames)``."""
    if preset.two_pass is None or video is not None:
        latents = denoise(
            pipe,
            preset,
            images=images,
            video=video,
            width=width,
            height=height,
            num_frames=num_frames,
            strength=strength,
            **common,
        )
        return latents, (width, height, num_frames)
    if images is None or upsample is None:
        raise ValueError(f"model preset {preset.name!r} needs an image and its latent upsampler")
    return denoise_two_pass(
        pipe,
        upsample,
        preset,
        images=images,
        width=width,
        height=height,
        num_frames=num_frames,
        **common,
    )
