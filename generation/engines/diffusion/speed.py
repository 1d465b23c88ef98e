"""Opt-in speed options of the diffusion engine, decided once when the pipeline loads.

- **Attention backend.** diffusers' ``set_attention_backend`` sets a backend on every
  attention module and, as a side effect, the process-wide active backend. The fast kernels
  (``flash``, ``_flash_3``, ``sage``, ``_native_flash``, ...) refuse an attention mask, and
  LTX-Video passes a float mask to its cross-attention (``attn2``), so LTX would crash on
  its first forward. Here the backend goes only where no mask is ever passed: LTX
  self-attention (``attn1``), every Wan attention. The process-wide state is not touched,
  and :func:`release` restores whatever this module changed when an engine closes.
- **FirstBlockCache with regional compilation** (``fullgraph=True``) fails inside the
  cache hook; the pair is refused at load with a clear error. A cache buys little at the
  distilled preset's 7 steps anyway.
- **Regional compilation** compiles the transformer's repeated blocks with automatic
  dynamic shapes, so a new batch size or aspect compiles once more at most (dynamic from
  then on), not once per batch size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from generation.engines.diffusion.devices import DevicePlan
from generation.engines.diffusion.presets import ModelPreset

__all__ = [
    "SpeedOptions",
    "apply_attention_backend",
    "apply_speed_options",
    "check_speed_options",
    "compile_blocks",
    "release",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeedOptions:
    """What the engine was asked for (settings ``REELCART_DIFFUSION_COMPILE`` and co.)."""

    compile_blocks: bool = False
    attention_backend: str | None = None
    first_block_cache: float | None = None
    # torch.compile backend; "inductor" on GPUs, "eager" lets the tests count graphs.
    compile_backend: str = "inductor"


@dataclass
class Applied:
    """What was applied to one pipeline, and how to undo the process-wide part."""

    names: list[str] = field(default_factory=list)
    attention_modules: list[Any] = field(default_factory=list)


def check_speed_options(options: SpeedOptions) -> None:
    """Refuse combinations that cannot work, before anything is loaded."""
    if options.compile_blocks and options.first_block_cache:
        raise ValueError(
            "first_block_cache and compile_blocks cannot be combined: the cache hook breaks "
            "torch.compile(fullgraph=True) of the repeated blocks. Turn one of them off "
            "(REELCART_FIRST_BLOCK_CACHE or REELCART_DIFFUSION_COMPILE)."
        )
    if options.first_block_cache is not None and not 0.0 < options.first_block_cache < 1.0:
        raise ValueError(
            f"first_block_cache threshold must be in (0, 1), got {options.first_block_cache!r}"
        )
    if options.attention_backend:
        from diffusers.models.attention_dispatch import AttentionBackendName

        known = {b.value for b in AttentionBackendName}
        if options.attention_backend.lower() not in known:
            raise ValueError(
                f"unknown attention backend {options.attention_backend!r}; "
                f"expected one of {sorted(known)}"
            )


def _attention_targets(preset: ModelPreset, transformer: Any) -> list[Any]:
    """Attention modules that never receive a mask: where a fast kernel is valid."""
    from diffusers.models.attention import AttentionModuleMixin
    from diffusers.models.attention_processor import Attention

    modules = []
    for name, module in transformer.named_modules():
        if not isinstance(module, (Attention, AttentionModuleMixin)):
            continue
        processor = getattr(module, "processor", None)
        if processor is None or not hasattr(processor, "_attention_backend"):
            continue
        # LTX: attn1 is self-attention (no mask); attn2 is masked cross-attention.
        if preset.family == "ltx" and not name.endswith("attn1"):
            continue
        modules.append(module)
    return modules


def apply_attention_backend(
    preset: ModelPreset, transformer: Any, backend: str, applied: Applied
) -> None:
    """Set ``backend`` on the mask-free attention modules only; skip it if unusable here."""
    from diffusers.models.attention_dispatch import (
        AttentionBackendName,
        _check_attention_backend_requirements,
        _maybe_download_kernel_for_backend,
    )

    name = AttentionBackendName(backend.lower())
    try:
        _check_attention_backend_requirements(name)
        _maybe_download_kernel_for_backend(name)
    except Exception as exc:  # missing kernels package, no hub access, ...
        log.warning("attention backend %r unavailable (%s); using the default", backend, exc)
        applied.names.append(f"attention=default ({backend} unavailable)")
        return
    targets = _attention_targets(preset, transformer)
    for module in targets:
        module.processor._attention_backend = name
    applied.attention_modules.extend(targets)
    scope = "self-attention" if preset.family == "ltx" else "all"
    applied.names.append(f"attention={name.value} ({scope}, {len(targets)} modules)")


def compile_blocks(transformer: Any, backend: str = "inductor") -> None:
    """Regional compilation with automatic dynamic shapes (no recompile per batch size)."""
    transformer.compile_repeated_blocks(fullgraph=True, dynamic=None, backend=backend)


def apply_speed_options(
    pipe: Any, preset: ModelPreset, plan: DevicePlan, options: SpeedOptions
) -> Applied:
    """Apply the options to a loaded, placed pipeline; returns what was applied."""
    check_speed_options(options)
    applied = Applied()
    transformer = getattr(pipe, "transformer", None)
    if transformer is None:
        return applied
    if options.attention_backend:
        apply_attention_backend(preset, transformer, options.attention_backend, applied)
    if options.first_block_cache:
        from diffusers import FirstBlockCacheConfig

        transformer.enable_cache(FirstBlockCacheConfig(threshold=options.first_block_cache))
        applied.names.append(f"first_block_cache={options.first_block_cache}")
    if options.compile_blocks:
        if options.compile_backend != "inductor" or (plan.is_cuda and plan.placement == "resident"):
            compile_blocks(transformer, options.compile_backend)
            applied.names.append("compile=repeated_blocks")
        else:
            log.warning("torch.compile skipped: only used on CUDA with resident weights")
    return applied


def release(applied: Applied) -> None:
    """Undo what :func:`apply_speed_options` set outside the pipeline's own modules."""
    for module in applied.attention_modules:
        module.processor._attention_backend = None
    applied.attention_modules.clear()
