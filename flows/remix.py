"""Challenger footage remixed from the winner's (diffusion engine), video-to-video.

A challenger of a winner keeps the winner's shots; with the diffusion engine its footage
is the winner's own footage remixed at a strength (near 0 keeps it, 1 ignores it) rather
than generated afresh from the product photo. Every diffusion render puts its shots'
footage (before any text is laid over it) in the media store, and the remix reads it from
there, so any worker can remix any winner; no path of the machine that rendered the
winner is ever read. A winner without stored footage is remixed from its published video
(the shot's frames of it). With the motion engine a challenger is a factor remix only
(same camera moves, new copy), and nothing here runs.

A preset that generates sound with its frames (LTX-2) remixes both in one call: the new
picture, conditioned on the winner's shot, comes with its own new sound, which the
remix's footage cache keeps in the shot's mezzanine like fresh footage's (and the render
lays from the shot's first sample). A stored mezzanine carries its shot's sound inside
it, so publishing the footage publishes the sound.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.storage import MediaStore
from generation.engines.base import FootageEngine, Frame
from generation.footage import FOOTAGE_VERSION, FootageCache
from generation.jobs import engine_fingerprint, footage_cache
from generation.spec import CreativeSpec, ShotSpec, frames_for
from generation.storyboard import RenderConfig, master_size
from reelcart.models import Creative, Generation, RenderClaim

__all__ = [
    "DEFAULT_STRENGTH",
    "RemixFootage",
    "RemixSource",
    "publish_footage",
    "remix_engine",
    "remix_source",
    "remix_sources",
]

DEFAULT_STRENGTH = 0.6
# Source frames are decoded no larger than this (the model works far below 1080p anyway).
_MAX_SIDE = 768


@dataclass(frozen=True)
class RemixSource:
    """The winner whose footage a challenger remixes, and where each of its shots lies."""

    creative_id: str
    video_key: str  # the winner's published video in the media store
    strength: float
    fps: int
    # (shot key, first frame, frame count, stored footage key or "") of each of the
    # winner's shots, in order: where it lies in the winner's video, and its own footage.
    segments: tuple[tuple[str, int, int, str], ...]

    def as_detail(self) -> dict[str, Any]:
        return {
            "remix_of": self.creative_id,
            "video_key": self.video_key,
            "strength": self.strength,
            "fps": self.fps,
            "segments": [list(s) for s in self.segments],
        }

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> RemixSource:
        return cls(
            creative_id=str(detail["remix_of"]),
            video_key=str(detail["video_key"]),
            strength=float(detail["strength"]),
            fps=int(detail["fps"]),
            segments=tuple((str(k), int(a), int(n), str(f)) for k, a, n, f in detail["segments"]),
        )


def remix_source(winner: Creative, strength: float) -> RemixSource | None:
    """The winner's footage as a remix source, or ``None`` when it has no published video."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"remix strength must be in (0, 1], got {strength!r}")
    manifest = winner.manifest or {}
    shots = manifest.get("shots") or []
    fps = manifest.get("fps")
    footage = manifest.get("footage") or {}
    if not winner.video_key or not shots or not fps:
        return None
    segments, start = [], 0
    for shot in shots:  # shots fill the video from its first frame, in order
        count = frames_for(float(shot["duration_s"]), int(fps))
        key = str(shot["key"])
        segments.append((key, start, count, str(footage.get(key, ""))))
        start += count
    return RemixSource(winner.id, winner.video_key, strength, int(fps), tuple(segments))


def remix_sources(session: Session, creative_ids: list[str]) -> dict[str, RemixSource]:
    """The remix source of each of ``creative_ids`` whose generation asked for one."""
    if not creative_ids:
        return {}
    rows = session.execute(
        select(RenderClaim.creative_id, Generation.detail)
        .join(Generation, Generation.id == RenderClaim.generation_id)
        .where(RenderClaim.creative_id.in_(creative_ids))
    ).all()
    return {
        cid: RemixSource.from_detail(detail["footage"])
        for cid, detail in rows
        if detail and detail.get("footage")
    }


