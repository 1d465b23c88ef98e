"""Render one creative: footage -> overlays -> H.264 + AAC MP4, and everything around it.

Next to ``<name>.mp4`` it writes a poster (``.jpg``), an animated preview (``.webp``),
caption sidecars (``.vtt``, ``.srt``) when the spec has a script, and, when signing is
configured, embeds C2PA Content Credentials in the MP4. This is the entry point the rest
of the app calls. It only reads the shot images and writes into ``out_dir``;
persistence, uploads and orchestration belong to the caller.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from generation.audio import TTSEngine, soundtrack
from generation.compose import Compositor, Theme
from generation.encode import VideoWriter
from generation.engines.base import FootageEngine, Frame
from generation.overlays.captions import write_captions
from generation.placement import frame_watch, product_box
from generation.platforms import aspect_for_size
from generation.preview import PreviewCollector
from generation.provenance import SigningConfig, sign_video
from generation.quality import CatalogPrice, QualityReport, run_gate
from generation.scene_sound import engine_sounds, mix_scene_sound
from generation.spec import CreativeSpec, ShotSpec
from generation.yuv import Yuv420

__all__ = [
    "ProgressCallback",
    "RenderedCreative",
    "build_manifest",
    "catalog_price",
    "render_creative",
]

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
    preview_path: Path | None = None
    captions: tuple[Path, Path] | None = None
    signed: bool = False
    quality: QualityReport | None = field(default=None, compare=False)


def build_manifest(spec: CreativeSpec, engine_name: str) -> dict[str, Any]:
    """JSON-serialisable description of a creative, for experiment tracking and agents."""
    return {
        "engine": engine_name,
        "aspect": aspect_for_size(spec.width, spec.height).label,
        "lines": list(spec.lines),
        "ai_label": spec.ai_label,
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


def catalog_price(spec: CreativeSpec) -> CatalogPrice | None:
    """The catalog's prices the spec was made from, for the gate's price rule."""
    if spec.price_minor is None or spec.currency is None:
        return None
    top = spec.price_max_minor if spec.price_max_minor is not None else spec.price_minor
    return CatalogPrice(spec.price_minor, top, spec.currency, spec.compare_at_minor)


def _check_frame(frame: Frame, spec: CreativeSpec, engine_name: str) -> None:
    expected = (spec.height, spec.width, 3)
    if getattr(frame, "shape", None) != expected or frame.dtype.name != "uint8":
        raise ValueError(
            f"engine {engine_name!r} yielded {getattr(frame, 'dtype', type(frame))} "
            f"{getattr(frame, 'shape', '')}; expected uint8 {expected}"
        )


def _pictures(engine: FootageEngine, shot: ShotSpec, spec: CreativeSpec) -> Iterator[Yuv420]:
    """The shot's footage as YUV 4:2:0 pictures.

    A footage cache decodes straight to YUV; any other engine's RGB frames are checked
    against the frame contract and converted here, once, as the encoder would have.
    """
    yuv_frames = getattr(engine, "yuv_frames", None)
    if callable(yuv_frames):
        return yuv_frames(shot, spec.width, spec.height, spec.fps)
    return _converted(engine, shot, spec)


def _converted(engine: FootageEngine, shot: ShotSpec, spec: CreativeSpec) -> Iterator[Yuv420]:
    frames = engine.frames(shot, spec.width, spec.height, spec.fps)
    try:
        for frame in frames:
            _check_frame(frame, spec, engine.name)
            yield Yuv420.from_rgb(frame)
    finally:
        _close(frames)


def _close(source: object) -> None:
    """Stop a reader that decodes ahead now, not at garbage collection."""
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _staged(path: Path) -> Path:
    """A temporary file beside ``path``, renamed over it once the video is whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _write_stills(
    poster: Frame, poster_path: Path, thumbs: PreviewCollector | None, preview_path: Path
) -> dict[Path, Path]:
    """Poster and preview written to temporary files: ``{final path: temporary path}``.

    Same write-then-rename discipline as the video: readers never see half a JPEG, nor a
    poster whose video failed.
    """
    staged: dict[Path, Path] = {}
    try:
        staged[poster_path] = _staged(poster_path)
        Image.fromarray(poster).save(
            staged[poster_path], format="JPEG", quality=_POSTER_QUALITY, optimize=True
        )
        if thumbs is not None and thumbs.frames:
            staged[preview_path] = _staged(preview_path)
            thumbs.write(staged[preview_path])
    except BaseException:
        _discard(staged)
        raise
    return staged


def _discard(staged: dict[Path, Path]) -> None:
    for tmp in staged.values():
        tmp.unlink(missing_ok=True)


def _discard_when_done(stills: Future[dict[Path, Path]]) -> None:
    """Remove the temporary stills of a render that failed, once they are written."""
    try:
        staged = stills.result()
    except BaseException:  # the render's own error is the one raised
        return  # _write_stills removed its own files
    _discard(staged)


