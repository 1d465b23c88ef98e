"""Pictures and sound from one call: LTX-2 image-to-video, and its remix, with audio.

``LTX2ImageToVideoPipeline`` denoises video and audio latents together (the transformer
attends across both) and decodes both: frames through its video VAE, sound through its
audio VAE and vocoder. Both come back from the one call; the frames become uint8 at the
render size on the device (as every other clip), the sound stays at the vocoder's rate,
one ``(channels, samples)`` array per clip, as long as the clip.

A remix (video-to-video) goes through ``LTX2ConditionPipeline``, built from the same
loaded modules: the source clip, resampled to the native frame count, is one
``LTX2VideoCondition`` at latent index 0 covering every latent frame, and the sound is
generated afresh with the new picture in the same call. reelcart's remix ``strength``
(near 0 keeps the source, 1 ignores it) is the condition's ``1 - strength``; see
:func:`condition_strength` for why that is the same knob.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from generation.engines.diffusion.presets import ModelPreset

from .pipes import _cover_crop, _end_of_denoise_callback

__all__ = ["ClipAudio", "condition_strength", "generate_with_sound"]


@dataclass(frozen=True)
class ClipAudio:
    """One clip's generated sound: ``(channels, samples)`` float32 at ``rate`` Hz."""

    samples: npt.NDArray[np.float32]
    rate: int


def condition_strength(strength: float) -> float:
    """``LTX2VideoCondition.strength`` for reelcart's remix ``strength``: ``1 - strength``.

    diffusers 0.42.1, ``pipeline_ltx2_condition.py``: the condition's ``strength`` is
    "the strength of the conditioning effect. A value of ``1.0`` means the conditioning
    effect is fully applied" (``LTX2VideoCondition``); ``prepare_latents`` documents that
    "the denoising loop's existing timestep formula ``t * (1 - conditioning_mask)`` and
    post-process blend ``denoised * (1 - conditioning_mask) + clean * conditioning_mask``"
    drive conditioned tokens, "mask in (0, 1): use intermediate noise level
    mask * sigma_i" with the mask at the condition's strength. So with the whole clip as
    the condition at ``1 - s``, the source starts noised to ``s`` (``noise_scale`` 1:
    ``s * noise + (1 - s) * source``), every step sees it at ``s * sigma_i``, and each
    step's clean estimate keeps ``1 - s`` of the source: ``s`` near 0 returns the source,
    ``s = 1`` leaves it no weight at all, as reelcart's strength promises. The audio
    latents carry no condition and are denoised from pure noise with the picture.
    """
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"remix strength must be in (0, 1], got {strength!r}")
    return 1.0 - strength


def generate_with_sound(
    pipe: Any,
    preset: ModelPreset,
    *,
    image: Image.Image | None,
    embeds: dict[str, torch.Tensor],
    generators: list[torch.Generator],
    width: int,
    height: int,
    num_frames: int,
    out_size: tuple[int, int],
    marks: dict[str, float],
    clock: Callable[[], float],
    video: Sequence[Image.Image] | None = None,
    strength: float | None = None,
) -> tuple[torch.Tensor, list[ClipAudio]]:
    """``(batch, frames, H, W, 3)`` uint8 on the host at ``out_size``, and each clip's sound.

    ``image``: image-to-video (``LTX2ImageToVideoPipeline``). ``video`` and ``strength``
    instead: a remix of that clip (``LTX2ConditionPipeline``, ``num_frames`` frames).
    """
    inputs: dict[str, Any]
    if video is not None:
        from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

        assert strength is not None and len(video) == num_frames
        condition = LTX2VideoCondition(
            frames=list(video), index=0, strength=condition_strength(strength)
        )
        inputs = {"conditions": [condition]}
    else:
        assert image is not None
        inputs = {"image": image}
    out = pipe(
        **preset.call_kwargs,
        **embeds,
        **inputs,
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
