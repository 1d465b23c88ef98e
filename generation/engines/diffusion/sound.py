"""Pictures and sound from one call: LTX-2 image-to-video with its synchronised audio.

``LTX2ImageToVideoPipeline`` denoises video and audio latents together (the transformer
attends across both) and decodes both: frames through its video VAE, sound through its
audio VAE and vocoder. Both come back from the one call; the frames become uint8 at the
render size on the device (as every other clip), the sound stays at the vocoder's rate,
one ``(channels, samples)`` array per clip, as long as the clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from generation.engines.diffusion.presets import ModelPreset

from .pipes import _cover_crop, _end_of_denoise_callback

__all__ = ["ClipAudio", "generate_with_sound"]


@dataclass(frozen=True)
class ClipAudio:
    """One clip's generated sound: ``(channels, samples)`` float32 at ``rate`` Hz."""

    samples: npt.NDArray[np.float32]
    rate: int


def generate_with_sound(
    pipe: Any,
    preset: ModelPreset,
    *,
    image: Image.Image,
    embeds: dict[str, torch.Tensor],
    generators: list[torch.Generator],
    width: int,
    height: int,
    num_frames: int,
    out_size: tuple[int, int],
    marks: dict[str, float],
    clock: Callable[[], float],
) -> tuple[torch.Tensor, list[ClipAudio]]:
    """``(batch, frames, H, W, 3)`` uint8 on the host at ``out_size``, and each clip's sound."""
    out = pipe(
        **preset.call_kwargs,
        **embeds,
        image=image,
        height=height,
        width=width,
        num_frames=num_frames,
        frame_rate=float(preset.fps),
        num_inference_steps=preset.steps,
        guidance_scale=preset.guidance,
        generator=generators if len(generators) > 1 else generators[0],
        output_type="pt",
        max_sequence_length=preset.max_sequence_length,
        callback_on_step_end=_end_of_denoise_callback(pipe._execution_device, marks, clock),
    )
    frames: list[torch.Tensor] = []
    for clip in out.frames:  # (frames, 3, h, w) in [0, 1]
        resized = _cover_crop(clip.float() * 2 - 1, *out_size)
        pixels = ((resized / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        frames.append(pixels.permute(0, 2, 3, 1))
    rate = int(pipe.vocoder.config.output_sampling_rate)
    audio = out.audio.float().cpu().numpy()
    sounds = [ClipAudio(np.ascontiguousarray(a, dtype=np.float32), rate) for a in audio]
    return torch.stack(frames).cpu(), sounds
