"""Shape arithmetic between a model's native output and the footage a creative asks for.

A model generates at its own resolution (about the preset's pixel area, in the requested
aspect ratio, rounded to the multiple its VAE and patching need) and at its own frame rate
(frame counts of the form ``k * m + 1``). The creative wants ``frames_for(duration, fps)``
frames of ``width x height``: frames are picked by timestamp (held or skipped) and scaled
with a cover crop, so the aspect ratio never distorts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from generation.engines.diffusion.presets import ModelPreset
from generation.spec import frames_for

__all__ = ["NativeShape", "native_shape", "resample", "source_indices"]


@dataclass(frozen=True)
class NativeShape:
    """What one model call produces for a shot: frames of ``width x height`` at ``fps``."""

    width: int
    height: int
    num_frames: int
    fps: int


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def native_shape(preset: ModelPreset, width: int, height: int, duration_s: float) -> NativeShape:
    """The native generation shape for a ``width x height`` shot of ``duration_s`` seconds.

    Keeps the preset's pixel area (its trained resolution) in the target's aspect ratio,
    but never exceeds the target size: upscaling a small ad from a big render wastes GPU.
    """
    area = min(preset.width * preset.height, width * height)
    aspect = width / height
    native_w = _round_to(math.sqrt(area * aspect), preset.size_multiple)
    native_h = _round_to(math.sqrt(area / aspect), preset.size_multiple)
    m = preset.frame_multiple
    wanted = max(2, math.ceil(duration_s * preset.fps))
    # The smallest k * m + 1 covering the shot, so the last frame is a real one.
    num_frames = max(1 + m, math.ceil((wanted - 1) / m) * m + 1)
    return NativeShape(native_w, native_h, num_frames, preset.fps)


def source_indices(native: NativeShape, duration_s: float, fps: int) -> list[int]:
    """For each output frame, the native frame shown at that instant (hold or skip)."""
    count = frames_for(duration_s, fps)
    last = native.num_frames - 1
    return [min(last, round(i * native.fps / fps)) for i in range(count)]


def _cover_box(
    src_w: int, src_h: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """The centred source rectangle with the target's aspect ratio."""
    scale = max(width / src_w, height / src_h)
    crop_w, crop_h = width / scale, height / scale
    x0, y0 = (src_w - crop_w) / 2, (src_h - crop_h) / 2
    return (x0, y0, x0 + crop_w, y0 + crop_h)


def resample(
    video: npt.NDArray[np.uint8],
    native: NativeShape,
    duration_s: float,
    width: int,
    height: int,
    fps: int,
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield the shot's frames at ``width x height`` and ``fps`` from native ``video``.

    ``video`` is ``(frames, h, w, 3)`` uint8. A held frame is scaled once and re-yielded.
    """
    src_h, src_w = video.shape[1], video.shape[2]
    box = _cover_box(src_w, src_h, width, height)
    last_index, last_frame = -1, None
    for index in source_indices(native, duration_s, fps):
        if index != last_index or last_frame is None:
            frame = video[index]
            if (src_w, src_h) != (width, height):
                image = Image.fromarray(frame).resize(
                    (width, height), Image.Resampling.BICUBIC, box=box
                )
                frame = np.asarray(image)
            last_index, last_frame = index, np.ascontiguousarray(frame)
        yield last_frame
