"""Device, dtype and memory placement for diffusion pipelines.

CUDA runs in the preset's dtype (bf16), Apple MPS in fp16/fp32 (bf16 support there is
partial), the CPU always in fp32. Placement on CUDA is chosen from the *free* VRAM reported
by ``torch.cuda.mem_get_info`` against the preset's memory profile: everything resident,
model CPU offload, or group offload with CUDA streams. No CUDA-only call is made unless
``torch.cuda.is_available()``; ``torch.compile`` is opt-in and only on CUDA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import torch

from generation.models import ModelPreset

__all__ = [
    "DevicePlan",
    "Placement",
    "apply_placement",
    "apply_speed_options",
    "choose_placement",
    "pick_device",
    "plan_device",
    "synchronize",
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
    mem = preset.memory
    usable = free_gib - _HEADROOM_GIB
    extra = mem.per_sample_gib * max(0, batch - 1)
    if usable >= mem.resident_gib + extra:
        # Tiling costs a little speed; skip it only when decode activations clearly fit.
        tiling = usable < (mem.resident_gib + extra) * 1.25
        return "resident", tiling
    if usable >= mem.model_offload_gib + extra:
        return "model_offload", True
    return "group_offload", True


def plan_device(preset: ModelPreset, preferred: str | None = None, batch: int = 1) -> DevicePlan:
    """Device, dtype and placement for ``preset`` on this machine."""
    device = pick_device(preferred)
    dtype = _dtype_for(device, preset)
    if device.type != "cuda":
        return DevicePlan(device, dtype)
    free, _total = torch.cuda.mem_get_info(device)
    free_gib = free / _GIB
    placement, tiling = choose_placement(preset, free_gib, batch)
    return DevicePlan(device, dtype, placement, tiling, free_gib)


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


def apply_speed_options(
    pipe: Any,
    plan: DevicePlan,
    *,
    compile_blocks: bool = False,
    attention_backend: str | None = None,
    first_block_cache: float | None = None,
) -> list[str]:
    """Opt-in speed-ups; returns what was applied (for logs and the benchmark).

    Each option degrades to a logged no-op when the platform cannot use it, so turning
    them on in settings never breaks a CPU worker.
    """
    applied: list[str] = []
    transformer = getattr(pipe, "transformer", None)
    if transformer is None:
        return applied
    if attention_backend:
        try:
            transformer.set_attention_backend(attention_backend)
            applied.append(f"attention={attention_backend}")
        except Exception as exc:  # missing kernels package, unsupported GPU, ...
            log.warning(
                "attention backend %r unavailable (%s); using the default", attention_backend, exc
            )
    if first_block_cache:
        from diffusers import FirstBlockCacheConfig

        transformer.enable_cache(FirstBlockCacheConfig(threshold=first_block_cache))
        applied.append(f"first_block_cache={first_block_cache}")
    if compile_blocks:
        if plan.is_cuda and plan.placement == "resident":
            # Regional compilation: the repeated blocks only, so compile time stays short.
            transformer.compile_repeated_blocks(fullgraph=True, dynamic=False)
            applied.append("compile=repeated_blocks")
        else:
            log.warning("torch.compile skipped: only used on CUDA with resident weights")
    return applied


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock stage time means something."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
