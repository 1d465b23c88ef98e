"""Footage engines by name; each worker process keeps one warm instance per engine."""

from __future__ import annotations

from functools import cache

from .base import FootageEngine

__all__ = ["ENGINES", "get_engine"]

ENGINES = ("motion", "diffusion")


@cache
def get_engine(name: str) -> FootageEngine:
    """The engine called ``name``, created once per process (model loads are expensive)."""
    if name == "motion":
        from .motion import MotionEngine

        return MotionEngine()
    if name == "diffusion":
        # Imported lazily: torch and diffusers take seconds to import and CPU-only
        # workers running the motion engine never need them.
        from generation.engines.diffusion.engine import DiffusionEngine
        from reelcart.settings import get_settings

        s = get_settings()
        return DiffusionEngine(
            s.diffusion_preset,
            model_dir=s.model_dir,
            device=s.diffusion_device,
            compile_blocks=s.diffusion_compile,
            attention_backend=s.attention_backend,
            first_block_cache=s.first_block_cache,
        )
    raise ValueError(f"unknown engine {name!r}; expected one of {ENGINES}")
