"""Ad overlays: title, price badge, hook and the CTA end card, drawn on footage frames.

Every text layer is rendered once per creative into a tight RGBA image; per frame only
the layer's own rectangle is alpha-blended (with a short fade-in), so overlays cost a
few milliseconds per frame even at 1080x1920.

Layout keeps all text inside a safe area: 10% margins top and bottom, 6% at the sides,
and on tall (9:16-like) formats the bottom 20% stays clear for the platform's own UI
(captions, buttons, progress bar).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from generation.engines.base import Frame
from generation.spec import CreativeSpec
from generation.text import RGB, fit_text, load_font, render_pill, render_text

__all__ = ["Compositor", "Layer", "SafeArea", "Theme", "safe_area"]

# Fade-in length for overlays and the end card.
_FADE_S = 0.3


@dataclass(frozen=True)
class Theme:
    """Colours and font of the overlays; the seam for a brand kit later on."""

    text: RGB = (255, 255, 255)
    accent: RGB = (255, 212, 0)
    on_accent: RGB = (18, 18, 18)
    muted: RGB = (220, 220, 220)
    font_path: Path | None = None


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


def safe_area(width: int, height: int) -> SafeArea:
    """The text-safe rectangle for a frame size (see module docstring for the rule)."""
    tall = height / width >= 1.5
    return SafeArea(
        left=round(width * 0.06),
        top=round(height * 0.10),
        right=width - round(width * 0.06),
        bottom=height - round(height * (0.20 if tall else 0.10)),
    )


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


def _shrink_to(image: Image.Image, max_w: int, max_h: int) -> Image.Image:
    """``image`` scaled down (never up) to fit ``max_w`` x ``max_h``."""
    ratio = min(1.0, max_w / image.width, max_h / image.height)
    if ratio >= 1.0:
        return image
    size = (max(1, int(image.width * ratio)), max(1, int(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _stack(
    parts: Sequence[Image.Image], gap: int, area: SafeArea, top: int | None = None
) -> list[tuple[Image.Image, int, int]]:
    """Place images in a centred vertical stack; at ``top`` if given, else centred.

    Returns ``(image, x, y)`` triples. If the stack is taller than the safe area the
    whole stack is shrunk, so no text ever crosses into the reserved margins.
    """
    parts = [_shrink_to(p, area.width, p.height) for p in parts]
    total = sum(p.height for p in parts) + gap * (len(parts) - 1)
    limit = area.bottom - (top if top is not None else area.top)
    if total > limit:
        ratio = limit / total
        parts = [_shrink_to(p, p.width, int(p.height * ratio)) for p in parts]
        gap = int(gap * ratio)
        total = sum(p.height for p in parts) + gap * (len(parts) - 1)
    y = top if top is not None else area.top + (area.height - total) // 2
    placed = []
    for part in parts:
        x = area.left + (area.width - part.width) // 2
        placed.append((part, x, y))
        y += part.height + gap
    return placed


def _flatten(
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


class Compositor:
    """Draws a creative's overlays onto footage frames and builds its end card.

    Timeline: the hook layer fades in over the first shot; from the second shot on a
    compact title+price strip takes over; after the last shot the end card (brand,
    title, price, CTA) fades in over a blurred, darkened still of the last frame.
    """

    def __init__(self, spec: CreativeSpec, theme: Theme | None = None) -> None:
        self.spec = spec
        self.theme = theme or Theme()
        self.area = safe_area(spec.width, spec.height)
        self.fade_frames = max(1, round(_FADE_S * spec.fps))
        self._unit = spec.width / 1080
        self._first_shot_frames = spec.shot_frames[0]
        # Where each layer's parts were placed (left, top, right, bottom): lets tests and
        # QA tooling check that nothing strays outside the safe area.
        self.text_boxes: dict[str, list[tuple[int, int, int, int]]] = {}
        self.hook_layer = self._hook_layer()
        self.info_layer = self._info_layer()
        self.end_card_layer = self._end_card_layer()

    # -- layer construction -------------------------------------------------------------

    def _px(self, value: float) -> int:
        return max(1, round(value * self._unit))

    def _text(
        self,
        text: str,
        max_size: float,
        min_size: float,
        lines: int,
        max_height: float,
        truncate: bool = True,
        fill: RGB | None = None,
        bold: bool = False,
    ) -> Image.Image:
        block = fit_text(
            text,
            # Leave room for the shadow padding render_text adds around the ink.
            self.area.width * 0.94,
            max_height,
            self._px(max_size),
            self._px(min_size),
            lines,
            truncate=truncate,
            font_path=self.theme.font_path,
        )
        return render_text(block, fill or self.theme.text, bold=bold)

    def _price_pill(self, max_size: float, max_width: float) -> Image.Image:
        # The price is the one string that must appear verbatim, so it shrinks, never clips.
        block = fit_text(
            self.spec.price_text,
            max_width,
            self.area.height,
            self._px(max_size),
            1,
            1,
            truncate=False,
            font_path=self.theme.font_path,
        )
        return render_pill(
            self.spec.price_text,
            block.font,
            self.theme.accent,
            self.theme.on_accent,
            pad_x=block.font.size * 0.55,
            pad_y=block.font.size * 0.32,
        )

    def _layer(
        self, name: str, placed: list[tuple[Image.Image, int, int]], scrim_pad: float | None
    ) -> Layer:
        self.text_boxes[name] = [(x, y, x + im.width, y + im.height) for im, x, y in placed]
        scrim_to = None
        if scrim_pad is not None:
            scrim_to = max(box[3] for box in self.text_boxes[name]) + self._px(scrim_pad)
        return _flatten(placed, (self.spec.width, self.spec.height), scrim_to)

    def _hook_layer(self) -> Layer:
        zone = self.spec.height * 0.24  # headline zone height below the safe top
        if self.spec.hook == "price":
            title = self._text(self.spec.title, 54, 30, 2, zone * 0.3)
            parts = [title, self._price_pill(150, self.area.width * 0.62)]
        else:
            title = self._text(self.spec.title, 96, 44, 3, zone * 0.82, bold=True)
            parts = [title, self._price_pill(60, self.area.width * 0.6)]
        return self._layer("hook", _stack(parts, self._px(22), self.area, self.area.top), 90)

    def _info_layer(self) -> Layer:
        title = self._text(self.spec.title, 62, 34, 2, self.spec.height * 0.12, bold=True)
        parts = [title, self._price_pill(46, self.area.width * 0.5)]
        return self._layer("info", _stack(parts, self._px(16), self.area, self.area.top), 70)

    def _end_card_layer(self) -> Layer:
        font_size = self._px(62)
        cta_font = load_font(font_size, self.theme.font_path)
        while cta_font.getlength(self.spec.cta_text) > self.area.width * 0.8 and font_size > 8:
            font_size = max(8, int(font_size * 0.9))
            cta_font = load_font(font_size, self.theme.font_path)
        parts = [
            self._text(
                self.spec.brand_name, 46, 26, 1, self.spec.height * 0.05, fill=self.theme.muted
            ),
            self._text(self.spec.title, 80, 40, 3, self.spec.height * 0.2, bold=True),
            self._text(
                self.spec.price_text,
                120,
                10,
                1,
                self.spec.height * 0.1,
                truncate=False,
                fill=self.theme.accent,
            ),
            render_pill(
                self.spec.cta_text,
                cta_font,
                self.theme.accent,
                self.theme.on_accent,
                pad_x=self._px(64),
                pad_y=self._px(30),
                min_width=round(self.area.width * 0.6),
            ),
        ]
        return self._layer("end_card", _stack(parts, self._px(40), self.area), None)

    # -- per-frame ------------------------------------------------------------------------

    def _fade(self, frames_in: int) -> float:
        return min(1.0, frames_in / self.fade_frames)

    @property
    def poster_index(self) -> int:
        """First frame of the first shot where the hook is fully visible."""
        return min(self.fade_frames, self._first_shot_frames - 1)

    def overlay(self, frame: Frame, index: int) -> Frame:
        """Return footage frame number ``index`` (0-based, whole video) with overlays."""
        # Always a copy: the encoder holds frames asynchronously, and an engine is free to
        # hand out read-only arrays or to reuse its own buffer for the next frame.
        out = frame.copy()
        if index < self._first_shot_frames:
            self.hook_layer.blend_into(out, self._fade(index))
        else:
            # No fade here: the cut to the next shot already changes the whole picture,
            # and fading from nothing would make the text blink off at every cut.
            self.info_layer.blend_into(out)
        return out

    def end_card(self, last_footage: Frame) -> Iterator[Frame]:
        """Yield the end-card frames, starting from the last (overlaid) footage frame.

        After the fade-in the same array object is yielded repeatedly; VideoWriter
        recognises it and converts it to YUV only once.
        """
        h, w = last_footage.shape[:2]
        still = Image.fromarray(last_footage)
        small = still.resize((max(1, w // 8), max(1, h // 8)), Image.Resampling.BILINEAR)
        small = small.filter(ImageFilter.GaussianBlur(max(1.0, w / 200)))
        backdrop = small.point(lambda v: v * 2 // 5).resize((w, h), Image.Resampling.BILINEAR)
        final = np.array(backdrop)
        self.end_card_layer.blend_into(final)
        final_image = Image.fromarray(final)
        for i in range(self.spec.end_card_frames):
            t = (i + 1) / self.fade_frames
            yield final if t >= 1 else np.asarray(Image.blend(still, final_image, t))
