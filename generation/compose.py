"""Ad compositing: footage in, overlays on, clean cuts, the end card at the end.

Every text layer is planned once per creative around the product (see
:mod:`generation.overlays.plan`); per frame only the layer's own rectangle is
alpha-blended (with a short fade-in), so overlays cost a few milliseconds per frame even
at 1080x1920.

Every cut is clean. A cross-dissolve between two shots of one product (two crops of one
photo, or two photos that frame it alike) shows the product twice, offset, for its
length: a ghosted double image. The end card fades in over a blurred still of the last
footage frame without overlays.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import overload

import numpy as np
from PIL import Image, ImageFilter

from generation.engines.base import Frame
from generation.overlays.layers import Layer
from generation.overlays.layout import Box
from generation.overlays.plan import AI_LABEL, DrawnText, OverlayPlan, Theme, plan_overlays
from generation.platforms import SafeArea, safe_area
from generation.spec import CreativeSpec
from generation.yuv import Yuv420, YuvLayer, dissolve

__all__ = [
    "AI_LABEL",
    "Compositor",
    "DrawnText",
    "Layer",
    "Picture",
    "SafeArea",
    "Theme",
    "safe_area",
]

Picture = Frame | Yuv420
"""A frame the compositor draws on: RGB, or YUV 4:2:0 as the encoder takes it."""

# Fade-in length of the end card.
_FADE_S = 0.3
# Letterbox bands and the end card's backdrop: the footage blurred, at 40 % brightness.
_DIM_PLANE = [v * 2 // 5 for v in range(256)]
_DIM = _DIM_PLANE * 3
_DIM_LUMA = [16 + max(0, v - 16) * 2 // 5 for v in range(256)]
_DIM_CHROMA = [128 + round((v - 128) * 0.4) for v in range(256)]


class Compositor:
    """Draws a creative's overlays onto footage frames and builds its end card.

    Timeline: the hook layer is on the first shot from its first frame; from the second
    shot on a compact title+price strip takes over (not on a close-up when the layout was
    planned around the wide shots); every cut is clean; after the last shot the end card
    (logo, brand, title, price, one CTA) fades in over a blurred, darkened still of the
    last footage frame. Captions (one per scene) sit where the
    plan put them. ``overlay`` must be called with increasing frame indices.
    ``product`` is the product's box in the footage frame, in pixels (``None``: unknown,
    the layout then keeps only to the safe area).

    Frames are RGB arrays or :class:`~generation.yuv.Yuv420` pictures (one kind per
    creative); the output is of the kind put in. The renderer composites in YUV.
    """

    def __init__(
        self, spec: CreativeSpec, theme: Theme | None = None, product: Box | None = None
    ) -> None:
        self.spec = spec
        self.theme = theme or Theme()
        self.plan: OverlayPlan = plan_overlays(spec, self.theme, product)
        self.area = self.plan.area
        self.fade_frames = max(1, round(_FADE_S * spec.fps))
        self._first_shot_frames = spec.shot_frames[0]
        self._scene_starts = [start for start, _ in spec.scene_frames]
        # Scenes whose shot the layout was not planned around: no title+price strip there.
        self._strip_off = {i for i, planned in enumerate(spec.planned_around) if not planned}
        self.hook_layer = self.plan.hook
        self.info_layer = self.plan.info
        self.caption_layers = self.plan.captions
        self.end_card_layer = self.plan.end_card
        self.label_layer = self.plan.label
        self._previous_raw: Picture | None = None
        self._yuv_layers: dict[int, YuvLayer] = {}

    @property
    def drawn(self) -> list[DrawnText]:
        """Every string drawn, with its layer, role and box (for the quality gate)."""
        return self.plan.drawn

    @property
    def text_boxes(self) -> dict[str, list[Box]]:
        """Boxes of the drawn parts by layer group: hook, info, captions, end_card, ai_label."""
        boxes: dict[str, list[Box]] = {}
        for item in self.plan.drawn:
            group = "captions" if item.layer.startswith("caption") else item.layer
            boxes.setdefault(group, []).append(item.box)
            if item.role == "label":
                boxes.setdefault("ai_label", []).append(item.box)
        return boxes

    def describe(self) -> dict[str, object]:
        """The layout for the manifest: where the product is, where the text went."""
        lb = self.plan.letterbox
        return {
            "product_box": None if self.plan.product is None else list(self.plan.product),
            "letterbox": round(lb.scale, 3),
            "regions": dict(self.plan.regions),
        }

    def active_layers(self, index: int) -> tuple[str, ...]:
        """Names of the layers drawn on frame ``index`` (as in :attr:`DrawnText.layer`)."""
        scene = self.scene_at(index)
        if scene >= len(self.spec.shots):
            return ("end_card", f"caption{scene}")
        if scene == 0:
            return ("hook", f"caption{scene}")
        if scene in self._strip_off:
            return (f"caption{scene}",)
        return ("info", f"caption{scene}")

    @overload
    def footage(self, frame: Yuv420, *, owned: bool = False) -> Yuv420: ...
    @overload
    def footage(self, frame: Frame, *, owned: bool = False) -> Frame: ...
    def footage(self, frame: Picture, *, owned: bool = False) -> Picture:
        """The footage frame as it sits in the output: letterboxed if planned.

        A copy unless ``owned`` (the caller hands over a fresh frame to draw on): the
        encoder holds frames asynchronously, and an engine may hand out read-only arrays
        or reuse its buffer for the next frame.
        """
        if isinstance(frame, Yuv420):
            if self.plan.letterbox.active:
                return self._letterboxed_yuv(frame)
            return frame if owned and frame.data.flags.writeable else frame.copy()
        if not self.plan.letterbox.active:
            return frame if owned and frame.flags.writeable else frame.copy()
        return self._letterboxed(frame)

    def _letterboxed(self, frame: Frame) -> Frame:
        """The footage scaled into its letterbox, the bands around it filled with the
        same footage blurred and darkened: the frame reads as designed (as feeds show
        a picture of another shape), not as a small picture in black bars."""
        out = np.empty_like(frame)
        for channel in range(3):
            plane = np.ascontiguousarray(frame[..., channel])
            out[..., channel] = self._letterboxed_plane(plane, 1, _DIM_PLANE)
        return out

    def _letterboxed_yuv(self, frame: Yuv420) -> Yuv420:
        """:meth:`_letterboxed` plane by plane, in YUV (no colour conversion): the dimming
        scales luma towards black (16) and chroma towards grey (128), as 40 % of RGB."""
        out = Yuv420(np.empty_like(frame.data))
        for src, dst, sub, dim in (
            (frame.y, out.y, 1, _DIM_LUMA),
            (frame.u, out.u, 2, _DIM_CHROMA),
            (frame.v, out.v, 2, _DIM_CHROMA),
        ):
            dst[...] = self._letterboxed_plane(src, sub, dim)
        return out

    def _letterboxed_plane(self, plane: np.ndarray, sub: int, dim: list[int]) -> np.ndarray:
        """One plane (subsampled by ``sub``) letterboxed: the bands blurred at a sixteenth
        of the frame's size and dimmed through ``dim``, the footage scaled into its box."""
        lb = self.plan.letterbox
        image = Image.fromarray(plane)
        tiny_size = (max(1, image.width * sub // 16), max(1, image.height * sub // 16))
        tiny = image.resize(tiny_size, Image.Resampling.BILINEAR, reducing_gap=3.0)
        tiny = tiny.filter(ImageFilter.GaussianBlur(2)).point(dim)
        out = np.array(tiny.resize(image.size, Image.Resampling.BILINEAR))
        x, y, w, h = lb.x // sub, lb.y // sub, lb.width // sub, lb.height // sub
        out[y : y + h, x : x + w] = np.asarray(image.resize((w, h), Image.Resampling.BILINEAR))
        return out

    # -- per-frame ------------------------------------------------------------------------

    @property
    def poster_index(self) -> int:
        """First frame of the first shot where the hook is fully visible."""
        return min(self.fade_frames, self._first_shot_frames - 1)

    def scene_at(self, index: int) -> int:
        """Number of the scene (shots, then the end card) frame ``index`` belongs to."""
        return bisect.bisect_right(self._scene_starts, index) - 1

    def _draw(self, layer: Layer, picture: Picture, opacity: float = 1.0) -> None:
        if isinstance(picture, Yuv420):
            converted = self._yuv_layers.get(id(layer))
            if converted is None:
                converted = self._yuv_layers[id(layer)] = YuvLayer(layer)
            converted.blend_into(picture, opacity)
        else:
            layer.blend_into(picture, opacity)

    def _caption_layer(self, scene: int) -> Layer | None:
        return self.caption_layers[scene] if scene < len(self.caption_layers) else None

    def _caption(self, frame: Picture, scene: int) -> None:
        caption = self._caption_layer(scene)
        if caption is not None:
            self._draw(caption, frame)

    @overload
    def overlay(self, frame: Yuv420, index: int, *, owned: bool = False) -> Yuv420: ...
    @overload
    def overlay(self, frame: Frame, index: int, *, owned: bool = False) -> Frame: ...
    def overlay(self, frame: Picture, index: int, *, owned: bool = False) -> Picture:
        """Return footage frame number ``index`` (0-based, whole video) with overlays.

        ``owned``: ``frame`` is the caller's fresh array, drawn on in place (no copy).
        """
        out = self.footage(frame, owned=owned)
        scene = self.scene_at(index)
        if index == self._scene_starts[scene] + self.spec.shot_frames[scene] - 1:
            self._previous_raw = out.copy()
        if index < self._first_shot_frames:
            # The hook is there from the very first frame: a feed shows that frame first,
            # and a viewer scrolling past sees nothing that fades in after it.
            self._draw(self.hook_layer, out)
        elif scene not in self._strip_off:
            # No fade here: the cut to the next shot already changes the whole picture,
            # and fading from nothing would make the text blink off at every cut.
            self._draw(self.info_layer, out)
        self._caption(out, scene)
        return out

    def end_card(self, last_footage: Picture | None = None) -> Iterator[Picture]:
        """Yield the end-card frames, fading in from the last footage frame.

        The still is the last footage frame *without* overlays (kept by ``overlay``;
        ``last_footage`` only when no shot was composited here). After the fade-in the
        same object is yielded repeatedly; VideoWriter recognises it and converts it to
        YUV only once. The card is drawn in RGB once and, for YUV footage, converted once.
        """
        source = self._previous_raw if self._previous_raw is not None else last_footage
        if source is None:
            raise ValueError("end_card needs the last footage frame")
        rgb = source.to_rgb() if isinstance(source, Yuv420) else source
        h, w = rgb.shape[:2]
        still = Image.fromarray(rgb)
        small = still.resize((max(1, w // 8), max(1, h // 8)), Image.Resampling.BILINEAR)
        small = small.filter(ImageFilter.GaussianBlur(max(1.0, w / 200)))
        backdrop = small.point(_DIM).resize((w, h), Image.Resampling.BILINEAR)
        final = np.array(backdrop)
        self.end_card_layer.blend_into(final)
        for layer in (self._caption_layer(len(self.spec.shots)), self.label_layer):
            if layer is not None:
                layer.blend_into(final)
        if isinstance(source, Yuv420):
            final_yuv = Yuv420.from_rgb(final)
            for i in range(self.spec.end_card_frames):
                t = (i + 1) / self.fade_frames
                yield final_yuv if t >= 1 else dissolve(source, final_yuv, t)
            return
        final_image = Image.fromarray(final)
        for i in range(self.spec.end_card_frames):
            t = (i + 1) / self.fade_frames
            yield final if t >= 1 else np.asarray(Image.blend(still, final_image, t))
