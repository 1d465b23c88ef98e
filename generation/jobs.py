"""Render one creative job, or skip it when the same render already exists on disk.

Footage goes through a per-process :class:`~generation.footage.FootageCache`, so each
distinct shot of a campaign is generated once (at the campaign's master size) and reused
by every variant and aspect ratio that shows it.

Resuming: a run killed mid-way (even with SIGKILL) leaves every finished render whole, since
each file is written to a ``.part`` name and renamed, and the manifest goes last. The next
run skips a render whose video, poster and manifest are on disk with the same render hash
(whether or not the database heard of it) and deletes the ``.part`` leftovers of the one
that was cut off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelcart.domain import CreativeJob

from .audio import TTSEngine
from .engines.base import FootageEngine
from .footage import FootageCache
from .render import render_creative
from .spec import CreativeSpec
from .storyboard import RenderConfig, master_size, storyboard
from .voices import choose_voice

__all__ = [
    "RENDERER_VERSION",
    "PlannedRender",
    "RenderOutcome",
    "engine_fingerprint",
    "footage_cache",
    "plan_render",
    "remove_stale_parts",
    "render_hash",
    "render_job",
]

# Bump when drawing or encoding changes, so every creative is re-rendered once.
RENDERER_VERSION = "2"

_caches: dict[tuple[int, str, tuple[int, int]], FootageCache] = {}
_caches_lock = threading.Lock()


@dataclass(frozen=True)
class RenderOutcome:
    creative_id: str
    render_hash: str
    video_path: Path
    poster_path: Path
    manifest: dict[str, Any]
    skipped: bool


def _engine_model(engine: FootageEngine) -> str | None:
    inner = getattr(engine, "engine", engine)
    model = getattr(inner, "model_name", None) or getattr(
        getattr(inner, "preset", None), "name", None
    )
    return str(model) if model else None


def engine_fingerprint(engine: FootageEngine) -> str | None:
    """The engine's model identity (``fingerprint``), seen through a footage cache.

    Engines whose output depends on a model (diffusion: preset, weights, steps) expose a
    ``fingerprint``; the motion engine has none, so its render hashes stay as they were.
    """
    inner = getattr(engine, "engine", engine)
    fingerprint = getattr(inner, "fingerprint", None)
    return str(fingerprint) if fingerprint else None


def render_hash(
    spec: CreativeSpec,
    engine: str,
    config: RenderConfig | None = None,
    model: str | None = None,
) -> str:
    """Digest of everything that determines the rendered files (image bytes included).

    ``model`` is the engine's fingerprint: switching the diffusion preset re-renders.
    """
    payload: dict[str, Any] = {
        "version": RENDERER_VERSION,
        "engine": engine,
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k != "shots"},
        "shots": [shot.key() for shot in spec.shots],
    }
    if model is not None:
        payload["model"] = model
    if config is not None:
        payload["brand"] = dataclasses.asdict(config.brand)
        payload["signed"] = config.signing is not None
        if config.brand.voiceover:
            payload["voice"] = [config.voice, getattr(config.speech, "name", None)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedRender:
    """What a render of one job will draw (its storyboard) and the digest naming the result:
    computed once per render, and read by the flow (skip or not, progress) and the renderer."""

    spec: CreativeSpec
    digest: str


def plan_render(
    job: CreativeJob,
    config: RenderConfig,
    engine: FootageEngine,
    spec: CreativeSpec | None = None,
) -> PlannedRender:
    """``job``'s storyboard (``spec`` when the caller has it already) and its render hash."""
    spec = spec or storyboard(job, config)
    return PlannedRender(spec, render_hash(spec, engine.name, config, engine_fingerprint(engine)))


def footage_cache(engine: FootageEngine, root: Path, master: tuple[int, int]) -> FootageCache:
    """The process-wide cache for this engine, folder and master size (shared by threads)."""
    key = (id(engine), str(Path(root).resolve()), master)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = FootageCache(engine, root, master)
        return cache


