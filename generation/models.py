"""Model registry: named image-to-video presets and where their weights come from.

A preset says which checkpoint to load, through which diffusers pipeline class, and how to
call it (native resolution, frames, fps, steps, guidance, dtype), plus a memory profile the
device layer uses to choose between keeping everything on the GPU, model offload and
group offload. Weights come from a Hugging Face id (the hub cache is honoured and
``HF_HUB_OFFLINE=1`` is respected, both by ``from_pretrained`` itself) or from a local
folder; when neither is available :class:`ModelWeightsMissing` says how to get them.

The ``tiny-*`` presets have no hub id: they point at a local folder built by
``tests/generation/tiny_pipelines.py`` (the test suite and ``bench/generation.py`` on a CPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_PRESET",
    "PRESETS",
    "Architecture",
    "MemoryProfile",
    "ModelPreset",
    "ModelWeightsMissing",
    "get_preset",
    "resolve_source",
]

Family = Literal["ltx", "wan"]


class ModelWeightsMissing(RuntimeError):
    """The preset's weights are neither in a local folder nor in the Hugging Face cache."""


@dataclass(frozen=True)
class MemoryProfile:
    """Approximate peak VRAM (GiB) of one 480p-ish generation, by placement.

    ``resident``: every component on the GPU (fastest). ``model_offload``: one component
    at a time on the GPU (the transformer dominates). Below that, group offload streams
    transformer blocks from host memory. Figures are for bf16 weights, batch 1, VAE tiling
    on; batches add activation memory roughly per sample (``per_sample``).
    """

    resident_gib: float
    model_offload_gib: float
    per_sample_gib: float = 1.0


@dataclass(frozen=True)
class Architecture:
    """A preset's full-size module hyper-parameters, for building it with random weights.

    The values mirror the published ``config.json`` files of the checkpoints (and the
    diffusers classes' defaults, which were taken from the same checkpoints), so
    ``bench/generation.py --random-init`` can time the real shapes with no hub access.
    ``text_dim`` is the text encoder's hidden size (T5-XXL / UMT5-XXL: 4096): the random
    pipeline uses a one-layer encoder of that width instead of the multi-billion one.
    ``params_b`` is the expected transformer size in billions (``lo``, ``hi``), checked on
    the ``meta`` device by the tests.
    """

    transformer: dict[str, Any]
    vae: dict[str, Any]
    text_dim: int = 4096
    params_b: tuple[float, float] = (0.0, float("inf"))
    # Extra pipeline constructor arguments (e.g. Wan 2.2 TI2V's ``expand_timesteps``).
    pipeline_kwargs: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    # Wan 2.1 I2V conditions on CLIP ViT-H/14 image features (``CLIPVisionConfig`` kwargs).
    image_encoder: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelPreset:
    """Everything needed to load and call one image-to-video model."""

    name: str
    family: Family
    model_id: str | None
    i2v_pipeline: str
    remix_pipeline: str | None
    width: int
    height: int
    num_frames: int
    fps: int
    steps: int
    guidance: float
    dtype: Literal["bfloat16", "float16", "float32"]
    memory: MemoryProfile
    # Spatial size multiple the pipeline needs (VAE compression x patch size).
    size_multiple: int = 32
    # Temporal: frame counts must be k * frame_multiple + 1.
    frame_multiple: int = 8
    max_sequence_length: int = 128
    # Extra keyword arguments for every pipeline call (decode noise, timestep lists, ...).
    call_kwargs: dict[str, Any] = field(default_factory=dict)
    negative_prompt: str = "worst quality, blurry, distorted, jittery, static, low quality"
    # Whether one call may batch *different* conditioning images. diffusers' Wan
    # image-to-video encodes the condition once per generator, so it batches only seeds
    # of the same image; LTX image-to-video encodes per sample.
    batch_distinct_images: bool = True
    # Largest batch worth running in one call (memory permitting).
    max_batch: int = 4
    notes: str = ""
    # Full-size hyper-parameters for random-weight timing runs (None: tiny presets).
    architecture: Architecture | None = None


