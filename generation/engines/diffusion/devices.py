"""Device, dtype and memory placement for diffusion pipelines.

CUDA runs in the preset's dtype (bf16), Apple MPS in fp16/fp32 (bf16 support there is
partial), the CPU always in fp32. Placement on CUDA is chosen from the *free* VRAM reported
by ``torch.cuda.mem_get_info`` *before* the weights are loaded, against the preset's memory
profile, together with the largest batch that fits: everything resident, model CPU
offload, or group offload with CUDA streams. Components the model authors run in float32
(the Wan VAE and image encoder) stay in float32. No CUDA-only call is made unless the
plan's device is CUDA.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from generation.engines.diffusion.presets import ModelPreset

__all__ = [
    "DevicePlan",
    "Placement",
    "apply_placement",
    "choose_placement",
    "load_dtypes",
    "park_text_encoder",
    "pick_device",
    "plan_device",
    "plan_for_memory",
    "synchronize",
    "text_encoder_on_device",
    "with_parked_text_encoder",
]

log = logging.getLogger(__name__)

Placement = Literal["resident", "model_offload", "group_offload"]
_GIB = 1 << 30
# Headroom kept free for the CUDA context, allocator fragmentation and other processes.
_HEADROOM_GIB = 1.5


@dataclass(frozen=True)
class DevicePlan:
    """Where and how a pipeline runs."""

    device: torch.device
    dtype: torch.dtype
    placement: Placement = "resident"
    vae_tiling: bool = False
    free_gib: float | None = None
    # Largest batch of clips one pipeline call may run under this placement.
    batch: int = 1
    # Where the text encoder waits between encodings (None: where the rest is). A resident
    # GPU plan parks it on the host: T5-XXL is 8.9 GiB in bf16 that denoising never uses.
    text_encoder_home: torch.device | None = None

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"


def pick_device(preferred: str | None = None) -> torch.device:
    """``preferred`` if given (e.g. ``"cuda:1"``), else CUDA, else MPS, else the CPU."""
    if preferred:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {preferred!r} requested but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _dtype_for(device: torch.device, preset: ModelPreset) -> torch.dtype:
    wanted: torch.dtype = getattr(torch, preset.dtype)
    if device.type == "cuda":
        if wanted == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            return torch.float16
        return wanted
    if device.type == "mps":
        return torch.float32 if wanted == torch.float32 else torch.float16
    # CPU: bf16 matmuls are slow and lossy on most CPUs; fp32 is the honest default.
    return torch.float32


def choose_placement(
    preset: ModelPreset, free_gib: float, batch: int = 1
) -> tuple[Placement, bool]:
    """Placement and whether to tile the VAE, for ``free_gib`` of free VRAM.

    Pure function of the numbers, so it is tested without a GPU.
    """
    from generation.engines.diffusion.activations import per_clip_gib

    mem = preset.memory
    usable = free_gib - _HEADROOM_GIB
    extra = per_clip_gib(preset) * max(0, batch - 1)
    if usable >= mem.resident_gib + extra:
        # Tiling costs a little speed; skip it only when decode activations clearly fit.
        tiling = usable < (mem.resident_gib + extra) * 1.25
        return "resident", tiling
    if usable >= mem.model_offload_gib + extra:
        return "model_offload", True
    return "group_offload", True


def plan_for_memory(
    preset: ModelPreset, device: torch.device, dtype: torch.dtype, free_gib: float
) -> DevicePlan:
    """The fastest placement for ``free_gib`` of free memory, with the largest batch it fits.

    Resident wins whenever one clip fits resident; the batch is then the largest (up to
    ``preset.max_batch``) whose activations fit too. Offloaded placements run one clip
    per call. Pure function of the numbers, so it is tested without a GPU.
    """
    for batch in range(max(1, preset.max_batch), 0, -1):
        placement, tiling = choose_placement(preset, free_gib, batch)
        if placement == "resident":
            return DevicePlan(device, dtype, "resident", tiling, free_gib, batch)
    placement, tiling = choose_placement(preset, free_gib, 1)
    return DevicePlan(device, dtype, placement, tiling, free_gib, 1)


def plan_device(
    preset: ModelPreset, preferred: str | None = None, placement: Placement | None = None
) -> DevicePlan:
    """Device, dtype, placement and batch for ``preset`` on this machine, before loading.

    ``placement`` forces one (the GPU check compares all three frame for frame).
    """
    device = pick_device(preferred)
    dtype = _dtype_for(device, preset)
    if device.type != "cuda":
        if placement not in (None, "resident"):
            raise ValueError(f"placement {placement!r} needs a CUDA device, not {device}")
        return DevicePlan(device, dtype, batch=max(1, preset.max_batch))
    free, _total = torch.cuda.mem_get_info(device)
    plan = plan_for_memory(preset, device, dtype, free / _GIB)
    if placement is not None and placement != plan.placement:
        batch = plan.batch if placement == "resident" else 1
        plan = DevicePlan(device, dtype, placement, plan.vae_tiling, plan.free_gib, batch)
    return with_parked_text_encoder(plan)


def with_parked_text_encoder(plan: DevicePlan) -> DevicePlan:
    """A resident CUDA plan parks the text encoder on the host between encodings; the
    offloading placements already move it off the GPU after use."""
    if plan.is_cuda and plan.placement == "resident":
        return replace(plan, text_encoder_home=torch.device("cpu"))
    return plan


def load_dtypes(preset: ModelPreset, plan: DevicePlan) -> torch.dtype | dict[str, torch.dtype]:
    """``from_pretrained``'s ``dtype``: the plan's, except the preset's float32 components."""
    if not preset.fp32_components or plan.dtype == torch.float32:
        return plan.dtype
    return {"default": plan.dtype, **dict.fromkeys(preset.fp32_components, torch.float32)}


def apply_placement(pipe: Any, plan: DevicePlan) -> None:
    """Move ``pipe`` to the plan's device, or install offload hooks."""
    if plan.placement == "resident":
        pipe.to(plan.device)
    elif plan.placement == "model_offload":
        pipe.enable_model_cpu_offload(device=plan.device)
    else:
        # Leaf-level groups with a side stream overlap weight transfers with compute.
        pipe.enable_group_offload(
            onload_device=plan.device,
            offload_device=torch.device("cpu"),
            offload_type="leaf_level",
            use_stream=True,
        )
    vae = getattr(pipe, "vae", None)
    if plan.vae_tiling and vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()


def park_text_encoder(pipe: Any, plan: DevicePlan) -> None:
    """Send the text encoder to the plan's home for it (and give its memory back)."""
    encoder = getattr(pipe, "text_encoder", None)
    if plan.text_encoder_home is None or encoder is None:
        return
    encoder.to(plan.text_encoder_home)
    if plan.is_cuda:
        torch.cuda.empty_cache()  # the 8.9 GiB go back to the device, not only the cache


@contextmanager
def text_encoder_on_device(pipe: Any, plan: DevicePlan) -> Iterator[None]:
    """The text encoder on the plan's device for the block, parked again after it."""
    encoder = getattr(pipe, "text_encoder", None)
    if plan.text_encoder_home is None or encoder is None:
        yield
        return
    encoder.to(plan.device)
    try:
        yield
    finally:
        park_text_encoder(pipe, plan)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock stage time means something."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
