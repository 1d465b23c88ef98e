"""The diffusion path on one lent GPU, in one command under 8 minutes.

    python3 bench/gpu_check.py --out $OUT/gpu_check.jsonl          # on the GPU machine
    .venv/bin/python bench/gpu_check.py --device cpu --toy --out /tmp/check.jsonl

Appends one JSON line per result as it goes (so a run cut short keeps what it measured)
and skips a stage when the deadline (``--deadline`` seconds, default 450) would not leave
it time. Stages, in order:

1. ``versions``: Python, torch, CUDA, diffusers, transformers, accelerate, the GPU.
2. ``meta``: every hub preset's transformer and VAE on the meta device: parameters,
   latent and decoded shape of a 121-frame 480x832 clip against the published compression.
3. ``smoke``: tiny LTX and Wan pipelines saved and loaded through ``from_pretrained`` on
   the device: output contract, determinism, batch equals alone, bf16, and resident =
   model offload = group offload frame for frame (CUDA only).
4. ``main``: the default preset at full size with random weights (the full-size T5-XXL
   text encoder included, built on ``meta`` and materialised on the GPU only), 480p
   (9:16), 5 s, batch 1 then 4: seconds per stage, clips per minute, peak memory both
   allocated and reserved, where the text encoder waits, the counted per-clip memory.
5. ``attention``: each attention backend usable here, one clip each.
6. ``compile``: regional compilation: the first clip (compiling), then steady state, and
   the graphs compiled across batch sizes.
7. ``two_pass``: the distilled preset in its published two passes (0.6666666 of the
   size, latent upsampler, 3 refining steps) at full size with random weights, 480p, 5 s, batch 1
   then 4: seconds per stage, peak memory, and the pass sizes.
8. ``wan``: Wan 2.2 TI2V 5B at full size with random weights, if time is left (fewer
   steps; the per-step time extrapolates).
9. ``ltx2``: LTX-2 (19B) with its generated sound at full size with random weights
   (Gemma 3 12B included), 4 steps extrapolated to the preset's: seconds per stage,
   peak memory, clips per minute, the sound's length against the clip's; then a remix
   of the clip with its new sound (``LTX2ConditionPipeline``), timed the same way.

``--toy`` swaps every full-size model for its toy-width twin (same classes, layout,
pipelines, schedules), so the whole script runs on a CPU in the test suite and cannot rot.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# After the repository root: ``generation`` must be the package, not bench/generation.py.
sys.path.append(str(Path(__file__).resolve().parent))

import numpy as np
import torch
from gpu_check_base import (
    TWO_PASS_PRESET,
    Context,
    Recorder,
    Result,
    loader_for,
    ltx2,
    main_preset,
    peaks,
    timed_run,
    two_pass,
    wan,
)

from generation.engines.diffusion.activations import per_clip_gib
from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import DEFAULT_PRESET, PRESETS, get_preset
from generation.engines.diffusion.random_weights import (
    build_transformer,
    build_upsampler,
    build_vae,
    meta_clip_shapes,
    parameter_count,
)
from generation.engines.diffusion.speed import Applied, apply_attention_backend, release
from generation.spec import ShotSpec
from tests.generation.engines.diffusion.published_configs import COMPRESSION, HUB_VERSIONS
from tests.generation.tiny_pipelines import (
    product_photo,
    save_tiny_pipeline,
    save_tiny_upsampler,
)

CUDA_ONLY = frozenset({"_native_cudnn", "_native_efficient", "flash", "_flash_3", "sage"})
BACKENDS = (
    "native",
    "_native_cudnn",
    "_native_efficient",
    "_native_flash",
    "flash",
    "_flash_3",
    "sage",
)


def versions(ctx: Context) -> Iterator[Result]:
    import diffusers
    import transformers

    try:
        import accelerate

        accel = accelerate.__version__
    except ImportError:
        accel = None
    gpu: Result = {}
    if ctx.cuda:
        props = torch.cuda.get_device_properties(0)
        gpu = {
            "gpu": props.name,
            "gpu_gib": round(props.total_memory / 2**30, 1),
            "bf16": torch.cuda.is_bf16_supported(),
            "cuda": torch.version.cuda,
        }
    yield {
        "ok": True,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "accelerate": accel,
        "device": ctx.device,
        "toy": ctx.toy,
        **gpu,
    }


def meta(ctx: Context) -> Iterator[Result]:
    for name, preset in PRESETS.items():
        if preset.model_id is None or preset.architecture is None:
            continue
        billions = parameter_count(build_transformer(preset)) / 1e9
        lo, hi = preset.architecture.params_b
        result: Result = {
            "preset": name,
            "transformer_b": round(billions, 3),
            "vae_b": round(parameter_count(build_vae(preset)) / 1e9, 3),
        }
        if preset.architecture.upsampler is not None:
            result["upsampler_b"] = round(parameter_count(build_upsampler(preset)) / 1e9, 4)
        ok = lo <= billions <= hi
        if not ctx.toy or preset.family == "ltx":  # Wan's frame loop is slow even on meta
            spatial, temporal = COMPRESSION[HUB_VERSIONS[preset.model_id]]
            latent, decoded = meta_clip_shapes(preset, 121, 480, 832)
            channels = latent[1]
            expected = (1, channels, 120 // temporal + 1, 480 // spatial, 832 // spatial)
            ok = ok and latent == expected and decoded == (1, 3, 2 * temporal + 1, 480, 832)
            result.update(latent=latent, expected=expected)
        yield {"ok": ok, **result}


def _clips(engine: DiffusionEngine, shots: list[ShotSpec], size: tuple[int, int]) -> list[Any]:
    engine.prepare(shots, size[0], size[1], engine.preset.fps)
    return [engine.native_clip(s, *size)[0] for s in shots]


def smoke(ctx: Context) -> Iterator[Result]:
    size = (64, 64)
    for family in ("ltx", "wan"):
        folder = save_tiny_pipeline(ctx.work / f"tiny-{family}", family)
        preset = get_preset(f"tiny-{family}")
        shots = [ShotSpec(ctx.photo, "push_in", 0.5, seed) for seed in (1, 2, 3)]
        engine = DiffusionEngine(preset, model_dir=folder, device=ctx.device)
        batch = _clips(engine, shots, size)
        frames = engine.native_clip(shots[0], *size)[1].num_frames
        contract = all(c.shape == (frames, 64, 64, 3) and c.dtype == np.uint8 for c in batch)
        again = _clips(
            DiffusionEngine(preset, model_dir=folder, device=ctx.device), shots[1:2], size
        )[0]
        third = _clips(
            DiffusionEngine(preset, model_dir=folder, device=ctx.device), shots[1:2], size
        )[0]
        batch_diff = int(np.abs(batch[1].astype(int) - again.astype(int)).max())
        yield {
            "family": family,
            "ok": contract and np.array_equal(again, third) and batch_diff <= 2,
            "contract": contract,
            "deterministic": bool(np.array_equal(again, third)),
            "batch_vs_alone_max_diff": batch_diff,
            "batches": engine.times.batches,
        }
        if not ctx.cuda:
            continue
        bf16 = dataclasses.replace(preset, dtype="bfloat16")
        low = _clips(DiffusionEngine(bf16, model_dir=folder, device=ctx.device), shots[1:2], size)[
            0
        ]
        yield {
            "family": family,
            "check": "bf16",
            "ok": bool(np.ptp(low) > 0),
            "ptp": int(np.ptp(low)),
        }
        placed = {}
        for placement in ("resident", "model_offload", "group_offload"):
            e = DiffusionEngine(preset, model_dir=folder, device=ctx.device, placement=placement)
            placed[placement] = _clips(e, shots[1:2], size)[0]
        diffs = {
            p: int(np.abs(c.astype(int) - placed["resident"].astype(int)).max())
            for p, c in placed.items()
        }
        yield {
            "family": family,
            "check": "placements",
            "ok": max(diffs.values()) == 0,
            "max_diff": diffs,
        }
    if ctx.cuda:
        yield from _two_pass_placements(ctx, size)


def _two_pass_placements(ctx: Context, size: tuple[int, int]) -> Iterator[Result]:
    """The tiny two-pass pipeline (upsampler beside it) under every placement on CUDA:
    the upsampler stays on the device while the pipeline's own VAE is offloaded."""
    folder = save_tiny_upsampler(save_tiny_pipeline(ctx.work / "tiny-two-pass", "ltx"))
    preset = dataclasses.replace(
        get_preset(TWO_PASS_PRESET), model_id=None, architecture=None, max_batch=2
    )
    shots = [ShotSpec(ctx.photo, "push_in", 0.25, seed) for seed in (1, 2)]
    placed = {}
    for placement in ("resident", "model_offload", "group_offload"):
        e = DiffusionEngine(preset, model_dir=folder, device=ctx.device, placement=placement)
        placed[placement] = _clips(e, shots, size)[0]
    diffs = {
        p: int(np.abs(c.astype(int) - placed["resident"].astype(int)).max())
        for p, c in placed.items()
    }
    yield {"family": "ltx", "check": "two_pass_placements", "ok": max(diffs.values()) <= 2,
           "max_diff": diffs}  # fmt: skip