# --- full-size architectures (mirror the published config.json of each checkpoint) ------
# LTX-Video transformer: the diffusers defaults are the 2B model (28 layers, 32 x 64
# heads); the 13B 0.9.7 model is 48 layers of 32 x 128 heads with 4096-d cross-attention.
_LTX_2B_TRANSFORMER: dict[str, Any] = {
    "in_channels": 128,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 32,
    "attention_head_dim": 64,
    "cross_attention_dim": 2048,
    "num_layers": 28,
    "caption_channels": 4096,
    "qk_norm": "rms_norm_across_heads",
}
_LTX_13B_TRANSFORMER = {
    **_LTX_2B_TRANSFORMER,
    "attention_head_dim": 128,
    "cross_attention_dim": 4096,
    "num_layers": 48,
}
# LTX-Video VAE >= 0.9.1: 32x spatial / 8x temporal, 128 latent channels, timestep-
# conditioned decoder with residual upsampling. The 2B (0.9.1) and 0.9.5+ VAEs differ in
# block layout; for timing, the decoder width and depth are what matter.
_LTX_091_VAE: dict[str, Any] = {
    "latent_channels": 128,
    "block_out_channels": (128, 256, 512, 512),
    "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 3, 3, 3, 4),
    "decoder_layers_per_block": (5, 6, 7, 8),
    "spatio_temporal_scaling": (True, True, True, False),
    "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (True, True, True, False),
    "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2),
    "timestep_conditioning": True,
    "patch_size": 4,
    "patch_size_t": 1,
}
_LTX_097_VAE: dict[str, Any] = {
    "latent_channels": 128,
    "block_out_channels": (256, 512, 1024, 2048),
    "down_block_types": ("LTXVideo095DownBlock3D",) * 4,
    "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2),
    "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True),
    "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2),
    "timestep_conditioning": True,
    "patch_size": 4,
    "patch_size_t": 1,
}
# Wan 2.2 TI2V-5B: 30 layers, 24 x 128 heads (3072-d), 48 latent channels from the
# Wan 2.2 VAE (16x spatial, 4x temporal, 2x2 patchified pixels, residual blocks).
_WAN22_5B_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 24,
    "attention_head_dim": 128,
    "in_channels": 48,
    "out_channels": 48,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 14336,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}
_WAN22_VAE: dict[str, Any] = {
    "base_dim": 160,
    "decoder_base_dim": 256,
    "z_dim": 48,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "temperal_downsample": [False, True, True],
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "patch_size": 2,
    "scale_factor_spatial": 16,
    "scale_factor_temporal": 4,
    # The published per-channel statistics only matter for real weights.
    "latents_mean": [0.0] * 48,
    "latents_std": [1.0] * 48,
}
# Wan 2.1 I2V 14B: the 14B text-to-video backbone (40 layers, 40 x 128 heads, 5120-d)
# plus image cross-attention (CLIP ViT-H/14 features, 1280-d) and 36 input channels
# (16 noise + 4 mask + 16 condition latents): 16.4B parameters in all.
_WAN21_I2V_14B_TRANSFORMER: dict[str, Any] = {
    **_WAN22_5B_TRANSFORMER,
    "num_attention_heads": 40,
    "in_channels": 36,
    "out_channels": 16,
    "ffn_dim": 13824,
    "num_layers": 40,
    "image_dim": 1280,
    "added_kv_proj_dim": 5120,
}
_WAN21_VAE: dict[str, Any] = {}  # the AutoencoderKLWan defaults are the Wan 2.1 VAE
_CLIP_VIT_H14: dict[str, Any] = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 224,
    "projection_dim": 1024,
    "hidden_act": "gelu",
}

