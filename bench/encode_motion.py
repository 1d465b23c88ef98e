"""Throughput of the CPU render path versus the encoder alone, at full ad resolution.

    .venv/bin/python bench/encode_motion.py [--image PHOTO] [--repeat 3]

Renders one creative (motion engine + overlays + libx264) and then encodes the very same
frames again with nothing else to do, printing frames/s for both and their ratio. The
ratio is the honest number: how close generation gets to "free" next to the encoder.
Without ``--image`` a synthetic, detailed product photo is generated, because flat test
images make x264 look far faster than real catalog photos do.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.compose import Compositor
from generation.encode import VideoWriter
from generation.engines.motion import MotionEngine
from generation.placement import product_box
from generation.render import render_creative
from generation.spec import CreativeSpec, ShotSpec
from generation.yuv import Yuv420


def synthetic_photo(path: Path, size: int = 1600) -> Path:
    """A studio-style product shot with real texture (fabric-like noise, label, shadow)."""
    rng = np.random.default_rng(7)
    texture = np.zeros((size, size), np.float32)
    for cells, amp in ((8, 18.0), (40, 10.0), (200, 6.0)):
        noise = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        layer = Image.fromarray(noise).resize((size, size), Image.Resampling.BICUBIC)
        texture += np.asarray(layer) * amp
    texture += rng.normal(0, 4, (size, size)).astype(np.float32)  # sensor-like grain
    base = np.linspace(236, 196, size, dtype=np.float32)[:, None]
    backdrop = np.clip(base + texture, 0, 255).astype(np.uint8)
    image = Image.merge("RGB", [Image.fromarray(backdrop)] * 3)
    s = size / 1000
    draw = ImageDraw.Draw(image)
    draw.ellipse((300 * s, 860 * s, 700 * s, 930 * s), fill=(150, 146, 140))
    image = image.filter(ImageFilter.GaussianBlur(1))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((360 * s, 240 * s, 640 * s, 900 * s), radius=70 * s, fill=(176, 70, 40))
    draw.rectangle((440 * s, 130 * s, 560 * s, 250 * s), fill=(30, 30, 30))
    draw.rectangle((390 * s, 420 * s, 610 * s, 700 * s), fill=(246, 242, 232))
    for i in range(9):
        y = (450 + i * 26) * s
        draw.line([(410 * s, y), ((590 - 40 * (i % 3)) * s, y)], fill=(40, 40, 40), width=4)
    image.save(path)
    return path


def bench_spec(photo: Path, shot_s: float, end_card_s: float) -> CreativeSpec:
    return CreativeSpec(
        title="Hand-Thrown Stoneware Pour-Over Coffee Dripper",
        price_text="$48.00",
        cta_text="Shop now",
        hook="title",
        shots=(ShotSpec(photo, "push_in", shot_s, 1), ShotSpec(photo, "pan_left", shot_s, 2)),
        factors=(("hook", "title"),),
        brand_name="Kiln & Kettle",
        end_card_s=end_card_s,
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, frames: int, run: Callable[[], object], repeat: int) -> float:
    """Best-of-``repeat`` frames/s (other load on the machine only ever slows a run)."""
    best = 0.0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), cpu_seconds()
        run()
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        fps = frames / wall
        print(f"  {label:<34} {fps:6.1f} frames/s   {1000 * cpu / frames:5.1f} CPU-ms/frame")
        best = max(best, fps)
    return best


def encode_held(
    path: Path, spec: CreativeSpec, held: Sequence[np.ndarray | Yuv420], preset: str
) -> None:
    """Encode frames held in memory, with nothing else to do: the baseline of a render."""
    with VideoWriter(path, spec.width, spec.height, spec.fps, preset=preset) as writer:
        for frame in held:
            writer.write(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="product photo (default: synthetic)")
    parser.add_argument("--shot-seconds", type=float, default=2.5)
    parser.add_argument("--end-card-seconds", type=float, default=1.5)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reelcart-bench-") as tmp:
        out = Path(tmp)
        photo = args.image or synthetic_photo(out / "photo.png")
        spec = bench_spec(photo, args.shot_seconds, args.end_card_seconds)
        total = spec.frame_count
        print(
            f"{spec.width}x{spec.height} @ {spec.fps} fps, {total} frames "
            f"({spec.duration_s:.1f} s), preset {args.preset}, {os.cpu_count()} CPUs"
        )

        # The exact frames render_creative encodes, kept in memory for the encode-only run
        # (the still end card is one shared array, as in a real render).
        engine = MotionEngine()
        compositor = Compositor(spec, None, product_box(engine, spec))
        frames: list[np.ndarray] = []
        for shot in spec.shots:
            for frame in engine.frames(shot, spec.width, spec.height, spec.fps):
                frames.append(compositor.overlay(frame, len(frames)))
        for card in compositor.end_card(frames[-1]):
            assert isinstance(card, np.ndarray)  # RGB in, RGB out
            frames.append(card)
        assert len(frames) == total

        def render() -> None:
            render_creative(spec, out, engine, "render", preset=args.preset)

        def encode_only() -> None:
            encode_held(out / "encode.mp4", spec, frames, args.preset)

        def engine_only() -> None:
            for shot in spec.shots:
                for _ in engine.frames(shot, spec.width, spec.height, spec.fps):
                    pass

        shot_frames = sum(spec.shot_frames)
        timed("engine only (shots, no encode)", shot_frames, engine_only, 1)
        render_fps = timed("render (engine+compose+encode)", total, render, args.repeat)
        encode_fps = timed("encode only (same frames)", total, encode_only, args.repeat)
        print(
            f"best: render {render_fps:.1f} fps, encode-only {encode_fps:.1f} fps, "
            f"ratio render/encode-only = {render_fps / encode_fps:.2f}"
        )


if __name__ == "__main__":
    main()