class MainRun:
    """The default preset at full size (random weights), shared by the later stages."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.size = (64, 64) if ctx.toy else (480, 848)
        self.seconds = 0.25 if ctx.toy else 5.0
        self.engine: DiffusionEngine | None = None
        self.seed = 100

    def shots(self, count: int) -> list[ShotSpec]:
        """``count`` shots never generated before (fresh seeds: no cache hits)."""
        seeds = range(self.seed, self.seed + count)
        self.seed += count
        return [ShotSpec(self.ctx.photo, "push_in", self.seconds, s) for s in seeds]

    def run(self) -> Iterator[Result]:
        preset = main_preset(self.ctx, DEFAULT_PRESET)
        engine = DiffusionEngine(
            preset, device=self.ctx.device, loader=loader_for(self.ctx, preset)
        )
        started = time.perf_counter()
        engine.pipeline()
        plan = engine.plan
        assert plan is not None
        yield {
            "ok": True,
            "load_s": round(time.perf_counter() - started, 2),
            "applied": engine.times.applied,
            "plan_batch": plan.batch,
            # What one more clip of a batch adds, counted from its tokens (to hold against
            # the allocated peaks of batch 1 and batch 4 below).
            "per_clip_counted_gib": round(per_clip_gib(preset), 3),
            **peaks(self.ctx),
        }
        self.engine = engine
        timed_run(engine, self.ctx, self.shots(1), self.size)  # warm-up: kernels, allocator
        for batch in (1, 4):  # 4 clips run in calls of plan.batch (what memory allows)
            result = timed_run(engine, self.ctx, self.shots(batch), self.size)
            yield {
                "ok": True,
                "preset": preset.name,
                "size": self.size,
                "seconds": self.seconds,
                "batch": batch,
                **result,
            }

    def attention(self) -> Iterator[Result]:
        from diffusers.models.attention_dispatch import (
            AttentionBackendName,
            _check_attention_backend_requirements,
        )

        engine = self.engine
        if engine is None:
            raise RuntimeError("the main stage did not load")
        for backend in BACKENDS:
            if self.ctx.rec.left() < 30:
                yield {"backend": backend, "skipped": "deadline"}
                continue
            if not self.ctx.cuda and backend in CUDA_ONLY:
                yield {"backend": backend, "available": False, "why": "needs CUDA"}
                continue
            try:
                _check_attention_backend_requirements(AttentionBackendName(backend))
            except Exception as exc:
                yield {"backend": backend, "available": False, "why": str(exc)[:200]}
                continue
            applied = Applied()
            apply_attention_backend(engine.preset, engine.pipeline().transformer, backend, applied)
            try:
                yield {
                    "backend": backend,
                    "ok": True,
                    "applied": applied.names,
                    **timed_run(engine, self.ctx, self.shots(1), self.size),
                }
            except Exception as exc:
                yield {
                    "backend": backend,
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                }
            finally:
                release(applied)

    def compile(self) -> Iterator[Result]:
        from torch._dynamo.utils import counters

        from generation.engines.diffusion.speed import compile_blocks

        engine = self.engine
        if engine is None:
            raise RuntimeError("the main stage did not load")
        torch._dynamo.reset()  # graphs compiled earlier in this process do not count
        counters.clear()
        compile_blocks(engine.pipeline().transformer, "inductor" if self.ctx.cuda else "eager")
        first = timed_run(engine, self.ctx, self.shots(1), self.size)
        steady = timed_run(engine, self.ctx, self.shots(1), self.size)
        batch = 2 if self.ctx.toy else (engine.plan.batch if engine.plan else 1)
        batched = timed_run(engine, self.ctx, self.shots(batch), self.size)
        graphs = int(counters["stats"]["unique_graphs"])
        # Static for the first shape, dynamic from the next: never a graph per batch size.
        yield {
            "ok": graphs <= 2,
            "first": first,
            "steady": steady,
            f"batch{batch}": batched,
            "unique_graphs": graphs,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    parser.add_argument("--toy", action="store_true", help="toy-width models (CPU, tests)")
    parser.add_argument("--deadline", type=float, default=450.0, help="seconds for the whole run")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file (appended)")
    args = parser.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu" and not args.toy:
        raise SystemExit("full-size models on a CPU would take hours: add --toy")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    gpu = torch.cuda.get_device_name(0).replace(" ", "-") if device.startswith("cuda") else "cpu"
    out = args.out or Path(__file__).parent / "results" / f"{stamp}-{gpu}.jsonl"
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    rec = Recorder(out, args.deadline)
    ctx = Context(device, args.toy, work, product_photo(work / "product.png"), rec)
    main_run = MainRun(ctx)
    scale = 0.1 if args.toy else 1.0
    rec.stage("versions", 1, lambda: versions(ctx))
    rec.stage("meta", 40 * scale, lambda: meta(ctx))
    rec.stage("smoke", 60 * scale, lambda: smoke(ctx))
    rec.stage("main", 150 * scale, main_run.run)
    rec.stage("attention", 40 * scale, main_run.attention)
    rec.stage("compile", 90 * scale, main_run.compile)
    main_run.engine = None  # one full-size model on the GPU at a time
    rec.stage("two_pass", 120 * scale, lambda: two_pass(ctx))
    rec.stage("wan", 90 * scale, lambda: wan(ctx))
    rec.stage("ltx2", 200 * scale, lambda: ltx2(ctx))
    rec.write({"stage": "done", "ok": True, "out": str(out)})


if __name__ == "__main__":
    main()