ARCHITECTURES: dict[str, Architecture] = {
    "ltx-video-i2v": Architecture(_LTX_13B_TRANSFORMER, _LTX_097_VAE, params_b=(12.5, 13.5)),
    "ltx-video-2b": Architecture(_LTX_2B_TRANSFORMER, _LTX_091_VAE, params_b=(1.9, 2.1)),
    "wan2.2-ti2v-5b": Architecture(
        _WAN22_5B_TRANSFORMER,
        _WAN22_VAE,
        params_b=(4.8, 5.2),
        pipeline_kwargs={"expand_timesteps": True},
        scheduler={"shift": 5.0},
    ),
    "wan2.1-i2v-14b-480p": Architecture(
        _WAN21_I2V_14B_TRANSFORMER,
        _WAN21_VAE,
        params_b=(16.0, 16.8),
        scheduler={"shift": 3.0},
        image_encoder=_CLIP_VIT_H14,
    ),
}


_LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"
_WAN_NEGATIVE = "blurry, static, low quality, distorted, jpeg artifacts, worst quality, text"

PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        ModelPreset(
            name="ltx-video-i2v",
            architecture=ARCHITECTURES["ltx-video-i2v"],
            family="ltx",
            model_id="Lightricks/LTX-Video-0.9.7-distilled",
            i2v_pipeline="LTXImageToVideoPipeline",
            remix_pipeline="LTXConditionPipeline",
            width=832,
            height=480,
            num_frames=121,
            fps=24,
            steps=8,
            guidance=1.0,  # guidance-distilled: no classifier-free guidance pass
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=40.0, model_offload_gib=30.0, per_sample_gib=3.0),
            call_kwargs={"decode_timestep": 0.05, "decode_noise_scale": 0.025},
            negative_prompt=_LTX_NEGATIVE,
            max_batch=6,
            notes="the fast preset: 13B step-distilled LTX-Video, 8 steps, no CFG",
        ),
        ModelPreset(
            name="ltx-video-2b",
            architecture=ARCHITECTURES["ltx-video-2b"],
            family="ltx",
            model_id="Lightricks/LTX-Video",
            i2v_pipeline="LTXImageToVideoPipeline",
            remix_pipeline="LTXConditionPipeline",
            width=832,
            height=480,
            num_frames=121,
            fps=24,
            steps=30,
            guidance=3.0,
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=18.0, model_offload_gib=10.0, per_sample_gib=2.0),
            call_kwargs={"decode_timestep": 0.05, "decode_noise_scale": 0.025},
            negative_prompt=_LTX_NEGATIVE,
            max_batch=6,
            notes="the small LTX-Video (2B); fits 16-24 GB cards",
        ),
        ModelPreset(
            name="wan2.2-ti2v-5b",
            architecture=ARCHITECTURES["wan2.2-ti2v-5b"],
            family="wan",
            model_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            i2v_pipeline="WanImageToVideoPipeline",
            remix_pipeline="WanVideoToVideoPipeline",
            width=1280,
            height=704,
            num_frames=121,
            fps=24,
            steps=50,
            guidance=5.0,
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=32.0, model_offload_gib=22.0, per_sample_gib=6.0),
            size_multiple=32,
            frame_multiple=4,
            max_sequence_length=512,
            negative_prompt=_WAN_NEGATIVE,
            batch_distinct_images=False,
            max_batch=2,
            notes="the product-faithful preset: Wan 2.2 TI2V 5B at 720p",
        ),
        ModelPreset(
            name="wan2.1-i2v-14b-480p",
            architecture=ARCHITECTURES["wan2.1-i2v-14b-480p"],
            family="wan",
            model_id="Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
            i2v_pipeline="WanImageToVideoPipeline",
            remix_pipeline=None,  # its transformer takes image channels; no video-to-video
            width=832,
            height=480,
            num_frames=81,
            fps=16,
            steps=40,
            guidance=5.0,
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=60.0, model_offload_gib=40.0, per_sample_gib=4.0),
            size_multiple=16,
            frame_multiple=4,
            max_sequence_length=512,
            negative_prompt=_WAN_NEGATIVE,
            batch_distinct_images=False,
            max_batch=2,
            notes="Wan 2.1 14B image-to-video at 480p (CLIP image conditioning)",
        ),
        ModelPreset(
            name="tiny-ltx",
            family="ltx",
            model_id=None,
            i2v_pipeline="LTXImageToVideoPipeline",
            remix_pipeline="LTXConditionPipeline",
            width=32,
            height=32,
            num_frames=9,
            fps=8,
            steps=2,
            guidance=3.0,  # exercises the classifier-free guidance path
            dtype="float32",
            memory=MemoryProfile(resident_gib=0.1, model_offload_gib=0.1, per_sample_gib=0.01),
            size_multiple=32,  # LTX pipelines check multiples of 32 whatever the VAE
            frame_multiple=4,
            max_sequence_length=16,
            call_kwargs={"decode_timestep": 0.05, "decode_noise_scale": 0.025},
            negative_prompt="blurry low quality",
            notes="toy LTX pipeline for tests (tests/generation/tiny_pipelines.py)",
        ),
        ModelPreset(
            name="tiny-wan",
            family="wan",
            model_id=None,
            i2v_pipeline="WanImageToVideoPipeline",
            remix_pipeline="WanVideoToVideoPipeline",
            width=32,
            height=32,
            num_frames=9,
            fps=8,
            steps=2,
            guidance=3.0,
            dtype="float32",
            memory=MemoryProfile(resident_gib=0.1, model_offload_gib=0.1, per_sample_gib=0.01),
            size_multiple=16,
            frame_multiple=4,
            max_sequence_length=16,
            negative_prompt="blurry low quality",
            batch_distinct_images=False,
            notes="toy Wan 2.2 TI2V-style pipeline for tests",
        ),
    )
}
PRESETS["tiny"] = PRESETS["tiny-ltx"]

