"""Compositing in YUV 4:2:0 gives the picture that compositing in RGB and converting would.

References are independent of the code under test: the BT.601 limited-range equations
(ITU-R BT.601-7, section 2.5) computed here in float, PIL's own RGB alpha blending, and
the frames FFmpeg decodes from the files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import generation.encode as encode
import generation.yuv as yuv
from generation.compose import Compositor
from generation.encode import VideoWriter
from generation.engines.motion import MotionEngine
from generation.footage import FootageCache
from generation.overlays.layers import Layer
from generation.render import render_creative
from generation.spec import CreativeSpec, ShotSpec
from generation.yuv import Yuv420, YuvLayer, dissolve


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _smooth_picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Natural-looking footage: random colours at 1/8 scale, blown up bilinearly."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    return np.array(Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR))


def _bt601(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, Cb, Cr (Cb and Cr averaged over 2x2 blocks) by the BT.601 equations."""
    r, g, b = (rgb[..., i].astype(np.float64) / 255 for i in range(3))
    luma = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b

    def half(plane: np.ndarray) -> np.ndarray:
        return (plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2]) / 4

    return luma, half(cb), half(cr)


def test_rgb_converts_by_the_bt601_equations() -> None:
    rgb = _smooth_picture(64, 48)
    rgb[:8, :8] = (255, 255, 255)
    rgb[8:16, :8] = (0, 0, 0)
    rgb[16:24, :8] = (200, 30, 60)
    picture = Yuv420.from_rgb(rgb)
    luma, cb, cr = _bt601(rgb)
    assert (picture.width, picture.height) == (64, 48)
    assert np.abs(picture.y - luma).max() <= 1.0
    # Chroma is subsampled with FFmpeg's filter, not a plain box: close on smooth pictures.
    assert np.abs(picture.u - cb).mean() < 1.0 and np.abs(picture.v - cr).mean() < 1.0
    assert picture.y[0, 0] == 235 and picture.y[8, 0] == 16  # white and black, limited range
    assert _psnr(picture.to_rgb(), rgb) > 30  # and back, less what 4:2:0 drops


def test_a_thumbnail_sample_agrees_with_swscale() -> None:
    picture = Yuv420.from_rgb(_smooth_picture(96, 160, seed=3))
    step = 8
    assert (
        np.abs(
            picture.sample_rgb(step).astype(int) - picture.to_rgb()[::step, ::step].astype(int)
        ).max()
        <= 4
    )


def test_pictures_that_are_not_even_i420_buffers_are_refused() -> None:
    with pytest.raises(ValueError, match="I420"):
        Yuv420(np.zeros((135, 71), dtype=np.uint8))
    with pytest.raises(ValueError, match="I420"):
        Yuv420(np.zeros((134, 72), dtype=np.uint8))
    with pytest.raises(ValueError, match="contiguous"):
        Yuv420(np.zeros((135, 144), dtype=np.uint8)[:, ::2])
    odd_rows = Yuv420(np.zeros((135, 72), dtype=np.uint8))  # 90 rows: chroma of 22.5 rows
    assert odd_rows.u.shape == odd_rows.v.shape == (45, 36)


@pytest.fixture
def text_layer(make_spec: Callable[..., CreativeSpec]) -> Layer:
    """A real overlay (the hook: scrim, title, price), moved to odd coordinates."""
    hook = Compositor(make_spec(hook="price")).hook_layer
    return Layer(hook.rgb, hook.alpha, hook.x | 1, hook.y | 1)


@pytest.mark.parametrize("opacity", [1.0, 0.4])
def test_a_layer_blended_in_yuv_equals_the_rgb_blend_converted(
    text_layer: Layer, opacity: float
) -> None:
    footage = _smooth_picture(360, 640, seed=1)
    blended = footage.copy()
    text_layer.blend_into(blended, opacity)
    want = Yuv420.from_rgb(blended)
    got = Yuv420.from_rgb(footage)
    YuvLayer(text_layer).blend_into(got, opacity)
    for plane in ("y", "u", "v"):
        assert _psnr(getattr(got, plane), getattr(want, plane)) > 45, plane
    # The layer did show: under it, the picture is not the footage's.
    w, h = text_layer.alpha.size
    box = (slice(text_layer.y, text_layer.y + h), slice(text_layer.x, text_layer.x + w))
    assert _psnr(got.y[box], Yuv420.from_rgb(footage).y[box]) < 35


def test_a_dissolve_is_the_linear_mix() -> None:
    a = Yuv420.from_rgb(_smooth_picture(64, 48, seed=1))
    b = Yuv420.from_rgb(_smooth_picture(64, 48, seed=2))
    mixed = dissolve(a, b, 0.3)
    want = a.data * 0.7 + b.data * 0.3
    assert np.abs(mixed.data - want).max() <= 1.0
    assert mixed.data is not a.data and mixed.data is not b.data


