"""GPU side of the generation flow: batched footage generation under a per-GPU slot.

A worker never runs two generations on one device: every GPU call of the diffusion
engine holds the Prefect global concurrency limit ``gpu-<index>`` (occupy 1). Create it
once per GPU with ``prefect gcl create gpu-0 --limit 1``. A missing limit is not an error
(Prefect's non-strict mode proceeds without limiting), so a single-GPU developer setup
and the tests work without any set-up; the CPU ``motion`` engine never takes a slot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency

from generation.engines.registry import get_engine
from generation.spec import CreativeSpec
from generation.storyboard import RenderConfig, master_size
from reelcart.domain import CreativeJob
from reelcart.settings import Settings

__all__ = [
    "gpu_index",
    "gpu_slot",
    "job_windows",
    "prepare_footage",
    "prepare_storyboards",
    "use_gpu_slot",
]

# Jobs whose footage is generated before their renders start; the renders (compose +
# encode on the CPU) of one window then overlap the generation of the next.
WINDOW = 4


def gpu_index(device: str | None) -> int:
    """The CUDA index in a device string (``"cuda:1"`` -> 1); the default device is 0."""
    if device and ":" in device:
        return int(device.rsplit(":", 1)[1])
    return 0


def gpu_slot(index: int) -> AbstractContextManager[Any]:
    """Hold one slot of the ``gpu-<index>`` global concurrency limit."""
    return concurrency(f"gpu-{index}", occupy=1)


def use_gpu_slot(engine: Any, settings: Settings) -> None:
    """Make ``engine`` hold its GPU's slot around each generation (when configured)."""
    if settings.gpu_concurrency and hasattr(engine, "slot"):
        engine.slot = partial(gpu_slot, gpu_index(settings.diffusion_device))


def job_windows(jobs: Sequence[CreativeJob], size: int = WINDOW) -> Iterator[list[CreativeJob]]:
    """``jobs`` in consecutive windows of ``size``."""
    for start in range(0, len(jobs), size):
        yield list(jobs[start : start + size])


def prepare_storyboards(engine: Any, specs: Sequence[CreativeSpec], config: RenderConfig) -> int:
    """Generate every shot of the storyboards ``specs`` in batches, at the size the renders
    will ask for.

    Renders read footage through the footage cache at the campaign's master size (one
    size covering every aspect), so that is the size generated here; any other size
    would be generated a second time in the render threads. Returns clips generated.
    """
    prepare = getattr(engine, "prepare", None)
    if prepare is None:
        return 0
    shots = [shot for spec in specs for shot in spec.shots]
    width, height = master_size(config)
    generated: int = prepare(shots, width, height, config.fps)
    return generated


@task(cache_policy=NO_CACHE, tags=["gpu"])
def prepare_footage(specs: list[CreativeSpec], config: RenderConfig) -> int:
    """Generate the footage of every shot of ``specs`` in batches; returns clips generated."""
    return prepare_storyboards(get_engine(config.engine), specs, config)
