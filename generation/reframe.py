"""Product-aware reframing: find the product in a picture, crop other aspect ratios around it.

Footage is generated once at a master size and cut down to each delivery aspect ratio.
A centre crop would lose a product that sits off-centre, so the crop window follows the
product instead. The product is found by sharpness: product photos are shot in focus
against plain studio backgrounds, and the engines stage them on blurred backdrops, so
the strongest local gradients mark the product, whatever its colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from generation.engines.base import Frame

__all__ = [
    "Box",
    "box_in_window",
    "crop_window",
    "locate_product",
    "pixel_crop",
    "product_in_frame",
    "reframe",
]

Box = tuple[float, float, float, float]
"""``(left, top, right, bottom)`` as fractions of the picture's width and height."""

# Analysis size: product location needs shapes, not detail, and small is fast.
_ANALYSIS_EDGE = 160


def _analysis(image: Frame, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A small RGB copy of ``image`` and its gradient magnitude (same shape).

    ``fast``: a box-filter reduce() first, then bilinear over the last 3x: a third of the
    time of a bilinear over the whole frame, within 1/1000 of it (for the gate's samples;
    the boxes stored with cached footage keep the exact filter).
    """
    picture = Image.fromarray(image)
    scale = _ANALYSIS_EDGE / max(picture.size)
    if scale < 1:
        size = (max(8, round(picture.width * scale)), max(8, round(picture.height * scale)))
        gap = 3.0 if fast else None
        picture = picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=gap)
    rgb = np.asarray(picture, dtype=np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    edges = np.zeros_like(gray)
    edges[:-1, :-1] = np.abs(np.diff(gray, axis=1))[:-1, :] + np.abs(np.diff(gray, axis=0))[:, :-1]
    return rgb, edges


def _bounds(mask: np.ndarray, lo: float, hi: float) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    x0, x1 = np.percentile(xs, [lo, hi])
    y0, y1 = np.percentile(ys, [lo, hi])
    return int(x0), int(y0), int(x1) + 1, int(y1) + 1


# A row (or column) belongs to the product's core while the product is at least this
# share of its widest row there.
_CORE_SHARE = 0.55
# Only a box this much longer than wide (or wider than long) is trimmed: a compact
# product has no appendage worth trimming, and trimming across would cut it.
_ELONGATED = 1.25
# A narrow end this share of the product's length or longer is an appendage.
_APPENDAGE = 0.2


def _extent(mask: np.ndarray) -> np.ndarray:
    """How wide the product is in each row: first to last set pixel (a hollow outline,
    e.g. a dial the colour of the backdrop, is as wide as a filled one)."""
    cols = np.arange(mask.shape[1])
    first = np.where(mask, cols, mask.shape[1]).min(axis=1)
    last = np.where(mask, cols, -1).max(axis=1)
    return np.maximum(0, last - first + 1)


def _core(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` of ``mask`` without thin appendages at its long ends.

    A watch's strap, a bag's handles or a lamp's cable make the product's box much
    longer than the part a shopper looks at, and text planned around the whole box is
    pushed off the frame (or the footage letterboxed deep). Along the box's long axis,
    rows (or columns) where the product is much narrower than at its widest are cut
    from both ends; across it nothing is cut (a round face is narrow at its edges).
    """
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0:
        return x0, y0, x1, y1
    inside = mask[y0:y1, x0:x1]
    if height >= _ELONGATED * width:
        profile, start = _extent(inside), y0
    elif width >= _ELONGATED * height:
        profile, start = _extent(inside.T), x0
    else:
        return x0, y0, x1, y1
    keep = np.nonzero(profile >= _CORE_SHARE * profile.max())[0]
    first, last = int(keep[0]), int(keep[-1]) + 1
    # A short narrow end is part of the product (a bottle's cap, a mug's rim): only a
    # long one is an appendage.
    if first < _APPENDAGE * len(profile):
        first = 0
    if len(profile) - last < _APPENDAGE * len(profile):
        last = len(profile)
    lo, hi = start + first, start + last
    return (x0, lo, x1, hi) if height >= _ELONGATED * width else (lo, y0, hi, y1)


def _box_in(image: Frame, fast: bool = False) -> Box | None:
    """The product in one picture, or ``None`` when nothing stands out.

    Two steps: the sharp region (the photo, wherever the engine staged it) is where
    strong edges are; inside it, the product is what differs in colour from the photo's
    own background, estimated from a ring just inside the sharp region's border. Edges
    alone would also pick up the border between the photo and a blurred backdrop.
    """
    rgb, edges = _analysis(image, fast)
    h, w = edges.shape
    strong = edges > max(12.0, float(np.percentile(edges, 97)) * 0.5)
    if strong.sum() < 4:
        return None
    x0, y0, x1, y1 = _bounds(strong, 0.5, 99.5)
    region = rgb[y0:y1, x0:x1]
    ring = max(1, min(region.shape[0], region.shape[1]) // 20)
    if region.shape[0] > 4 * ring and region.shape[1] > 4 * ring:
        border = np.concatenate(
            [
                region[ring : 2 * ring].reshape(-1, 3),
                region[-2 * ring : -ring].reshape(-1, 3),
                region[:, ring : 2 * ring].reshape(-1, 3),
                region[:, -2 * ring : -ring].reshape(-1, 3),
            ]
        )
        background = np.median(border, axis=0)
        # The outermost ring is left out: it may straddle the photo's edge.
        inner = region[ring:-ring, ring:-ring]
        differs = np.abs(inner - background).max(axis=2) > 40
        # A plain studio background leaves a clear object; a busy photo differs
        # everywhere, and then the whole sharp region is the best guess.
        if 16 <= differs.sum() <= 0.85 * differs.size:
            bx0, by0, bx1, by1 = _core(differs, *_bounds(differs, 2, 98))
            x0, y0, x1, y1 = x0 + ring + bx0, y0 + ring + by0, x0 + ring + bx1, y0 + ring + by1
    return (x0 / w, y0 / h, x1 / w, y1 / h)


def product_in_frame(image: Frame) -> Box | None:
    """The product in one picture (fractions), or ``None`` when nothing stands out."""
    return _box_in(image, fast=True)


def locate_product(images: Sequence[Frame]) -> Box:
    """Where the product is across ``images`` (e.g. the first, middle and last frame).

    Returns the union of the per-image boxes (robust percentiles, so a stray speck does
    not stretch it). Falls back to the whole picture when nothing stands out (a blank
    or uniformly blurred picture).
    """
    if not images:
        raise ValueError("locate_product needs at least one image")
    boxes = [box for box in map(_box_in, images) if box is not None]
    if not boxes:
        return (0.0, 0.0, 1.0, 1.0)
    return (
        max(0.0, min(b[0] for b in boxes)),
        max(0.0, min(b[1] for b in boxes)),
        min(1.0, max(b[2] for b in boxes)),
        min(1.0, max(b[3] for b in boxes)),
    )


def _place(length: float, total: float, lo: float, hi: float) -> float:
    """Start of a ``length`` window in ``[0, total]`` covering ``[lo, hi]`` if it can."""
    centre = (lo + hi) / 2
    start = centre - length / 2
    if hi - lo <= length:
        # The product fits: keep it wholly inside, as centred as the edges allow.
        start = min(max(start, hi - length), lo)
    return min(max(start, 0.0), total - length)


def crop_window(
    src_w: int, src_h: int, dst_w: int, dst_h: int, box: Box = (0.0, 0.0, 1.0, 1.0)
) -> tuple[float, float, float, float]:
    """The largest ``dst_w:dst_h`` window inside ``src_w x src_h``, around ``box``.

    Returns ``(left, top, right, bottom)`` in source pixels (floats, for sub-pixel
    resampling). The window keeps the whole product box inside when it fits, centred
    on it as far as the frame edges allow; otherwise it centres on the box.
    """
    target = dst_w / dst_h
    if src_w / src_h > target:
        win_w, win_h = src_h * target, float(src_h)
    else:
        win_w, win_h = float(src_w), src_w / target
    x0 = _place(win_w, src_w, box[0] * src_w, box[2] * src_w)
    y0 = _place(win_h, src_h, box[1] * src_h, box[3] * src_h)
    return (x0, y0, x0 + win_w, y0 + win_h)


def pixel_crop(
    src_w: int, src_h: int, window: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int] | None:
    """Top-left corner of ``window`` cut at 1:1 pixels, or ``None`` when it must be scaled.

    Same scale is the common case (a master cut to another aspect); a sub-pixel offset of
    a fixed crop is invisible, so it is rounded away and no resampling is needed.
    """
    x0, y0, x1, y1 = window
    if (round(x1 - x0), round(y1 - y0)) != (width, height):
        return None
    return min(max(round(x0), 0), src_w - width), min(max(round(y0), 0), src_h - height)


def reframe(
    frame: Frame, window: tuple[float, float, float, float], width: int, height: int
) -> Frame:
    """``frame`` cut to ``window`` and scaled to ``width x height`` (one resampling pass)."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height) and window == (0.0, 0.0, float(w), float(h)):
        return frame
    corner = pixel_crop(w, h, window, width, height)
    if corner is not None:
        left, top = corner
        return np.ascontiguousarray(frame[top : top + height, left : left + width])
    image = Image.fromarray(frame)
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR, box=window))


def box_in_window(
    box: Box, window: tuple[float, float, float, float], src_w: int, src_h: int
) -> Box:
    """``box`` (fractions of the ``src_w x src_h`` source) as fractions of ``window``.

    What a product box found on the master footage becomes in a frame cut from it by
    :func:`crop_window`; parts outside the window are clipped away.
    """
    x0, y0, x1, y1 = window
    w, h = x1 - x0, y1 - y0

    def fx(v: float) -> float:
        return min(1.0, max(0.0, (v * src_w - x0) / w))

    def fy(v: float) -> float:
        return min(1.0, max(0.0, (v * src_h - y0) / h))

    return (fx(box[0]), fy(box[1]), fx(box[2]), fy(box[3]))
