"""Where the product is in a creative's frames, and what the quality gate watches there.

The layout plans text around the product's box over the creative's wide shots (a
close-up fills the frame with the product by design); the gate then samples footage
frames, finds the product on each and checks the overlays drawn over it.
"""

from __future__ import annotations

import itertools

from generation.compose import Compositor
from generation.engines.base import FootageEngine, Frame
from generation.overlays.layout import Box, to_pixels, union
from generation.quality import FrameWatch
from generation.reframe import box_in_window, crop_window, locate_product, product_in_frame
from generation.spec import CreativeSpec

__all__ = ["frame_watch", "product_box"]

# Product boxes of shots from engines without a footage cache, by shot and frame size.
_RAW_BOXES: dict[tuple[object, ...], tuple[float, float, float, float] | None] = {}
_RAW_BOXES_MAX = 512


def product_box(engine: FootageEngine, spec: CreativeSpec) -> Box | None:
    """Where the product is in the creative's frames (pixels; the union over its shots).

    A footage cache knows it from generation (found on the master, mapped through the
    crop); any other engine is asked for each shot once more, and its first, middle and
    last frames are searched (remembered per shot, so variants pay that once). ``None``
    when no shot shows anything that stands out.
    """
    fractions = []
    entry = getattr(engine, "entry", None)
    # A shot the layout is not planned around shows captions only (see Compositor).
    shots = zip(spec.shots, spec.shot_frames, spec.planned_around, strict=True)
    for shot, count in [(shot, count) for shot, count, planned in shots if planned]:
        if callable(entry):
            master = getattr(engine, "master", None) or (spec.width, spec.height)
            found = entry(shot, master[0], master[1], spec.fps)
            window = crop_window(master[0], master[1], spec.width, spec.height, found.product_box)
            fractions.append(box_in_window(found.product_box, window, *master))
            continue
        key = (shot.key(), engine.name, getattr(engine, "fingerprint", None), spec.width,
               spec.height, spec.fps)  # fmt: skip
        if key not in _RAW_BOXES:
            wanted = {0, count // 2, count - 1}
            frames = itertools.islice(engine.frames(shot, spec.width, spec.height, spec.fps), count)
            picked = [frame for i, frame in enumerate(frames) if i in wanted]
            if len(_RAW_BOXES) >= _RAW_BOXES_MAX:
                _RAW_BOXES.pop(next(iter(_RAW_BOXES)))
            _RAW_BOXES[key] = locate_product(picked) if picked else None
        found_box = _RAW_BOXES[key]
        if found_box is not None:
            fractions.append(found_box)
    boxes = [to_pixels(b, spec.width, spec.height) for b in fractions if b != (0.0, 0.0, 1.0, 1.0)]
    return union(boxes) if boxes else None


def frame_watch(compositor: Compositor, spec: CreativeSpec) -> FrameWatch:
    """The gate's per-frame watch over a render: where the product is on a footage frame
    (through the letterbox), which overlays are drawn on it, and whether it is a close-up."""
    lb = compositor.plan.letterbox
    boxes: dict[str, list[tuple[str, Box]]] = {}
    for item in compositor.drawn:
        boxes.setdefault(item.layer, []).append((f"{item.layer}.{item.role}", item.box))

    def locate(frame: Frame) -> Box | None:
        found = product_in_frame(frame)
        if found is None:
            return None
        return lb.map_box(to_pixels(found, spec.width, spec.height))

    def overlays_at(index: int) -> list[tuple[str, Box]]:
        return [b for name in compositor.active_layers(index) for b in boxes.get(name, [])]

    def close_up_at(index: int) -> bool:
        scene = compositor.scene_at(index)
        return scene < len(spec.shots) and spec.shots[scene].close_up

    return FrameWatch(spec.fps, locate, overlays_at, close_up_at)
