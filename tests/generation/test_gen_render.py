"""End-to-end render: files, format, frame count, poster, manifest, progress."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation.compose import Compositor
from generation.encode import probe_video
from generation.engines.motion import MotionEngine
from generation.render import render_creative
from generation.spec import CreativeSpec, ShotSpec

MANIFEST_KEYS = {
    "engine", "factors", "shots", "title", "price_text", "cta_text", "hook",
    "width", "height", "fps", "duration_s", "frame_count", "aspect", "lines", "ai_label",
    "audio", "provenance", "layout", "qa",
}  # fmt: skip


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture
def two_shot_spec(make_spec: Callable[..., CreativeSpec], product_photo: Path) -> CreativeSpec:
    return make_spec(
        shots=(
            ShotSpec(product_photo, "push_in", 1.0, 1),
            ShotSpec(product_photo, "pan_left", 0.75, 2),
        ),
        end_card_s=0.5,
    )


def test_render_produces_a_valid_creative(two_shot_spec: CreativeSpec, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    result = render_creative(
        two_shot_spec,
        tmp_path / "out",
        MotionEngine(),
        "prod-1_title",
        on_frame=lambda done, total: progress.append((done, total)),
    )
    expected_frames = round(two_shot_spec.duration_s * two_shot_spec.fps)
    assert expected_frames == 27

    assert result.video_path == tmp_path / "out" / "prod-1_title.mp4"
    assert result.poster_path == tmp_path / "out" / "prod-1_title.jpg"
    # No script in this spec, so no caption sidecars; the preview is always there.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "prod-1_title.jpg",
        "prod-1_title.mp4",
        "prod-1_title.webp",
    ]
    info = probe_video(result.video_path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.fps) == (144, 256, 12)
    assert info.faststart
    assert info.frame_count == expected_frames == len(_decode(result.video_path))
    assert info.duration_s == pytest.approx(two_shot_spec.duration_s, abs=1e-3)
    assert (result.frame_count, result.fps) == (expected_frames, 12)
    assert result.duration_s == pytest.approx(2.25)

    with Image.open(result.poster_path) as poster:
        assert poster.format == "JPEG" and poster.size == (144, 256)

    assert progress == [(i, expected_frames) for i in range(1, expected_frames + 1)]

    manifest = json.loads(json.dumps(result.manifest))  # JSON round trip must be lossless
    assert manifest == result.manifest
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["engine"] == "motion"
    assert manifest["factors"] == {"cta": "shop_now", "hook": "title"}
    assert manifest["price_text"] == "$24.00"
    assert manifest["frame_count"] == expected_frames
    assert [s["key"] for s in manifest["shots"]] == [s.key() for s in two_shot_spec.shots]
    assert [s["motion"] for s in manifest["shots"]] == ["push_in", "pan_left"]


def test_overlays_and_end_card_are_visible(two_shot_spec: CreativeSpec, tmp_path: Path) -> None:
    result = render_creative(two_shot_spec, tmp_path, MotionEngine(), "c")
    frames = [f.astype(np.int16) for f in _decode(result.video_path)]
    poster_index = Compositor(two_shot_spec).poster_index
    raw = next(
        frame
        for i, frame in enumerate(MotionEngine().frames(two_shot_spec.shots[0], 144, 256, 12))
        if i == poster_index
    ).astype(np.int16)

    top = slice(25, 90)  # the headline zone
    # The hook (title and price) is drawn over the footage at the poster frame.
    assert np.abs(frames[poster_index][top] - raw[top]).mean() > 10
    # The end card looks nothing like the opening (centre of the frame compared).
    middle = slice(60, 200)
    assert np.abs(frames[-1][middle] - frames[poster_index][middle]).mean() > 20
    # ...and holds still once faded in.
    assert np.abs(frames[-1] - frames[-2]).mean() < 1.0


def test_hooks_open_differently(make_spec: Callable[..., CreativeSpec], tmp_path: Path) -> None:
    posters = {}
    for hook in ("title", "price"):
        result = render_creative(make_spec(hook=hook), tmp_path, MotionEngine(), hook)
        posters[hook] = np.asarray(Image.open(result.poster_path), dtype=np.int16)
    assert np.abs(posters["title"][25:110] - posters["price"][25:110]).mean() > 8


class _ShortEngine:
    name = "short"

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[np.ndarray]:
        yield np.zeros((height, width, 3), np.uint8)


class _WrongSizeEngine:
    name = "wrong-size"

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[np.ndarray]:
        while True:
            yield np.zeros((height, width + 2, 3), np.uint8)


@pytest.mark.parametrize(
    ("engine", "message"),
    [(_ShortEngine(), "yielded 1 frames"), (_WrongSizeEngine(), "expected uint8")],
)
def test_engine_contract_violations_fail_cleanly(
    make_spec: Callable[..., CreativeSpec], tmp_path: Path, engine: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render_creative(make_spec(), tmp_path / "out", engine, "bad")  # type: ignore[arg-type]
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 200])
def test_rejects_unsafe_names(
    make_spec: Callable[..., CreativeSpec], tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match="invalid output name"):
        render_creative(make_spec(), tmp_path, MotionEngine(), name)
