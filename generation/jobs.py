"""Render one creative job, or skip it when the same render already exists on disk."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelcart.domain import CreativeJob

from .engines.base import FootageEngine
from .render import render_creative
from .spec import CreativeSpec
from .storyboard import RenderConfig, storyboard

__all__ = ["RENDERER_VERSION", "RenderOutcome", "expected_frames", "render_hash", "render_job"]

# Bump when drawing or encoding changes, so every creative is re-rendered once.
RENDERER_VERSION = "1"


@dataclass(frozen=True)
class RenderOutcome:
    creative_id: str
    render_hash: str
    video_path: Path
    poster_path: Path
    manifest: dict[str, Any]
    skipped: bool


def render_hash(spec: CreativeSpec, engine: str) -> str:
    """Digest of everything that determines the rendered file (image bytes included)."""
    payload = {
        "version": RENDERER_VERSION,
        "engine": engine,
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k != "shots"},
        "shots": [shot.key() for shot in spec.shots],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def expected_frames(job: CreativeJob, config: RenderConfig) -> int:
    """How many frames ``job`` renders to (for progress displays)."""
    return storyboard(job, config).frame_count


def render_job(
    job: CreativeJob,
    config: RenderConfig,
    out_dir: Path,
    engine: FootageEngine,
    on_frame: Callable[[int, int], None] | None = None,
) -> RenderOutcome:
    """Render ``job`` into ``out_dir`` unless an identical render is already there."""
    spec = storyboard(job, config)
    digest = render_hash(spec, engine.name)
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
    rendered = render_creative(spec, out_dir, engine, name=job.name, on_frame=on_frame)
    manifest = {**rendered.manifest, "creative_id": job.creative_id, "render_hash": digest}
    rendered.video_path.with_suffix(".json").write_text(json.dumps(manifest, indent=2))
    return RenderOutcome(
        job.creative_id, digest, rendered.video_path, rendered.poster_path, manifest, False
    )
