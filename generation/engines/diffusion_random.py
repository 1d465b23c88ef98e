"""Full-size pipelines with random weights, built offline from the configs in code.

``bench/generation.py --random-init`` uses this to time a preset's real shapes on a GPU
without downloading weights (and without hub access at all): the transformer, the VAE and
(for Wan 2.1 I2V) the CLIP image encoder are built at full size from
:class:`generation.models.Architecture`, directly on the target device in the target
dtype. The text encoder is a *one-layer* T5 of the real width (4096), with a small
in-code tokenizer: prompt embeddings have the real shape ``(1, max_sequence_length,
4096)`` but the multi-billion-parameter encoder is skipped. The engine encodes each
distinct prompt once per campaign, so that stage is not what the benchmark measures.

On the ``meta`` device nothing is allocated: :func:`transformer_parameters` counts a
preset's parameters in well under a second (the presets test does this on the CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from generation.models import Architecture, ModelPreset

__all__ = [
    "architecture_of",
    "build_random_pipeline",
    "build_transformer",
    "build_vae",
    "parameter_count",
    "transformer_parameters",
]

_TRANSFORMERS = {"ltx": "LTXVideoTransformer3DModel", "wan": "WanTransformer3DModel"}
_VAES = {"ltx": "AutoencoderKLLTXVideo", "wan": "AutoencoderKLWan"}
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


def build_transformer(
    preset: ModelPreset, device: torch.device | str = "meta", dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The preset's full-size transformer with random weights (``meta``: shapes only)."""
    import diffusers

    cls = getattr(diffusers, _TRANSFORMERS[preset.family])
    with _building(device, dtype):
        return cls(**architecture_of(preset).transformer)


def build_vae(
    preset: ModelPreset, device: torch.device | str = "meta", dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The preset's full-size VAE with random weights."""
    import diffusers

    cls = getattr(diffusers, _VAES[preset.family])
    with _building(device, dtype):
        return cls(**architecture_of(preset).vae)


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
    preset: ModelPreset, device: torch.device | str, dtype: torch.dtype = torch.bfloat16
) -> Any:
    """The preset's image-to-video pipeline at full size with random weights, offline."""
    import diffusers
    from diffusers import FlowMatchEulerDiscreteScheduler

    arch = architecture_of(preset)
    tokenizer = _tokenizer()
    with _building(device, dtype):
        text_encoder = _text_encoder(preset, len(tokenizer))
    parts: dict[str, Any] = {
        "scheduler": FlowMatchEulerDiscreteScheduler(**arch.scheduler),
        "vae": build_vae(preset, device, dtype),
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": build_transformer(preset, device, dtype),
    }
    if preset.family == "wan":
        image_encoder = image_processor = None
        if arch.image_encoder is not None:
            from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

            with _building(device, dtype):
                image_encoder = CLIPVisionModel(CLIPVisionConfig(**arch.image_encoder))
            image_processor = CLIPImageProcessor()
        parts.update(image_encoder=image_encoder, image_processor=image_processor)
    cls = getattr(diffusers, preset.i2v_pipeline)
    pipe = cls(**parts, **arch.pipeline_kwargs)
    pipe.to(device)  # no-op for modules already there; sets the execution device
    return pipe