DEFAULT_PRESET = "ltx-video-i2v"


def get_preset(name: str) -> ModelPreset:
    """The preset called ``name``; a clear error listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown model preset {name!r}; expected one of {sorted(PRESETS)}"
        ) from None


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def missing_weights_message(preset: ModelPreset, model_dir: Path | None) -> str:
    """How to get the weights of ``preset`` (shown when loading fails)."""
    if preset.model_id is None:
        where = f" at {model_dir}" if model_dir else ""
        return (
            f"model preset {preset.name!r} loads from a local folder and none was found{where}. "
            "Build it with tests/generation/tiny_pipelines.py "
            "(save_tiny_pipeline(path, family)) or run bench/generation.py --preset "
            f"{preset.name}, then set REELCART_MODEL_DIR to the folder."
        )
    lines = [
        f"the weights of model preset {preset.name!r} ({preset.model_id}) are not available"
        + (f" at {model_dir}" if model_dir else " in the Hugging Face cache")
        + ".",
        "Get them with one of:",
        f"  huggingface-cli download {preset.model_id}   (or `hf download {preset.model_id}`)"
        " on a machine with hub access, then keep HF_HOME pointing at that cache;",
        f"  a local folder in the diffusers layout: REELCART_MODEL_DIR=/path/to/{preset.name}.",
    ]
    if _hub_offline():
        lines.append("HF_HUB_OFFLINE is set, so nothing is downloaded on demand.")
    return "\n".join(lines)


def resolve_source(preset: ModelPreset, model_dir: Path | None = None) -> tuple[str, bool]:
    """Where to load ``preset`` from: ``(path or hub id, local_files_only)``.

    A ``model_dir`` override wins and must hold a diffusers folder (``model_index.json``).
    Otherwise the hub id is used; ``local_files_only`` follows ``HF_HUB_OFFLINE`` so an
    offline worker fails fast with :class:`ModelWeightsMissing` instead of retrying.
    """
    if model_dir is not None:
        folder = Path(model_dir).expanduser()
        if not (folder / "model_index.json").is_file():
            raise ModelWeightsMissing(missing_weights_message(preset, folder))
        return str(folder), True
    if preset.model_id is None:
        raise ModelWeightsMissing(missing_weights_message(preset, None))
    return preset.model_id, _hub_offline()
