"""Shared parts of ``bench/gpu_check.py``: the JSON-lines recorder, the run context, the
timed generation, and the stages that load a second full-size model (two-pass LTX, Wan)."""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import ModelPreset, get_preset
from generation.engines.diffusion.random_weights import random_loader
from generation.engines.diffusion.two_pass import first_pass_size
from generation.spec import ShotSpec
from tests.generation.tiny_pipelines import toy_preset

Result = dict[str, Any]


class Recorder:
    """Writes one JSON line per result, flushed at once; knows the time left."""

    def __init__(self, path: Path, deadline_s: float) -> None:
        self.path, self.deadline_s = path, deadline_s
        self.started = time.monotonic()
        path.parent.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline_s - (time.monotonic() - self.started)

    def write(self, record: Result) -> None:
        record = {**record, "t_s": round(time.monotonic() - self.started, 2)}
        line = json.dumps(record, default=str)
        with self.path.open("a") as out:
            out.write(line + "\n")
        print(line, flush=True)

    def stage(self, name: str, estimate_s: float, run: Callable[[], Iterator[Result]]) -> None:
        if self.left() < estimate_s:
            self.write({"stage": name, "skipped": "deadline", "left_s": round(self.left(), 1)})
            return
        try:
            for result in run():
                self.write({"stage": name, **result})
        except Exception as exc:  # one broken stage must not hide the others' figures
            self.write({"stage": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:3000]})
        finally:
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


@dataclasses.dataclass
class Context:
    device: str
    toy: bool
    work: Path
    photo: Path
    rec: Recorder

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def peaks(ctx: Context) -> Result:
    """Peak GPU memory since the last reset: what tensors held (allocated) and what the
    caching allocator took from the device (reserved: what other processes cannot use)."""
    if not ctx.cuda:
        return {"peak_allocated_gib": None, "peak_reserved_gib": None}
    return {
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2),
    }


def loader_for(ctx: Context, preset: ModelPreset) -> Any:
    """Random weights; on a GPU with the full-size text encoder, so memory is all there."""
    return random_loader(preset, full_text_encoder=not ctx.toy)


def text_encoder_device(engine: DiffusionEngine) -> str:
    """Where the text encoder's weights are now (parked on the host between encodings)."""
    return str(next(engine.pipeline().text_encoder.parameters()).device)


def main_preset(ctx: Context, name: str) -> ModelPreset:
    preset = get_preset(name)
    return toy_preset(preset) if ctx.toy else preset


def timed_run(
    engine: DiffusionEngine, ctx: Context, shots: list[ShotSpec], size: tuple[int, int]
) -> Result:
    from generation.engines.diffusion.inputs import StageTimes

    engine.times = StageTimes(applied=engine.times.applied)
    if ctx.cuda:
        torch.cuda.empty_cache()  # reserved memory from earlier stages does not count
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    engine.prepare(shots, size[0], size[1], engine.preset.fps)
    wall = time.perf_counter() - started
    t = engine.times
    return {
        "clips": len(shots),
        "wall_s": round(wall, 3),
        "s_per_clip": round(wall / len(shots), 3),
        "clips_per_min": round(60 * len(shots) / wall, 2),
        "text_s": round(t.text_s, 3),
        "denoise_s": round(t.denoise_s, 3),
        "decode_s": round(t.decode_s, 3),
        "calls": t.batches,
        **peaks(ctx),
        "text_encoder_on": text_encoder_device(engine),
    }


TWO_PASS_PRESET = "ltx-video-i2v-2pass"


def two_pass(ctx: Context) -> Iterator[Result]:
    """The two-pass preset at full size (random weights, upsampler included)."""
    preset = main_preset(ctx, TWO_PASS_PRESET)
    engine = DiffusionEngine(preset, device=ctx.device, loader=loader_for(ctx, preset))
    started = time.perf_counter()
    engine.pipeline()
    yield {
        "ok": "two_pass" in engine.times.applied,
        "preset": preset.name,
        "load_s": round(time.perf_counter() - started, 2),
        "applied": engine.times.applied,
        **peaks(ctx),
    }
    size, seconds = ((64, 64), 0.25) if ctx.toy else ((480, 848), 5.0)
    seeds = iter(range(200, 300))

    def shots(count: int) -> list[ShotSpec]:
        return [ShotSpec(ctx.photo, "push_in", seconds, next(seeds)) for _ in range(count)]

    timed_run(engine, ctx, shots(1), size)  # warm-up: kernels, allocator
    for batch in (1, 4):
        batch_shots = shots(batch)
        result = timed_run(engine, ctx, batch_shots, size)
        clip, native = engine.native_clip(batch_shots[0], *size)
        first = first_pass_size(preset, native.width, native.height)
        yield {
            "ok": clip.shape == (native.num_frames, size[1], size[0], 3),
            "preset": preset.name,
            "size": size,
            "seconds": seconds,
            "batch": batch,
            "native": (native.width, native.height, native.num_frames),
            "first_pass": first,
            "second_pass": (2 * first[0], 2 * first[1]),
            **result,
        }


