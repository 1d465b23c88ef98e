"""Measurements for the gate: taken while frames are rendered, and read back from the file.

:class:`FrameWatch` sees every output frame once as it goes to the encoder and keeps only
small numbers (mean luma, a coarse thumbnail for freeze detection) plus, on sampled
frames, where the product is in the footage and which overlay boxes were drawn over it.
That keeps the gate cheap enough to run on every render. :func:`decode_audio` reads the
finished file's soundtrack back for the loudness rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np

from generation.engines.base import Frame
from generation.overlays.layout import Box
from generation.quality.rules import FrameSample
from generation.yuv import Yuv420

__all__ = ["FrameWatch", "decode_audio"]

# Sample the product's place this often (seconds) on footage frames.
_SAMPLE_S = 0.5
# Coarse thumbnails: about this many pixels on the short side.
_THUMB = 48
# Mean absolute change (0..255) below which a frame counts as unchanged.
_FROZEN_DIFF = 0.35


class FrameWatch:
    """Collects the gate's per-frame measurements during a render.

    ``locate`` finds the product in a footage frame (pixel box, or ``None``);
    ``overlays_at`` names the overlay boxes drawn on a frame; ``close_up_at`` says
    whether a frame belongs to a close-up.
    """

    def __init__(
        self,
        fps: int,
        locate: Callable[[Frame], Box | None],
        overlays_at: Callable[[int], Sequence[tuple[str, Box]]],
        close_up_at: Callable[[int], bool] = lambda index: False,
    ) -> None:
        self.fps = fps
        self.locate = locate
        self.overlays_at = overlays_at
        self.close_up_at = close_up_at
        self.every = max(1, round(_SAMPLE_S * fps))
        self.luma: list[float] = []
        self.frozen_runs: list[tuple[int, int]] = []
        self.samples: list[FrameSample] = []
        self._anchor: np.ndarray | None = None
        self._run_start = 0
        self._step = 1

    def want_sample(self, index: int) -> bool:
        return index % self.every == 0

    def footage(self, index: int, footage: Frame) -> None:
        """A footage frame before overlays (called on sampled indices)."""
        overlays = tuple(self.overlays_at(index))
        close_up = self.close_up_at(index)
        self.samples.append(FrameSample(index, self.locate(footage), overlays, close_up))

    def output(self, index: int, frame: Frame | Yuv420) -> None:
        """A finished frame, as handed to the encoder (RGB or YUV 4:2:0)."""
        if isinstance(frame, Yuv420):
            if self._anchor is None:
                self._step = max(1, min(frame.width, frame.height) // _THUMB)
            thumb = frame.sample_rgb(self._step).astype(np.int16)
        else:
            if self._anchor is None:
                self._step = max(1, min(frame.shape[:2]) // _THUMB)
            thumb = frame[:: self._step, :: self._step].astype(np.int16)
        self.luma.append(float(thumb.mean(axis=2).mean()))
        if self._anchor is not None and np.abs(thumb - self._anchor).mean() < _FROZEN_DIFF:
            return
        self._close_run(index)
        self._anchor, self._run_start = thumb, index

    def _close_run(self, index: int) -> None:
        if self._anchor is not None and index - self._run_start > 1:
            self.frozen_runs.append((self._run_start, index - self._run_start))

    def finish(self, end: int) -> list[tuple[int, int]]:
        """Close the last run at frame ``end`` (exclusive); returns the frozen runs."""
        self._close_run(end)
        self._anchor = None
        return self.frozen_runs


def decode_audio(path: Path) -> tuple[np.ndarray, int] | None:
    """The file's first audio track as ``(samples, channels)`` float PCM and its rate."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = stream.rate
        chunks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            if frame.format.is_planar:
                chunks.append(data.T)
            else:
                chunks.append(data.reshape(-1, frame.layout.nb_channels))
    if not chunks:
        return np.zeros((0, 2), dtype=np.float32), rate
    return np.concatenate(chunks).astype(np.float64), rate
