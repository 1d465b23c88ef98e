"""Family-specific calls into diffusers pipelines (LTX-Video, Wan), behind one interface.

The engine always asks a pipeline for *latents* (``output_type="latent"``) and decodes them
itself, one sample at a time, because:
- the VAE decode is a stage of its own (timed, tiled, its memory bounded per sample);
- LTX's built-in decode draws its timestep noise with ``torch.randn(generator=...)``, which
  fails for a list of per-sample generators; here each sample uses its own generator;
- pixels become ``uint8`` on the device and cross to the host once, as one tensor.

Prompt embeddings are computed by the engine (once per distinct prompt) and passed in as
``prompt_embeds`` (and negatives when classifier-free guidance is on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from generation.devices import synchronize
from generation.models import ModelPreset

__all__ = [
    "PromptEmbeds",
    "decode_to_uint8",
    "denoise",
    "encode_prompt",
    "remix_pipeline",
    "stack_embeds",
]


@dataclass(frozen=True)
class PromptEmbeds:
    """One prompt's text embeddings (batch of 1), with its attention mask for LTX."""

    embeds: torch.Tensor
    mask: torch.Tensor | None


def encode_prompt(pipe: Any, preset: ModelPreset, text: str) -> PromptEmbeds:
    """Run the text encoder once for ``text`` (no guidance pairing: negatives are separate)."""
    device = pipe._execution_device
    if preset.family == "ltx":
        embeds, mask, _, _ = pipe.encode_prompt(
            prompt=text,
            do_classifier_free_guidance=False,
            max_sequence_length=preset.max_sequence_length,
            device=device,
        )
        return PromptEmbeds(embeds, mask)
    embeds, _ = pipe.encode_prompt(
        prompt=text,
        do_classifier_free_guidance=False,
        max_sequence_length=preset.max_sequence_length,
        device=device,
    )
    return PromptEmbeds(embeds, None)


def stack_embeds(
    positives: Sequence[PromptEmbeds], negative: PromptEmbeds | None
) -> dict[str, torch.Tensor]:
    """Pipeline keyword arguments for a batch: one positive per sample, the negative repeated."""
    batch = len(positives)
    kwargs: dict[str, torch.Tensor] = {"prompt_embeds": torch.cat([p.embeds for p in positives])}
    if positives[0].mask is not None:
        kwargs["prompt_attention_mask"] = torch.cat(
            [p.mask for p in positives if p.mask is not None]
        )
    if negative is not None:
        kwargs["negative_prompt_embeds"] = negative.embeds.expand(batch, *negative.embeds.shape[1:])
        if negative.mask is not None:
            kwargs["negative_prompt_attention_mask"] = negative.mask.expand(batch, -1)
    return kwargs


