"""Animated previews (WebP) for reports: a small, low-frame-rate loop of a creative.

:class:`PreviewCollector` is fed every frame while the video renders and keeps a small
copy of every n-th one, so a preview costs a few small resizes rather than a decode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from generation.engines.base import Frame
from generation.yuv import Yuv420

__all__ = ["PreviewCollector"]


class PreviewCollector:
    """Collects thumbnails at about ``preview_fps`` and writes them as an animated WebP."""

    def __init__(self, fps: int, width: int, height: int, *, preview_fps: int = 6, edge: int = 320):
        self.step = max(1, round(fps / preview_fps))
        self.duration_ms = round(1000 * self.step / fps)
        scale = min(1.0, edge / max(width, height))
        self.size = (max(2, round(width * scale)), max(2, round(height * scale)))
        self.frames: list[Image.Image] = []

    def add(self, frame: Frame | Yuv420, index: int) -> None:
        """Offer frame ``index`` of the video (RGB or YUV 4:2:0); keeps one in every ``step``."""
        if index % self.step:
            return
        if isinstance(frame, Yuv420):
            # Scaled and converted in one swscale pass.
            self.frames.append(Image.fromarray(frame.to_rgb(self.size)))
        else:
            height, width = frame.shape[:2]
            factor = max(1, min(width // self.size[0], height // self.size[1]))
            # Every other row, then reduce() (a box filter by integer factors): half the
            # frame is read, and a preview of a few hundred pixels looks no different.
            if factor >= 4:
                image = Image.fromarray(frame[::2]).reduce((factor, factor // 2))
            else:
                image = Image.fromarray(frame)
                if factor > 1:
                    image = image.reduce(factor)
            self.frames.append(image.resize(self.size, Image.Resampling.BILINEAR))

    def save(self, path: Path) -> Path | None:
        """Write the loop to ``path`` (animated WebP); ``None`` if nothing was collected."""
        if not self.frames:
            return None
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        try:
            self.write(Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def write(self, path: Path) -> None:
        """Encode the collected loop into ``path`` as it is (no temporary file)."""
        if not self.frames:
            raise ValueError("no preview frames were collected")
        first, *rest = self.frames
        first.save(
            path,
            format="WEBP",
            save_all=True,
            append_images=rest,
            duration=self.duration_ms,
            loop=0,
            quality=70,
            method=2,
        )
