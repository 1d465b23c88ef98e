"""Family-specific calls into diffusers pipelines (LTX-Video, Wan), behind one interface.

The engine always asks a pipeline for *latents* (``output_type="latent"``) and decodes them
itself, one sample at a time, because:
- the VAE decode is a stage of its own (timed, tiled, its memory bounded per sample);
- LTX's built-in decode draws its timestep noise with ``torch.randn(generator=...)``, which
  fails for a list of per-sample generators; here each sample uses its own generator;
- pixels become ``uint8`` on the device and cross to the host once, as one tensor.

Prompt embeddings are computed by the engine (once per distinct prompt) and passed in as
``prompt_embeds`` (and negatives when classifier-free guidance is on). The preset's
``call_kwargs`` (published timesteps, conditioning noise, decode noise) go into every call;
:func:`check_call_kwargs` holds them against the pipeline's signature when it loads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from generation.engines.diffusion.devices import synchronize
from generation.engines.diffusion.presets import ModelPreset

__all__ = [
    "ENGINE_CALL_KEYS",
    "PromptEmbeds",
    "check_call_kwargs",
    "decode_to_uint8",
    "denoise",
    "encode_prompt",
    "remix_pipeline",
    "stack_embeds",
]


# Arguments the engine sets itself on every call: a preset may not override them.
ENGINE_CALL_KEYS = frozenset(
    {
        "prompt",
        "prompt_embeds",
        "prompt_attention_mask",
        "negative_prompt",
        "negative_prompt_embeds",
        "negative_prompt_attention_mask",
        "height",
        "width",
        "num_frames",
        "frame_rate",
        "num_inference_steps",
        "guidance_scale",
        "generator",
        "output_type",
        "max_sequence_length",
        "callback_on_step_end",
        "image",
        "video",
        "latents",
        "strength",
        "denoise_strength",
        "conditions",
    }
)


# Decode noise is drawn from its own stream, apart from the denoising noise.
_DECODE_SEED = 0x5EED_DEC0


def check_call_kwargs(pipe: Any, preset: ModelPreset) -> None:
    """Every preset call argument must be a parameter of ``pipe``'s call (checked at load)."""
    accepted = set(inspect.signature(type(pipe).__call__).parameters) - {"self"}
    unknown = sorted(set(preset.call_kwargs) - accepted)
    if unknown:
        raise ValueError(
            f"model preset {preset.name!r} passes {unknown} to {type(pipe).__name__}, "
            "which takes no such argument"
        )
    reserved = sorted(set(preset.call_kwargs) & ENGINE_CALL_KEYS)
    if reserved:
        raise ValueError(f"model preset {preset.name!r} may not set {reserved}: the engine does")


@dataclass(frozen=True)
class PromptEmbeds:
    """One prompt's text embeddings (batch of 1), with its attention mask for LTX."""

    embeds: torch.Tensor
    mask: torch.Tensor | None


