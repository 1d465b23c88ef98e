"""The diffusion engine on the CPU, with tiny LTX and Wan pipelines loaded from disk.

The pipelines are real diffusers classes at toy size (tests/generation/tiny_pipelines.py),
saved once per session and loaded through ``from_pretrained`` exactly as a downloaded
checkpoint would be. Nothing of the engine is mocked: loads are counted by wrapping the
engine's own loader, text-encoder runs by a forward hook on the loaded text encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generation.engines.base import FootageEngine
from generation.engines.diffusion.engine import DiffusionEngine, load_pipeline, prompt_for
from generation.spec import ShotSpec, frames_for
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import Family, Task, save_tiny_pipeline, saved_tiny_pipeline

FAMILIES: tuple[Family, ...] = ("ltx", "wan")
W, H = 72, 128  # a small 9:16 frame


@pytest.fixture(scope="session")
def tiny_dirs() -> dict[str, Path]:
    """Tiny image-to-video pipelines, built and saved once per test process."""
    return {family: saved_tiny_pipeline(family) for family in FAMILIES}


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("photos")
    first = draw_product_photo(root / "bottle.png")
    second = draw_product_photo(root / "wide.png", size=(320, 200))
    return first, second


class CountingLoader:
    """Wraps the engine's real loader and counts ``from_pretrained`` calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return load_pipeline(*args, **kwargs)


def make_engine(
    tiny_dirs: dict[str, Path], family: Family, loader: Callable[..., Any] = load_pipeline
) -> DiffusionEngine:
    return DiffusionEngine(f"tiny-{family}", model_dir=tiny_dirs[family], loader=loader)


def clip(engine: DiffusionEngine, shot: ShotSpec, fps: int = 10) -> np.ndarray:
    return np.stack(list(engine.frames(shot, W, H, fps)))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("duration", "fps"), [(0.5, 10), (0.75, 24)])
def test_frames_match_the_engine_contract(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path], family: Family, duration: float, fps: int
) -> None:
    engine = make_engine(tiny_dirs, family)
    assert isinstance(engine, FootageEngine)
    shot = ShotSpec(photos[0], "push_in", duration, 3)
    frames = list(engine.frames(shot, W, H, fps))
    assert len(frames) == frames_for(duration, fps)
    for frame in frames:
        assert frame.shape == (H, W, 3)
        assert frame.dtype == np.uint8
    assert np.ptp(np.stack(frames)) > 0  # not a blank clip


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_frames_other_seed_other_frames(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path], family: Family
) -> None:
    shot = ShotSpec(photos[0], "pan_left", 0.5, 7)
    first = clip(make_engine(tiny_dirs, family), shot)
    again = clip(make_engine(tiny_dirs, family), shot)  # a fresh engine, a fresh load
    other = clip(make_engine(tiny_dirs, family), ShotSpec(photos[0], "pan_left", 0.5, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_batch_of_k_shots_gives_k_distinct_videos(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path], family: Family
) -> None:
    engine = make_engine(tiny_dirs, family)
    shots = [ShotSpec(photos[0], "push_in", 0.5, seed) for seed in (1, 2, 3)]
    assert engine.prepare(shots, W, H, 10) == 3
    assert engine.times.batches == 1  # one pipeline call for the three
    clips = [clip(engine, s) for s in shots]
    assert engine.times.batches == 1  # frames() were cache hits
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.array_equal(clips[i], clips[j])
    # A shot generated inside a batch equals the same shot generated alone.
    alone = clip(make_engine(tiny_dirs, family), shots[1])
    np.testing.assert_allclose(clips[1].astype(int), alone.astype(int), atol=1)


def test_distinct_photos_batch_only_where_the_pipeline_can(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path]
) -> None:
    shots = [ShotSpec(photos[0], "push_in", 0.5, 1), ShotSpec(photos[1], "push_in", 0.5, 2)]
    ltx, wan = make_engine(tiny_dirs, "ltx"), make_engine(tiny_dirs, "wan")
    ltx.prepare(shots, W, H, 10)
    wan.prepare(shots, W, H, 10)
    # Both pipelines share one condition per call (LTXConditionPipeline reads a list of
    # images as keyframes), so two photos take two calls.
    assert ltx.times.batches == 2
    assert wan.times.batches == 2


def test_pipeline_is_loaded_once_for_a_whole_campaign(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path]
) -> None:
    loader = CountingLoader()
    engine = make_engine(tiny_dirs, "ltx", loader)
    products = [
        ShotSpec(p, m, 0.5, s) for p in photos for m, s in (("push_in", 1), ("pan_right", 2))
    ]
    engine.prepare(products, W, H, 10)
    for shot in products:  # every variant renders every shot
        list(engine.frames(shot, W, H, 10))
        list(engine.frames(shot, W * 2, H * 2, 10))  # another size: regenerated, not reloaded
    list(engine.remix(clip(engine, products[0]), "remix new style", strength=0.5))
    assert loader.calls == 1
    assert engine.times.loads == 1


