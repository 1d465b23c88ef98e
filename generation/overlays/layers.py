"""Pre-rendered overlay layers and the helpers that place them inside a safe area.

A :class:`Layer` is drawn once per creative; per frame only its own rectangle is
alpha-blended, which keeps overlays cheap even at 1080x1920.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from generation.engines.base import Frame
from generation.platforms import SafeArea

__all__ = ["Layer", "backdrop", "flatten", "shrink_to", "stack"]


@dataclass(frozen=True)
class Layer:
    """A pre-rendered overlay: its RGB pixels, alpha mask and top-left position."""

    rgb: Image.Image
    alpha: Image.Image
    x: int
    y: int

    @classmethod
    def from_rgba(cls, image: Image.Image, x: int, y: int) -> Layer:
        return cls(image.convert("RGB"), image.getchannel("A"), x, y)

    @property
    def bottom(self) -> int:
        return self.y + self.rgb.height

    def blend_into(self, frame: Frame, opacity: float = 1.0) -> None:
        """Alpha-blend onto ``frame`` in place, touching only this layer's rectangle."""
        if opacity <= 0:
            return
        h, w = self.rgb.height, self.rgb.width
        region = frame[self.y : self.y + h, self.x : self.x + w]
        base = Image.fromarray(region)
        mask = self.alpha
        if opacity < 1:
            mask = mask.point(lambda v: round(v * opacity))
        base.paste(self.rgb, (0, 0), mask)
        region[...] = np.asarray(base)


def shrink_to(image: Image.Image, max_w: int, max_h: int) -> Image.Image:
    """``image`` scaled down (never up) to fit ``max_w`` x ``max_h``."""
    ratio = min(1.0, max_w / image.width, max_h / image.height)
    if ratio >= 1.0:
        return image
    size = (max(1, int(image.width * ratio)), max(1, int(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def stack(
    parts: Sequence[Image.Image], gap: int, area: SafeArea, top: int | None = None
) -> list[tuple[Image.Image, int, int]]:
    """Place images in a centred vertical stack; at ``top`` if given, else centred.

    Returns ``(image, x, y)`` triples. If the stack is taller than the safe area the
    whole stack is shrunk, so no text ever crosses into the reserved margins.
    """
    parts = [shrink_to(p, area.width, p.height) for p in parts]
    total = sum(p.height for p in parts) + gap * (len(parts) - 1)
    limit = area.bottom - (top if top is not None else area.top)
    if total > limit:
        ratio = limit / total
        parts = [shrink_to(p, p.width, int(p.height * ratio)) for p in parts]
        gap = int(gap * ratio)
        total = sum(p.height for p in parts) + gap * (len(parts) - 1)
    y = top if top is not None else area.top + (area.height - total) // 2
    placed = []
    for part in parts:
        x = area.left + (area.width - part.width) // 2
        placed.append((part, x, y))
        y += part.height + gap
    return placed


# Black at 68 %: white text over it keeps a WCAG contrast of at least 6:1 even where
# the footage behind is pure white (the panel leaves 32 % of it: luminance <= 0.09).
_PANEL_ALPHA = 174


def backdrop(
    placed: Sequence[tuple[Image.Image, int, int]], region: SafeArea, pad: int
) -> tuple[Image.Image, int, int]:
    """A rounded dark panel behind ``placed`` parts (padded by ``pad``, kept in ``region``)."""
    left = max(region.left, min(x for _, x, _ in placed) - pad)
    top = max(region.top, min(y for _, _, y in placed) - pad)
    right = min(region.right, max(x + im.width for im, x, _ in placed) + pad)
    bottom = min(region.bottom, max(y + im.height for im, _, y in placed) + pad)
    panel = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(panel).rounded_rectangle(
        (0, 0, panel.width - 1, panel.height - 1), radius=pad, fill=(0, 0, 0, _PANEL_ALPHA)
    )
    return panel, left, top


def flatten(
    placed: Sequence[tuple[Image.Image, int, int]], size: tuple[int, int], scrim_to: int | None
) -> Layer:
    """Merge placed parts (and an optional top scrim) into one tight layer."""
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    if scrim_to is not None:
        # A dark gradient from the top edge to just below the text: keeps white text
        # readable over bright photos without a hard-edged box.
        ramp = 160 * (1 - np.linspace(0, 1, max(1, scrim_to), dtype=np.float32)) ** 1.6
        alpha = np.repeat(ramp.astype(np.uint8)[:, None], size[0], axis=1)
        scrim = Image.new("RGBA", (size[0], scrim_to), (0, 0, 0, 0))
        scrim.putalpha(Image.fromarray(alpha))
        canvas.alpha_composite(scrim, (0, 0))
    for image, x, y in placed:
        canvas.alpha_composite(image, (x, y))
    bbox = canvas.getchannel("A").getbbox() or (0, 0, 1, 1)
    return Layer.from_rgba(canvas.crop(bbox), bbox[0], bbox[1])
