"""Pictures in the encoder's own format: planar YUV 4:2:0 (``yuv420p``, I420).

Footage comes out of the mezzanine files as YUV 4:2:0 and goes into x264 as YUV 4:2:0.
Compositing in that format skips two full-frame colour conversions per frame (YUV->RGB
after decoding, RGB->YUV before encoding), which at 1080x1920 cost as much CPU as all the
overlays together. Alpha blending and cross-dissolves are linear, so they give the same
picture in YUV as in RGB up to rounding; text layers are converted once per creative.

Every conversion goes through FFmpeg's swscale with its defaults (BT.601, limited range),
the same matrix :class:`~generation.encode.VideoWriter` applies to RGB frames, so a
picture made either way reaches the encoder with the same colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from generation.engines.base import Frame
from generation.overlays.layers import Layer

__all__ = ["Yuv420", "YuvLayer", "dissolve"]


def _plane_image(plane: npt.NDArray[np.uint8]) -> Image.Image:
    """A PIL ``L`` image drawing straight into ``plane`` (no copy)."""
    height, width = plane.shape
    image = Image.frombuffer("L", (width, height), plane, "raw", "L", 0, 1)
    # frombuffer marks shared memory read-only; this memory is ours to draw on.
    image.readonly = 0
    return image


@dataclass(frozen=True)
class Yuv420:
    """One picture as an I420 buffer: ``data`` of shape ``(height * 3 // 2, width)``.

    The luma plane fills the first ``height`` rows; the two quarter-size chroma planes
    follow, one after the other (PyAV's ``yuv420p`` layout). ``data`` is C-contiguous.
    """

    data: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        rows, width = self.data.shape
        if self.data.dtype != np.uint8 or rows % 3 or width % 2 or (rows * 2 // 3) % 2:
            raise ValueError(f"not an even-sized I420 buffer: {self.data.dtype} {self.data.shape}")
        if not self.data.flags.c_contiguous:
            raise ValueError("an I420 buffer must be C-contiguous")

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0]) * 2 // 3

    @property
    def y(self) -> npt.NDArray[np.uint8]:
        return self.data[: self.height]

    @property
    def u(self) -> npt.NDArray[np.uint8]:
        return self._chroma(0)

    @property
    def v(self) -> npt.NDArray[np.uint8]:
        return self._chroma(1)

    def _chroma(self, which: int) -> npt.NDArray[np.uint8]:
        h, w = self.height, self.width
        start = h * w + which * (h * w // 4)
        return self.data.reshape(-1)[start : start + h * w // 4].reshape(h // 2, w // 2)

    def copy(self) -> Yuv420:
        return Yuv420(self.data.copy())

    @classmethod
    def from_video_frame(cls, frame: av.VideoFrame) -> Yuv420:
        """A decoded frame's pixels, copied (a decoder reuses its frames as references)."""
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        return cls(_bytes(frame.to_ndarray()))

    @classmethod
    def from_rgb(cls, rgb: Frame) -> Yuv420:
        """``rgb`` (``uint8`` ``(height, width, 3)``) converted as the encoder would."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        return cls(_bytes(frame.reformat(format="yuv420p").to_ndarray()))

    def video_frame(self) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(self.data, format="yuv420p")

    def to_rgb(self, size: tuple[int, int] | None = None) -> Frame:
        """The picture as RGB, scaled to ``size`` (width, height) in the same pass if given."""
        width, height = size or (self.width, self.height)
        converted = self.video_frame().reformat(width, height, format="rgb24")
        return _bytes(converted.to_ndarray())

    def sample_rgb(self, step: int) -> npt.NDArray[np.uint8]:
        """Every ``step``-th pixel of every ``step``-th row, as RGB (a tiny thumbnail).

        Computed here from the planes with the BT.601 limited-range matrix: for a picture
        of a few thousand pixels a swscale context costs more than the arithmetic.
        """
        luma = self.y[::step, ::step].astype(np.float32) - 16.0
        if step % 2 == 0:  # every sampled pixel's chroma sits at (row, col) // 2
            cb = self.u[:: step // 2, :: step // 2].astype(np.float32) - 128.0
            cr = self.v[:: step // 2, :: step // 2].astype(np.float32) - 128.0
        else:
            rows, cols = np.ix_(
                np.arange(0, self.height, step) // 2, np.arange(0, self.width, step) // 2
            )
            cb = self.u[rows, cols].astype(np.float32) - 128.0
            cr = self.v[rows, cols].astype(np.float32) - 128.0
        luma *= 255.0 / 219.0
        red = luma + 1.402 * (255.0 / 224.0) * cr
        green = luma - (255.0 / 224.0) * (0.344136 * cb + 0.714136 * cr)
        blue = luma + 1.772 * (255.0 / 224.0) * cb
        rgb = np.stack([red, green, blue], axis=-1)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def dissolve(before: Yuv420, after: Yuv420, t: float) -> Yuv420:
    """``before * (1 - t) + after * t``, every plane at once (a new picture)."""
    mixed = Image.blend(_plane_image(before.data), _plane_image(after.data), t)
    return Yuv420(np.array(mixed))


class YuvLayer:
    """A :class:`~generation.overlays.layers.Layer` converted once for drawing onto :class:`Yuv420`.

    The layer is widened by a pixel where needed so that it starts on even coordinates
    and covers whole 2x2 chroma blocks. Its chroma is the alpha-weighted mean of each
    block and its chroma alpha the block's mean alpha: what subsampling the blended RGB
    picture would give wherever the footage under a block is even.
    """

    def __init__(self, layer: Layer) -> None:
        left, top = layer.x % 2, layer.y % 2
        width, height = layer.rgb.width + left, layer.rgb.height + top
        width, height = width + width % 2, height + height % 2
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
        alpha = np.zeros((height, width), dtype=np.uint8)
        rgb[top : top + layer.rgb.height, left : left + layer.rgb.width] = np.asarray(layer.rgb)
        alpha[top : top + layer.rgb.height, left : left + layer.rgb.width] = np.asarray(layer.alpha)
        full = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
        planes = [
            np.frombuffer(memoryview(plane), dtype=np.uint8)
            .reshape(height, plane.line_size)[:, :width]
            .astype(np.float64)
            for plane in full.planes
        ]
        weight = alpha.astype(np.float64)
        block_alpha = _blocks(weight)
        chroma = [
            np.where(block_alpha > 0, _blocks(plane * weight) / np.maximum(block_alpha, 1e-9), 128)
            for plane in planes[1:]
        ]
        self.x, self.y = layer.x - left, layer.y - top
        self.luma = Image.fromarray(planes[0].round().astype(np.uint8))
        self.alpha = Image.fromarray(alpha)
        self.cb, self.cr = (Image.fromarray(np.rint(c).astype(np.uint8)) for c in chroma)
        self.chroma_alpha = Image.fromarray(np.rint(block_alpha / 4).astype(np.uint8))

    def blend_into(self, frame: Yuv420, opacity: float = 1.0) -> None:
        """Alpha-blend onto ``frame`` in place (only this layer's rectangle is touched)."""
        if opacity <= 0:
            return
        alpha, chroma_alpha = self.alpha, self.chroma_alpha
        if opacity < 1:
            alpha = alpha.point(lambda v: round(v * opacity))
            chroma_alpha = chroma_alpha.point(lambda v: round(v * opacity))
        _plane_image(frame.y).paste(self.luma, (self.x, self.y), alpha)
        at = (self.x // 2, self.y // 2)
        _plane_image(frame.u).paste(self.cb, at, chroma_alpha)
        _plane_image(frame.v).paste(self.cr, at, chroma_alpha)


def _bytes(array: object) -> npt.NDArray[np.uint8]:
    """PyAV's ``to_ndarray`` result for an 8-bit format, typed as such (no copy)."""
    return np.asarray(array, dtype=np.uint8)


def _blocks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Sums over 2x2 blocks (even-sized input)."""
    return values[0::2, 0::2] + values[1::2, 0::2] + values[0::2, 1::2] + values[1::2, 1::2]