def test_prompt_embeddings_are_computed_once_per_distinct_prompt(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path]
) -> None:
    engine = make_engine(tiny_dirs, "ltx")
    runs: list[int] = []
    engine.pipeline().text_encoder.register_forward_hook(lambda *_: runs.append(1))
    shots = [ShotSpec(p, m, 0.5, s) for s, p in enumerate(photos) for m in ("push_in", "pull_out")]
    shots += [ShotSpec(photos[0], "push_in", 0.5, 9)]  # same prompt, new seed
    engine.prepare(shots, W, H, 10)
    distinct = {prompt_for(s) for s in shots}
    assert len(distinct) == 2
    # Each distinct prompt once, plus the negative prompt once (guidance is on).
    assert len(runs) == len(distinct) + 1
    engine.prepare([ShotSpec(photos[1], "pull_out", 0.5, 42)], W, H, 10)
    assert len(runs) == len(distinct) + 1


@pytest.mark.parametrize("family", FAMILIES)
def test_remix_starts_from_the_source_footage(
    tiny_dirs: dict[str, Path], photos: tuple[Path, Path], family: Family
) -> None:
    engine = make_engine(tiny_dirs, family)
    source_a = clip(engine, ShotSpec(photos[0], "push_in", 0.5, 1))
    source_b = 255 - source_a  # a clearly different clip: the negative
    steps: list[int] = []
    engine.pipeline().transformer.register_forward_hook(lambda *_: steps.append(1))

    def remix(source: np.ndarray, strength: float) -> np.ndarray:
        return np.stack(
            list(engine.remix(source, "remix new style", strength=strength, seed=5, fps=10))
        )

    half = remix(source_a, 0.5)
    assert half.shape == source_a.shape
    # Strength 0.5 of 2 steps: denoising starts half-way from the noised source, so one
    # step runs (Wan calls its transformer twice a step under guidance, LTX once).
    assert len(steps) == (2 if family == "wan" else 1)
    np.testing.assert_array_equal(half, remix(source_a, 0.5))
    assert not np.array_equal(half, remix(source_b, 0.5))  # the output depends on the source
    with pytest.raises(ValueError, match="strength"):
        remix(source_a, 0.0)


def test_missing_local_weights_say_how_to_get_them(
    tmp_path: Path, photos: tuple[Path, Path]
) -> None:
    from generation.engines.diffusion.presets import ModelWeightsMissing

    engine = DiffusionEngine("tiny-ltx", model_dir=tmp_path / "nowhere")
    with pytest.raises(ModelWeightsMissing, match="REELCART_MODEL_DIR"):
        list(engine.frames(ShotSpec(photos[0], "push_in", 0.5, 1), W, H, 10))


def test_missing_hub_weights_offline_say_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generation.engines.diffusion.presets import ModelWeightsMissing

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    engine = DiffusionEngine("ltx-video-2b")
    with pytest.raises(ModelWeightsMissing) as err:
        engine.pipeline()
    message = str(err.value)
    assert "huggingface-cli download Lightricks/LTX-Video" in message
    assert "HF_HUB_OFFLINE" in message


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_text_and_video_pipelines_load_back(tmp_path: Path, family: Family) -> None:
    import diffusers

    expected = {
        "ltx": ("LTXPipeline", "LTXConditionPipeline"),
        "wan": ("WanPipeline", "WanVideoToVideoPipeline"),
    }[family]
    tasks: tuple[Task, ...] = ("t2v", "v2v")
    for task, name in zip(tasks, expected, strict=True):
        folder = save_tiny_pipeline(tmp_path / task, family, task)
        pipe = diffusers.DiffusionPipeline.from_pretrained(str(folder))
        assert type(pipe).__name__ == name


def test_placement_follows_free_vram() -> None:
    from generation.engines.diffusion.devices import choose_placement, plan_device
    from generation.engines.diffusion.presets import get_preset

    ltx = get_preset("ltx-video-i2v")  # ~40 GiB resident, ~30 GiB with model offload
    assert choose_placement(ltx, free_gib=80.0) == ("resident", False)  # an idle H100
    assert choose_placement(ltx, free_gib=44.0) == ("resident", True)  # fits, tiled VAE
    assert choose_placement(ltx, free_gib=36.0) == ("model_offload", True)
    assert choose_placement(ltx, free_gib=16.0) == ("group_offload", True)
    # A batch needs room for its activations too.
    assert choose_placement(ltx, free_gib=50.0, batch=8)[0] == "model_offload"
    plan = plan_device(ltx, "cpu")  # the CPU path: fp32, no placement decisions
    assert (str(plan.device), plan.dtype, plan.placement) == (
        "cpu",
        __import__("torch").float32,
        "resident",
    )
