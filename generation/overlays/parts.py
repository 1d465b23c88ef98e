"""The measured parts of overlay text groups: title, price pill, AI label and captions.

A part is measured at a size step for a region without drawing anything; only the
parts a plan keeps are drawn (see :mod:`generation.overlays.plan`). Sizes are given at
1080 px on the frame's short side and scale with the frame, so small test renders
follow the same rules as full-size ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from generation.overlays.layout import DrawnText
from generation.overlays.text import (
    RGB,
    TextBlock,
    fit_whole,
    load_font,
    pill_size,
    render_pill,
    render_text,
    text_image_size,
)
from generation.platforms import SafeArea, safe_area
from generation.spec import CreativeSpec

__all__ = ["AI_LABEL", "Part", "Piece", "TextParts", "Theme", "TinyTextParts"]

AI_LABEL = "AI-generated"
# Size steps of a text group within one region, largest first.
_STEPS = (1.0, 0.86, 0.74, 0.64, 0.55, 0.47, 0.4)


@dataclass(frozen=True)
class Theme:
    """Colours, font and logo of the overlays (built from a brand kit)."""

    text: RGB = (255, 255, 255)
    accent: RGB = (255, 212, 0)
    on_accent: RGB = (18, 18, 18)
    muted: RGB = (220, 220, 220)
    font_path: Path | None = None
    logo_path: Path | None = None


@dataclass(frozen=True)
class Piece:
    """A measured part of a text group, drawn only once its place is chosen."""

    size: tuple[int, int]
    role: str
    text: str
    draw: Callable[[], Image.Image]
    font_size: int = 0
    lines: int = 1


# A part of a text group: given a size factor and the region, its piece (None: no fit).
Part = Callable[[float, SafeArea], Piece | None]


class TextParts:
    """Builds and measures the text parts of one creative's overlays."""

    lines_factor = 1

    def __init__(self, spec: CreativeSpec, theme: Theme) -> None:
        self.spec, self.theme = spec, theme
        self.area = safe_area(spec.width, spec.height)
        self.unit = min(spec.width, spec.height) / 1080

    def px(self, value: float) -> int:
        return max(1, round(value * self.unit))

    # -- parts ----------------------------------------------------------------------------

    def _block(
        self, text: str, region: SafeArea, size: float, floor: float, lines: int, height: float
    ) -> TextBlock | None:
        return fit_whole(
            text,
            region.width * 0.94,
            height,
            max(self.px(floor), round(size * self.unit)),
            self.px(floor),
            lines,
            font_path=self.theme.font_path,
        )

    def title_part(self, size: float, floor: float, lines: int, bold: bool) -> Part:
        def part(k: float, region: SafeArea) -> Piece | None:
            block = self._block(
                self.spec.title, region, size * k, floor, lines * self.lines_factor, region.height
            )
            if block is None:
                return None
            return Piece(
                text_image_size(block, bold=bold),
                "title",
                " ".join(block.lines),
                lambda: render_text(block, self.theme.text, bold=bold),
                int(block.font.size),
                len(block.lines),
            )

        return part

    def price_part(self, size: float, floor: float) -> Part:
        def part(k: float, region: SafeArea) -> Piece | None:
            block = self._block(self.spec.price_text, region, size * k, floor, 1, region.height)
            if block is None:
                return None
            text, font = block.lines[0], block.font
            pad_x, pad_y = font.size * 0.55, font.size * 0.32
            return Piece(
                pill_size(text, font, pad_x=pad_x, pad_y=pad_y),
                "price",
                text,
                lambda: render_pill(
                    text, font, self.theme.accent, self.theme.on_accent, pad_x=pad_x, pad_y=pad_y
                ),
                int(font.size),
            )

        return part

    def was_part(self, size: float, floor: float) -> Part:
        """The price before the sale, struck through (``spec.was_price_text``)."""

        def part(k: float, region: SafeArea) -> Piece | None:
            text = f"Was {self.spec.was_price_text}"
            block = self._block(text, region, size * k, floor, 1, region.height)
            if block is None:
                return None
            size_ = text_image_size(block)

            def draw() -> Image.Image:
                image = render_text(block, self.theme.text)
                ink = image.getchannel("A").getbbox() or (0, 0, image.width, image.height)
                # The strike runs through the amount only, at its middle.
                left = ink[0] + round(block.font.getlength("Was "))
                y = (ink[1] + ink[3]) // 2
                width = max(2, round(block.font.size / 12))
                ImageDraw.Draw(image).line(
                    (left, y, ink[2], y), fill=(*self.theme.accent, 255), width=width
                )
                return image

            return Piece(size_, "was_price", text, draw, int(block.font.size))

        return part

    def label_part(self) -> Part:
        def part(k: float, region: SafeArea) -> Piece | None:
            font = load_font(max(self.px(16), self.px(26 * k)), self.theme.font_path)
            pad_x, pad_y = self.px(14), self.px(8)
            size = pill_size(AI_LABEL, font, pad_x=pad_x, pad_y=pad_y)
            if size[0] > region.width:
                return None

            def draw() -> Image.Image:
                pill = render_pill(
                    AI_LABEL, font, (0, 0, 0), (255, 255, 255), pad_x=pad_x, pad_y=pad_y
                )
                # Semi-transparent so it is legible without dominating the picture.
                pill.putalpha(pill.getchannel("A").point(lambda v: v * 3 // 4))
                return pill

            return Piece(size, "label", AI_LABEL, draw)

        return part

    # -- groups ---------------------------------------------------------------------------

    def group(
        self, parts: Sequence[Part], region: SafeArea, gap: float
    ) -> tuple[list[Piece], int] | None:
        """The parts (and the gap between them) at the largest size step that fits."""
        for k in _STEPS:
            made = [p(k, region) for p in parts]
            kept = [m for m in made if m is not None]
            if len(kept) < len(made):
                continue
            space = self.px(gap * k)
            height = sum(m.size[1] for m in kept) + space * (len(kept) - 1)
            if height <= region.height and all(m.size[0] <= region.width for m in kept):
                return kept, space
        return None

    def place(
        self, name: str, pieces: list[Piece], region: SafeArea, gap: int, anchor: str
    ) -> tuple[list[tuple[Image.Image, int, int]], list[DrawnText]]:
        total = sum(p.size[1] for p in pieces) + gap * (len(pieces) - 1)
        y = {
            "top": region.top,
            "bottom": region.bottom - total,
            "middle": region.top + (region.height - total) // 2,
        }[anchor]
        placed, texts = [], []
        for piece in pieces:
            image = piece.draw()
            x = region.left + (region.width - image.width) // 2
            placed.append((image, x, y))
            texts.append(
                DrawnText(name, piece.role, piece.text, (x, y, x + image.width, y + image.height))
            )
            y += image.height + gap
        return placed, texts

    def caption(
        self, line: str, region: SafeArea, size: float = 64, floor: float = 22
    ) -> Piece | None:
        """``line`` as a caption box at ``size`` (shrunk down to ``floor`` to fit)."""
        pad = self.px(12)
        height = min(region.height, self.spec.height * 0.14) - 2 * pad
        block = fit_whole(
            line,
            region.width * 0.92 - 2 * pad,
            height,
            self.px(size),
            self.px(min(size, floor)),
            3,
            font_path=self.theme.font_path,
        )
        if block is None:
            return None
        text_w, text_h = text_image_size(block, shadow=False)
        box_size = (text_w + 2 * pad, text_h + 2 * pad)
        if box_size[1] > region.height or box_size[0] > region.width:
            return None  # the drawn box (text plus its padding) must fit, not just the ink

        def draw() -> Image.Image:
            text = render_text(block, self.theme.text, shadow=False)
            box = Image.new("RGBA", box_size, (0, 0, 0, 150))
            box.alpha_composite(text, (pad, pad))
            return box

        return Piece(box_size, "caption", " ".join(block.lines), draw, int(block.font.size))


class TinyTextParts(TextParts):
    """The last resort for absurdly long text: any size, any number of lines, never cut.

    The text then is too small to read, which is still better than a cut price or
    title; such a creative reads badly and a person should shorten the catalog title.
    """

    lines_factor = 8

    def px(self, value: float) -> int:
        return max(1, round(value * self.unit / 8))