def encode_prompt(pipe: Any, preset: ModelPreset, text: str) -> PromptEmbeds:
    """Run the text encoder once for ``text`` (no guidance pairing: negatives are separate)."""
    device = pipe._execution_device
    if preset.family in ("ltx", "ltx2"):
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
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run the denoising loop; returns the pipeline's latents (family layout).

    ``images`` (image-to-video) holds one image per sample, or a single image when the
    pipeline shares its condition across the batch (then every sample starts from it).
    ``video`` (video-to-video, remix) is the source clip: its latents, noised to
    ``strength``, are where denoising starts. ``start`` (condition pipeline only) are
    normalised latents to start from instead, noised to ``strength``, with the image
    condition kept (the second pass of a two-pass schedule). ``marks["denoised"]`` is
    set after the last step.
    """
    call: dict[str, Any] = {
        **preset.call_kwargs,
        **embeds,
        "height": height,
        "width": width,
        "num_frames": num_frames,
        "num_inference_steps": preset.steps,
        "guidance_scale": preset.guidance,
        "generator": generators if len(generators) > 1 else generators[0],
        "output_type": "latent",
        "max_sequence_length": preset.max_sequence_length,
        "callback_on_step_end": _end_of_denoise_callback(pipe._execution_device, marks, clock),
    }
    if preset.family == "ltx":
        call["frame_rate"] = preset.fps
    conditioned = type(pipe).__name__ == "LTXConditionPipeline"
    if video is not None:
        assert strength is not None
        if conditioned:
            # Start from the whole source clip's latents, noised to ``strength``.
            source = encode_ltx_video(pipe, video, width, height)
            call.update(latents=source.expand(len(generators), -1, -1, -1, -1))
            call["denoise_strength"] = strength
        else:
            # Wan video-to-video encodes the whole clip itself and noises it to strength.
            del call["num_frames"]
            call.update(video=list(video), strength=strength)
    else:
        assert images is not None
        if conditioned:
            if len(images) != 1:
                raise ValueError(
                    f"{type(pipe).__name__} shares one condition across a batch; "
                    f"got {len(images)} images (a list would mean keyframes)"
                )
            call.update(image=images[0], frame_index=0, strength=1.0)
            if start is not None:
                assert strength is not None
                call.update(latents=start, denoise_strength=strength)
        else:
            call["image"] = list(images) if len(images) > 1 else images[0]
    with _posterior_mean(pipe.vae) if conditioned else nullcontext():
        out = pipe(**call)
    result: torch.Tensor = out.frames
    return result


class _MeanEncoder:
    """``vae.encode`` whose posterior samples are its mean (no generator consumed)."""

    def __init__(self, encode: Callable[..., Any]) -> None:
        self._encode = encode

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self._encode(*args, **kwargs)
        posterior = output.latent_dist
        posterior.sample = lambda generator=None: posterior.mode()
        return output


@contextmanager
def _posterior_mean(vae: Any) -> Iterator[None]:
    """Condition latents from the posterior mean while the condition pipeline runs.

    ``LTXConditionPipeline`` samples its shared condition with the *first* generator of
    a batch, so a shot's output would depend on the batch it lands in; LTX's encoder
    variance is negligible, and the mean keeps every shot equal to itself generated alone.
    """
    vae.encode = _MeanEncoder(type(vae).encode.__get__(vae))
    try:
        yield
    finally:
        del vae.encode


def encode_ltx_video(
    pipe: Any, video: Sequence[Image.Image], width: int, height: int
) -> torch.Tensor:
    """The normalised latents ``(1, C, F, h, w)`` of a whole clip, as LTX denoises them."""
    device = pipe._execution_device
    vae = pipe.vae
    pixels = pipe.video_processor.preprocess_video(list(video), height, width)
    pixels = pixels.to(device=device, dtype=vae.dtype)
    latents = vae.encode(pixels).latent_dist.mode()
    normalised: torch.Tensor = pipe._normalize_latents(
        latents, vae.latents_mean, vae.latents_std, vae.config.scaling_factor
    )
    return normalised.float()


def _cover_crop(pixels: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """``(frames, 3, h, w)`` cover-cropped to the target aspect and resized on the device."""
    src_h, src_w = pixels.shape[-2:]
    if (src_w, src_h) == (width, height):
        return pixels
    scale = max(width / src_w, height / src_h)
    crop_w = min(src_w, max(1, round(width / scale)))
    crop_h = min(src_h, max(1, round(height / scale)))
    x0, y0 = (src_w - crop_w) // 2, (src_h - crop_h) // 2
    cropped = pixels[..., y0 : y0 + crop_h, x0 : x0 + crop_w]
    return F.interpolate(
        cropped, size=(height, width), mode="bicubic", antialias=True, align_corners=False
    )


def decode_to_uint8(
    pipe: Any,
    preset: ModelPreset,
    latents: torch.Tensor,
    seeds: Sequence[int],
    native: tuple[int, int, int],
    out_size: tuple[int, int],
) -> torch.Tensor:
    """Decode latents sample by sample into ``(batch, frames, H, W, 3)`` uint8 on the host.

    ``native`` is the generated ``(width, height, frames)``; each sample is cover-cropped
    and resized to ``out_size`` (the render size) on the device, before the one copy.
    Decode noise comes from a fresh generator per sample (from its seed), so it does not
    depend on how much noise the pipeline drew for the batch.
    """
    from diffusers.utils.torch_utils import randn_tensor

    width, height, num_frames = native
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
                generator = torch.Generator("cpu").manual_seed(_DECODE_SEED ^ seeds[i])
                noise = randn_tensor(
                    sample.shape, generator=generator, device=device, dtype=sample.dtype
                )
                sample = (1 - scale) * sample + scale * noise
                timestep = torch.tensor([t], device=device, dtype=sample.dtype)
            pixels = vae.decode(sample, timestep, return_dict=False)[0]
        else:
            mean = torch.tensor(vae.config.latents_mean, device=device, dtype=sample.dtype)
            std = torch.tensor(vae.config.latents_std, device=device, dtype=sample.dtype)
            sample = sample * std.view(1, -1, 1, 1, 1) + mean.view(1, -1, 1, 1, 1)
            pixels = vae.decode(sample, return_dict=False)[0]
        frames = pixels[0].float().permute(1, 0, 2, 3)  # (frames, 3, h, w) in [-1, 1]
        frames = _cover_crop(frames, *out_size)
        # [-1, 1] -> uint8 on the device: a quarter of the bytes cross to the host.
        frames = ((frames / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        outputs.append(frames.permute(0, 2, 3, 1))  # (frames, H, W, 3)
    # One device-to-host copy for the whole batch.
    return torch.stack(outputs).cpu()


def remix_pipeline(pipe: Any, preset: ModelPreset) -> Any:
    """A video-to-video pipeline sharing ``pipe``'s loaded modules (no second load).

    A preset whose family cannot remix says so (``remix_pipeline=None``) and the call
    fails here, clearly. diffusers' ``WanVideoToVideoPipeline`` derives its VAE scale
    factors from the Wan 2.1 layout (8x); they are set from the VAE's own config, so
    the Wan 2.2 VAE (16x) works too.
    """
    import diffusers

    if preset.remix_pipeline is None:
        raise ValueError(
            f"model preset {preset.name!r} cannot remix (no video-to-video pipeline): "
            f"{preset.notes}"
        )
    if type(pipe).__name__ == preset.remix_pipeline:
        return pipe
    cls = getattr(diffusers, preset.remix_pipeline)
    wanted = set(cls._get_signature_keys(cls)[0])
    remix = cls(**{k: v for k, v in pipe.components.items() if k in wanted})
    vae_config = remix.vae.config
    if preset.family == "ltx" and remix.scheduler.config.get("use_dynamic_shifting"):
        # The condition pipeline passes its own timesteps and no ``mu``, which a
        # dynamically shifting scheduler (LTX <= 0.9.1) refuses; 0.9.5+ ship it static.
        remix.scheduler = type(remix.scheduler).from_config(
            remix.scheduler.config, use_dynamic_shifting=False
        )
    if preset.family == "wan":
        from diffusers.video_processor import VideoProcessor

        remix.vae_scale_factor_spatial = int(vae_config.get("scale_factor_spatial", 8))
        remix.vae_scale_factor_temporal = int(vae_config.get("scale_factor_temporal", 4))
        remix.video_processor = VideoProcessor(vae_scale_factor=remix.vae_scale_factor_spatial)
    remix.set_progress_bar_config(disable=True)
    return remix
