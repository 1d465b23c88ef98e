"""Cuts and the first frame: no ghosted double image, and the hook from frame one.

Measured on the composited frames against the raw footage of both shots at each cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from generation.compose import Compositor
from generation.engines.motion import MotionEngine
from generation.spec import CreativeSpec, ShotSpec
from generation.storyboard import RenderConfig, storyboard
from tests.generation.conftest import draw_product_photo
from tests.generation.demo_jobs import demo_job, demo_products

W, H, FPS = 144, 256, 12


def _footage(spec: CreativeSpec) -> list[np.ndarray]:
    engine, frames = MotionEngine(), []
    for shot, count in zip(spec.shots, spec.shot_frames, strict=True):
        frames += list(engine.frames(shot, W, H, FPS))[:count]
    return frames


def _spec(tmp_path: Path) -> CreativeSpec:
    photo = draw_product_photo(tmp_path / "a.png")
    other = tmp_path / "b.png"
    Image.open(photo).rotate(180).save(other)  # another photo of "the product"
    shots = (
        ShotSpec(photo, "push_in", 1.0, 1),
        ShotSpec(photo, "pan_left", 1.0, 2),  # the same photo again: a different crop
        ShotSpec(other, "pull_out", 1.0, 3),
    )
    return CreativeSpec(
        title="Stoneware Mug", price_text="$24.00", cta_text="Shop now", hook="title",
        shots=shots, factors=(), brand_name="Northwind", width=W, height=H, fps=FPS,
        end_card_s=0.5, burn_captions=False,
    )  # fmt: skip


def _outside_text(compositor: Compositor) -> np.ndarray:
    """Pixels the shots' overlays (and their backdrops) leave alone: pure footage."""
    mask = np.ones((H, W), dtype=bool)
    for layer in (compositor.hook_layer, compositor.info_layer):
        alpha = np.asarray(layer.alpha) > 0
        h, w = alpha.shape
        mask[layer.y : layer.y + h, layer.x : layer.x + w] &= ~alpha
    assert mask.mean() > 0.15  # enough footage left to compare
    return mask


def _diff(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int))[mask].mean())


def test_every_cut_is_clean(tmp_path: Path) -> None:
    """Two shots of one product dissolved into each other show it twice, offset (a
    ghosted double image), whether they are two crops of one photo or two photos."""
    spec = _spec(tmp_path)
    raw = _footage(spec)
    compositor = Compositor(spec)
    out = [compositor.overlay(frame, i) for i, frame in enumerate(raw)]
    mask = _outside_text(compositor)
    for cut in [a for a, _ in spec.scene_frames][1:3]:
        assert _diff(raw[cut - 1], raw[cut], mask) > 5  # the two shots do differ
        # The first frame of the new shot is that shot's own picture, nothing of the last.
        assert _diff(out[cut], raw[cut], mask) < 1.0


def test_the_hook_is_on_the_first_frame(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    raw = _footage(spec)
    compositor = Compositor(spec)
    first = compositor.overlay(raw[0], 0)
    title = next(d for d in compositor.drawn if d.layer == "hook" and d.role == "title")
    x0, y0, x1, y1 = (int(v) for v in title.box)
    changed = np.abs(first[y0:y1, x0:x1].astype(int) - raw[0][y0:y1, x0:x1]).mean()
    later = compositor.overlay(raw[5], 5)
    assert changed > 20
    # Whole at once: frame 0 shows the title as strongly as a later frame does.
    assert np.abs(first[y0:y1, x0:x1].astype(int) - later[y0:y1, x0:x1]).mean() < 0.25 * changed


def _magnification(wide: np.ndarray, close: np.ndarray) -> float:
    """How much ``close`` enlarges part of ``wide``: the scale of the crop of ``wide``
    that, resized to the frame, looks most like ``close`` (searched over scales and
    positions, on grey levels)."""
    grey_wide = Image.fromarray(wide).convert("L")
    target = np.asarray(Image.fromarray(close).convert("L"), dtype=np.float64)
    best = (np.inf, 1.0)
    for scale in np.arange(1.0, 2.61, 0.1):
        w, h = W / scale, H / scale
        for x in np.linspace(0, W - w, 9):
            for y in np.linspace(0, H - h, 9):
                crop = grey_wide.resize((W, H), Image.Resampling.BILINEAR, box=(x, y, x + w, y + h))
                error = float(np.abs(np.asarray(crop, dtype=np.float64) - target).mean())
                best = min(best, (error, float(scale)))
    return best[1]


def test_the_long_cut_takes_a_close_up_of_a_single_photo(tmp_path: Path) -> None:
    product = next(p for p in demo_products() if p["handle"] == "over-ear-headphones")
    assert len(product["images"]) == 1  # one photo only: variety must come from it
    spec = storyboard(demo_job(product, {"duration": "15s"}), RenderConfig(W, H, fps=FPS))
    motions = [shot.motion for shot in spec.shots]
    assert "detail" in motions and len(set(motions)) >= 3
    engine = MotionEngine()
    wide = next(
        iter(engine.frames(ShotSpec(spec.shots[0].image_path, "push_in", 1.0, 1), W, H, FPS))
    )
    close = next(iter(engine.frames(spec.shots[motions.index("detail")], W, H, FPS)))
    assert _magnification(wide, close) >= 1.6
