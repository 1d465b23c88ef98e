"""The fast compositing path draws the same picture as a plain PIL composite.

The renderer draws on frames the footage cache hands over (no copy), keeps the last
shot's last picture for the end card, and decodes footage ahead on a reader thread; each
shortcut is checked here against a straightforward reference.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation.compose import Compositor
from generation.engines.motion import MotionEngine
from generation.footage import FootageCache
from generation.overlays.layers import Layer
from generation.prefetch import prefetch
from generation.render import render_creative
from generation.spec import CreativeSpec, ShotSpec
from generation.yuv import Yuv420

W, H, FPS = 360, 640, 15


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _over(base: Image.Image, layer: Layer | None, opacity: float = 1.0) -> Image.Image:
    """``layer`` composited over ``base`` (RGBA) with PIL's own alpha compositing."""
    if layer is None or opacity <= 0:
        return base
    alpha = np.asarray(layer.alpha, dtype=np.float64) * opacity
    rgba = layer.rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.round(alpha).astype(np.uint8)))
    sheet = Image.new("RGBA", base.size, (0, 0, 0, 0))
    sheet.paste(rgba, (layer.x, layer.y))
    return Image.alpha_composite(base, sheet)


def _reference(
    spec: CreativeSpec, compositor: Compositor, footage: list[np.ndarray]
) -> list[np.ndarray]:
    """Every shot frame composited the plain way: RGBA alpha compositing."""
    plan = compositor.plan
    starts = [start for start, _ in spec.scene_frames]
    out: list[np.ndarray] = []
    for index, frame in enumerate(footage):
        scene = bisect.bisect_right(starts, index) - 1
        picture = frame.astype(np.float64)
        base = Image.fromarray(np.round(picture).astype(np.uint8)).convert("RGBA")
        # The hook is whole from the first frame.
        base = _over(base, plan.hook) if scene == 0 else _over(base, plan.info)
        if scene < len(plan.captions):
            base = _over(base, plan.captions[scene])
        out.append(np.asarray(base.convert("RGB")))
    return out


@pytest.fixture
def spec(make_spec: Callable[..., CreativeSpec], product_photo: Path) -> CreativeSpec:
    shots = tuple(
        ShotSpec(product_photo, motion, 0.8, seed)
        for seed, motion in enumerate(("push_in", "pan_left", "pull_out"), 1)
    )
    return make_spec(
        shots=shots,
        hook="price",
        width=W,
        height=H,
        fps=FPS,
        lines=("Small batch", "Fits most mugs", "Rinses clean", "Shop now"),
        burn_captions=True,
    )


def test_fast_composite_matches_a_plain_pil_composite(spec: CreativeSpec, tmp_path: Path) -> None:
    cache = FootageCache(MotionEngine(), tmp_path / "footage")
    footage = [f for shot in spec.shots for f in cache.frames(shot, W, H, FPS)]
    assert all(f.flags.writeable for f in footage)  # handed over: drawn on in place
    compositor = Compositor(spec)
    assert any(c is not None for c in compositor.caption_layers)
    expected = _reference(spec, compositor, footage)
    fast = [compositor.overlay(f.copy(), i, owned=True) for i, f in enumerate(footage)]
    copied = Compositor(spec)
    safe = [copied.overlay(f, i) for i, f in enumerate(footage)]
    for index, (got, want, other) in enumerate(zip(fast, expected, safe, strict=True)):
        assert _psnr(got, want) > 45, (index, _psnr(got, want))
        assert np.array_equal(got, other), index  # owned or copied: the same picture
    # The reference is not trivially equal to the footage: the overlays show.
    assert _psnr(expected[0], footage[0]) < 45 or _psnr(expected[-1], footage[-1]) < 45
    cut = spec.scene_frames[1][0]
    assert _psnr(fast[cut], footage[cut]) < 40  # the strip is drawn from the cut on


def test_composite_in_yuv_is_what_the_rgb_composite_hands_the_encoder(
    spec: CreativeSpec, tmp_path: Path
) -> None:
    """The renderer's path: decoded YUV footage drawn on in place, the end card included,
    against the plain RGB composite converted as the encoder converts RGB frames."""
    cache = FootageCache(MotionEngine(), tmp_path / "footage")
    footage = [f for shot in spec.shots for f in cache.frames(shot, W, H, FPS)]
    pictures = [p for shot in spec.shots for p in cache.yuv_frames(shot, W, H, FPS)]
    compositor = Compositor(spec)
    expected = _reference(spec, compositor, footage)
    got = [compositor.overlay(p, i, owned=True) for i, p in enumerate(pictures)]
    rgb = Compositor(spec)
    rgb_frames = [rgb.overlay(f, i) for i, f in enumerate(footage)]
    for index, (picture, want) in enumerate(zip(got, expected, strict=True)):
        assert isinstance(picture, Yuv420)
        assert _psnr(picture.data, Yuv420.from_rgb(want).data) > 45, index
    card, card_rgb = list(compositor.end_card()), list(rgb.end_card(rgb_frames[-1]))
    assert len(card) == len(card_rgb) == spec.end_card_frames
    for picture, want in zip(card, card_rgb, strict=True):
        assert isinstance(picture, Yuv420)
        assert _psnr(picture.data, Yuv420.from_rgb(want).data) > 45


def test_footage_decoded_ahead_equals_a_plain_decode(product_photo: Path, tmp_path: Path) -> None:
    cache = FootageCache(MotionEngine(), tmp_path / "footage")
    shot = ShotSpec(product_photo, "push_in", 1.0, 1)
    ahead = list(cache.frames(shot, W, H, FPS))
    with av.open(str(cache.entry(shot, W, H, FPS).path)) as container:
        plain = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(ahead) == len(plain) == 15
    assert all(np.array_equal(a, b) for a, b in zip(ahead, plain, strict=True))
    assert len({id(f) for f in ahead}) == len(ahead)  # fresh arrays, no reused buffer


def test_prefetch_keeps_order_raises_in_the_caller_and_stops_when_closed() -> None:
    assert list(prefetch(iter(range(50)), 3)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    got = prefetch(failing(), 2)
    assert next(got) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(got)

    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    items = prefetch(endless(), 2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()  # type: ignore[attr-defined]
    assert closed.is_set() and threading.active_count() == before


class _ShortEngine:
    """Yields one frame too few for its last shot: the render must fail cleanly."""

    name = "short"

    def __init__(self, spec: CreativeSpec) -> None:
        self.spec, self.inner = spec, MotionEngine()

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[np.ndarray]:
        frames = list(self.inner.frames(shot, width, height, fps))
        yield from frames[:-1] if shot is self.spec.shots[-1] else frames


def test_a_failed_render_leaves_no_poster_preview_or_partial_file(
    spec: CreativeSpec, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="expected"):
        render_creative(spec, tmp_path / "out", _ShortEngine(spec), "ad")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_stills_written_beside_the_gate_are_removed_when_it_fails(
    spec: CreativeSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generation.render as render

    def broken_gate(*args: object, **kwargs: object) -> None:
        raise OSError("gate could not read the file")

    monkeypatch.setattr(render, "run_gate", broken_gate)
    with pytest.raises(OSError, match="gate could not"):
        render_creative(spec, tmp_path / "out", MotionEngine(), "ad")
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    # The video itself was whole before the gate ran; no poster, preview or temporary file.
    assert not [n for n in left if n.endswith((".jpg", ".webp", ".part"))], left
