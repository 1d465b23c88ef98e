"""A real, playable showcase creative for MCP tests: H.264 MP4, JPEG poster, WebVTT captions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from reelcart.db import Database
from reelcart.models import Creative

__all__ = ["publish_playable_creative"]


def _write_video(path: Path, width: int, height: int, seconds: float, fps: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            frame = np.zeros((height, width, 3), dtype=np.uint8)
            frame[:, :, 0] = (i * 9) % 256
            frame[height // 3 : height // 2, (i * 4) % width :, 1] = 220
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def publish_playable_creative(
    db: Database,
    media_root: Path,
    product_id: str,
    creative_id: str = "crv_show",
    *,
    width: int = 144,
    height: int = 256,
    seconds: float = 4.0,
) -> str:
    """Write the files under ``media_root`` and publish the creative; returns its id."""
    base = f"creatives/demo/{creative_id}"
    _write_video(media_root / f"{base}.mp4", width, height, seconds)
    Image.new("RGB", (width, height), (200, 120, 40)).save(media_root / f"{base}.jpg")
    (media_root / f"{base}.vtt").write_text(
        "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nThe mug that keeps coffee hot.\n"
    )
    with db.session() as session:
        from reelcart.models import Campaign

        campaign = Campaign(name=f"show-{creative_id}", plan={})
        session.add(campaign)
        session.flush()
        session.add(
            Creative(
                id=creative_id,
                campaign_id=campaign.id,
                product_id=product_id,
                variant_key="hook=demo",
                name=f"{creative_id}__hook-demo",
                factors={"hook": "demo"},
                status="published",
                video_key=f"{base}.mp4",
                poster_key=f"{base}.jpg",
                duration_s=seconds,
                width=width,
                height=height,
                manifest={"published": {"vtt": f"{base}.vtt"}},
            )
        )
    return creative_id
