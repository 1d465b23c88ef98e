"""Text primitives for overlays: font choice, word wrapping, fitting and drawing.

Everything here produces small RGBA images that :mod:`generation.compose` positions on
the frame; nothing here knows about the ad layout.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from generation.overlays.wrap import wrap_text

__all__ = [
    "RGB",
    "RGBA",
    "TextBlock",
    "displayable",
    "fit_text",
    "fit_whole",
    "font_path_for",
    "load_font",
    "pill_size",
    "render_pill",
    "render_text",
    "text_image_size",
    "wrap_text",
]

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

_log = logging.getLogger(__name__)

_ELLIPSIS = "…"
# Fonts tried, in order, when the brand font (or Pillow's Latin-only default) lacks a
# glyph: Debian's Noto fonts when installed (`fonts-noto-core`: most scripts), then the
# DejaVu Sans that ships inside the matplotlib wheel (Latin, Greek, Cyrillic, Hebrew,
# Arabic, ...), so non-Latin titles render on a machine with no system fonts at all.
_NOTO_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"))
_DEJAVU_SYSTEM = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Extra space between wrapped lines, as a fraction of the font's natural line height.
_LINE_GAP = 0.08


def _matplotlib_dejavu() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return None


@cache
def _fallback_fonts() -> tuple[Path, ...]:
    found: list[Path] = []
    for folder in _NOTO_DIRS:
        if folder.is_dir():
            regular = sorted(
                p
                for p in folder.iterdir()
                if p.name.startswith("NotoSans")
                and p.stem.endswith("-Regular")
                and p.suffix in (".ttf", ".otf", ".ttc")
            )
            # The pan-European face first; then the script-specific ones.
            found.extend(sorted(regular, key=lambda p: p.name != "NotoSans-Regular.ttf"))
    found.extend(p for p in (_matplotlib_dejavu(), _DEJAVU_SYSTEM) if p and p.is_file())
    return tuple(found)


@cache
def _coverage(font_path: Path | None) -> frozenset[int]:
    """Code points the font has glyphs for (``None``: Pillow's built-in font)."""
    if font_path is None:
        data = ImageFont.load_default(10).font_bytes  # type: ignore[union-attr]
        source: object = io.BytesIO(data)
    else:
        source = str(font_path)
    try:
        font = TTFont(source, fontNumber=0, lazy=True)
        return frozenset(font.getBestCmap() or {})
    except Exception:  # an unreadable font covers nothing; the next one is tried
        _log.warning("cannot read font %s; skipping it", font_path)
        return frozenset()


def _needed(text: str) -> set[int]:
    # Whitespace and invisible format characters (ZWJ, variation selectors) need no glyph.
    return {ord(c) for c in text if not c.isspace() and unicodedata.category(c) not in ("Cf", "Mn")}


@lru_cache(maxsize=512)
def font_path_for(text: str, preferred: Path | None = None) -> Path | None:
    """The first font of the chain (brand font, built-in, fallbacks) that covers ``text``.

    If none covers every character, the one covering the most wins; :func:`displayable`
    then drops what it cannot draw (typically emoji) rather than printing empty boxes.
    """
    needed = _needed(text)
    chain: list[Path | None] = [preferred] if preferred is not None else []
    chain.append(None)
    best, best_count = chain[0], -1
    for candidate in (*chain, *_fallback_fonts()):
        count = len(needed & _coverage(candidate))
        if count == len(needed):
            return candidate
        if count > best_count:
            best, best_count = candidate, count
    return best


def displayable(text: str, font_path: Path | None) -> str:
    """``text`` without the characters ``font_path`` cannot draw, spaces collapsed."""
    covered = _coverage(font_path)
    kept = "".join(
        c
        for c in text
        if c.isspace() or ord(c) in covered or unicodedata.category(c) in ("Cf", "Mn")
    )
    return " ".join(kept.split())


@lru_cache(maxsize=64)
def load_font(size: int, font_path: Path | None = None) -> ImageFont.FreeTypeFont:
    """The one place fonts are chosen: a brand font file if given, else Pillow's built-in.

    Pillow >= 10.1 embeds a scalable FreeType font (Aileron) as its default, so no font
    files need to ship with the package. It covers Latin scripts only; titles in other
    scripts need a ``font_path`` with suitable glyphs.
    """
    size = max(1, int(size))
    font = (
        ImageFont.truetype(str(font_path), size)
        if font_path is not None
        else ImageFont.load_default(size=size)
    )
    if not isinstance(font, ImageFont.FreeTypeFont):
        # Without FreeType Pillow falls back to a fixed-size bitmap font: overlays would
        # silently come out tiny, so refuse instead.
        raise RuntimeError("Pillow was built without FreeType; scalable fonts are required")
    return font


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * (1 + _LINE_GAP))


@dataclass(frozen=True)
class TextBlock:
    """Wrapped lines in a chosen font, with the size they occupy when drawn."""

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    line_height: int

    @property
    def width(self) -> int:
        return max(round(self.font.getlength(line)) for line in self.lines)

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _fits(block: TextBlock, max_width: float, max_height: float, max_lines: int) -> bool:
    return len(block.lines) <= max_lines and block.height <= max_height and block.width <= max_width


@lru_cache(maxsize=4096)
def fit_whole(
    text: str,
    max_width: float,
    max_height: float,
    max_size: int,
    min_size: int,
    max_lines: int,
    *,
    font_path: Path | None = None,
) -> TextBlock | None:
    """Largest size in ``[min_size, max_size]`` at which all of ``text`` fits, else ``None``.

    Nothing is ever cut: ad text either fits whole at a legible size or the caller
    finds it another place (or a shorter, whole sentence). The font is ``font_path``
    if it can draw ``text``, else the first fallback that can (see
    :func:`font_path_for`); characters no font can draw are left out.
    """
    font_path = font_path_for(text, font_path)
    text = displayable(text, font_path) or " "
    size = max(1, max_size)
    floor = max(1, min_size)
    while True:
        font = load_font(size, font_path)
        block = TextBlock(tuple(wrap_text(text, font, max_width)), font, _line_height(font))
        if _fits(block, max_width, max_height, max_lines):
            return block
        if size <= floor:
            return None
        size = max(floor, min(size - 1, int(size * 0.92)))


