"""One pipeline call of :class:`~generation.engines.diffusion.engine.DiffusionEngine`,
timed by stage, and what a remix feeds it.

Every call, fresh or remix, with sound or without, goes through :func:`run_call`: noise
from CPU generators seeded per shot, the family's pipeline call, one device sync, and the
denoise / decode seconds added to the engine's :class:`StageTimes`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from generation.engines.diffusion.devices import synchronize
from generation.engines.diffusion.presets import ModelPreset

from .frames import NativeShape, native_shape
from .inputs import StageTimes, fit_image
from .load import Loaded
from .pipes import decode_to_uint8, remix_pipeline
from .sound import ClipAudio, generate_with_sound
from .two_pass import denoise_for

__all__ = ["RemixInputs", "remix_inputs", "run_call"]

Clip = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RemixInputs:
    """A remix's source resampled to the native shape, and the output it is asked for."""

    video: list[Image.Image]
    native: NativeShape
    duration_s: float
    width: int
    height: int
    fps: int


def remix_inputs(
    preset: ModelPreset,
    source: Sequence[npt.NDArray[np.uint8]] | npt.NDArray[np.uint8],
    strength: float,
    duration_s: float | None,
    width: int | None,
    height: int | None,
    fps: int | None,
) -> RemixInputs:
    """Check a remix request (before anything loads) and pick its source frames: the
    whole clip, resampled to the preset's native frame count and size. Defaults: the
    source's size, the preset's fps, the source's length at that fps."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"remix strength must be in (0, 1], got {strength!r}")
    src = np.asarray(source, dtype=np.uint8)
    if src.ndim != 4 or src.shape[-1] != 3 or len(src) == 0:
        raise ValueError("remix source must be frames of shape (n, height, width, 3)")
    if preset.remix_pipeline is None:
        remix_pipeline(None, preset)  # raises the preset's own explanation
    height = height or src.shape[1]
    width = width or src.shape[2]
    fps = fps or preset.fps
    duration = duration_s or len(src) / fps
    native = native_shape(preset, width, height, duration)
    picks = np.linspace(0, len(src) - 1, native.num_frames).round().astype(int)
    video = [fit_image(Image.fromarray(src[i]), native.width, native.height) for i in picks]
    return RemixInputs(video, native, duration, width, height, fps)


def run_call(
    pipe: Any,
    preset: ModelPreset,
    loaded: Loaded,
    times: StageTimes,
    native: NativeShape,
    size: tuple[int, int],
    embeds: dict[str, torch.Tensor],
    seeds: Sequence[int],
    images: Sequence[Image.Image] | None,
    video: Sequence[Image.Image] | None,
    strength: float | None,
) -> tuple[list[Clip], list[ClipAudio] | None]:
    """One batch through ``pipe``: uint8 clips at ``size``, and their sound (or ``None``)."""
    marks: dict[str, float] = {}
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    started = time.perf_counter()
    sounds: list[ClipAudio] | None = None
    if preset.sound:  # a remix (``video``) too: LTX-2's condition pipeline
        frames, sounds = generate_with_sound(
            pipe,
            preset,
            image=images[0] if images else None,
            video=video,
            strength=strength,
            embeds=embeds,
            generators=generators,
            width=native.width,
            height=native.height,
            num_frames=native.num_frames,
            out_size=size,
            marks=marks,
            clock=time.perf_counter,
        )
        synchronize(loaded.plan.device)
        denoised = marks.get("denoised", time.perf_counter())
    else:
        # One pass, or a two-pass preset's both passes and its latent upsampler.
        latents, shape = denoise_for(
            pipe,
            loaded.upsample,
            preset,
            images=images,
            video=video,
            embeds=embeds,
            generators=generators,
            width=native.width,
            height=native.height,
            num_frames=native.num_frames,
            strength=strength,
            marks=marks,
            clock=time.perf_counter,
        )
        synchronize(loaded.plan.device)
        denoised = marks.get("denoised", time.perf_counter())
        frames = decode_to_uint8(pipe, preset, latents, seeds, shape, size)
    times.denoise_s += denoised - started
    times.decode_s += time.perf_counter() - denoised
    times.batches += 1
    return [np.ascontiguousarray(clip) for clip in frames.numpy()], sounds
