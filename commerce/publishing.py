"""Publishing: rendered creatives move into the media store and get their public URLs."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.storage import MediaStore
from experiments.campaigns import campaign_creatives, mark_published
from reelcart.domain import CreativeStatus
from reelcart.models import Campaign, Creative

__all__ = [
    "QualityGateFailed",
    "campaign_overview",
    "creatives_to_publish",
    "factor_label",
    "image_data_uri",
    "publish_creative",
    "quality_gate_passed",
    "quality_verdict",
]


class QualityGateFailed(ValueError):
    """A creative whose quality report (manifest ``"qa"``) failed is never published."""


def quality_gate_passed(manifest: dict | None) -> bool:
    """Whether the render's quality gate passed (creatives rendered before it had none)."""
    qa = (manifest or {}).get("qa")
    return qa is None or qa.get("passed") is True


def quality_verdict(manifest: dict | None) -> str:
    """One cell for a table of creatives: ``passed``, or the quality rules that failed."""
    qa = (manifest or {}).get("qa")
    if qa is None:
        return "no report"
    if qa.get("passed") is True:
        return "passed"
    failed = [str(c.get("name")) for c in qa.get("checks", []) if not c.get("passed")]
    return "FAILED: " + ", ".join(failed or qa.get("failed") or ["?"])


def creatives_to_publish(session: Session, campaign_name: str) -> list[str]:
    """Ids of the campaign's creatives that are rendered, passed the gate, not published."""
    rows = session.execute(
        select(Creative.id, Creative.manifest)
        .join(Campaign)
        .where(
            Campaign.name == campaign_name,
            Creative.status == CreativeStatus.RENDERED.value,
        )
        .order_by(Creative.name)
    )
    return [creative_id for creative_id, manifest in rows if quality_gate_passed(manifest)]


# Sidecar files the renderer names in the manifest's "files", published beside the video.
SIDECARS = {"vtt": ".vtt", "srt": ".srt", "preview": ".webp"}


def publish_creative(session: Session, store: MediaStore, creative_id: str) -> tuple[str, str]:
    """Copy a rendered creative's video, poster and sidecars to stable keys.

    Keys are per creative (``creatives/<campaign id>/<creative name>.mp4``), so a creative
    keeps its URL; a re-render overwrites the files
    in place (write to a temporary name, then move). Returns the video and poster keys;
    sidecar keys (captions, animated preview) go into the manifest's ``published``.
    """
    creative = session.get(Creative, creative_id)
    if creative is None:
        raise LookupError(f"no creative {creative_id}")
    if not creative.video_path or not creative.poster_path:
        raise ValueError(f"creative {creative_id} has not been rendered")
    if not quality_gate_passed(creative.manifest):
        failed = ", ".join(creative.manifest["qa"].get("failed") or [])
        raise QualityGateFailed(f"creative {creative_id} failed the quality gate: {failed}")
    # Files a person can tell apart: the creative's name (product handle and factors,
    # unique in its campaign), under the campaign's folder.
    base = f"creatives/{creative.campaign_id}/{creative.name}"
    video = Path(creative.video_path)
    video_key = store.put_file(video, f"{base}.mp4")
    poster_key = store.put_file(Path(creative.poster_path), f"{base}.jpg")
    published: dict[str, str] = {}
    for kind, name in (creative.manifest.get("files") or {}).items():
        sidecar = video.parent / name if name else None
        if kind in SIDECARS and sidecar is not None and sidecar.is_file():
            published[kind] = store.put_file(sidecar, f"{base}{SIDECARS[kind]}")
    creative.manifest = {**creative.manifest, "published": published}
    mark_published(session, creative.id, video_key, poster_key)
    return video_key, poster_key


def factor_label(factors: dict[str, str]) -> str:
    """``hook=price, cta=shop_now``: how a variant is named to people."""
    return ", ".join(f"{k}={v}" for k, v in sorted(factors.items()))


def campaign_overview(
    session: Session, campaign_name: str, store: MediaStore, cache_dir: Path
) -> tuple[list[dict[str, str]], list[tuple[Path, str]]]:
    """The campaign's live creatives as table rows, and (poster, label) pairs for a sheet.

    Posters come from the media store (fetched into ``cache_dir`` when it is remote): the
    creatives may have been rendered on other machines.
    """
    creatives = campaign_creatives(session, campaign_name)
    rows = [
        {
            "creative": c.name,
            "product": c.product.title,
            "factors": factor_label(c.factors),
            "duration_s": f"{c.duration_s or 0:.1f}",
            "size": f"{c.width}x{c.height}",
            "video": store.url_for(c.video_key) if c.video_key else "",
            "poster": store.url_for(c.poster_key) if c.poster_key else "",
            "quality": quality_verdict(c.manifest),
        }
        for c in creatives
    ]
    posters = [
        (store.fetch(c.poster_key, cache_dir), f"{c.product.title}\n{factor_label(c.factors)}")
        for c in creatives
        if c.poster_key
    ]
    return rows, posters


def image_data_uri(path: Path, max_side: int = 720, quality: int = 72) -> str:
    """A small JPEG of the image as a ``data:`` URI.

    Prefect's UI renders markdown images through DOMPurify, which keeps ``data:`` sources
    on ``<img>``: an artifact that embeds its picture shows without any server of ours.
    """
    with Image.open(path) as source:
        image = source.convert("RGB")
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
