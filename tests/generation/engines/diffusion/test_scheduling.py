"""When and where the engine generates: plan before load, GPU slot, locks, render size.

Tiny pipelines loaded from disk; the GPU slot is a plain context manager that records
what happens inside it (in production it is a Prefect global concurrency limit).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import get_preset
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import saved_tiny_pipeline

W, H = 72, 128


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("scheduling")
    return [draw_product_photo(root / f"p{i}.png", size=(240 + 40 * i, 240)) for i in range(3)]


def test_plan_takes_the_largest_batch_that_fits_resident() -> None:
    from generation.engines.diffusion.activations import per_clip_gib
    from generation.engines.diffusion.devices import plan_for_memory

    ltx = get_preset("ltx-video-i2v")  # 40 GiB resident, + its counted activations per clip
    clip = per_clip_gib(ltx)
    cuda, bf16 = torch.device("cuda"), torch.bfloat16
    idle_h100 = plan_for_memory(ltx, cuda, bf16, 80.0)
    assert (idle_h100.placement, idle_h100.batch) == ("resident", 4)
    # Batch 4 would not fit (1.5 GiB headroom + 40 + 3 clips), batch 3 does: resident
    # beats offloading a batch.
    between = 1.5 + 40.0 + 2.5 * clip
    assert (
        plan_for_memory(ltx, cuda, bf16, between).placement,
        plan_for_memory(ltx, cuda, bf16, between).batch,
    ) == ("resident", 3)
    tight = plan_for_memory(ltx, cuda, bf16, 1.5 + 40.0 + 0.5 * clip)  # not two clips
    assert (tight.placement, tight.batch, tight.vae_tiling) == ("resident", 1, True)
    assert (
        plan_for_memory(ltx, cuda, bf16, 36.0).placement,
        plan_for_memory(ltx, cuda, bf16, 36.0).batch,
    ) == ("model_offload", 1)
    assert plan_for_memory(ltx, cuda, bf16, 16.0).placement == "group_offload"


class RecordingSlot:
    """A GPU slot that records entries, and can be made to hold (a long generation)."""

    def __init__(self) -> None:
        self.inside = 0
        self.entries = 0
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.entries += 1
        self.inside += 1
        self.entered.set()
        try:
            self.hold.wait(timeout=60)
            yield
        finally:
            self.inside -= 1


def test_the_gpu_slot_covers_loading_and_text_encoding(photos: list[Path]) -> None:
    from generation.engines.diffusion.engine import load_pipeline

    slot = RecordingSlot()
    seen: dict[str, list[int]] = {"load": [], "text": []}

    def loader(*args: Any, **kwargs: Any) -> Any:
        seen["load"].append(slot.inside)
        pipe = load_pipeline(*args, **kwargs)
        pipe.text_encoder.register_forward_hook(lambda *_: seen["text"].append(slot.inside))
        return pipe

    engine = DiffusionEngine(
        "tiny-wan", model_dir=saved_tiny_pipeline("wan"), loader=loader, slot=slot
    )
    list(engine.frames(ShotSpec(photos[0], "push_in", 0.5, 1), W, H, 8))
    assert seen["load"] == [1]
    assert seen["text"] and all(inside == 1 for inside in seen["text"])


def test_a_cached_clip_is_served_while_a_batch_generates(photos: list[Path]) -> None:
    engine = DiffusionEngine("tiny-wan", model_dir=saved_tiny_pipeline("wan"))
    cached = ShotSpec(photos[0], "push_in", 0.5, 1)
    engine.prepare([cached], W, H, 8)
    slot = RecordingSlot()
    slot.hold.clear()  # the next generation holds the GPU until released
    engine.slot = slot
    busy = engine.prepare_async(
        [ShotSpec(photos[1], "pan_left", 0.5, 2), ShotSpec(photos[2], "pan_left", 0.5, 3)],
        W,
        H,
        8,
    )
    assert slot.entered.wait(timeout=30)
    served: list[np.ndarray] = []
    reader = threading.Thread(target=lambda: served.extend(engine.frames(cached, W, H, 8)))
    reader.start()
    reader.join(timeout=10)
    waited = reader.is_alive()
    slot.hold.set()
    reader.join()
    assert not waited, "a cache read waited for a generation"
    assert len(served) == 4
    assert busy.result(timeout=60) == 2
    # One slot for the new prompts, then one (and one lock) per batch, not per window.
    assert slot.entries == 3


def test_footage_is_resized_to_the_render_size_on_the_device(photos: list[Path]) -> None:
    engine = DiffusionEngine("tiny-wan", model_dir=saved_tiny_pipeline("wan"))
    shot = ShotSpec(photos[0], "push_in", 0.5, 1)
    clip, native = engine.native_clip(shot, W, H)
    assert (native.width, native.height) != (W, H)  # generated smaller than the render
    assert clip.shape == (native.num_frames, H, W, 3) and clip.flags.c_contiguous
    # The frames handed to the renderer are those rows, no second resize on the host.
    frames = list(engine.frames(shot, W, H, 8))
    np.testing.assert_array_equal(frames[0], clip[0])


def test_a_campaign_with_aspects_generates_each_shot_once(
    tmp_path: Path, photos: list[Path]
) -> None:
    from flows.gpu import prepare_storyboards
    from generation.footage import FootageCache
    from generation.storyboard import RenderConfig, master_size, size_for, storyboard
    from reelcart.domain import CreativeJob

    config = RenderConfig(
        width=72,
        height=128,
        fps=8,
        shot_seconds=0.5,
        end_card_seconds=0.25,
        engine="diffusion",
        aspects=("9:16", "16:9"),
    )
    jobs = [
        CreativeJob(
            creative_id=f"crv_{aspect}",
            name="p1",
            product_id="p1",
            product_title="Aloe Face Wash",
            description="A gentle cleanser.",
            price_minor=2400,
            currency="USD",
            brand_name="Acme",
            image_paths=(str(photos[0]),),
            factors={"aspect": aspect},
            seed=7,
        )
        for aspect in config.aspects
    ]
    engine = DiffusionEngine("tiny-wan", model_dir=saved_tiny_pipeline("wan"))
    distinct = {shot.key() for job in jobs for shot in storyboard(job, config).shots}
    assert prepare_storyboards(engine, [storyboard(j, config) for j in jobs], config) == len(
        distinct
    )
    # Every render of every aspect reads through the footage cache at the master size.
    cache = FootageCache(engine, tmp_path / "footage", master_size(config))
    for job in jobs:
        width, height = size_for(job.factors["aspect"], config.long_edge)
        for shot in storyboard(job, config).shots:
            assert len(list(cache.frames(shot, width, height, config.fps))) > 0
    assert engine.times.clips == len(distinct)
