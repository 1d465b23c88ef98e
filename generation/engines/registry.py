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
        raise NotImplementedError(
            "the diffusion engine (diffusers image-to-video on a GPU) is not built yet; "
            "set REELCART_ENGINE=motion"
        )
    raise ValueError(f"unknown engine {name!r}; expected one of {ENGINES}")
