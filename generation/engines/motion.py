"""CPU footage engine: slow camera moves ("Ken Burns") and close-ups over a product photo.

The product photo is usually square while the ad is 9:16, so each shot is staged on a
*canvas*: a blurred, darkened enlargement of the photo fills the frame and the sharp
photo sits full-width slightly below centre (leaving room for the headline above it),
with a soft shadow. The canvas is built once per shot, a little larger than the frame so
that every camera view is a downscale (never an upscale) of it. Each frame is then one
``Image.resize(size, box=...)`` call: crop and scale in a single pass with sub-pixel box
coordinates, which keeps slow moves free of the stair-step jitter that integer crops give.
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from generation.engines.base import Frame
from generation.spec import ShotSpec, frames_for

__all__ = ["MAX_ZOOM", "CameraView", "MotionEngine", "camera_path", "ease"]

# Largest zoom any move reaches. The canvas is this much larger than the frame, so the
# most zoomed-in view maps canvas pixels 1:1 onto frame pixels.
MAX_ZOOM = 1.18
# Where the photo's centre sits on the canvas, as a fraction of its height: a bit low,
# so the headline zone at the top of the frame overlaps blurred background, not product.
_PHOTO_CENTRE_Y = 0.56
# The photo may not be taller than this fraction of the canvas (tall, narrow products).
_PHOTO_MAX_HEIGHT = 0.62
_BACKGROUND_BRIGHTNESS = 0.55


def ease(t: float) -> float:
    """Ease-in-out with a linear component, mapping 0..1 to 0..1.

    Pure ease-in-out stops dead at both ends, which reads as a stall at every cut; the
    linear share keeps the camera visibly drifting from the first frame to the last.
    """
    t = min(1.0, max(0.0, t))
    return 0.35 * t + 0.65 * (0.5 - 0.5 * math.cos(math.pi * t))


@dataclass(frozen=True)
class CameraView:
    """Where the camera looks: centre in canvas fractions (0..1) and zoom (1 = all)."""

    cx: float
    cy: float
    zoom: float

    def box(self, canvas_w: float, canvas_h: float) -> tuple[float, float, float, float]:
        """The canvas rectangle shown, clamped so it never leaves the canvas."""
        w, h = canvas_w / self.zoom, canvas_h / self.zoom
        x0 = min(max(self.cx * canvas_w - w / 2, 0.0), canvas_w - w)
        y0 = min(max(self.cy * canvas_h - h / 2, 0.0), canvas_h - h)
        return (x0, y0, x0 + w, y0 + h)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def camera_path(motion: str, seed: int, photo_cy: float) -> tuple[CameraView, CameraView]:
    """Start and end views of a move; ``seed`` varies amount, focus and drift.

    ``photo_cy`` is the photo's vertical centre on the canvas (0..1), the natural focus.
    "pan_left" means the camera travels left (the scene slides right), as in film usage.
    """
    rng = random.Random(seed)
    amount = rng.uniform(0.10, MAX_ZOOM - 1.0)
    focus_x = 0.5 + rng.uniform(-0.04, 0.04)
    focus_y = photo_cy + rng.uniform(-0.03, 0.03)
    if motion in ("push_in", "pull_out"):
        wide = CameraView(0.5, 0.5, 1.0)
        tight = CameraView(focus_x, focus_y, 1.0 + amount)
        return (wide, tight) if motion == "push_in" else (tight, wide)
    if motion in ("pan_left", "pan_right"):
        zoom = 1.0 + amount
        # Travel most of the horizontal slack the zoom leaves, and drift a little
        # vertically and in zoom so pans of the same photo differ between seeds.
        half_span = (0.5 - 0.5 / zoom) * rng.uniform(0.7, 0.95)
        drift_y = rng.uniform(-0.02, 0.02)
        zoom_end = zoom - rng.uniform(0.0, 0.03)
        right = CameraView(0.5 + half_span, focus_y - drift_y, zoom)
        left = CameraView(0.5 - half_span, focus_y + drift_y, zoom_end)
        return (right, left) if motion == "pan_left" else (left, right)
    if motion == "detail":
        # A close-up on one part of the photo (about twice the wide view), drifting a
        # little: a second look at the product, not the whole photo again.
        zoom = rng.uniform(1.9, 2.3)
        cx = 0.5 + rng.choice((-1, 1)) * rng.uniform(0.05, 0.12)
        cy = photo_cy + rng.uniform(-0.06, 0.06)
        # Sideways only: the product's top and bottom edges stay put, so the overlays
        # planned around them stay clear for the whole shot.
        dx = rng.choice((-1, 1)) * rng.uniform(0.015, 0.03)
        return CameraView(cx - dx, cy, zoom), CameraView(cx + dx, cy, zoom)
    raise ValueError(f"unknown motion {motion!r}")


def _view_at(start: CameraView, end: CameraView, p: float) -> CameraView:
    # Zoom interpolates geometrically so the apparent speed of a push-in is constant.
    zoom = math.exp(_lerp(math.log(start.zoom), math.log(end.zoom), p))
    return CameraView(_lerp(start.cx, end.cx, p), _lerp(start.cy, end.cy, p), zoom)


def _load_photo(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        photo = ImageOps.exif_transpose(opened)
        photo.load()
    has_alpha = photo.mode in ("RGBA", "LA", "PA") or "transparency" in photo.info
    return photo.convert("RGBA" if has_alpha else "RGB")


def _build_canvas(photo: Image.Image, canvas_w: int, canvas_h: int) -> Image.Image:
    """Stage the photo on a blurred backdrop of itself; returns an RGB canvas."""
    flat = photo
    if photo.mode == "RGBA":
        flat = Image.new("RGB", photo.size, (255, 255, 255))
        flat.paste(photo, (0, 0), photo)

    # The backdrop is blurred anyway, so build it at 1/8 scale (cheap) and enlarge.
    small = (max(2, canvas_w // 8), max(2, canvas_h // 8))
    backdrop = ImageOps.fit(flat, small, Image.Resampling.BILINEAR)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(max(1.0, small[0] / 30)))
    backdrop = backdrop.point(lambda v: round(v * _BACKGROUND_BRIGHTNESS))
    canvas = backdrop.resize((canvas_w, canvas_h), Image.Resampling.BILINEAR)

    scale = min(canvas_w / photo.width, _PHOTO_MAX_HEIGHT * canvas_h / photo.height)
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    sharp = photo.resize(size, Image.Resampling.LANCZOS)
    left = (canvas_w - size[0]) // 2
    top = round(_PHOTO_CENTRE_Y * canvas_h - size[1] / 2)

    # Soft shadow under the photo, from its own alpha so cut-outs get a matching shape.
    shadow_alpha = sharp.getchannel("A") if sharp.mode == "RGBA" else Image.new("L", size, 255)
    shade = Image.new("L", small, 0)
    shade_scale = small[0] / canvas_w
    shade_size = (max(1, round(size[0] * shade_scale)), max(1, round(size[1] * shade_scale)))
    shade_pos = (round(left * shade_scale), round((top + 0.02 * canvas_h) * shade_scale))
    shade.paste(shadow_alpha.resize(shade_size, Image.Resampling.BILINEAR), shade_pos)
    shade = shade.filter(ImageFilter.GaussianBlur(max(1.0, small[0] / 40)))
    shade = shade.point(lambda v: v * 6 // 10).resize(canvas.size, Image.Resampling.BILINEAR)
    canvas.paste((0, 0, 0), (0, 0, canvas_w, canvas_h), shade)

    if sharp.mode == "RGBA":
        canvas.paste(sharp, (left, top), sharp)
    else:
        canvas.paste(sharp, (left, top))
    return canvas


class MotionEngine:
    """Footage engine animating a still photo with eased zoom and pan moves (CPU only).

    Deterministic: the same shot, size and fps always give the same pixels. Canvases of
    recently used photos are kept, since a creative often shoots one photo several times.
    """

    name = "motion"

    def __init__(self, cache_size: int = 2) -> None:
        self._cache_size = cache_size
        self._canvases: OrderedDict[tuple[str, int, int, int, int], Image.Image] = OrderedDict()
        # One warm engine is shared per process (see the registry) and flows may render
        # from several threads; canvases themselves are only read once built.
        self._lock = threading.Lock()

    def canvas(self, image_path: Path, width: int, height: int) -> Image.Image:
        """The staged canvas a shot of ``image_path`` at this frame size pans over."""
        st = image_path.stat()
        key = (str(image_path.resolve()), st.st_mtime_ns, st.st_size, width, height)
        with self._lock:
            cached = self._canvases.get(key)
            if cached is not None:
                self._canvases.move_to_end(key)
                return cached
            canvas_w, canvas_h = math.ceil(width * MAX_ZOOM), math.ceil(height * MAX_ZOOM)
            built = _build_canvas(_load_photo(image_path), canvas_w, canvas_h)
            self._canvases[key] = built
            while len(self._canvases) > self._cache_size:
                self._canvases.popitem(last=False)
            return built

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        """Yield ``frames_for(shot.duration_s, fps)`` RGB frames of the camera move."""
        canvas = self.canvas(shot.image_path, width, height)
        # The view geometry is in the frame's aspect ratio exactly, even though the canvas
        # image was rounded up to whole pixels.
        view_w, view_h = width * MAX_ZOOM, height * MAX_ZOOM
        start, end = camera_path(shot.motion, shot.seed, _PHOTO_CENTRE_Y)
        count = frames_for(shot.duration_s, fps)
        for i in range(count):
            p = ease(i / (count - 1)) if count > 1 else 0.0
            box = _view_at(start, end, p).box(view_w, view_h)
            image = canvas.resize((width, height), Image.Resampling.BILINEAR, box=box)
            yield np.asarray(image)
