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
    "LTX_DECODE_NOISE_SCALE",
    "LTX_DECODE_TIMESTEP",
    "LTX_DISTILLED_TIMESTEPS",
    "LTX_DOWNSCALE_FACTOR",
    "LTX_FIRST_PASS_SIGMAS",
    "LTX_IMAGE_COND_NOISE_SCALE",
    "LTX_SECOND_PASS_SIGMAS",
    "LTX_TEXT_TOKENS",
    "LTX_UPSCALE_TIMESTEPS",
    "PRESETS",
    "Architecture",
    "MemoryProfile",
    "ModelPreset",
    "ModelWeightsMissing",
    "TwoPass",
    "first_pass_size",
    "get_preset",
    "resolve_source",
]

Family = Literal["ltx", "wan", "ltx2"]


class ModelWeightsMissing(RuntimeError):
    """The preset's weights are neither in a local folder nor in the Hugging Face cache."""


@dataclass(frozen=True)
class MemoryProfile:
    """Approximate peak VRAM (GiB) of one 480p-ish generation, by placement.

    ``resident``: every component on the GPU (fastest). ``model_offload``: one component
    at a time on the GPU (the transformer dominates). Below that, group offload streams
    transformer blocks from host memory. Figures are for bf16 weights, batch 1, VAE tiling
    on. Each further clip of a batch adds its activations: counted from the clip's tokens
    for the hub presets (:func:`generation.engines.diffusion.activations.per_clip_gib`);
    ``per_sample_gib`` is the stated figure of the tiny presets, which have no full size.
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
    # LTXMultiScalePipeline's ``downscale_factor`` (the yaml's 0.6666666, not 2/3: a
    # 480 side gives int(319.99...) -> 288, where 2/3 would give 320).
    first_scale: float = 0.6666666
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
    # The pipeline generates the clip's sound with its frames (LTX-2).
    sound: bool = False


_LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"
_WAN_NEGATIVE = "blurry, static, low quality, distorted, jpeg artifacts, worst quality, text"

# Lightricks' recipe for the 13B 0.9.7 step-distilled checkpoint, exactly as published in
# LTX-Video's configs/ltxv-13b-0.9.7-distilled.yaml (commit 6ff652c "Models: Release
# LTXV-13B-distilled"; the 0.9.8 yaml repeats the lists): ``pipeline_type: multi-scale``,
# ``downscale_factor: 0.6666666``, ``first_pass.timesteps``, ``second_pass.timesteps``,
# guidance_scale 1, decode_timestep 0.05, decode_noise_scale 0.025. The yaml's timesteps
# are sigmas (0..1); diffusers' schedulers take them x1000.
LTX_DOWNSCALE_FACTOR = 0.6666666
LTX_FIRST_PASS_SIGMAS: tuple[float, ...] = (1.0000, 0.9937, 0.9875, 0.9812, 0.9750, 0.9094, 0.7250)
LTX_SECOND_PASS_SIGMAS: tuple[float, ...] = (0.9094, 0.7250, 0.4219)
# LTX-Video's ltx_video/inference.py: ``image_cond_noise_scale`` defaults to 0.15, and its
# pipeline's ``text_encoder_max_tokens`` to 256 (inference.py passes neither).
LTX_IMAGE_COND_NOISE_SCALE = 0.15
LTX_TEXT_TOKENS = 256
LTX_DECODE_TIMESTEP = 0.05
LTX_DECODE_NOISE_SCALE = 0.025


def _diffusers_timesteps(sigmas: tuple[float, ...]) -> tuple[float, ...]:
    # x1000, rounded to the yaml's four decimals (0.9812 * 1000 is 981.1999... in floats).
    return tuple(round(sigma * 1000, 1) for sigma in sigmas)


# The first pass: seven transformer passes; the scheduler ends at sigma 0 by itself (no
# extra 0.03 or 0 step, which would cost a full pass each and barely move the latents).
LTX_DISTILLED_TIMESTEPS: tuple[float, ...] = _diffusers_timesteps(LTX_FIRST_PASS_SIGMAS)
# The second pass starts from the upsampled latents noised to its first sigma (0.9094)
# and runs its three timesteps. ``LTXConditionPipeline`` noises given latents only when
# ``denoise_strength < 1``, to the sigma of the first step it keeps
# (``int(steps * strength)`` steps from the end); so the list carries one leading 1000
# that strength 0.999 drops: int(4 x 0.999) = 3 steps, 909.4 / 725 / 421.9, noised to 0.9094.
LTX_UPSCALE_TIMESTEPS: tuple[float, ...] = (1000.0, *_diffusers_timesteps(LTX_SECOND_PASS_SIGMAS))
_LTX_TWO_PASS = TwoPass(
    upsampler_id="Lightricks/ltxv-spatial-upscaler-0.9.7",
    first_scale=LTX_DOWNSCALE_FACTOR,
    second_timesteps=LTX_UPSCALE_TIMESTEPS,
    denoise_strength=0.999,
    # LTXMultiScalePipeline AdaIN-filters the upsampled latents fully; the 0.9.7 yaml sets
    # no tone mapping (only 0.9.8's second pass has tone_map_compression_ratio 0.6).
    adain_factor=1.0,
    tone_map_compression_ratio=0.0,
)
_LTX_DISTILLED_CALL: dict[str, Any] = {
    "timesteps": list(LTX_DISTILLED_TIMESTEPS),
    "image_cond_noise_scale": LTX_IMAGE_COND_NOISE_SCALE,
    "decode_timestep": LTX_DECODE_TIMESTEP,
    "decode_noise_scale": LTX_DECODE_NOISE_SCALE,
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
            guidance=1.0,  # the yaml's guidance_scale 1: no classifier-free guidance pass
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=40.0, model_offload_gib=30.0),
            max_sequence_length=LTX_TEXT_TOKENS,
            call_kwargs=_LTX_DISTILLED_CALL,
            negative_prompt=_LTX_NEGATIVE,
            batch_distinct_images=False,
            max_batch=4,
            # Lightricks publishes only the multi-scale recipe for this checkpoint; this
            # preset is its first pass run once at the full size (reelcart's shortcut).
            notes="the fast preset: 13B step-distilled LTX-Video 0.9.7 in one pass at full "
            "size with the published first-pass timesteps (7 steps, no CFG); not a "
            "published recipe (that is ltx-video-i2v-2pass)",
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
            # configs/ltxv-2b-0.9.yaml (ltx-video-2b-v0.9): 40 steps, guidance_scale 3,
            # decode timestep 0.05 / noise 0.025 (this VAE has no timestep conditioning,
            # so the decode ignores them). Its STG (stg_scale 1, rescaling_scale 0.7) has
            # no diffusers counterpart and is not run.
            steps=40,
            guidance=3.0,
            dtype="bfloat16",
            memory=MemoryProfile(resident_gib=18.0, model_offload_gib=10.0),
            max_sequence_length=LTX_TEXT_TOKENS,
            call_kwargs={
                "decode_timestep": LTX_DECODE_TIMESTEP,
                "decode_noise_scale": LTX_DECODE_NOISE_SCALE,
            },
            negative_prompt=_LTX_NEGATIVE,
            max_batch=6,
            notes="the small LTX-Video (2B, 0.9.0) with configs/ltxv-2b-0.9.yaml's numbers "
            "less its STG; fits 16-24 GB cards",
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
            memory=MemoryProfile(resident_gib=32.0, model_offload_gib=22.0),
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
            memory=MemoryProfile(resident_gib=60.0, model_offload_gib=40.0),
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
            name="ltx2-i2v-audio",
            architecture=ARCHITECTURES["ltx2-i2v-audio"],
            family="ltx2",
            model_id="Lightricks/LTX-2",
            i2v_pipeline="LTX2ImageToVideoPipeline",
            # Video-to-video with new sound in the same call, from the same modules
            # (generation/engines/diffusion/sound.py: the clip is its condition).
            remix_pipeline="LTX2ConditionPipeline",
            width=768,
            height=512,
            num_frames=121,
            fps=24,
            # LTX2ImageToVideoPipeline's own defaults (30 steps, guidance 3; its STG,
            # modality and audio guidance left at theirs): not a published recipe.
            steps=30,
            guidance=3.0,
            dtype="bfloat16",
            # 19 B transformer (38 GiB in bf16) + Gemma 3 12B (24 GiB) + VAEs, vocoder.
            memory=MemoryProfile(resident_gib=70.0, model_offload_gib=44.0, per_sample_gib=3.0),
            max_sequence_length=1024,
            negative_prompt=_LTX_NEGATIVE,
            batch_distinct_images=False,
            max_batch=1,
            sound=True,
            notes="LTX-2 (19B) image-to-video with its own synchronised sound (ambience, "
            "foley); the sound is mixed under the voiceover and music",
        ),
        ModelPreset(
            name="tiny-ltx2",
            family="ltx2",
            model_id=None,
            i2v_pipeline="LTX2ImageToVideoPipeline",
            remix_pipeline="LTX2ConditionPipeline",
            width=32,
            height=32,
            num_frames=9,
            fps=24,
            steps=2,
            guidance=1.0,
            dtype="float32",
            memory=MemoryProfile(resident_gib=0.1, model_offload_gib=0.1, per_sample_gib=0.01),
            size_multiple=32,
            frame_multiple=8,
            max_sequence_length=16,
            negative_prompt="blurry low quality",
            batch_distinct_images=False,
            max_batch=1,
            sound=True,
            notes="toy LTX-2 pipeline with sound for tests (tests/generation/tiny_pipelines.py)",
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
    memory=MemoryProfile(resident_gib=42.0, model_offload_gib=31.0),
    notes="the distilled LTX-Video 0.9.7 in its published multi-scale recipe "
    "(ltxv-13b-0.9.7-distilled.yaml): 7 steps at 0.6666666 of the size, latent upsampler, "
    "3 refining steps at twice the first pass",
)

DEFAULT_PRESET = "ltx-video-i2v"


def first_pass_size(preset: ModelPreset, width: int, height: int) -> tuple[int, int]:
    """The first pass's ``(width, height)``: ``first_scale`` of the native size, rounded
    down to the preset's size multiple (as the published example rounds), never below it."""
    if preset.two_pass is None:
        raise ValueError(f"model preset {preset.name!r} has no two-pass schedule")
    scale, multiple = preset.two_pass.first_scale, preset.size_multiple

    def down(value: int) -> int:
        scaled = int(value * scale)
        return max(multiple, scaled - scaled % multiple)

    return down(width), down(height)


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
