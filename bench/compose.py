"""What compositing costs: a finished ad (render + encode) versus encoding its frames alone.

    .venv/bin/python bench/compose.py [--seconds 6|15] [--repeat 3] [--voiceover]

Builds a real storyboard (price hook, feature shots, price scene, CTA end card, burned-in
captions, AI label) at 1080x1920, 30 fps. Footage is generated once into the footage
cache first (timed separately: it is paid once per shot, not per variant). Then:

- render: ``render_creative`` from the cache: decode + reframe, the layout planned around
  the product, overlays, captions, transitions, music bed (and voiceover with
  ``--voiceover``) normalised to -14 LUFS, H.264 + AAC, poster, preview and caption
  sidecars, and the quality gate over the finished file;
- encode only: the very same final frames, held in memory as RGB pictures, through the
  same H.264 writer with nothing else to do (it converts them to YUV 4:2:0 for x264);
- x264 only: those frames already converted to YUV 4:2:0, so the writer only encodes:
  the floor no render can beat (the render composites in YUV 4:2:0 itself).

It prints the frame rates, the render's ratio to encode-only (goal >= 0.8) and to x264
only, CPU seconds per creative, and what the layout planning and the quality gate cost
inside the render. The default is the 15 s
ad, best of 3; ``--seconds 6`` is quicker. The three runs alternate, so on a shared
machine all see the same load; each line prints the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from encode_motion import cpu_seconds, encode_held, synthetic_photo

from generation.audio import EspeakTTS
from generation.brand import BrandKit
from generation.compose import Compositor
from generation.engines.motion import MotionEngine
from generation.footage import FootageCache
from generation.placement import product_box
from generation.render import render_creative
from generation.storyboard import RenderConfig, storyboard
from generation.yuv import Yuv420
from reelcart.domain import CreativeJob


def _job(photo: Path, seconds: int) -> CreativeJob:
    return CreativeJob(
        creative_id="crv_bench",
        name="bench",
        product_id="p",
        product_title="Hand-Thrown Stoneware Pour-Over Coffee Dripper",
        price_minor=4800,
        currency="USD",
        brand_name="Kiln & Kettle",
        image_paths=(str(photo),),
        factors={"hook": "price", "duration": f"{seconds}s", "aspect": "9:16"},
        seed=3,
        description="<p>Thrown by hand in small batches. Fits most mugs and carafes.</p>"
        "<p>Glazed inside for easy rinsing.</p>",
    )


def _once(label: str, frames: int, fn: object) -> tuple[float, float]:
    """Frames/s and CPU seconds of one run."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    load = os.getloadavg()[0]
    print(
        f"  {label:<32} {frames / wall:6.1f} frames/s  {wall:6.2f} s wall  {cpu:6.2f} CPU-s"
        f"  load {load:.1f}"
    )
    return frames / wall, cpu


def _rounds(
    frames: int, render: object, encode: object, x264: object, repeat: int
) -> list[tuple[float, ...]]:
    """``repeat`` rounds of (render, encode only, x264 only), alternating, so that all see
    the same load on a shared machine; each round's (render fps, encode fps, x264 fps,
    render CPU-s, encode CPU-s)."""
    rounds: list[tuple[float, ...]] = []
    for _ in range(repeat):
        render_fps, render_cpu = _once("render + encode (finished ad)", frames, render)
        encode_fps, encode_cpu = _once("encode only (same frames, RGB)", frames, encode)
        x264_fps, _ = _once("x264 only (same frames, YUV)", frames, x264)
        rounds.append((render_fps, encode_fps, x264_fps, render_cpu, encode_cpu))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, choices=(6, 15), default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--voiceover", action="store_true", help="speak the script (espeak-ng)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reelcart-bench-") as tmp:
        out = Path(tmp)
        photo = synthetic_photo(out / "photo.png")
        config = RenderConfig(brand=BrandKit(ai_label=True, voiceover=args.voiceover))
        spec = storyboard(_job(photo, args.seconds), config)
        total = spec.frame_count
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"{spec.width}x{spec.height} @ {spec.fps} fps, {total} frames"
            f" ({spec.duration_s:.0f} s),"
            f" {len(spec.shots)} shots, preset {args.preset}, {os.cpu_count()} CPUs,"
            f" load average {load} (shared machine: other work slows every figure)"
        )
        cache = FootageCache(MotionEngine(), out / "footage", (spec.width, spec.height))
        shot_frames = sum(spec.shot_frames)

        def generate() -> None:
            for shot in spec.shots:
                cache.entry(shot, spec.width, spec.height, spec.fps)

        _once("footage: engine + mezzanine (once/shot)", shot_frames, generate)

        # The final frames, as render_creative produces them, for the encode-only run.
        planned = time.perf_counter()
        compositor = Compositor(spec, config.brand.theme, product_box(cache, spec))
        planned = time.perf_counter() - planned
        frames: list[np.ndarray] = []
        for shot in spec.shots:
            for frame in cache.frames(shot, spec.width, spec.height, spec.fps):
                frames.append(compositor.overlay(frame, len(frames)))
        for card in compositor.end_card(frames[-1]):
            assert isinstance(card, np.ndarray)  # RGB in, RGB out
            frames.append(card)
        assert len(frames) == total
        pictures = [Yuv420.from_rgb(frame) for frame in frames]
        tts = EspeakTTS() if args.voiceover else None

        gate_seconds: list[float] = []

        def render() -> None:
            done = render_creative(
                spec, out, cache, "render", preset=args.preset, theme=config.brand.theme, tts=tts
            )
            gate_seconds.append(float(done.manifest["qa"]["seconds"]))
            assert done.manifest["qa"]["passed"], done.manifest["qa"]["failed"]

        def encoding(held: Sequence[np.ndarray | Yuv420]) -> Callable[[], None]:
            return lambda: encode_held(out / "encode.mp4", spec, held, args.preset)

        rounds = _rounds(total, render, encoding(frames), encoding(pictures), args.repeat)
        render_fps, encode_fps, x264_fps = (max(r[i] for r in rounds) for i in range(3))
        render_cpu, encode_cpu = min(r[3] for r in rounds), min(r[4] for r in rounds)
        print(
            f"best of {args.repeat}: render+encode {render_fps:.1f} fps, encode-only "
            f"{encode_fps:.1f} fps, ratio {render_fps / encode_fps:.2f} (goal >= 0.80); "
            f"x264 only {x264_fps:.1f} fps, ratio {render_fps / x264_fps:.2f}; "
            f"CPU-s per {spec.duration_s:.0f} s creative {render_cpu:.1f} vs {encode_cpu:.1f} "
            f"encoding alone, ratio {encode_cpu / render_cpu:.2f} (what the frame rates tend "
            f"to when every core is busy; footage generation excluded: shared by variants)"
        )
        print(
            "per round (render / encode-only / x264-only fps): "
            + ", ".join(
                f"{r[0]:.1f}/{r[1]:.1f}/{r[2]:.1f} ({r[0] / r[1]:.2f}, {r[0] / r[2]:.2f})"
                for r in rounds
            )
        )
        print(
            f"inside the render: layout planning {planned:.2f} s, quality gate "
            f"{min(gate_seconds):.2f} s (best), letterbox {compositor.plan.letterbox.scale:g}"
        )


if __name__ == "__main__":
    main()
