"""Ad overlays: hook, title and price badge, captions, logo, transitions and the end card.

Every text layer is rendered once per creative into a tight RGBA image; per frame only
the layer's own rectangle is alpha-blended (with a short fade-in), so overlays cost a
few milliseconds per frame even at 1080x1920.

All text stays inside the platform safe area of the frame's aspect ratio (see
:mod:`generation.platforms`); burned-in captions take a band at the bottom of it, which
the end card keeps clear.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from generation.engines.base import Frame
from generation.layers import Layer, flatten, shrink_to, stack
from generation.platforms import SafeArea, safe_area
from generation.spec import CreativeSpec
from generation.text import RGB, fit_text, font_path_for, load_font, render_pill, render_text

__all__ = ["AI_LABEL", "Compositor", "Layer", "SafeArea", "Theme", "safe_area"]

# Fade-in length for overlays and the end card; cross-dissolve length at cuts.
_FADE_S = 0.3
_DISSOLVE_S = 0.2
AI_LABEL = "AI-generated"


@dataclass(frozen=True)
class Theme:
    """Colours, font and logo of the overlays (built from a brand kit)."""

    text: RGB = (255, 255, 255)
    accent: RGB = (255, 212, 0)
    on_accent: RGB = (18, 18, 18)
    muted: RGB = (220, 220, 220)
    font_path: Path | None = None
    logo_path: Path | None = None


class Compositor:
    """Draws a creative's overlays onto footage frames and builds its end card.

    Timeline: the hook layer fades in over the first shot; from the second shot on a
    compact title+price strip takes over, and each cut is a short cross-dissolve; after
    the last shot the end card (logo, brand, title, price, CTA) fades in over a blurred,
    darkened still of the last frame. Captions (one per scene) sit in a band at the
    bottom of the safe area. ``overlay`` must be called with increasing frame indices.
    """

    def __init__(self, spec: CreativeSpec, theme: Theme | None = None) -> None:
        self.spec = spec
        self.theme = theme or Theme()
        self.area = safe_area(spec.width, spec.height)
        self.fade_frames = max(1, round(_FADE_S * spec.fps))
        self.dissolve_frames = max(0, round(_DISSOLVE_S * spec.fps))
        self._unit = min(spec.width, spec.height) / 1080
        self._first_shot_frames = spec.shot_frames[0]
        self._scene_starts = [start for start, _ in spec.scene_frames]
        # Where each layer's parts were placed (left, top, right, bottom): lets tests and
        # QA tooling check that nothing strays outside the safe area.
        self.text_boxes: dict[str, list[tuple[int, int, int, int]]] = {}
        self.label_layer = self._label_layer() if spec.ai_label else None
        top = self.area.top
        if self.label_layer is not None:
            top = self.label_layer.bottom + self._px(12)
        self.caption_layers = self._caption_layers()
        caption_top = min((c.y for c in self.caption_layers if c is not None), default=None)
        # Where the headline and the end card may go: below the label, above captions.
        bottom = self.area.bottom if caption_top is None else caption_top - self._px(16)
        self.card_area = SafeArea(self.area.left, top, self.area.right, bottom)
        self.hook_layer = self._hook_layer(top)
        self.info_layer = self._info_layer(top)
        self.end_card_layer = self._end_card_layer()
        self._previous_last: Frame | None = None

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

    def price_pill(self, max_size: float, max_width: float) -> Image.Image:
        """The price badge as drawn: the catalog's price string, verbatim, on the accent."""
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
            " ".join(block.lines),
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
        return flatten(placed, (self.spec.width, self.spec.height), scrim_to)

    def _top_area(self, top: int) -> SafeArea:
        return SafeArea(self.area.left, top, self.area.right, self.card_area.bottom)

    def _hook_layer(self, top: int) -> Layer:
        zone = self.spec.height * 0.24  # headline zone height below the safe top
        if self.spec.hook == "price":
            title = self._text(self.spec.title, 54, 30, 2, zone * 0.3)
            parts = [title, self.price_pill(150, self.area.width * 0.62)]
        else:
            title = self._text(self.spec.title, 96, 44, 3, zone * 0.82, bold=True)
            parts = [title, self.price_pill(60, self.area.width * 0.6)]
        return self._layer("hook", stack(parts, self._px(22), self._top_area(top), top), 90)

    def _info_layer(self, top: int) -> Layer:
        title = self._text(self.spec.title, 62, 34, 2, self.spec.height * 0.12, bold=True)
        parts = [title, self.price_pill(46, self.area.width * 0.5)]
        return self._layer("info", stack(parts, self._px(16), self._top_area(top), top), 70)

    def _label_layer(self) -> Layer:
        font = load_font(self._px(26), self.theme.font_path)
        pill = render_pill(
            AI_LABEL, font, (0, 0, 0), (255, 255, 255), pad_x=self._px(14), pad_y=self._px(8)
        )
        pill = shrink_to(pill, self.area.width, pill.height)
        self.text_boxes["ai_label"] = [
            (
                self.area.left,
                self.area.top,
                self.area.left + pill.width,
                self.area.top + pill.height,
            )
        ]
        # Semi-transparent so it is legible without dominating the picture.
        pill.putalpha(pill.getchannel("A").point(lambda v: v * 3 // 4))
        return Layer.from_rgba(pill, self.area.left, self.area.top)

    def _caption_layers(self) -> list[Layer | None]:
        """One caption layer per scene, bottom-aligned in the safe area (None: no line)."""
        if not self.spec.burn_captions or not self.spec.lines:
            return []
        layers: list[Layer | None] = []
        boxes: list[tuple[int, int, int, int]] = []
        for line in self.spec.lines:
            if not line.strip():
                layers.append(None)
                continue
            block = fit_text(
                line,
                self.area.width * 0.86,
                self.spec.height * 0.09,
                self._px(40),
                self._px(24),
                2,
                font_path=self.theme.font_path,
            )
            text = render_text(block, self.theme.text, shadow=False)
            pad = self._px(12)
            box = Image.new("RGBA", (text.width + 2 * pad, text.height + 2 * pad), (0, 0, 0, 150))
            box.alpha_composite(text, (pad, pad))
            box = shrink_to(box, self.area.width, box.height)
            x = self.area.left + (self.area.width - box.width) // 2
            y = self.area.bottom - box.height
            boxes.append((x, y, x + box.width, y + box.height))
            layers.append(Layer.from_rgba(box, x, y))
        self.text_boxes["captions"] = boxes
        return layers

    def _logo(self) -> Image.Image | None:
        if self.theme.logo_path is None:
            return None
        with Image.open(self.theme.logo_path) as opened:
            logo = ImageOps.exif_transpose(opened).convert("RGBA")
        return shrink_to(logo, round(self.card_area.width * 0.4), round(self.spec.height * 0.08))

    def _end_card_layer(self) -> Layer:
        font_size = self._px(62)
        cta_path = font_path_for(self.spec.cta_text, self.theme.font_path)
        cta_font = load_font(font_size, cta_path)
        while cta_font.getlength(self.spec.cta_text) > self.area.width * 0.8 and font_size > 8:
            font_size = max(8, int(font_size * 0.9))
            cta_font = load_font(font_size, cta_path)
        logo = self._logo()
        parts = [] if logo is None else [logo]
        parts += [
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
        return self._layer("end_card", stack(parts, self._px(40), self.card_area), None)

    # -- per-frame ------------------------------------------------------------------------

    def _fade(self, frames_in: int) -> float:
        return min(1.0, frames_in / self.fade_frames)

    @property
    def poster_index(self) -> int:
        """First frame of the first shot where the hook is fully visible."""
        return min(self.fade_frames, self._first_shot_frames - 1)

    def scene_at(self, index: int) -> int:
        """Number of the scene (shots, then the end card) frame ``index`` belongs to."""
        return bisect.bisect_right(self._scene_starts, index) - 1

    def _decorate(self, frame: Frame, scene: int) -> None:
        if scene < len(self.caption_layers):
            caption = self.caption_layers[scene]
            if caption is not None:
                caption.blend_into(frame)
        if self.label_layer is not None:
            self.label_layer.blend_into(frame)

    def overlay(self, frame: Frame, index: int) -> Frame:
        """Return footage frame number ``index`` (0-based, whole video) with overlays."""
        # Always a copy: the encoder holds frames asynchronously, and an engine is free to
        # hand out read-only arrays or to reuse its own buffer for the next frame.
        out = frame.copy()
        scene = self.scene_at(index)
        if index < self._first_shot_frames:
            self.hook_layer.blend_into(out, self._fade(index))
        else:
            # No fade here: the cut to the next shot already changes the whole picture,
            # and fading from nothing would make the text blink off at every cut.
            self.info_layer.blend_into(out)
        into_scene = index - self._scene_starts[scene]
        if scene > 0 and into_scene < self.dissolve_frames and self._previous_last is not None:
            # Cross-dissolve from the previous shot's last picture: softens the cut
            # without needing footage beyond the shot's own frames.
            t = (into_scene + 1) / (self.dissolve_frames + 1)
            out = np.asarray(
                Image.blend(Image.fromarray(self._previous_last), Image.fromarray(out), t)
            ).copy()
        self._decorate(out, scene)
        if index == self._scene_starts[scene] + self.spec.shot_frames[scene] - 1:
            self._previous_last = out
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
        self._decorate(final, len(self.spec.shots))
        final_image = Image.fromarray(final)
        for i in range(self.spec.end_card_frames):
            t = (i + 1) / self.fade_frames
            yield final if t >= 1 else np.asarray(Image.blend(still, final_image, t))
