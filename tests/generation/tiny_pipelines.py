"""Tiny LTX-Video and Wan pipelines built from configs in code, for CPU tests and the bench.

Nothing is downloaded: the tokenizer is a T5 unigram tokenizer over a small in-code
vocabulary, every model is a randomly initialised instance of the real diffusers /
transformers class at toy size. :func:`save_tiny_pipeline` writes a pipeline folder in
the diffusers layout (``model_index.json`` plus one subfolder per component), which the
engine then loads through the real ``from_pretrained`` path, exactly as it would load a
downloaded checkpoint.

Shapes: the toy LTX VAE compresses 4x spatially and 4x temporally with patch size 1; Wan
(the Wan 2.2 TI2V layout: no CLIP image encoder, ``expand_timesteps``, a residual VAE on
2x2-patchified pixels) compresses 16x spatially and 4x temporally, with a 2x2 patch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

__all__ = [
    "TINY_VOCAB",
    "Family",
    "Task",
    "build_tiny_pipeline",
    "product_photo",
    "save_tiny_pipeline",
    "save_tiny_upsampler",
    "saved_tiny_pipeline",
    "saved_tiny_two_pass",
    "tiny_tokenizer",
    "toy_preset",
]

Family = Literal["ltx", "wan", "ltx2"]
Task = Literal["i2v", "t2v", "v2v"]

# Enough whole words for the engine's prompts to tokenize into distinct ids; anything
# else falls back to single letters (then <unk>), which is fine for a random model.
TINY_VOCAB: tuple[str, ...] = tuple(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "and",
        "with",
        "to",
        "product",
        "camera",
        "slow",
        "slowly",
        "push",
        "pull",
        "out",
        "pan",
        "left",
        "right",
        "move",
        "moves",
        "moving",
        "cinematic",
        "studio",
        "light",
        "lighting",
        "shot",
        "showcase",
        "commercial",
        "smooth",
        "steady",
        "close",
        "up",
        "wide",
        "background",
        "soft",
        "detailed",
        "sharp",
        "focus",
        "blurry",
        "low",
        "quality",
        "distorted",
        "static",
        "remix",
        "new",
        "style",
    ]
)


def tiny_tokenizer() -> Any:
    """A T5 unigram tokenizer over :data:`TINY_VOCAB` (no sentencepiece file needed)."""
    from transformers import T5Tokenizer

    pieces = ["<pad>", "</s>", "<unk>"]
    pieces += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += ["▁" + word for word in TINY_VOCAB] + ["▁"]
    return T5Tokenizer(vocab=[(p, 0.0) for p in pieces], extra_ids=0)


def _ltx_components(seed: int) -> dict[str, Any]:
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=2,
        caption_channels=32,
    )
    # Timestep conditioning on, as in LTX-Video >= 0.9.1, so the decode-noise path runs.
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=True,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    return {
        "scheduler": FlowMatchEulerDiscreteScheduler(),
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": transformer,
    }


def _wan_components(seed: int) -> dict[str, Any]:
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    # The Wan 2.2 VAE layout at toy width: residual blocks, 2x2 patchified pixels, 16x
    # spatial / 4x temporal compression (the one diffusers' video-to-video gets wrong).
    vae = AutoencoderKLWan(
        base_dim=8,
        decoder_base_dim=8,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        is_residual=True,
        in_channels=12,
        out_channels=12,
        patch_size=2,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        latents_mean=[0.0] * 16,
        latents_std=[1.0] * 16,
    )
    # in_channels == z_dim: the Wan 2.2 TI2V layout, which also serves video-to-video.
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    return {
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=5.0),
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": transformer,
    }


def _ltx2_components(seed: int) -> dict[str, Any]:
    """LTX-2 at toy width: a Gemma 3 text encoder, its connectors, the audio-video
    transformer, video and audio VAEs and the vocoder, all self-consistent."""
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    layers, width = 2, 16
    text = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=256,
        sliding_window=64,
    )
    vision = SiglipVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    text_encoder = Gemma3ForConditionalGeneration(
        Gemma3Config(
            text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4
        )
    )
    # The connectors read every hidden state of the encoder (layers + embeddings) and
    # hand the transformer ``width``-wide captions (heads x head size).
    connectors = LTX2TextConnectors(
        caption_channels=width,
        text_proj_in_factor=layers + 1,
        video_connector_num_attention_heads=2,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=2,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_double_precision=False,
        rope_type="split",
    )
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        caption_channels=width,
        rope_double_precision=False,
        rope_type="split",
    )
    # One 2x downsampling in space and time (patch 1): 32 px multiples stay whole latents,
    # and a clip encodes to the latent frames its decode expands (a remix's condition).
    vae = AutoencoderKLLTX2Video(
        latent_channels=4,
        block_out_channels=(8,),
        decoder_block_out_channels=(8,),
        layers_per_block=(1,),
        decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False),
        downsample_type=("spatiotemporal",),
        upsample_residual=(False,),
        upsample_factor=(1,),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
    )
    # 16 kHz mel frames every 160 samples (100 per second, as the real audio VAE), and a
    # vocoder upsampling them 4x: 400 samples per second of clip.
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        ch_mult=(1,),
        num_res_blocks=1,
        resolution=32,
        latent_channels=2,
        mel_bins=8,
    )
    vocoder = LTX2Vocoder(
        in_channels=2 * 8,
        hidden_channels=32,
        upsample_kernel_sizes=[4, 4],
        upsample_factors=[2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        output_sampling_rate=400,
    )
    return {
        "scheduler": FlowMatchEulerDiscreteScheduler(),
        "vae": vae,
        "audio_vae": audio_vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "connectors": connectors,
        "transformer": transformer,
        "vocoder": vocoder,
    }


def build_tiny_pipeline(family: Family, task: Task = "i2v", seed: int = 0) -> Any:
    """A randomly initialised toy pipeline of the given family and task (CPU, fp32)."""
    import diffusers

    if family == "ltx":
        components = _ltx_components(seed)
        cls_name = {
            # The class the 0.9.7/0.9.8 checkpoints are saved for (timesteps, conditions).
            "i2v": "LTXConditionPipeline",
            "t2v": "LTXPipeline",
            "v2v": "LTXConditionPipeline",
        }[task]
        return getattr(diffusers, cls_name)(**components)
    if family == "wan":
        components = _wan_components(seed)
        if task == "i2v":
            return diffusers.WanImageToVideoPipeline(
                **components, image_encoder=None, image_processor=None, expand_timesteps=True
            )
        cls = diffusers.WanPipeline if task == "t2v" else diffusers.WanVideoToVideoPipeline
        return cls(**components)
    if family == "ltx2" and task == "i2v":
        return diffusers.LTX2ImageToVideoPipeline(**_ltx2_components(seed))
    raise ValueError(f"unknown family {family!r}")


def save_tiny_pipeline(path: Path, family: Family, task: Task = "i2v", seed: int = 0) -> Path:
    """Build a tiny pipeline and save it as a diffusers folder at ``path``; returns ``path``."""
    pipe = build_tiny_pipeline(family, task, seed)
    # safetensors, as real checkpoints ship; the folder then loads like a downloaded one.
    pipe.save_pretrained(str(path), safe_serialization=True)
    return path


def tiny_upsampler(in_channels: int = 8, seed: int = 0, **config: Any) -> Any:
    """A toy ``LTXLatentUpsamplerModel`` for the tiny LTX latents (8 channels)."""
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    torch.manual_seed(seed)
    # GroupNorm(32, ...) inside: the middle width must be a multiple of 32.
    settings: dict[str, Any] = {"mid_channels": 32, "num_blocks_per_stage": 1, "dims": 3}
    return LTXLatentUpsamplerModel(in_channels=in_channels, **{**settings, **config})


def save_tiny_upsampler(folder: Path, **config: Any) -> Path:
    """Save a tiny upsampler as ``folder/latent_upsampler`` (beside a pipeline's parts)."""
    tiny_upsampler(**config).save_pretrained(str(folder / "latent_upsampler"))
    return folder


_saved: dict[tuple[str, str], Path] = {}


def saved_tiny_pipeline(family: Family, task: Task = "i2v") -> Path:
    """One saved folder per family and task for the whole test process (built on demand).

    Test modules share it without a session fixture in ``conftest.py``; the folder is
    removed when the process exits.
    """
    import atexit
    import shutil
    import tempfile

    key = (family, task)
    if key not in _saved:
        root = Path(tempfile.mkdtemp(prefix=f"tiny-{family}-{task}-"))
        atexit.register(shutil.rmtree, root, True)
        _saved[key] = save_tiny_pipeline(root / "pipe", family, task)
    return _saved[key]


def saved_tiny_two_pass() -> Path:
    """A saved tiny LTX condition pipeline with a tiny latent upsampler beside it."""
    import atexit
    import shutil
    import tempfile

    key = ("ltx", "two-pass")
    if key not in _saved:
        root = Path(tempfile.mkdtemp(prefix="tiny-ltx-two-pass-"))
        atexit.register(shutil.rmtree, root, True)
        _saved[key] = save_tiny_upsampler(save_tiny_pipeline(root / "pipe", "ltx"))
    return _saved[key]


def toy_preset(preset: Any) -> Any:
    """A hub preset with its architecture shrunk to toy width, everything else unchanged.

    Same module classes, same block layout and compression, same pipeline, schedule and
    call arguments: ``--random-init`` code paths run end to end on a CPU in seconds.
    """
    import dataclasses

    arch = preset.architecture
    assert arch is not None
    if preset.family == "ltx":
        transformer = {
            **arch.transformer,
            "in_channels": 8,
            "out_channels": 8,
            "num_attention_heads": 2,
            "attention_head_dim": 8,
            "cross_attention_dim": 16,
            "num_layers": 1,
            "caption_channels": 32,
        }
        vae = {
            **arch.vae,
            "latent_channels": 8,
            # Scaled down keeping the ratios: the decoder's upsamplers halve channels.
            "block_out_channels": tuple(c // 32 for c in arch.vae["block_out_channels"]),
            "decoder_block_out_channels": tuple(
                c // 32 for c in arch.vae["decoder_block_out_channels"]
            ),
            "layers_per_block": (1,) * len(arch.vae["layers_per_block"]),
            "decoder_layers_per_block": (1,) * len(arch.vae["decoder_layers_per_block"]),
        }
    else:
        channels = arch.transformer["out_channels"]
        transformer = {
            **arch.transformer,
            "num_attention_heads": 2,
            "attention_head_dim": 12,
            "text_dim": 32,
            "ffn_dim": 32,
            "num_layers": 1,
            "rope_max_seq_len": 32,
        }
        if arch.image_encoder is not None:
            transformer.update(image_dim=16, added_kv_proj_dim=24)
        vae = {**arch.vae, "base_dim": 4, "num_res_blocks": 1, "z_dim": channels}
        if "decoder_base_dim" in vae:
            vae["decoder_base_dim"] = 4
    image_encoder = None
    if arch.image_encoder is not None:
        image_encoder = {
            **arch.image_encoder,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "projection_dim": 16,
        }
    upsampler = None
    if arch.upsampler is not None:
        upsampler = {**arch.upsampler, "in_channels": 8, "mid_channels": 32}
        upsampler["num_blocks_per_stage"] = 1
    toy = dataclasses.replace(
        arch,
        transformer=transformer,
        vae=vae,
        text_dim=32,
        image_encoder=image_encoder,
        upsampler=upsampler,
    )
    return dataclasses.replace(
        preset, architecture=toy, steps=2, max_sequence_length=16, dtype="float32"
    )


def product_photo(path: Path) -> Path:
    """A 768x768 studio-like product photo (a labelled bottle on a grainy backdrop)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(3)
    base = (200 + rng.normal(0, 12, (768, 768, 3))).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((284, 160, 484, 680), radius=40, fill=(30, 90, 160))
    draw.rectangle((314, 330, 454, 470), fill=(245, 245, 240))
    image.save(path)
    return path
