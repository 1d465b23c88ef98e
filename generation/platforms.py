"""Output formats: aspect ratios, their platform sizes, and where text may go on each.

Safe areas are the union of what the platforms using an aspect ratio cover with their
own UI (TikTok, Instagram Reels and YouTube Shorts on 9:16: caption text, buttons down
the right edge and the progress bar at the bottom; feed posts on 1:1 and 4:5; YouTube
on 16:9), expressed as fractions of the frame so tiny test renders follow the same
rules as full-size ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ASPECTS",
    "DEFAULT_ASPECT",
    "Aspect",
    "SafeArea",
    "aspect_for_size",
    "get_aspect",
    "safe_area",
    "size_for",
]


@dataclass(frozen=True)
class SafeArea:
    """Rectangle (pixels) inside which all text must stay."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def contains(self, box: tuple[int, int, int, int]) -> bool:
        """Whether the ``(left, top, right, bottom)`` box lies inside this area."""
        left, top, right, bottom = box
        return (
            self.left <= left and self.top <= top and right <= self.right and bottom <= self.bottom
        )


@dataclass(frozen=True)
class Aspect:
    """One delivery format: its ratio label, full-size pixels and UI-free margins."""

    label: str
    width: int
    height: int
    # Margins as fractions of the frame: (top, right, bottom, left), like CSS.
    insets: tuple[float, float, float, float]
    platforms: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.width / self.height


ASPECTS: dict[str, Aspect] = {
    a.label: a
    for a in (
        # 9:16 full-screen: 10% top (account name, search), 22% bottom (caption text,
        # audio ticker, progress bar), 12% right (like/comment/share buttons).
        Aspect("9:16", 1080, 1920, (0.10, 0.12, 0.22, 0.06), ("tiktok", "reels", "shorts")),
        Aspect("4:5", 1080, 1350, (0.06, 0.06, 0.10, 0.06), ("instagram_feed", "facebook_feed")),
        Aspect("1:1", 1080, 1080, (0.10, 0.06, 0.10, 0.06), ("instagram_feed", "facebook_feed")),
        Aspect("16:9", 1920, 1080, (0.08, 0.06, 0.12, 0.06), ("youtube", "web")),
    )
}
DEFAULT_ASPECT = "9:16"


def get_aspect(label: str) -> Aspect:
    """The aspect called ``label`` (``"9:16"``, ``"1:1"``, ``"4:5"``, ``"16:9"``)."""
    try:
        return ASPECTS[label]
    except KeyError:
        raise ValueError(f"unknown aspect {label!r}; expected one of {sorted(ASPECTS)}") from None


def _even(value: float) -> int:
    # yuv420p needs even dimensions.
    return max(16, 2 * round(value / 2))


def size_for(label: str, long_edge: int = 1920) -> tuple[int, int]:
    """Frame size of aspect ``label``, the platform size scaled by ``long_edge / 1920``.

    ``long_edge=1920`` gives the platform sizes (1080x1920, 1080x1350, 1080x1080,
    1920x1080); smaller values give proportionally smaller frames (even numbers).
    """
    aspect = get_aspect(label)
    scale = long_edge / 1920
    return _even(aspect.width * scale), _even(aspect.height * scale)


def aspect_for_size(width: int, height: int) -> Aspect:
    """The known aspect closest to ``width / height`` (compared on a log scale)."""
    ratio = math.log(width / height)
    return min(ASPECTS.values(), key=lambda a: abs(math.log(a.ratio) - ratio))


def safe_area(width: int, height: int) -> SafeArea:
    """The text-safe rectangle for a frame of this size (rules of the nearest aspect)."""
    top, right, bottom, left = aspect_for_size(width, height).insets
    return SafeArea(
        left=round(width * left),
        top=round(height * top),
        right=width - round(width * right),
        bottom=height - round(height * bottom),
    )
