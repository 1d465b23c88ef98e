"""Full-size pipelines with random weights, built offline from the configs in code.

``bench/generation.py --random-init`` uses this to time a preset's real shapes on a GPU without
downloading weights (and without hub access at all): the transformer, the VAE and (for Wan 2.1
I2V) the CLIP image encoder are built at full size from
:class:`generation.engines.diffusion.presets.Architecture`, directly on the target device in the
target dtype. The text encoder is by default a *one-layer* T5 of the real width (4096), with a
small in-code tokenizer: prompt embeddings have the real shape ``(1, max_sequence_length, 4096)``
and the multi-billion-parameter encoder is skipped (the engine encodes each distinct prompt once
per campaign). For memory figures, ``full_text_encoder`` builds the real T5-XXL / UMT5-XXL size
on ``meta`` and materialises it on the target device only.

On the ``meta`` device nothing is allocated: :func:`transformer_parameters` counts a
preset's parameters in well under a second (the presets test does this on the CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from generation.engines.diffusion.architectures import Architecture
from generation.engines.diffusion.presets import ModelPreset

__all__ = [
    "architecture_of",
    "build_gemma3_encoder",
    "build_ltx2_pipeline",
    "build_module",
    "build_random_pipeline",
    "build_text_encoder",
    "build_transformer",
    "build_upsampler",
    "build_vae",
    "keep_in_fp32",
    "meta_clip_shapes",
    "parameter_count",
    "random_loader",
    "transformer_parameters",
]

_TRANSFORMERS = {
    "ltx": "LTXVideoTransformer3DModel",
    "wan": "WanTransformer3DModel",
    "ltx2": "LTX2VideoTransformer3DModel",
}
_VAES = {
    "ltx": "AutoencoderKLLTXVideo",
    "wan": "AutoencoderKLWan",
    "ltx2": "AutoencoderKLLTX2Video",
}
_VOCAB = [
    "a",
    "the",
    "of",
    "on",
    "in",
    "and",
    "with",
    "to",
    "product",
    "camera",
    "slowly",
    "push",
    "pull",
    "out",
    "pan",
    "left",
    "right",
    "studio",
    "soft",
    "lighting",
    "sharp",
    "focus",
    "smooth",
    "steady",
    "motion",
    "showcase",
    "keeps",
    "its",
    "exact",
    "shape",
    "colours",
    "label",
    "blurry",
    "low",
    "quality",
    "distorted",
    "static",
    "worst",
    "jittery",
]


def architecture_of(preset: ModelPreset) -> Architecture:
    """The preset's full-size hyper-parameters; a clear error for the tiny presets."""
    if preset.architecture is None:
        raise ValueError(f"model preset {preset.name!r} has no full-size architecture in code")
    return preset.architecture


