"""The text encoder runs once per distinct prompt and leaves the GPU before denoising.

A tiny LTX condition pipeline loaded through ``from_pretrained``; what is counted is what
the real modules see (forward hooks), not what the engine reports.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from generation.engines.diffusion.devices import DevicePlan, with_parked_text_encoder
from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.inputs import prompt_for
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import saved_tiny_pipeline

W, H = 32, 32


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("text")
    return draw_product_photo(root / "a.png"), draw_product_photo(root / "b.png", size=(300, 200))


class Events:
    """The order in which the text encoder moves and runs and the transformer runs."""

    def __init__(self, pipe: Any) -> None:
        self.log: list[str] = []
        encoder = pipe.text_encoder
        move = encoder.to

        def to(*args: Any, **kwargs: Any) -> Any:
            self.log.append(f"to:{torch.device(args[0]).type}")
            return move(*args, **kwargs)

        encoder.to = to
        encoder.register_forward_hook(lambda *_: self.log.append("encode"))
        pipe.transformer.register_forward_hook(lambda *_: self.log.append("denoise"))

    def count(self, name: str) -> int:
        return self.log.count(name)


def test_a_campaign_encodes_each_prompt_once_before_denoising(
    photos: tuple[Path, Path],
) -> None:
    engine = DiffusionEngine("tiny-ltx", model_dir=saved_tiny_pipeline("ltx"))
    pipe = engine.pipeline()
    loaded = engine._loaded
    assert loaded is not None and loaded.plan.text_encoder_home is None  # CPU: nowhere to park
    # Park on "the host" as a resident GPU plan would (here host and device are the CPU).
    loaded.plan = dataclasses.replace(loaded.plan, text_encoder_home=torch.device("cpu"))
    seen = Events(pipe)
    a, b = photos
    shots = [ShotSpec(a, "push_in", 0.25, seed) for seed in (1, 2, 3)]
    shots += [ShotSpec(b, "pan_left", 0.25, 4), ShotSpec(b, "push_in", 0.25, 5)]
    assert engine.prepare(shots, W, H, 8) == 5
    assert engine.times.batches == 2  # one per photo (the condition is shared)
    # Two distinct prompts and the negative (guidance 3), encoded once each, all before
    # the first transformer pass, in one visit of the encoder; then it is parked.
    first_denoise = seen.log.index("denoise")
    assert seen.log[:first_denoise] == ["to:cpu", "encode", "encode", "encode", "to:cpu"]
    assert seen.count("encode") == 3 == engine.times.prompts_encoded
    # More clips of the same prompts, cached frames and a remix with a known prompt:
    # nothing is encoded again and the encoder is not moved.
    before = len(seen.log)
    engine.prepare([ShotSpec(a, "push_in", 0.25, seed) for seed in (6, 7)], W, H, 8)
    list(engine.frames(shots[0], W, H, 8))
    source = np.full((9, H, W, 3), 128, np.uint8)
    list(engine.remix(source, prompt_for(shots[0]), strength=0.5))
    new = seen.log[before:]
    assert new.count("denoise") > 0 and "encode" not in new and "to:cpu" not in new
    assert engine.times.prompts_encoded == 3


def test_a_resident_gpu_plan_parks_the_text_encoder_on_the_host() -> None:
    cuda = torch.device("cuda")  # a device object only: nothing runs on it here
    resident = DevicePlan(cuda, torch.bfloat16, "resident")
    assert with_parked_text_encoder(resident).text_encoder_home == torch.device("cpu")
    for placement in ("model_offload", "group_offload"):  # their hooks move it already
        offloaded = DevicePlan(cuda, torch.bfloat16, placement)  # type: ignore[arg-type]
        assert with_parked_text_encoder(offloaded).text_encoder_home is None
    cpu = DevicePlan(torch.device("cpu"), torch.float32, "resident")
    assert with_parked_text_encoder(cpu).text_encoder_home is None
