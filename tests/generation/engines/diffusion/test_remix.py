"""Remix is video-to-video: the whole source clip, noised to the strength, then denoised.

Tiny LTX and Wan 2.2-layout pipelines (a 16x VAE, as the real 5B has) loaded from disk.
With random weights the VAE does not reproduce its input, so "near the source" is
measured against the source's own round trip through the model at a vanishing strength
(one step from almost no noise), frame by frame.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import get_preset
from tests.generation.tiny_pipelines import Family, saved_tiny_pipeline

W, H, FPS = 64, 64, 8


def moving_clip(frames: int = 9, phase: int = 0) -> np.ndarray:
    """A gradient backdrop with a bright square that moves a few pixels per frame."""
    y, x = np.mgrid[0:H, 0:W]
    clip = np.empty((frames, H, W, 3), np.uint8)
    for i in range(frames):
        clip[i, ..., 0] = (x * 4) % 256
        clip[i, ..., 1] = (y * 4) % 256
        clip[i, ..., 2] = 90
        left = 8 + 4 * i + phase
        clip[i, 20:40, left : left + 16] = (250, 240, 60)
    return clip


def engine_for(family: Family) -> DiffusionEngine:
    # Ten steps so that strengths resolve to tenths; no guidance pass, to halve the cost.
    preset = dataclasses.replace(get_preset(f"tiny-{family}"), steps=10, guidance=1.0)
    if family == "wan":  # 64x64: a 4x4 latent, so the source's motion survives the 16x VAE
        preset = dataclasses.replace(preset, width=64, height=64)
    return DiffusionEngine(preset, model_dir=saved_tiny_pipeline(family))


def per_frame_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(float) - b.astype(float)).mean(axis=(1, 2, 3))


@pytest.mark.parametrize("family", ["ltx", "wan"])
def test_low_strength_stays_near_the_source_at_every_frame(family: Family) -> None:
    engine = engine_for(family)
    source = moving_clip()

    def remix(clip: np.ndarray, strength: float) -> np.ndarray:
        frames = engine.remix(clip, "remix new style", strength=strength, seed=3, fps=FPS)
        return np.stack(list(frames))

    round_trip = remix(source, 0.1)  # one step from little noise: the model's view of it
    low, mid, high = remix(source, 0.2), remix(source, 0.4), remix(source, 1.0)
    assert low.shape == high.shape == source.shape
    near, middle, far = (per_frame_distance(c, round_trip) for c in (low, mid, high))
    # Every frame moves away from the source as the strength grows.
    assert (near < middle).all() and (middle < far).all(), (near, middle, far)
    assert (near < 0.8 * far).all(), (near, far)
    # The whole clip matters, not its first frame: a source that differs from the first
    # only after frame 0 gives another remix at those frames.
    other = source.copy()
    other[1:] = moving_clip(phase=12)[1:]
    moved = per_frame_distance(remix(other, 0.2), low)
    assert (moved[3:] > 0.2).all(), moved  # mean absolute difference, 0..255


def test_a_preset_that_cannot_remix_says_so_before_loading() -> None:
    engine = DiffusionEngine("wan2.1-i2v-14b-480p")
    with pytest.raises(ValueError, match="cannot remix"):
        list(engine.remix(moving_clip(), "remix", strength=0.5))
    assert engine.plan is None  # nothing was loaded
