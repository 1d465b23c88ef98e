"""Footage cache: each distinct shot is generated once, at a master size, and reused.

Variants that differ only in copy, CTA or aspect ratio show the same shots. The cache
asks the engine for a shot once (keyed by :meth:`ShotSpec.key`, the engine, the master
size and fps), keeps it on disk as a high-quality H.264 mezzanine file, and serves every
later request by decoding it and reframing to the requested size around the product
(:mod:`generation.reframe`). Memory stays flat: a 15 s master at 1080x1920 would be
2.8 GB of raw frames, its mezzanine file a few tens of MB.

:class:`FootageCache` is itself a :class:`~generation.engines.base.FootageEngine`, so the
renderer takes it wherever it takes an engine.

Footage an engine generates with its own sound (LTX-2: a ``sound(shot, width, height)``
method and a true ``makes_sound``) keeps that sound in the same mezzanine, losslessly
(:mod:`generation.footage_sound`): a later render, in any process, gets picture and
sound from disk and never asks the engine again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from generation.encode import VideoWriter
from generation.engines.base import FootageEngine, Frame
from generation.footage_sound import StoredSound, add_sound, read_sound
from generation.prefetch import prefetch
from generation.reframe import Box, crop_window, locate_product, pixel_crop, reframe
from generation.spec import ShotSpec, frames_for
from generation.yuv import Yuv420

__all__ = ["FOOTAGE_VERSION", "FootageCache", "FootageEntry", "makes_sound"]

_log = logging.getLogger(__name__)

# Bump when the mezzanine format or the product locator changes. 2: the locator keeps
# the product's core (a strap is not the product), and the shot's generated sound rides
# in the mezzanine (an entry of 1 would be served without it).
FOOTAGE_VERSION = "2"
# Near-transparent quality: the creative is encoded again after compositing.
_MEZZANINE_CRF = 14
# Frames decoded ahead of the compositor (6 MB each at 1080x1920).
_READ_AHEAD = 4


@dataclass(frozen=True)
class FootageEntry:
    """One cached shot: its mezzanine file, size, frame count and product box, and how
    many samples of generated sound the mezzanine holds (0: none)."""

    path: Path
    width: int
    height: int
    fps: int
    frames: int
    product_box: Box
    sound_samples: int = 0


def makes_sound(engine: object) -> bool:
    """Whether ``engine`` generates sound with its frames (asks nothing of it)."""
    return bool(getattr(engine, "makes_sound", False)) and hasattr(engine, "sound")


class FootageCache:
    """A caching, reframing :class:`FootageEngine` in front of a real engine.

    ``master`` is the size every shot is generated at; ``None`` generates at whatever
    size is asked for (one entry per size). Pick a master that covers every aspect the
    campaign renders (e.g. 1920x1920 for 9:16 and 16:9), or the aspect ratio itself for
    a single-aspect campaign, where reframing is a no-op. Thread-safe: concurrent
    requests for one shot wait for a single generation. ``engine_calls`` counts them.
    """

    def __init__(
        self,
        engine: FootageEngine,
        root: Path,
        master: tuple[int, int] | None = None,
        *,
        preset: str = "ultrafast",
    ) -> None:
        if master is not None and (master[0] % 2 or master[1] % 2):
            raise ValueError(f"master size must be even, got {master}")
        self.engine = engine
        self.name = engine.name
        self.root = Path(root)
        self.master = master
        self.preset = preset
        self.engine_calls = 0
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _key(self, shot: ShotSpec, width: int, height: int, fps: int) -> str:
        payload = [FOOTAGE_VERSION, shot.key(), self.engine.name, width, height, fps]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def entry(self, shot: ShotSpec, width: int, height: int, fps: int) -> FootageEntry:
        """The cached footage of ``shot`` at ``width x height``, generated if missing."""
        key = self._key(shot, width, height, fps)
        folder = self.root / key[:2]
        video, meta = folder / f"{key}.mp4", folder / f"{key}.json"
        with self._lock(key):
            if video.is_file() and meta.is_file():
                info = json.loads(meta.read_text())
                box = tuple(info["product_box"])
                sound = int(info.get("sound_samples", 0))
                return FootageEntry(video, width, height, fps, info["frames"], box, sound)
            return self._generate(shot, width, height, fps, video, meta)

    def sound(
        self, shot: ShotSpec, width: int, height: int, fps: int | None = None
    ) -> StoredSound | None:
        """The sound generated with the shot's footage, read from its mezzanine (any crop
        of the master shares it); ``None`` from an engine that makes no sound, which is
        never asked. ``fps``: the entry's (the render's), required.
        """
        if not makes_sound(self.engine):
            return None
        if fps is None:
            raise ValueError("a footage cache keeps sound per fps: pass the render's fps")
        master_w, master_h = self.master or (width, height)
        entry = self.entry(shot, master_w, master_h, fps)
        if not entry.sound_samples:
            return None
        stored = read_sound(entry.path)
        if stored is None or stored.samples.shape[1] != entry.sound_samples:
            raise ValueError(f"footage {entry.path.name} lost its sound: delete it to regenerate")
        return stored

    def _generate(
        self, shot: ShotSpec, width: int, height: int, fps: int, video: Path, meta: Path
    ) -> FootageEntry:
        expected = frames_for(shot.duration_s, fps)
        samples = {0, expected // 2, expected - 1}
        picked: list[Frame] = []
        count = 0
        self.engine_calls += 1
        _log.info("generating footage for shot %s at %dx%d", shot.key()[:12], width, height)
        with VideoWriter(
            video, width, height, fps, crf=_MEZZANINE_CRF, preset=self.preset
        ) as writer:
            for frame in self.engine.frames(shot, width, height, fps):
                if count >= expected:
                    break
                if (
                    getattr(frame, "shape", None) != (height, width, 3)
                    or frame.dtype.name != "uint8"
                ):
                    raise ValueError(
                        f"engine {self.engine.name!r} yielded "
                        f"{getattr(frame, 'dtype', type(frame))} {getattr(frame, 'shape', '')}; "
                        f"expected uint8 {(height, width, 3)}"
                    )
                # Engines may reuse their buffer once asked for the next frame, and the
                # writer encodes asynchronously: hand it a copy.
                kept = frame.copy()
                writer.write(kept)
                if count in samples:
                    picked.append(kept)
                count += 1
            if count != expected:
                raise ValueError(
                    f"engine {self.engine.name!r} yielded {count} frames for a "
                    f"{shot.duration_s}s shot; expected {expected}"
                )
        box = locate_product(picked)
        sound_samples = 0
        if makes_sound(self.engine):
            # Made with the frames just read: the engine hands over what it holds.
            sound = self.engine.sound(shot, width, height, fps=fps)  # type: ignore[attr-defined]
            if sound is not None:
                add_sound(video, sound.samples, sound.rate)
                sound_samples = int(np.atleast_2d(sound.samples).shape[1])
        part = meta.with_suffix(".json.part")
        info = {"frames": count, "product_box": box, "shot": shot.key()}
        part.write_text(json.dumps({**info, "sound_samples": sound_samples}))
        part.replace(meta)  # the entry counts as present only once both files are whole
        return FootageEntry(video, width, height, fps, count, box, sound_samples)

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        """Yield the shot at ``width x height``, cut from the master around the product.

        Frames are decoded a few ahead on a reader thread (FFmpeg releases the GIL), so
        decoding overlaps whatever the caller does with the previous frame.
        """
        path, window = self._source(shot, width, height, fps)
        return prefetch(_decode(path, window, width, height), _READ_AHEAD)

    def yuv_frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Yuv420]:
        """:meth:`frames` as YUV 4:2:0 pictures, as decoded: no colour conversion at all
        when the master has the asked-for size (or a plain crop of it will do)."""
        path, window = self._source(shot, width, height, fps)
        return prefetch(_decode_yuv(path, window, width, height), _READ_AHEAD)

    def _source(
        self, shot: ShotSpec, width: int, height: int, fps: int
    ) -> tuple[Path, tuple[float, float, float, float]]:
        master_w, master_h = self.master or (width, height)
        entry = self.entry(shot, master_w, master_h, fps)
        return entry.path, crop_window(master_w, master_h, width, height, entry.product_box)


def _decoded(path: Path) -> Iterator[av.VideoFrame]:
    # One decoding thread: the reader thread already overlaps decoding with compositing,
    # and FFmpeg's own frame threads only add CPU on 2 cores.
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        yield from container.decode(stream)


def _decode(
    path: Path, window: tuple[float, float, float, float], width: int, height: int
) -> Iterator[Frame]:
    to_rgb = VideoReformatter()  # reused: one converter for the whole shot
    for decoded in _decoded(path):
        rgb: Frame = to_rgb.reformat(decoded, format="rgb24").to_ndarray()  # type: ignore[assignment]
        yield reframe(rgb, window, width, height)


def _decode_yuv(
    path: Path, window: tuple[float, float, float, float], width: int, height: int
) -> Iterator[Yuv420]:
    to_rgb = VideoReformatter()
    for decoded in _decoded(path):
        crop = _even_crop(decoded.width, decoded.height, window, width, height)
        if crop is None:
            # Scaling is needed: cut and scale in RGB exactly as :meth:`frames` does.
            rgb: Frame = to_rgb.reformat(decoded, format="rgb24").to_ndarray()  # type: ignore[assignment]
            yield Yuv420.from_rgb(reframe(rgb, window, width, height))
            continue
        picture = Yuv420.from_video_frame(decoded)
        left, top = crop
        if (left, top, width, height) == (0, 0, decoded.width, decoded.height):
            yield picture
            continue
        out = np.empty((height * 3 // 2, width), dtype=np.uint8)
        cut = Yuv420(out)
        cut.y[...] = picture.y[top : top + height, left : left + width]
        for dst, src in ((cut.u, picture.u), (cut.v, picture.v)):
            dst[...] = src[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2]
        yield cut


def _even_crop(
    src_w: int, src_h: int, window: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int] | None:
    """:func:`~generation.reframe.pixel_crop`'s corner moved to even pixels, so that whole
    chroma blocks are cut (one pixel off the exact place does not show)."""
    corner = pixel_crop(src_w, src_h, window, width, height)
    if corner is None:
        return None
    left, top = corner
    return left - left % 2, top - top % 2