def _decode(video: Path, first: int, count: int) -> npt.NDArray[np.uint8]:
    """Frames ``first .. first+count`` of ``video`` as RGB, shrunk to at most ``_MAX_SIDE``."""
    frames: list[npt.NDArray[np.uint8]] = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        scale = min(1.0, _MAX_SIDE / max(stream.width, stream.height))
        size = (int(stream.width * scale) // 2 * 2, int(stream.height * scale) // 2 * 2)
        for index, frame in enumerate(container.decode(stream)):
            if index >= first + count:
                break
            if index >= first:
                rgb = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                frames.append(np.asarray(rgb, dtype=np.uint8))
    if not frames:
        raise ValueError(f"{video.name} has no frames {first}..{first + count}")
    return np.stack(frames)


class RemixFootage:
    """A footage engine whose every shot is the winner's matching shot, remixed.

    The winner's shot with the same key is the source (challengers keep their winner's
    shots); failing that, the shot in the same place. ``fingerprint`` names the source and
    strength, so a remix never shares a render hash or cached footage with fresh footage.
    """

    name = "diffusion"

    def __init__(self, diffusion: Any, fetch: Callable[[str], Path], source: RemixSource) -> None:
        self.diffusion = diffusion
        self.preset = diffusion.preset
        self.fetch = fetch  # a media-store key -> a local copy
        self.source = source
        self.fingerprint = f"{diffusion.fingerprint}|remix={source.creative_id}@{source.strength:g}"
        self._order: list[str] = []
        # Each remix's sound, from its frames until its footage cache takes it.
        self._sounds: dict[tuple[str, int, int], Any] = {}
        self._sounds_lock = threading.Lock()

    @property
    def makes_sound(self) -> bool:
        """Whether a remix comes with its own generated sound (LTX-2)."""
        return bool(getattr(self.preset, "sound", False))

    def _segment(self, shot: ShotSpec) -> tuple[str, int, int, str]:
        key = shot.key()
        for segment in self.source.segments:
            if segment[0] == key:
                return segment
        if key not in self._order:
            self._order.append(key)
        return self.source.segments[self._order.index(key) % len(self.source.segments)]

    def source_clip(self, shot: ShotSpec) -> npt.NDArray[np.uint8]:
        """The winner's footage this shot remixes: its stored footage, else its video's."""
        _, first, count, footage = self._segment(shot)
        if footage:
            return _decode(self.fetch(footage), 0, 1 << 30)
        return _decode(self.fetch(self.source.video_key), first, count)

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        clip = self.source_clip(shot)
        from generation.engines.diffusion.engine import prompt_for

        options: dict[str, Any] = {
            "strength": self.source.strength,
            "seed": shot.seed,
            "duration_s": shot.duration_s,
            "width": width,
            "height": height,
            "fps": fps,
        }
        if not self.makes_sound:
            yield from self.diffusion.remix(clip, prompt_for(shot), **options)
            return
        frames, sound = self.diffusion.remix_with_sound(clip, prompt_for(shot), **options)
        with self._sounds_lock:
            self._sounds[(shot.key(), width, height)] = sound
        yield from frames

    def sound(self, shot: ShotSpec, width: int, height: int, fps: int | None = None) -> Any:
        """The sound remixed with the shot's frames at this size (``None``: a preset
        without sound). Handed over once, to the footage cache that keeps it; asked
        before the frames, the shot is remixed."""
        if not self.makes_sound:
            return None
        key = (shot.key(), width, height)
        with self._sounds_lock:
            if key in self._sounds:
                return self._sounds.pop(key)
        for _ in self.frames(shot, width, height, fps or self.source.fps):
            pass
        with self._sounds_lock:
            return self._sounds.pop(key, None)


_engines: dict[tuple[int, str, float], RemixFootage] = {}
_engines_lock = threading.Lock()


def remix_engine(
    diffusion: Any, source: RemixSource, fetch: Callable[[str], Path], config: RenderConfig
) -> FootageCache:
    """The process-wide, caching remix engine of ``source`` (one per winner and strength).

    Its footage is cached apart from fresh footage (``footage/remix/<winner>-<strength>``).
    """
    key = (id(diffusion), source.creative_id, source.strength)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = RemixFootage(diffusion, fetch, source)
    root = (config.footage_dir or Path("footage")) / "remix"
    folder = root / f"{source.creative_id}-{source.strength:g}"
    return footage_cache(engine, folder, master_size(config))


def publish_footage(
    store: MediaStore, engine: FootageEngine, spec: CreativeSpec, config: RenderConfig, root: Path
) -> dict[str, str]:
    """Put each shot's footage of the storyboard ``spec`` in the store; its key by shot key.

    The footage is the cache's mezzanine at the master size (already generated by the
    render), stored once per model, shot and size, so a later remix of this creative on
    any machine starts from its footage rather than from the finished video. The shot's
    generated sound (LTX-2) is inside the mezzanine, so it travels with it.
    """
    cache = engine if isinstance(engine, FootageCache) else None
    width, height = master_size(config)
    if cache is None:
        cache = footage_cache(engine, config.footage_dir or root, (width, height))
    keys: dict[str, str] = {}
    for shot in spec.shots:
        entry = cache.entry(shot, width, height, config.fps)
        # The format version too: a mezzanine of another format never stands in for it.
        identity = [engine_fingerprint(cache), shot.key(), width, height, config.fps]
        identity.append(FOOTAGE_VERSION)
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
        key = f"footage/{digest}.mp4"
        if not store.exists(key):
            store.put_file(entry.path, key)
        keys[shot.key()] = key
    return keys