def wan(ctx: Context) -> Iterator[Result]:
    preset = dataclasses.replace(main_preset(ctx, "wan2.2-ti2v-5b"), steps=2 if ctx.toy else 10)
    engine = DiffusionEngine(preset, device=ctx.device, loader=loader_for(ctx, preset))
    engine.pipeline()
    size, seconds = ((64, 64), 0.25) if ctx.toy else ((480, 848), 5.0)
    result = timed_run(engine, ctx, [ShotSpec(ctx.photo, "push_in", seconds, 1)], size)
    per_step = result["denoise_s"] / preset.steps
    yield {
        "ok": True,
        "preset": preset.name,
        "steps": preset.steps,
        "denoise_s_per_step": round(per_step, 3),
        "applied": engine.times.applied,
        **result,
    }


LTX2_PRESET = "ltx2-i2v-audio"


def ltx2(ctx: Context) -> Iterator[Result]:
    """LTX-2 with its sound at full size (random weights, Gemma 3 12B included): seconds
    per stage, peak memory, clips per minute, and the sound's length against the clip's;
    then a remix of that clip, picture and new sound in one ``LTX2ConditionPipeline`` call,
    timed the same way.

    Fewer steps than the preset's (the per-step time extrapolates). ``--toy`` builds the
    full size on ``meta`` only (both pipelines, sharing their modules) and runs the same
    generation and remix on the tiny LTX-2 (loaded through ``from_pretrained``).
    """
    from generation.engines.diffusion.pipes import remix_pipeline
    from generation.engines.diffusion.random_weights import build_ltx2_pipeline, parameter_count
    from tests.generation.tiny_pipelines import saved_tiny_pipeline

    preset = get_preset(LTX2_PRESET)
    if ctx.toy:
        pipe = build_ltx2_pipeline(preset, "meta", torch.bfloat16)
        remix = remix_pipeline(pipe, preset)
        yield {
            "ok": all(remix.components[k] is v for k, v in pipe.components.items()),
            "preset": preset.name,
            "meta_only": True,
            "transformer_b": round(parameter_count(pipe.transformer) / 1e9, 3),
            "text_encoder_b": round(parameter_count(pipe.text_encoder) / 1e9, 3),
            "remix_pipeline": type(remix).__name__,
        }
        timed = get_preset("tiny-ltx2")
        engine = DiffusionEngine(timed, device=ctx.device, model_dir=saved_tiny_pipeline("ltx2"))
        size, seconds = (64, 64), 0.5
    else:
        timed = dataclasses.replace(preset, steps=4)
        engine = DiffusionEngine(timed, device=ctx.device, loader=random_loader(timed))
        size, seconds = (480, 848), 5.0
    started = time.perf_counter()
    engine.pipeline()
    yield {
        "ok": True,
        "preset": timed.name,
        "load_s": round(time.perf_counter() - started, 2),
        "applied": engine.times.applied,
        **peaks(ctx),
    }
    full = timed if ctx.toy else preset  # what the per-step time extrapolates to
    shot = ShotSpec(ctx.photo, "push_in", seconds, 300)
    result = timed_run(engine, ctx, [shot], size)
    sound = engine.sound(shot, *size)
    clip, native = engine.native_clip(shot, *size)
    clip_s = native.num_frames / native.fps
    yield {**_sound_figures(timed, full, result, sound, clip_s), "task": "i2v", **result}
    remixed = timed_remix(engine, ctx, clip, shot, size)
    remix_sound = remixed.pop("sound")
    yield {
        **_sound_figures(timed, full, remixed, remix_sound, clip_s),
        "task": "remix",
        "pipeline": type(engine._remix_pipe).__name__,
        **remixed,
    }


def _sound_figures(
    timed: ModelPreset, preset: ModelPreset, result: Result, sound: Any, clip_s: float
) -> Result:
    sound_s = sound.samples.shape[1] / sound.rate if sound is not None else 0.0
    per_step = result["denoise_s"] / timed.steps
    return {
        "ok": sound is not None and abs(sound_s - clip_s) < 0.1,
        "preset": timed.name,
        "steps": timed.steps,
        "denoise_s_per_step": round(per_step, 3),
        "s_per_clip_at_preset_steps": round(
            result["wall_s"] + per_step * (preset.steps - timed.steps), 2
        ),
        "sound_s": round(sound_s, 3),
        "sound_rate": sound.rate if sound is not None else None,
    }


def timed_remix(
    engine: DiffusionEngine, ctx: Context, clip: Any, shot: ShotSpec, size: tuple[int, int]
) -> Result:
    """One remix of ``clip`` with its new sound: seconds per stage and peak memory."""
    from generation.engines.diffusion.engine import prompt_for
    from generation.engines.diffusion.inputs import StageTimes

    engine.times = StageTimes(applied=engine.times.applied)
    if ctx.cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    frames, sound = engine.remix_with_sound(
        clip,
        prompt_for(shot),
        strength=0.6,
        seed=shot.seed + 1,
        duration_s=shot.duration_s,
        width=size[0],
        height=size[1],
        fps=engine.preset.fps,
    )
    count = sum(1 for _ in frames)
    wall = time.perf_counter() - started
    t = engine.times
    return {
        "frames": count,
        "wall_s": round(wall, 3),
        "text_s": round(t.text_s, 3),
        "denoise_s": round(t.denoise_s, 3),
        "decode_s": round(t.decode_s, 3),
        "calls": t.batches,
        **peaks(ctx),
        "sound": sound,
    }
