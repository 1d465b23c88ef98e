"""The CPU motion engine: frame contract, determinism and actual camera movement."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from generation.engines.base import FootageEngine
from generation.engines.motion import MAX_ZOOM, MotionEngine, camera_path
from generation.spec import MOTIONS, ShotSpec

WIDTH, HEIGHT, FPS = 144, 256, 12


def _frames(shot: ShotSpec, engine: MotionEngine | None = None) -> list[np.ndarray]:
    return list((engine or MotionEngine()).frames(shot, WIDTH, HEIGHT, FPS))


def test_satisfies_engine_protocol() -> None:
    assert isinstance(MotionEngine(), FootageEngine)
    assert MotionEngine().name == "motion"


@pytest.mark.parametrize("motion", sorted(MOTIONS))
def test_frame_contract_and_motion(product_photo: Path, motion: str) -> None:
    frames = _frames(ShotSpec(product_photo, motion, 1.0, 3))
    assert len(frames) == 12
    for frame in frames:
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    # The camera never stands still: every frame differs from the one before it.
    for before, after in itertools.pairwise(frames):
        assert np.abs(before.astype(np.int16) - after).mean() > 0.05


def test_same_shot_gives_identical_frames(product_photo: Path) -> None:
    shot = ShotSpec(product_photo, "pan_right", 0.5, 11)
    first, second = _frames(shot), _frames(shot)  # separate engines, no shared cache
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_seed_and_motion_change_the_footage(product_photo: Path) -> None:
    base = _frames(ShotSpec(product_photo, "push_in", 0.5, 1))
    other_seed = _frames(ShotSpec(product_photo, "push_in", 0.5, 2))
    other_motion = _frames(ShotSpec(product_photo, "pan_left", 0.5, 1))
    assert not np.array_equal(base[-1], other_seed[-1])
    assert not np.array_equal(base[-1], other_motion[-1])
    assert not np.array_equal(base[0], other_motion[0])


@pytest.mark.parametrize("seed", range(40))
def test_camera_paths_stay_within_canvas_zoom(seed: int) -> None:
    for motion in MOTIONS:
        start, end = camera_path(motion, seed, 0.56)
        for view in (start, end):
            # zoom <= MAX_ZOOM keeps every view a downscale of the canvas (sharp frames);
            # a close-up on a detail enlarges the canvas up to about 2x, by design.
            top = 2.45 if motion == "detail" else MAX_ZOOM + 1e-9
            assert 1.0 <= view.zoom <= top
            x0, y0, x1, y1 = view.box(1.0, 1.0)
            assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0


def test_camera_directions() -> None:
    push = camera_path("push_in", 5, 0.56)
    pull = camera_path("pull_out", 5, 0.56)
    assert push[1].zoom > push[0].zoom and pull[1].zoom < pull[0].zoom
    left = camera_path("pan_left", 5, 0.56)
    right = camera_path("pan_right", 5, 0.56)
    assert left[1].cx < left[0].cx and right[1].cx > right[0].cx


def test_pan_moves_the_picture_sideways(product_photo: Path) -> None:
    """pan_left: the camera travels left, so the scene slides right in the frame."""
    frames = _frames(ShotSpec(product_photo, "pan_left", 1.0, 0))

    def bottle_x(frame: np.ndarray) -> float:
        blue = (frame[..., 2].astype(int) - frame[..., 0]) > 60  # the bottle is the blue part
        return float(np.nonzero(blue)[1].mean())

    assert bottle_x(frames[-1]) > bottle_x(frames[0]) + 1


@pytest.mark.parametrize(("size", "mode"), [((300, 500), "RGB"), ((260, 180), "RGBA")])
def test_odd_photos(
    tmp_path: Path, photo_factory: Callable[..., Path], size: tuple[int, int], mode: str
) -> None:
    photo = photo_factory(tmp_path / f"photo_{mode}.png", size, mode)
    frames = _frames(ShotSpec(photo, "push_in", 0.25, 0))
    assert len(frames) == 3 and frames[0].shape == (HEIGHT, WIDTH, 3)
