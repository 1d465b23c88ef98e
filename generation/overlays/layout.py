"""Where overlays may go: the platform safe area minus the product, or a letterbox band.

A frame is described by its safe area (platform UI margins, see
:mod:`generation.platforms`) and the product's box in that frame (found by
:mod:`generation.reframe`). The free regions are the bands of the safe area above,
below, left and right of the product (plus a margin). An overlay group is tried in the
regions in order of preference, at sizes from its largest down to its legible minimum;
when no region holds it, the caller letterboxes the footage (scales it down inside the
frame, which opens bands at the top and bottom that hold no product) and tries again.
"""

from __future__ import annotations

from dataclasses import dataclass

from generation.platforms import SafeArea

__all__ = [
    "Box",
    "DrawnText",
    "Letterbox",
    "free_regions",
    "inflate",
    "intersects",
    "letterbox",
    "to_pixels",
    "union",
]

Box = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in pixels, right/bottom exclusive."""


@dataclass(frozen=True)
class DrawnText:
    """One string as drawn: which layer, what role (title, price, ...), text and box."""

    layer: str
    role: str
    text: str
    box: Box


def to_pixels(box: tuple[float, float, float, float], width: int, height: int) -> Box:
    """A fractional ``(left, top, right, bottom)`` box as whole pixels (rounded outwards)."""
    left, top, right, bottom = box
    return (
        max(0, int(left * width)),
        max(0, int(top * height)),
        min(width, -int(-right * width // 1)),
        min(height, -int(-bottom * height // 1)),
    )


def inflate(box: Box, margin: int, width: int, height: int) -> Box:
    """``box`` grown by ``margin`` on every side, clamped to the frame."""
    left, top, right, bottom = box
    return (
        max(0, left - margin),
        max(0, top - margin),
        min(width, right + margin),
        min(height, bottom + margin),
    )


def union(boxes: list[Box]) -> Box:
    """The smallest box holding all ``boxes``."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def intersects(a: Box, b: Box) -> bool:
    """Whether two boxes share any pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def free_regions(area: SafeArea, product: Box) -> dict[str, SafeArea]:
    """The parts of ``area`` above, below, left and right of ``product`` (non-empty only).

    Each is a full band of the safe area, so a region never touches the product box.
    """
    left, top, right, bottom = product
    bands = {
        "top": SafeArea(area.left, area.top, area.right, min(area.bottom, top)),
        "bottom": SafeArea(area.left, max(area.top, bottom), area.right, area.bottom),
        "left": SafeArea(area.left, area.top, min(area.right, left), area.bottom),
        "right": SafeArea(max(area.left, right), area.top, area.right, area.bottom),
    }
    return {name: band for name, band in bands.items() if band.width > 0 and band.height > 0}


@dataclass(frozen=True)
class Letterbox:
    """Footage scaled by ``scale`` and placed at ``(x, y)``; bands around it are plain."""

    scale: float
    x: int
    y: int
    width: int
    height: int

    @property
    def active(self) -> bool:
        return self.scale < 1.0

    def map_box(self, box: Box) -> Box:
        """Where a box of the full-size footage lands in the letterboxed frame."""
        left, top, right, bottom = box
        return (
            self.x + int(left * self.scale),
            self.y + int(top * self.scale),
            self.x + -int(-right * self.scale // 1),
            self.y + -int(-bottom * self.scale // 1),
        )


def letterbox(
    width: int, height: int, scale: float, anchor: tuple[float, float] = (0.5, 0.5)
) -> Letterbox:
    """The footage at ``scale`` (<= 1), placed at ``anchor`` of the room it leaves.

    ``anchor`` ``(0.5, 0.5)`` centres it (bands split top and bottom, left and right);
    ``(1.0, 0.5)`` pushes it to the right edge, opening one wide band on the left (a
    text column beside the product), ``(0.5, 0.0)`` to the top, and so on. Sizes are
    even, as yuv420p wants; a centred top band is the smaller one, so the bottom band
    (captions) gets any odd row.
    """
    if scale >= 1.0:
        return Letterbox(1.0, 0, 0, width, height)
    w = max(2, 2 * round(width * scale / 2))
    h = max(2, 2 * round(height * scale / 2))
    # Even offsets: the chroma planes (half size) then cut at the same place as luma.
    x, y = 2 * int((width - w) * anchor[0] / 2), 2 * int((height - h) * anchor[1] / 2)
    return Letterbox(scale, x, y, w, h)