def test_the_writer_encodes_yuv_pictures_as_given(tmp_path: Path) -> None:
    pictures = [Yuv420.from_rgb(_smooth_picture(64, 48, seed=i)) for i in range(6)]
    with VideoWriter(tmp_path / "v.mp4", 64, 48, 10, crf=8) as writer:
        for picture in pictures:
            writer.write(picture)
        with pytest.raises(ValueError, match="64x48"):
            writer.write(Yuv420.from_rgb(_smooth_picture(32, 48)))
    with av.open(str(tmp_path / "v.mp4")) as container:
        decoded = [Yuv420.from_video_frame(f) for f in container.decode(video=0)]
    assert len(decoded) == len(pictures)
    for got, sent in zip(decoded, pictures, strict=True):
        assert _psnr(got.data, sent.data) > 40


W, H, FPS = 360, 640, 15


def test_cached_footage_decodes_to_the_mezzanine_pictures(
    product_photo: Path, tmp_path: Path
) -> None:
    shot = ShotSpec(product_photo, "push_in", 1.0, 1)
    same = FootageCache(MotionEngine(), tmp_path / "same")
    got = list(same.yuv_frames(shot, W, H, FPS))
    with av.open(str(same.entry(shot, W, H, FPS).path)) as container:
        plain = [Yuv420.from_video_frame(f) for f in container.decode(video=0)]
    assert len(got) == len(plain) == 15
    assert all(np.array_equal(a.data, b.data) for a, b in zip(got, plain, strict=True))
    assert all(p.data.flags.writeable for p in got)

    # From a square master: a 1:1-pixel cut (even corner) of the decoded master ...
    square = FootageCache(MotionEngine(), tmp_path / "square", (640, 640))
    cut = list(square.yuv_frames(shot, W, H, FPS))
    with av.open(str(square.entry(shot, 640, 640, FPS).path)) as container:
        masters = [Yuv420.from_video_frame(f) for f in container.decode(video=0)]
    rgb_cut = list(square.frames(shot, W, H, FPS))
    left = next(
        x for x in range(0, 640 - W + 1, 2) if np.array_equal(cut[0].y, masters[0].y[:, x : x + W])
    )
    for picture, master, rgb in zip(cut, masters, rgb_cut, strict=True):
        assert np.array_equal(picture.y, master.y[:, left : left + W])
        assert np.array_equal(picture.u, master.u[:, left // 2 : (left + W) // 2])
        assert _psnr(picture.to_rgb(), rgb) > 35  # the RGB path's cut, within a pixel
    # ... and where scaling is needed, exactly the RGB path's picture, converted.
    scaled = list(square.yuv_frames(shot, 180, 320, FPS))
    rgb_scaled = list(square.frames(shot, 180, 320, FPS))
    assert all(
        np.array_equal(p.data, Yuv420.from_rgb(r).data)
        for p, r in zip(scaled, rgb_scaled, strict=True)
    )


def test_a_render_from_cached_footage_converts_no_frame(
    make_spec: Callable[..., CreativeSpec],
    product_photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shots = tuple(ShotSpec(product_photo, m, 0.8, s) for s, m in ((1, "push_in"), (2, "pan_left")))
    spec = make_spec(shots=shots, width=W, height=H, fps=FPS)
    cache = FootageCache(MotionEngine(), tmp_path / "footage")
    for shot in shots:  # generated (and converted for its mezzanine) once, beforehand
        cache.entry(shot, W, H, FPS)
    conversions = {"to_yuv": 0, "from_rgb": 0}
    real_to_yuv, real_from_rgb = VideoWriter._to_yuv, Yuv420.from_rgb.__func__  # type: ignore[attr-defined]

    def counted_to_yuv(self: VideoWriter, rgb: np.ndarray) -> av.VideoFrame:
        conversions["to_yuv"] += 1
        return real_to_yuv(self, rgb)

    def counted_from_rgb(cls: type[Yuv420], rgb: np.ndarray) -> Yuv420:
        conversions["from_rgb"] += 1
        return real_from_rgb(cls, rgb)  # type: ignore[no-any-return]

    monkeypatch.setattr(encode.VideoWriter, "_to_yuv", counted_to_yuv)
    monkeypatch.setattr(yuv.Yuv420, "from_rgb", classmethod(counted_from_rgb))
    done = render_creative(spec, tmp_path / "out", cache, "ad")
    assert done.frame_count == spec.frame_count
    failed = {c["name"] for c in done.manifest["qa"]["checks"] if not c["passed"]}
    assert failed <= {"price_matches_catalog"}, failed  # the spec names no catalog price
    # One conversion: the end card, drawn once in RGB. Nothing per frame.
    assert conversions == {"to_yuv": 0, "from_rgb": 1}
    # The same render from the engine's RGB frames converts each footage frame once.
    conversions.update(to_yuv=0, from_rgb=0)
    render_creative(spec, tmp_path / "raw", MotionEngine(), "ad")
    assert conversions == {"to_yuv": 0, "from_rgb": sum(spec.shot_frames) + 1}
