"""Image-to-video generation speed: batched warm engine versus one-call-per-clip baseline.

    .venv/bin/python bench/generation.py                       # CPU: the tiny preset, seconds
    .venv/bin/python bench/generation.py --preset ltx-video-i2v --size 480p --seconds 5 --variants 6
    .venv/bin/python bench/generation.py --preset wan2.2-ti2v-5b --random-init   # no weights needed

Generates ``--variants`` K clips of one product photo (different seeds and camera moves)
twice with the same warm pipeline: first the *baseline* (one pipeline call per clip, the
text encoder run for every clip, as a naive script does), then the *engine* path
(``DiffusionEngine.prepare``: prompt embeddings reused, clips of one shape batched).
Both decode to uint8 on the device and encode each clip to H.264 at the output size.
Prints seconds per clip, per-stage seconds (text encoding, denoising, decoding, encoding),
peak memory and the engine/baseline speed ratio.

``--random-init`` builds the preset's full-size transformer and VAE from the hyper-
parameters in ``generation/engines/diffusion/architectures.py`` (the published configs) with
random weights, inside the engine's loader (so placement, batch size and dtypes are planned
from the free memory first, exactly as for real weights), fully offline: a GPU owner times
the real shapes without fetching tens of GB. The text encoder is one T5 layer of the real
width (4096), so prompt embeddings have the real shape but text-encoding time is not
representative (the engine encodes each distinct prompt once anyway). On a CPU, any preset
other than ``tiny-*`` is refused: it would take hours. ``--shapes-only`` builds every full-
size transformer on the ``meta`` device (no memory, no GPU) and prints the parameter counts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from generation.encode import VideoWriter
from generation.engines.diffusion.devices import pick_device
from generation.engines.diffusion.engine import DiffusionEngine, StageTimes, load_pipeline
from generation.engines.diffusion.presets import PRESETS, get_preset
from generation.engines.diffusion.random_weights import (
    build_transformer,
    build_vae,
    parameter_count,
    random_loader,
)
from generation.spec import MOTIONS, ShotSpec

SIZES = {"240p": (240, 432), "480p": (480, 848), "720p": (720, 1280)}  # 9:16 (w, h)


def shapes_only(names: list[str]) -> None:
    """Build each preset's full-size transformer and VAE on ``meta``; print their sizes."""
    for name in names:
        preset = get_preset(name)
        transformer = build_transformer(preset, "meta")
        vae = build_vae(preset, "meta")
        billions = parameter_count(transformer) / 1e9
        arch = preset.architecture
        assert arch is not None
        lo, hi = arch.params_b
        verdict = "ok" if lo <= billions <= hi else f"OUT OF RANGE {lo}-{hi}"
        print(
            f"{name:>22}: transformer {billions:6.3f} B ({verdict})"
            f" | VAE {parameter_count(vae) / 1e9:5.3f} B"
            f" | bf16 weights {2 * billions:5.1f} GB"
        )


def encode_clips(
    engine: DiffusionEngine, shots: list[ShotSpec], size: tuple[int, int], fps: int, out: Path
) -> float:
    started = time.perf_counter()
    for i, shot in enumerate(shots):
        with VideoWriter(out / f"clip{i}.mp4", size[0], size[1], fps) as writer:
            for frame in engine.frames(shot, size[0], size[1], fps):
                writer.write(frame)
    return time.perf_counter() - started