def _end_of_denoise_callback(
    device: torch.device, marks: dict[str, float], clock: Callable[[], float]
) -> Any:
    def callback(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if step == pipe.num_timesteps - 1:
            synchronize(device)
            marks["denoised"] = clock()
        return tensors

    return callback


def denoise(
    pipe: Any,
    preset: ModelPreset,
    *,
    images: Sequence[Image.Image] | None,
    video: Sequence[Image.Image] | None,
    embeds: dict[str, torch.Tensor],
    generators: list[torch.Generator],
    width: int,
    height: int,
    num_frames: int,
    strength: float | None,
    marks: dict[str, float],
    clock: Callable[[], float],
) -> torch.Tensor:
    """Run the denoising loop; returns the pipeline's latents (family layout).

    ``images`` (image-to-video) holds one image per sample, or a single image when the
    preset cannot batch distinct images (then every sample shares it). ``video`` with a
    ``strength`` is video-to-video (remix). ``marks["denoised"]`` is set after the last step.
    """
    call: dict[str, Any] = {
        **embeds,
        "height": height,
        "width": width,
        "num_inference_steps": preset.steps,
        "guidance_scale": preset.guidance,
        "generator": generators if len(generators) > 1 else generators[0],
        "output_type": "latent",
        "max_sequence_length": preset.max_sequence_length,
        "callback_on_step_end": _end_of_denoise_callback(pipe._execution_device, marks, clock),
    }
    if video is not None:
        assert strength is not None
        if preset.family == "ltx":
            # Condition on the whole source clip and start denoising part-way (strength).
            call.update(
                video=list(video),
                denoise_strength=strength,
                num_frames=num_frames,
                frame_rate=preset.fps,
            )
        else:
            call.update(video=list(video), strength=strength)
    else:
        assert images is not None
        image: Any = list(images) if len(images) > 1 else images[0]
        call.update(image=image, num_frames=num_frames)
        if preset.family == "ltx":
            call["frame_rate"] = preset.fps
    out = pipe(**call)
    latents: torch.Tensor = out.frames
    return latents


def decode_to_uint8(
    pipe: Any,
    preset: ModelPreset,
    latents: torch.Tensor,
    generators: list[torch.Generator],
    width: int,
    height: int,
    num_frames: int,
) -> torch.Tensor:
    """Decode latents sample by sample into ``(batch, frames, h, w, 3)`` uint8 on the host."""
    from diffusers.utils.torch_utils import randn_tensor

    vae = pipe.vae
    device = pipe._execution_device
    if preset.family == "ltx" and latents.ndim == 3:
        # LTXImageToVideoPipeline returns packed tokens; the condition pipeline does not.
        latents = pipe._unpack_latents(
            latents,
            (num_frames - 1) // pipe.vae_temporal_compression_ratio + 1,
            height // pipe.vae_spatial_compression_ratio,
            width // pipe.vae_spatial_compression_ratio,
            pipe.transformer_spatial_patch_size,
            pipe.transformer_temporal_patch_size,
        )
    outputs = []
    for i in range(latents.shape[0]):
        sample = latents[i : i + 1].to(device=device, dtype=vae.dtype)
        if preset.family == "ltx":
            sample = pipe._denormalize_latents(
                sample, vae.latents_mean, vae.latents_std, vae.config.scaling_factor
            )
            timestep = None
            if vae.config.timestep_conditioning:
                t = float(preset.call_kwargs.get("decode_timestep", 0.0))
                scale = float(preset.call_kwargs.get("decode_noise_scale", t))
                noise = randn_tensor(
                    sample.shape, generator=generators[i], device=device, dtype=sample.dtype
                )
                sample = (1 - scale) * sample + scale * noise
                timestep = torch.tensor([t], device=device, dtype=sample.dtype)
            pixels = vae.decode(sample, timestep, return_dict=False)[0]
        else:
            mean = torch.tensor(vae.config.latents_mean, device=device, dtype=sample.dtype)
            std = torch.tensor(vae.config.latents_std, device=device, dtype=sample.dtype)
            sample = sample * std.view(1, -1, 1, 1, 1) + mean.view(1, -1, 1, 1, 1)
            pixels = vae.decode(sample, return_dict=False)[0]
        # [-1, 1] -> uint8 on the device: a quarter of the bytes cross to the host.
        frames = ((pixels.float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        outputs.append(frames[0].permute(1, 2, 3, 0))  # (frames, h, w, 3)
    # One device-to-host copy for the whole batch.
    return torch.stack(outputs).cpu()


def remix_pipeline(pipe: Any, preset: ModelPreset) -> Any:
    """A video-to-video pipeline sharing ``pipe``'s loaded modules (no second load)."""
    import diffusers

    if preset.remix_pipeline is None:
        raise ValueError(f"model preset {preset.name!r} has no video-to-video (remix) pipeline")
    cls = getattr(diffusers, preset.remix_pipeline)
    wanted = set(cls._get_signature_keys(cls)[0])
    components = {k: v for k, v in pipe.components.items() if k in wanted}
    return cls(**components)