def fit_text(
    text: str,
    max_width: float,
    max_height: float,
    max_size: int,
    min_size: int,
    max_lines: int,
    *,
    truncate: bool = True,
    font_path: Path | None = None,
) -> TextBlock:
    """Like :func:`fit_whole`, but always returns a block.

    If even ``min_size`` does not fit: with ``truncate`` the last allowed line ends,
    after a whole word, in an ellipsis (for labels of internal review sheets, never for
    ad copy); without it the font keeps shrinking until the whole text fits.
    """
    block = fit_whole(
        text,
        max_width,
        max_height,
        max_size,
        min_size if truncate else 1,
        max_lines,
        font_path=font_path,
    )
    if block is not None:
        return block
    path = font_path_for(text, font_path)
    font = load_font(max(1, min_size), path)
    lines = wrap_text(displayable(text, path) or " ", font, max_width)
    line_height = _line_height(font)
    kept = max(1, min(max_lines, int(max_height // line_height)))
    if len(lines) > kept:
        last = lines[kept - 1]
        while " " in last and font.getlength(last + _ELLIPSIS) > max_width:
            last = last.rsplit(" ", 1)[0]
        lines = [*lines[: kept - 1], last.rstrip(",;:") + _ELLIPSIS]
    return TextBlock(tuple(lines), font, line_height)


def _text_pads(size: float, shadow: bool, bold: bool) -> tuple[int, int]:
    weight = max(1, round(size * 0.025)) if bold else 0
    return (max(2, round(size * 0.12)) if shadow else 1) + weight, weight


def text_image_size(
    block: TextBlock, *, shadow: bool = True, bold: bool = False, align_width: int | None = None
) -> tuple[int, int]:
    """The ``(width, height)`` :func:`render_text` gives ``block``, without drawing it."""
    pad, _ = _text_pads(block.font.size, shadow, bold)
    return max(block.width, align_width or 0) + 2 * pad, block.height + 2 * pad


@lru_cache(maxsize=2048)
def pill_size(
    text: str, font: ImageFont.FreeTypeFont, *, pad_x: float, pad_y: float, min_width: int = 0
) -> tuple[int, int]:
    """The ``(width, height)`` :func:`render_pill` gives, without drawing it."""
    left, top, right, bottom = font.getbbox(text)
    return max(min_width, round(right - left + 2 * pad_x)), round(bottom - top + 2 * pad_y)


def render_text(
    block: TextBlock,
    fill: RGB,
    *,
    shadow: bool = True,
    bold: bool = False,
    align_width: int | None = None,
) -> Image.Image:
    """Draw a block as a tight RGBA image, lines centred, with a soft drop shadow.

    The shadow keeps white text legible over busy product photos without a solid box.
    ``bold`` thickens strokes by outlining glyphs in their own colour: the built-in
    font has a single (regular) weight, and headlines need more presence than that.
    """
    size = block.font.size
    pad, weight = _text_pads(size, shadow, bold)
    width, height = text_image_size(block, shadow=shadow, bold=bold, align_width=align_width)
    image = Image.new("RGBA", (width, height), (*fill, 0))
    if shadow:
        shade = Image.new("L", (width, height), 0)
        sdraw = ImageDraw.Draw(shade)
        offset = max(1, round(size * 0.04))
        for i, line in enumerate(block.lines):
            y = pad + i * block.line_height + offset
            sdraw.text(
                (width / 2 + offset, y),
                line,
                font=block.font,
                fill=200,
                anchor="ma",
                stroke_width=weight,
                stroke_fill=200,
            )
        shade = shade.filter(ImageFilter.GaussianBlur(max(1.0, size * 0.06)))
        image = Image.merge("RGBA", (*Image.new("RGB", (width, height), (0, 0, 0)).split(), shade))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(block.lines):
        y = pad + i * block.line_height
        draw.text(
            (width / 2, y),
            line,
            font=block.font,
            fill=(*fill, 255),
            anchor="ma",
            stroke_width=weight,
            stroke_fill=(*fill, 255),
        )
    return image


def render_pill(
    text: str,
    font: ImageFont.FreeTypeFont,
    background: RGB,
    foreground: RGB,
    *,
    pad_x: float,
    pad_y: float,
    min_width: int = 0,
) -> Image.Image:
    """A rounded "sticker" with centred text, used for price badges and the CTA button."""
    left, top, right, bottom = font.getbbox(text)
    text_w, text_h = right - left, bottom - top
    width, height = pill_size(text, font, pad_x=pad_x, pad_y=pad_y, min_width=min_width)
    # Supersample the shape so its rounded edge is anti-aliased.
    scale = 3
    shape = Image.new("L", (width * scale, height * scale), 0)
    ImageDraw.Draw(shape).rounded_rectangle(
        (0, 0, width * scale - 1, height * scale - 1), radius=height * scale // 2, fill=255
    )
    alpha = shape.resize((width, height), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (width, height), (*background, 0))
    image.putalpha(alpha)
    draw = ImageDraw.Draw(image)
    # Centre the ink box, not the advance box, so digits sit optically centred.
    draw.text(
        ((width - text_w) / 2 - left, (height - text_h) / 2 - top),
        text,
        font=font,
        fill=(*foreground, 255),
    )
    return image