def report(label: str, times: StageTimes, clips: int, wall: float, encode_s: float) -> float:
    per_clip = wall / clips
    print(
        f"{label:>9}: {per_clip:8.3f} s/clip | text {times.text_s:7.3f} s  "
        f"denoise {times.denoise_s:8.3f} s  "
        f"decode {times.decode_s:7.3f} s  encode {encode_s:7.3f} s | {times.batches} calls, "
        f"{times.prompts_encoded} text-encoder runs"
    )
    return per_clip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--preset", default=None, help=f"one of {sorted(PRESETS)} (CPU default: tiny-ltx)"
    )
    parser.add_argument("--size", default=None, choices=sorted(SIZES), help="output size, 9:16")
    parser.add_argument("--seconds", type=float, default=None, help="clip length")
    parser.add_argument("--variants", type=int, default=4, help="clips of one product (K)")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--model-dir", type=Path, default=None, help="local diffusers folder")
    parser.add_argument(
        "--random-init", action="store_true", help="full-size modules, random weights"
    )
    parser.add_argument(
        "--shapes-only",
        action="store_true",
        help="build full-size modules on the meta device and print parameter counts",
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile repeated blocks (CUDA)"
    )
    parser.add_argument(
        "--attention", default=None, help="attention backend, e.g. flash, _flash_3, sage"
    )
    parser.add_argument(
        "--fbcache", type=float, default=None, help="FirstBlockCache threshold, e.g. 0.05"
    )
    args = parser.parse_args()
    if args.shapes_only:
        names = (
            [args.preset]
            if args.preset
            else [n for n, p in PRESETS.items() if p.architecture is not None]
        )
        shapes_only(names)
        return

    device = pick_device()
    on_gpu = device.type == "cuda"
    preset_name = args.preset or ("ltx-video-i2v" if on_gpu else "tiny-ltx")
    preset = get_preset(preset_name)
    if not on_gpu and preset.model_id is not None:
        raise SystemExit(
            f"no GPU here: {preset_name} would take hours on a CPU; try --preset tiny-ltx,"
            " or --shapes-only to check the full-size shapes"
        )
    size = SIZES[args.size] if args.size else ((480, 848) if on_gpu else (72, 128))
    seconds = args.seconds or (5.0 if on_gpu else 1.0)
    work = Path(tempfile.mkdtemp(prefix="bench-generation-"))

    loader: Any = load_pipeline
    model_dir = args.model_dir
    if preset.model_id is None and model_dir is None:
        from tests.generation.tiny_pipelines import save_tiny_pipeline

        model_dir = save_tiny_pipeline(work / preset_name, preset.family)
    if args.random_init:
        if preset.architecture is None:
            raise SystemExit(f"--random-init needs a full-size preset, not {preset_name!r}")
        # Built inside the engine's load, after it planned placement and batch from the
        # free memory: what is timed is what production runs.
        loader = random_loader(preset)
        model_dir = None

    engine = DiffusionEngine(
        preset,
        model_dir=model_dir,
        loader=loader,
        compile_blocks=args.compile,
        attention_backend=args.attention,
        first_block_cache=args.fbcache,
    )
    from tests.generation.tiny_pipelines import product_photo

    photo = product_photo(work / "product.png")
    motions = sorted(MOTIONS)
    print(
        f"device {device} | preset {preset_name} | {size[0]}x{size[1]} | {seconds:g} s"
        f" | K={args.variants}"
    )
    engine.pipeline()
    print(f"load {engine.times.load_s:.2f} s | placement: {', '.join(engine.times.applied)}")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)

    # Warm-up (compilation, kernels, allocator) is not part of either figure.
    engine.prepare([ShotSpec(photo, motions[0], seconds, 10_000)], size[0], size[1], args.fps)

    # Baseline: one call per clip, text encoded every time (fresh embedding cache).
    base = [ShotSpec(photo, motions[i % 4], seconds, 1000 + i) for i in range(args.variants)]
    engine.times = StageTimes()
    started = time.perf_counter()
    for shot in base:
        engine._embeds.clear()
        engine.prepare([shot], size[0], size[1], args.fps)
    encode_s = encode_clips(engine, base, size, args.fps, work)
    base_clip = report("baseline", engine.times, len(base), time.perf_counter() - started, encode_s)

    # Engine: everything through prepare (batched, embeddings reused), then encode.
    shots = [ShotSpec(photo, motions[i % 4], seconds, 2000 + i) for i in range(args.variants)]
    engine.times = StageTimes()
    engine._embeds.clear()
    started = time.perf_counter()
    engine.prepare(shots, size[0], size[1], args.fps)
    encode_s = encode_clips(engine, shots, size, args.fps, work)
    engine_clip = report(
        "engine", engine.times, len(shots), time.perf_counter() - started, encode_s
    )

    host_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_peak = (
        f" | GPU peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if on_gpu else ""
    )
    print(f"peak host RSS {host_peak:.0f} MiB{gpu_peak}")
    print(
        f"speed-up engine/baseline: {base_clip / engine_clip:.2f}x"
        f" | clips per minute: {60 / engine_clip:.1f}"
    )


if __name__ == "__main__":
    main()