def render_creative(
    spec: CreativeSpec,
    out_dir: Path,
    engine: FootageEngine,
    name: str,
    *,
    on_frame: ProgressCallback | None = None,
    preset: str = "veryfast",
    theme: Theme | None = None,
    tts: TTSEngine | None = None,
    signing: SigningConfig | None = None,
    preview: bool = True,
    extra_manifest: dict[str, Any] | None = None,
    generator_version: str = "0",
) -> RenderedCreative:
    """Render ``spec`` to ``out_dir/<name>.mp4`` (+ ``.jpg``, ``.webp``, ``.vtt``, ``.srt``).

    When a voice speaks the script, the captions hold what it said (a line it could
    not say in time is cut from them). The poster is the first-shot frame where the
    hook (title and price) has fully faded in. The soundtrack is the generated music
    bed, with the script spoken by ``tts`` (if given) and the music ducked under it.
    Overlays are laid out around the product (see :func:`product_box`). The quality
    gate (:mod:`generation.quality`) runs on every render; its report is the
    manifest's ``"qa"`` and :attr:`RenderedCreative.quality`. ``extra_manifest`` is
    merged into the manifest (and the signed credentials). Existing files of the same
    name are replaced atomically. Raises ``ValueError`` for a bad ``name`` or an engine
    that breaks its
    frame contract.
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid output name {name!r}: use letters, digits, '.', '_', '-'")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.mp4"
    poster_path = out_dir / f"{name}.jpg"

    total = spec.frame_count
    poster: Frame | None = None
    last: Yuv420 | None = None
    index = 0
    starts = [start / spec.fps for start, _ in spec.scene_frames]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="soundtrack") as pool:
        # The soundtrack (music, speech) is made while the product is located, before the
        # overlays are planned: the captions are what the voice managed to say. The seed
        # of the first shot is the product's: a product keeps its tune across variants.
        sound_job = pool.submit(
            soundtrack, total / spec.fps, spec.shots[0].seed, spec.lines, starts, tts
        )
        product = product_box(engine, spec)
        sound = sound_job.result()
        # Footage generated with its own sound (LTX-2) plays under the voice and music.
        scene = engine_sounds(engine, spec.shots, starts, spec.width, spec.height, spec.fps)
        audio = mix_scene_sound(sound.samples, scene, sound.voice)
    if sound.said:
        # Captions (burned in and sidecars) list exactly what the voice says: a line it
        # could not say in its scene is cut from them too.
        spec = dataclasses.replace(spec, lines=sound.said)
    compositor = Compositor(spec, theme, product)
    watch = frame_watch(compositor, spec)
    thumbs = PreviewCollector(spec.fps, spec.width, spec.height) if preview else None

    # Footage is composited in YUV 4:2:0, the encoder's own format; pictures decoded or
    # converted here are fresh, so they are drawn on in place instead of copied.
    stills_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stills")
    stills: Future[dict[Path, Path]] | None = None
    try:
        with VideoWriter(
            video_path, spec.width, spec.height, spec.fps, preset=preset, audio=audio
        ) as writer:

            def emit(frame: Yuv420) -> None:
                nonlocal index
                writer.write(frame)
                watch.output(index, frame)
                if thumbs is not None:
                    thumbs.add(frame, index)
                index += 1
                if on_frame is not None:
                    on_frame(index, total)

            for shot_no, (shot, count) in enumerate(zip(spec.shots, spec.shot_frames, strict=True)):
                start = index
                footage = _pictures(engine, shot, spec)
                for frame in itertools.islice(footage, count):
                    if watch.want_sample(index):
                        watch.footage(index, frame.to_rgb())
                    # The writer keeps a reference until encoded, so frames are never reused.
                    drawn = compositor.overlay(frame, index, owned=True)
                    assert isinstance(drawn, Yuv420)
                    last = drawn
                    if index == compositor.poster_index:
                        poster = last.to_rgb()
                    emit(last)
                _close(footage)
                if index - start != count:
                    raise ValueError(
                        f"engine {engine.name!r} yielded {index - start} frames for shot "
                        f"{shot_no}; expected {count}"
                    )
            assert last is not None and poster is not None  # spec guarantees >= 1 shot frame
            for card in compositor.end_card(last):
                assert isinstance(card, Yuv420)
                emit(card)
            # The stills are written while the encoder drains its last frames and the
            # captions and the quality gate run.
            stills = stills_pool.submit(
                _write_stills, poster, poster_path, thumbs, out_dir / f"{name}.webp"
            )
        captions = write_captions(spec, out_dir / name)
        watch.finish(index)
        end_card_still = spec.scene_frames[-1][0] + compositor.fade_frames
        gate_started = time.perf_counter()
        report = run_gate(
            spec,
            compositor.drawn,
            watch,
            video_path,
            captions[0] if captions else None,
            catalog_price(spec),
            moving_until=end_card_still,
        )
        gate_seconds = time.perf_counter() - gate_started
        staged = stills.result()
    except BaseException:
        if stills is not None:
            _discard_when_done(stills)
        raise
    finally:
        stills_pool.shutdown(wait=True)
    for final, tmp in staged.items():
        os.replace(tmp, final)
    preview_path = out_dir / f"{name}.webp" if out_dir / f"{name}.webp" in staged else None
    manifest = {
        **build_manifest(spec, engine.name),
        "audio": sound.describe(),
        "layout": compositor.describe(),
        "qa": {**report.to_dict(), "seconds": round(gate_seconds, 3)},
        **(extra_manifest or {}),
    }
    if signing is not None:
        sign_video(video_path, signing, name, manifest, generator_version)
    manifest["provenance"] = {"c2pa": signing is not None}
    return RenderedCreative(
        video_path=video_path,
        poster_path=poster_path,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        frame_count=index,
        duration_s=index / spec.fps,
        manifest=manifest,
        preview_path=preview_path,
        captions=captions,
        signed=signing is not None,
        quality=report,
    )