@contextmanager
def _building(device: torch.device | str, dtype: torch.dtype) -> Iterator[None]:
    """Create parameters directly on ``device`` in ``dtype`` (no fp32 copy on the host)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def keep_in_fp32(module: Any) -> Any:
    """Cast what ``from_pretrained`` keeps in float32 back to it, as loading does.

    diffusers' loader (``load_model_dict_into_meta``) loads a parameter in float32 when
    any name of the class's ``_keep_in_fp32_modules`` is a dotted part of its name
    (Wan's ``rope``, ``time_embedder``, ``scale_shift_table``, ``norm1/2/3``); built in
    the default dtype, they would run in bf16 where the real model runs them in float32.
    """
    keep = getattr(module, "_keep_in_fp32_modules", None) or ()
    for name, param in module.named_parameters():
        if param.is_floating_point() and any(part in keep for part in name.split(".")):
            param.data = param.data.to(torch.float32)
    return module


def build_module(
    cls: Any, config: dict[str, Any], device: torch.device | str, dtype: torch.dtype
) -> Any:
    """``cls(**config)`` with random weights on ``device`` in ``dtype``, fp32 where loading
    keeps it."""
    with _building(device, dtype):
        module = cls(**config)
    return keep_in_fp32(module) if dtype != torch.float32 else module


def build_transformer(
    preset: ModelPreset, device: torch.device | str = "meta", dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The preset's full-size transformer with random weights (``meta``: shapes only)."""
    import diffusers

    cls = getattr(diffusers, _TRANSFORMERS[preset.family])
    return build_module(cls, architecture_of(preset).transformer, device, dtype)


def build_vae(
    preset: ModelPreset, device: torch.device | str = "meta", dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The preset's full-size VAE with random weights."""
    import diffusers

    cls = getattr(diffusers, _VAES[preset.family])
    with _building(device, dtype):
        return cls(**architecture_of(preset).vae)


def build_upsampler(
    preset: ModelPreset, device: torch.device | str = "meta", dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The two-pass preset's latent upsampler at full size with random weights."""
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    config = architecture_of(preset).upsampler
    if config is None:
        raise ValueError(f"model preset {preset.name!r} has no latent upsampler")
    with _building(device, dtype):
        return LTXLatentUpsamplerModel(**config)


def parameter_count(module: torch.nn.Module) -> int:
    """Number of parameters (works on the ``meta`` device)."""
    return sum(p.numel() for p in module.parameters())


def transformer_parameters(preset: ModelPreset) -> int:
    """Parameters of the preset's full-size transformer, counted on the ``meta`` device."""
    return parameter_count(build_transformer(preset, "meta"))


def _tokenizer() -> Any:
    from transformers import T5Tokenizer

    pieces = ["<pad>", "</s>", "<unk>"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += ["▁" + word for word in _VOCAB] + ["▁"]
    return T5Tokenizer(vocab=[(p, 0.0) for p in pieces], extra_ids=0)


def build_text_encoder(
    preset: ModelPreset, device: torch.device | str, dtype: torch.dtype, **narrowed: Any
) -> Any:
    """The full-size text encoder (T5-XXL / UMT5-XXL) with random weights.

    Built on ``meta`` (nothing allocated), then materialised once, on ``device``, in
    ``dtype``: 8.9 GiB in bf16 never pass through host memory. The weights are small
    normal noise (the layer norms ones), so the activations stay finite. ``narrowed``
    overrides config entries (a CPU test's narrow twin).
    """
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    from generation.engines.diffusion.architectures import T5_XXL, UMT5_XXL

    config: Any
    cls: Any
    if preset.family == "wan":
        config, cls = UMT5Config(**{**UMT5_XXL, **narrowed}), UMT5EncoderModel
    else:
        config, cls = T5Config(**{**T5_XXL, **narrowed}), T5EncoderModel
    with _building("meta", dtype):
        model = cls(config)
    if torch.device(device).type == "meta":
        return model
    model.to_empty(device=device)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "layer_norm" in name:
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.02)
    return model


def _materialise(module: Any, device: torch.device | str) -> Any:
    """Allocate a ``meta``-built module on ``device`` (only there) with small random weights."""
    if torch.device(device).type == "meta":
        return module
    module.to_empty(device=device)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if "norm" in name:
                param.fill_(1.0 if "layer_norm" in name else 0.0)  # Gemma norms scale 1 + w
            else:
                param.normal_(0.0, 0.02)
    return module


def build_gemma3_encoder(device: torch.device | str, dtype: torch.dtype) -> Any:
    """LTX-2's Gemma 3 12B text encoder with random weights, built on ``meta`` and
    materialised on ``device`` only (24 GiB in bf16)."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    from generation.engines.diffusion.architectures import GEMMA3_12B_TEXT, GEMMA3_VISION

    config = Gemma3Config(
        text_config=GEMMA3_12B_TEXT, vision_config=GEMMA3_VISION, mm_tokens_per_image=256
    )
    with _building("meta", dtype):
        model = Gemma3ForConditionalGeneration(config)
    return _materialise(model, device)


def build_ltx2_pipeline(preset: ModelPreset, device: torch.device | str, dtype: torch.dtype) -> Any:
    """LTX-2 image-to-video at full size with random weights (sound path included)."""
    from diffusers import (
        AutoencoderKLLTX2Audio,
        FlowMatchEulerDiscreteScheduler,
        LTX2ImageToVideoPipeline,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    arch = architecture_of(preset)
    assert arch.audio_vae is not None and arch.vocoder is not None
    return LTX2ImageToVideoPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**arch.scheduler),
        vae=build_vae(preset, device, dtype),
        audio_vae=build_module(AutoencoderKLLTX2Audio, arch.audio_vae, device, dtype),
        text_encoder=build_gemma3_encoder(device, dtype),
        tokenizer=_tokenizer(),
        # The class defaults: Gemma 3's 3840 width x 49 hidden states in, 4096 / 2048 out.
        connectors=build_module(LTX2TextConnectors, {}, device, dtype),
        transformer=build_transformer(preset, device, dtype),
        vocoder=build_module(LTX2Vocoder, arch.vocoder, device, dtype),
    )


def _text_encoder(preset: ModelPreset, vocab_size: int) -> Any:
    """One T5 layer of the real width: embeddings of the real shape, negligible cost."""
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    width = architecture_of(preset).text_dim
    small: dict[str, Any] = {
        "vocab_size": vocab_size,
        "d_model": width,
        "d_kv": 64,
        "d_ff": 256,
        "num_layers": 1,
        "num_heads": 1,
    }
    if preset.family == "wan":
        return UMT5EncoderModel(UMT5Config(**small))
    return T5EncoderModel(T5Config(**small))


def build_random_pipeline(
    preset: ModelPreset,
    device: torch.device | str,
    dtype: torch.dtype | dict[str, torch.dtype] = torch.bfloat16,
    full_text_encoder: bool = False,
) -> Any:
    """The preset's image-to-video pipeline at full size with random weights, offline.

    ``dtype`` is a dtype or ``from_pretrained``'s mapping (``"default"`` plus overrides,
    e.g. a float32 VAE), as :func:`generation.engines.diffusion.devices.load_dtypes` returns it.
    ``full_text_encoder``: the real T5-XXL size (for memory figures) instead of one layer.
    """
    import diffusers
    from diffusers import FlowMatchEulerDiscreteScheduler

    if preset.family == "ltx2":
        return build_ltx2_pipeline(preset, device, dtype if isinstance(dtype, torch.dtype) else
                                   dtype.get("default", torch.bfloat16))  # fmt: skip

    def dtype_of(name: str) -> torch.dtype:
        if isinstance(dtype, dict):
            return dtype.get(name, dtype.get("default", torch.float32))
        return dtype

    arch = architecture_of(preset)
    tokenizer = _tokenizer()
    if full_text_encoder:
        text_encoder = build_text_encoder(preset, device, dtype_of("text_encoder"))
    else:
        with _building(device, dtype_of("text_encoder")):
            text_encoder = _text_encoder(preset, len(tokenizer))
    parts: dict[str, Any] = {
        "scheduler": FlowMatchEulerDiscreteScheduler(**arch.scheduler),
        "vae": build_vae(preset, device, dtype_of("vae")),
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": build_transformer(preset, device, dtype_of("transformer")),
    }
    if preset.family == "wan":
        image_encoder = image_processor = None
        if arch.image_encoder is not None:
            from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

            with _building(device, dtype_of("image_encoder")):
                image_encoder = CLIPVisionModel(CLIPVisionConfig(**arch.image_encoder))
            image_processor = CLIPImageProcessor()
        parts.update(image_encoder=image_encoder, image_processor=image_processor)
    cls = getattr(diffusers, preset.i2v_pipeline)
    pipe = cls(**parts, **arch.pipeline_kwargs)
    pipe.to(device)  # no-op for modules already there; sets the execution device
    return pipe


def random_loader(preset: ModelPreset, full_text_encoder: bool = False) -> Any:
    """An engine loader that builds ``preset`` with random weights where the plan places it.

    The engine plans first (placement, batch, dtypes from the free memory) and then calls
    its loader, so a benchmark using this measures the production path: resident,
    offloaded, batched and compiled exactly as real weights would be.
    """

    def load(
        cls_name: str,
        source: str,
        *,
        local_files_only: bool,
        dtype: torch.dtype | dict[str, torch.dtype],
        device: torch.device | None = None,
    ) -> Any:
        del source, local_files_only
        if cls_name != preset.i2v_pipeline:
            raise ValueError(f"{preset.name} loads {preset.i2v_pipeline}, not {cls_name}")
        return build_random_pipeline(
            preset, device or torch.device("cpu"), dtype, full_text_encoder
        )

    load.needs_weights = False  # type: ignore[attr-defined]
    if preset.two_pass is not None:
        # The engine's loading asks for the latent upsampler through this hook.
        load.upsampler = lambda dtype, device: build_upsampler(preset, device, dtype)  # type: ignore[attr-defined]
    return load


def meta_clip_shapes(
    preset: ModelPreset, num_frames: int = 121, height: int = 480, width: int = 832
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(latent shape, decoded shape)`` through the full-size VAE on ``meta``.

    Nothing is allocated: the encoder and decoder run on shape-only tensors, so a VAE
    whose blocks do not match its stated compression is caught without a GPU. The whole
    clip is encoded; the decoder (frame by frame in Wan, slow even on ``meta``) gets the
    first three latent frames, which decode to ``2 * temporal + 1`` frames.
    """
    vae = build_vae(preset, "meta", torch.float32)
    pixels = torch.empty(1, 3, num_frames, height, width, device="meta")
    with torch.no_grad():
        latents = vae.encode(pixels).latent_dist.mode()
        head = latents[:, :, :3]
        if preset.family == "ltx":
            timestep = torch.zeros(1, device="meta")
            decoded = vae.decode(head, timestep, return_dict=False)[0]
        else:
            decoded = vae.decode(head, return_dict=False)[0]
    return tuple(latents.shape), tuple(decoded.shape)