def _finished(out_dir: Path, name: str, digest: str) -> tuple[Path, Path, dict[str, Any]] | None:
    """The render already on disk for ``digest``: video, poster, manifest (else ``None``)."""
    video, poster = Path(out_dir) / f"{name}.mp4", Path(out_dir) / f"{name}.jpg"
    manifest_path = video.with_suffix(".json")
    if not (video.is_file() and poster.is_file() and manifest_path.is_file()):
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None  # cut off while written: render again
    if not isinstance(manifest, dict) or manifest.get("render_hash") != digest:
        return None
    return video, poster, manifest


def remove_stale_parts(out_dir: Path, name: str) -> list[Path]:
    """Delete the half-written files a killed render of ``name`` left (``.<name>.mp4.*.part``)."""
    removed = []
    for suffix in ("mp4", "jpg", "json"):
        for part in Path(out_dir).glob(f".{name}.{suffix}.*.part"):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(text)
    os.replace(partial, path)


def render_job(
    job: CreativeJob,
    config: RenderConfig,
    out_dir: Path,
    engine: FootageEngine,
    on_frame: Callable[[int, int], None] | None = None,
    *,
    tts: TTSEngine | None = None,
    planned: PlannedRender | None = None,
) -> RenderOutcome:
    """Render ``job`` into ``out_dir`` unless an identical render is already there.

    ``engine`` may be a raw engine (wrapped in the process-wide footage cache under
    ``config.footage_dir``, default ``out_dir/../footage``) or a ready
    :class:`FootageCache`. ``tts`` defaults to the config's voice (see
    :func:`generation.voices.choose_voice`) when the brand kit wants a voiceover.
    ``planned`` is the job's :func:`plan_render`, when the caller made it already.
    """
    planned = planned or plan_render(job, config, engine)
    spec, digest = planned.spec, planned.digest
    if (
        job.rendered_hash == digest
        and job.video_path
        and job.poster_path
        and Path(job.video_path).is_file()
        and Path(job.poster_path).is_file()
    ):
        manifest_path = Path(job.video_path).with_suffix(".json")
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
        return RenderOutcome(
            job.creative_id, digest, Path(job.video_path), Path(job.poster_path), manifest, True
        )
    on_disk = _finished(out_dir, job.name, digest)
    if on_disk is not None:
        return RenderOutcome(job.creative_id, digest, *on_disk, True)
    # One render per creative at a time (the caller's claim), so these are a dead run's.
    remove_stale_parts(out_dir, job.name)
    source = engine
    if not isinstance(engine, FootageCache):
        root = config.footage_dir or Path(out_dir).parent / "footage"
        source = footage_cache(engine, root, master_size(config))
    if tts is None and config.brand.voiceover:
        tts = choose_voice(config.voice, config.brand.voice, config.speech)
    extra = {
        "seed": job.seed,
        "model": _engine_model(engine),
        "product_id": job.product_id,
        "product_version": job.product_version,
        "creative_id": job.creative_id,
        "creative_name": job.name,
        "render_hash": digest,
        "renderer_version": RENDERER_VERSION,
    }
    rendered = render_creative(
        spec,
        out_dir,
        source,
        name=job.name,
        on_frame=on_frame,
        theme=config.brand.theme,
        tts=tts,
        signing=config.signing,
        extra_manifest=extra,
        generator_version=RENDERER_VERSION,
    )
    manifest = {
        **rendered.manifest,
        "files": {
            "preview": rendered.preview_path.name if rendered.preview_path else None,
            "vtt": rendered.captions[0].name if rendered.captions else None,
            "srt": rendered.captions[1].name if rendered.captions else None,
        },
    }
    # Last and atomic: a manifest on disk means the render before it finished.
    _write_atomically(rendered.video_path.with_suffix(".json"), json.dumps(manifest, indent=2))
    return RenderOutcome(
        job.creative_id, digest, rendered.video_path, rendered.poster_path, manifest, False
    )
