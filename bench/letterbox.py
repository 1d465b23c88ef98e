"""What a letterboxed frame costs: the footage scaled into its box, the bands filled with
the footage blurred and dimmed, in the encoder's YUV 4:2:0 versus through RGB.

    .venv/bin/python bench/letterbox.py [--aspect 16:9] [--frames 60]

Baseline (same run): the picture converted to RGB, letterboxed there (the compositor's
RGB path) and converted back, which is how a YUV picture was letterboxed before (then
with flat bands). Candidate: the YUV path, plane by plane, no colour conversion. Prints
milliseconds per frame for both, their ratio, and how close the two pictures are (PSNR).
A 1080-px-short-side frame of the demo store's headphones, the layout's own letterbox.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.compose import Compositor
from generation.engines.motion import MotionEngine
from generation.overlays.layout import letterbox
from generation.storyboard import RenderConfig, storyboard
from generation.yuv import Yuv420
from tests.generation.demo_jobs import demo_job, demo_products


def _per_frame(step: Callable[[], object], frames: int) -> float:
    step()  # warm
    started = time.perf_counter()
    for _ in range(frames):
        step()
    return (time.perf_counter() - started) / frames * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aspect", default="16:9")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    product = next(p for p in demo_products() if p["handle"] == "over-ear-headphones")
    job = demo_job(product, {"aspect": args.aspect, "duration": "15s"})
    spec = storyboard(job, RenderConfig(fps=30))
    compositor = Compositor(spec)
    # The depth the layout most often settles for when it letterboxes at all.
    compositor.plan.letterbox = letterbox(spec.width, spec.height, 0.88)
    engine = MotionEngine()
    rgb = next(iter(engine.frames(spec.shots[0], spec.width, spec.height, spec.fps)))
    picture = Yuv420.from_rgb(rgb)

    def through_rgb() -> Yuv420:
        return Yuv420.from_rgb(compositor._letterboxed(picture.to_rgb()))

    def in_yuv() -> Yuv420:
        return compositor.footage(picture)

    baseline = _per_frame(through_rgb, args.frames)
    candidate = _per_frame(in_yuv, args.frames)
    a = through_rgb().to_rgb().astype(np.float64)
    b = in_yuv().to_rgb().astype(np.float64)
    psnr = 10 * np.log10(255**2 / max(1e-9, float(((a - b) ** 2).mean())))
    print(f"{spec.width}x{spec.height} letterboxed at 0.88, {args.frames} frames")
    print(f"  through RGB (baseline): {baseline:6.1f} ms/frame")
    print(f"  in YUV 4:2:0:           {candidate:6.1f} ms/frame  ({baseline / candidate:.2f}x)")
    print(f"  same picture: PSNR {psnr:.1f} dB")


if __name__ == "__main__":
    main()
