"""Render one creative: footage engine -> overlays -> H.264 MP4, plus a poster and manifest.

This is the entry point the rest of the app calls. It only reads the shot images and
writes into ``out_dir``; persistence, uploads and orchestration belong to the caller.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from generation.compose import Compositor, Theme
from generation.encode import VideoWriter
from generation.engines.base import FootageEngine, Frame
from generation.spec import CreativeSpec

__all__ = ["ProgressCallback", "RenderedCreative", "build_manifest", "render_creative"]

ProgressCallback = Callable[[int, int], None]
"""Called as ``on_frame(done, total)`` after each frame is handed to the encoder."""

# Output names become file names next to other renders; keep them boring.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_POSTER_QUALITY = 90


@dataclass(frozen=True)
class RenderedCreative:
    """Files produced by :func:`render_creative` and what is in them."""

    video_path: Path
    poster_path: Path
    width: int
    height: int
    fps: int
    frame_count: int
    duration_s: float
    manifest: dict[str, Any] = field(compare=False)


def build_manifest(spec: CreativeSpec, engine_name: str) -> dict[str, Any]:
    """JSON-serialisable description of a creative, for experiment tracking and agents."""
    return {
        "engine": engine_name,
        "factors": dict(spec.factors),
        "shots": [
            {
                "key": shot.key(),
                "motion": shot.motion,
                "duration_s": shot.duration_s,
                "seed": shot.seed,
                "image": str(shot.image_path),
            }
            for shot in spec.shots
        ],
        "title": spec.title,
        "price_text": spec.price_text,
        "cta_text": spec.cta_text,
        "hook": spec.hook,
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "duration_s": spec.duration_s,
        "frame_count": spec.frame_count,
    }


def _check_frame(frame: Frame, spec: CreativeSpec, engine_name: str) -> None:
    expected = (spec.height, spec.width, 3)
    if getattr(frame, "shape", None) != expected or frame.dtype.name != "uint8":
        raise ValueError(
            f"engine {engine_name!r} yielded {getattr(frame, 'dtype', type(frame))} "
            f"{getattr(frame, 'shape', '')}; expected uint8 {expected}"
        )


def _save_poster(frame: Frame, path: Path) -> None:
    # Same write-then-rename discipline as the video: readers never see half a JPEG.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        Image.fromarray(frame).save(tmp, format="JPEG", quality=_POSTER_QUALITY, optimize=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_creative(
    spec: CreativeSpec,
    out_dir: Path,
    engine: FootageEngine,
    name: str,
    *,
    on_frame: ProgressCallback | None = None,
    preset: str = "veryfast",
    theme: Theme | None = None,
) -> RenderedCreative:
    """Render ``spec`` to ``out_dir/<name>.mp4`` and ``out_dir/<name>.jpg``.

    The poster is the first-shot frame where the hook (title and price) has fully faded
    in. Existing files of the same name are replaced atomically. Raises ``ValueError``
    for a bad ``name`` or an engine that breaks its frame contract.
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid output name {name!r}: use letters, digits, '.', '_', '-'")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.mp4"
    poster_path = out_dir / f"{name}.jpg"

    compositor = Compositor(spec, theme)
    total = spec.frame_count
    poster: Frame | None = None
    last: Frame | None = None
    index = 0

    with VideoWriter(video_path, spec.width, spec.height, spec.fps, preset=preset) as writer:

        def emit(frame: Frame) -> None:
            nonlocal index
            writer.write(frame)
            index += 1
            if on_frame is not None:
                on_frame(index, total)

        for shot_no, (shot, count) in enumerate(zip(spec.shots, spec.shot_frames, strict=True)):
            start = index
            footage = engine.frames(shot, spec.width, spec.height, spec.fps)
            for frame in itertools.islice(footage, count):
                _check_frame(frame, spec, engine.name)
                # The writer keeps a reference until encoded, so frames are never reused.
                last = compositor.overlay(frame, index)
                if index == compositor.poster_index:
                    poster = last
                emit(last)
            if index - start != count:
                raise ValueError(
                    f"engine {engine.name!r} yielded {index - start} frames for shot "
                    f"{shot_no}; expected {count}"
                )
        assert last is not None and poster is not None  # spec guarantees >= 1 shot frame
        for frame in compositor.end_card(last):
            emit(frame)

    _save_poster(poster, poster_path)
    return RenderedCreative(
        video_path=video_path,
        poster_path=poster_path,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        frame_count=index,
        duration_s=index / spec.fps,
        manifest=build_manifest(spec, engine.name),
    )
