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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from generation.engines.diffusion.architectures import ARCHITECTURES, Architecture

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_PRESET",
    "LTX_DISTILLED_TIMESTEPS",
    "LTX_UPSCALE_TIMESTEPS",
    "PRESETS",
    "Architecture",
    "MemoryProfile",
    "ModelPreset",
    "ModelWeightsMissing",
    "TwoPass",
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
class TwoPass:
    """The distilled multi-scale schedule: low-resolution pass, latent upsampler, refine.

    The first pass runs the preset's own timesteps at ``first_scale`` of the native size
    (rounded down to the size multiple); the latent upsampler doubles its latents'
    height and width; the second pass starts from them noised to ``denoise_strength``
    and runs ``second_timesteps``; the decoded frames are then resized to the render
    size like any other. ``upsampler_id`` is the hub folder holding the upsampler in its
    ``subfolder``; with a local model folder, the upsampler is that folder's
    ``subfolder``.
    """

    upsampler_id: str | None
    subfolder: str = "latent_upsampler"
    first_scale: float = 2 / 3
    second_timesteps: tuple[float, ...] = ()
    denoise_strength: float = 0.999
    adain_factor: float = 1.0
    tone_map_compression_ratio: float = 0.0


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
    # Extra keyword arguments for every pipeline call (decode noise, timestep lists, ...),
    # checked against the pipeline's call signature when it is loaded. ``decode_timestep``
    # and ``decode_noise_scale`` also drive the engine's own per-sample decode.
    call_kwargs: dict[str, Any] = field(default_factory=dict)
    # Components kept in float32 whatever ``dtype`` says (the Wan VAE and CLIP encoder).
    fp32_components: tuple[str, ...] = ()
    negative_prompt: str = "worst quality, blurry, distorted, jittery, static, low quality"
    # Whether one call may batch *different* conditioning images. diffusers' Wan
    # image-to-video and LTXConditionPipeline share their conditions across a batch (a
    # list of images means keyframes), so they batch only seeds of one photo;
    # LTXImageToVideoPipeline encodes one image per sample.
    batch_distinct_images: bool = True
    # Largest batch worth running in one call (memory permitting).
    max_batch: int = 4
    notes: str = ""
    # Full-size hyper-parameters for random-weight timing runs (None: tiny presets).
    architecture: Architecture | None = None
    # The two-pass (multi-scale) schedule, for the step-distilled LTX checkpoints.
    two_pass: TwoPass | None = None


_LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"
_WAN_NEGATIVE = "blurry, static, low quality, distorted, jpeg artifacts, worst quality, text"

# The single-pass schedule Lightricks publishes for the 0.9.7/0.9.8 step-distilled
# checkpoints (ltxv-13b-0.9.7-distilled.yaml; the diffusers LTX docs use the same list
# with LTXConditionPipeline): eight timesteps on the 0..1000 scale, no guidance.
LTX_DISTILLED_TIMESTEPS: tuple[float, ...] = (1000, 993, 987, 981, 975, 909, 725, 0.03)
# The second (refining) pass of the published multi-scale schedule, after the latent
# upsampler, at denoise strength 0.999 (ltxv-13b-0.9.7-distilled.yaml, the diffusers docs).
LTX_UPSCALE_TIMESTEPS: tuple[float, ...] = (1000, 909, 725, 421, 0)
_LTX_TWO_PASS = TwoPass(
    upsampler_id="Lightricks/ltxv-spatial-upscaler-0.9.7",
    second_timesteps=LTX_UPSCALE_TIMESTEPS,
    denoise_strength=0.999,
    adain_factor=1.0,
)
_LTX_DISTILLED_CALL: dict[str, Any] = {
    "timesteps": list(LTX_DISTILLED_TIMESTEPS),
    "image_cond_noise_scale": 0.0,
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
}

PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        ModelPreset(
            name="ltx-video-i2v",
            architecture=ARCHITECTURES["ltx-video-i2v"],
            family="ltx",
            model_id="Lightricks/LTX-Video-0.9.7-distilled",
            # The distilled checkpoint is saved for the condition pipeline, the only LTX
            # pipeline that takes its published timesteps.
            i2v_pipeline="LTXConditionPipeline",
            remix_pipeline="LTXConditionPipeline",
            width=832,
            height=480,
            num_frames=121,
            fps=24,
            steps=len(LTX_DISTILLED_TIMESTEPS),
            guidance=1.0,  # guidance-distilled: no classifier-free guidance pass
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=40.0, model_offload_gib=30.0, per_sample_gib=3.0),
            call_kwargs=_LTX_DISTILLED_CALL,
            negative_prompt=_LTX_NEGATIVE,
            batch_distinct_images=False,
            max_batch=4,
            notes="the fast preset: 13B step-distilled LTX-Video 0.9.7, 8 steps, no CFG",
        ),
        ModelPreset(
            name="ltx-video-2b",
            architecture=ARCHITECTURES["ltx-video-2b"],
            family="ltx",
            # The diffusers folder at the root of this repository is the 0.9.0 release
            # (its VAE has no timestep conditioning), and so is the architecture.
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
            negative_prompt=_LTX_NEGATIVE,
            max_batch=6,
            notes="the small LTX-Video (2B, 0.9.0); fits 16-24 GB cards",
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
            fp32_components=("vae",),
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
            fp32_components=("vae", "image_encoder"),
            negative_prompt=_WAN_NEGATIVE,
            batch_distinct_images=False,
            max_batch=2,
            notes="Wan 2.1 14B image-to-video at 480p (CLIP image conditioning); no remix",
        ),
        ModelPreset(
            name="tiny-ltx",
            family="ltx",
            model_id=None,
            i2v_pipeline="LTXConditionPipeline",
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
            call_kwargs={
                "image_cond_noise_scale": 0.0,
                "decode_timestep": 0.05,
                "decode_noise_scale": 0.025,
            },
            negative_prompt="blurry low quality",
            batch_distinct_images=False,
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
            size_multiple=32,  # the Wan 2.2 layout: 16x VAE x 2x2 patches
            frame_multiple=4,
            max_sequence_length=16,
            fp32_components=("vae",),
            negative_prompt="blurry low quality",
            batch_distinct_images=False,
            notes="toy Wan 2.2 TI2V-style pipeline for tests (16x VAE, expand_timesteps)",
        ),
    )
}
PRESETS["tiny"] = PRESETS["tiny-ltx"]
PRESETS["ltx-video-i2v-2pass"] = replace(
    PRESETS["ltx-video-i2v"],
    name="ltx-video-i2v-2pass",
    architecture=ARCHITECTURES["ltx-video-i2v-2pass"],
    two_pass=_LTX_TWO_PASS,
    # The refining pass runs at twice the first pass (4/3 of the native size).
    memory=MemoryProfile(resident_gib=42.0, model_offload_gib=31.0, per_sample_gib=5.0),
    notes="the distilled LTX-Video 0.9.7 in its published two passes: 2/3 size, "
    "latent upsampler, 4 refining steps; sharper than one pass, about twice the time",
)

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
