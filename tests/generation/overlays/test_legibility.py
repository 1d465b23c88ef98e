"""Headline and captions a phone viewer can read: contrast (WCAG) and size, measured.

On the demo store's headphones (a light grey studio photo, the case where white text
sat on light grey) and its watch (a long strap filling a 9:16 frame, the case where the
title was squeezed into a narrow column).
"""

from __future__ import annotations

import numpy as np
import pytest

from generation.compose import Compositor
from generation.engines.motion import MotionEngine
from generation.placement import product_box
from generation.spec import CreativeSpec
from generation.storyboard import RenderConfig, storyboard
from tests.generation.demo_jobs import demo_job, demo_products


def _spec(
    handle: str, aspect: str, long_edge: int, duration: str = "6s", hook: str = "title"
) -> CreativeSpec:
    product = next(p for p in demo_products() if p["handle"] == handle)
    config = RenderConfig(width=long_edge * 9 // 16 // 2 * 2, height=long_edge, fps=4)
    factors = {"aspect": aspect, "duration": duration, "hook": hook}
    return storyboard(demo_job(product, factors), config)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2.x relative luminance of sRGB pixels."""
    c = rgb.astype(np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_headline_contrast_meets_wcag_aa(aspect: str) -> None:
    spec = _spec("over-ear-headphones", aspect, 640)
    engine = MotionEngine()
    compositor = Compositor(spec, None, product_box(engine, spec))
    footage = next(iter(engine.frames(spec.shots[0], spec.width, spec.height, spec.fps)))
    frame = compositor.overlay(compositor.footage(footage), 0)
    title = next(d for d in compositor.drawn if d.layer == "hook" and d.role == "title")
    x0, y0, x1, y1 = title.box
    # Where the glyphs are: opaque text looks the same drawn over black and over white.
    black = np.zeros_like(frame)
    white = np.full_like(frame, 255)
    compositor.hook_layer.blend_into(black)
    compositor.hook_layer.blend_into(white)
    glyph = (np.abs(black.astype(int) - white.astype(int)).max(axis=2) < 8) & (
        _luminance(black) > 0.8
    )
    box = (slice(y0, y1), slice(x0, x1))
    assert glyph[box].mean() > 0.05  # the title is drawn there
    behind = _luminance(frame[box][~glyph[box]])
    text = float(_luminance(frame[box][glyph[box]]).mean())
    # The brightest tenth of what is behind the letters still leaves 4.5:1 (WCAG AA).
    ratio = _contrast(text, float(np.quantile(behind, 0.9)))
    print(f"title contrast {aspect}: {ratio:.2f}:1")
    assert ratio >= 4.5


@pytest.mark.parametrize(("handle", "aspect", "duration", "hook"), [
    ("field-watch-38mm", "9:16", "6s", "title"),
    ("field-watch-38mm", "1:1", "15s", "price"),
    ("field-watch-38mm", "4:5", "15s", "price"),
    ("over-ear-headphones", "16:9", "6s", "title"),
    ("over-ear-headphones", "16:9", "15s", "title"),
])  # fmt: skip
def test_titles_and_captions_are_phone_sized(
    handle: str, aspect: str, duration: str, hook: str
) -> None:
    spec = _spec(handle, aspect, 1920, duration, hook)
    engine = MotionEngine()
    compositor = Compositor(spec, None, product_box(engine, spec))
    short_side = min(spec.width, spec.height)
    # Captions: text at least 56 px on a 1080-px-wide frame; the ink of a capital
    # (about 0.7 of the font size in Noto Sans) measured on the drawn caption.
    for layer in (c for c in compositor.caption_layers if c is not None):
        alpha = np.asarray(layer.alpha)
        ink_rows = np.flatnonzero((alpha == 255).any(axis=1))
        assert ink_rows.size and ink_rows[-1] - ink_rows[0] >= 0.7 * 56 * short_side / 1080
    title = next(d for d in compositor.drawn if d.layer == "hook" and d.role == "title")
    width = title.box[2] - title.box[0]
    height = title.box[3] - title.box[1]
    # The title is a headline, not a column: wider than tall, in at most two lines (of
    # the biggest hook title, 96 px at 1080 px, a line 1.5 font sizes with its shadow).
    assert width > height
    assert height < 2 * 1.5 * 96 * short_side / 1080
