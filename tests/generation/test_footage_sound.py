"""Footage generated with its sound (tiny LTX-2, saved and loaded through ``from_pretrained``)
keeps that sound in its disk cache: a later render, with a fresh engine and a fresh cache
on the same folder, calls no pipeline and still lays the very same sound under its mix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from generation.audio import SAMPLE_RATE, soundtrack
from generation.engines.diffusion.engine import DiffusionEngine
from generation.footage import FootageCache
from generation.footage_sound import add_sound, read_sound
from generation.render import render_creative
from generation.scene_sound import ClipSound, mix_scene_sound
from generation.spec import CreativeSpec, ShotSpec
from tests.generation.tiny_pipelines import saved_tiny_pipeline

W, H, FPS = 144, 256, 12


def counted_calls(monkeypatch: pytest.MonkeyPatch, cls_name: str) -> list[dict[str, Any]]:
    """Every call of the diffusers pipeline class ``cls_name`` from now on, its arguments."""
    import diffusers

    cls = getattr(diffusers, cls_name)
    calls: list[dict[str, Any]] = []
    real = cls.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", call)
    return calls


def two_shot_spec(photo: Path, **overrides: Any) -> CreativeSpec:
    fields: dict[str, Any] = {
        "title": "Hydrating Daily Face Wash",
        "price_text": "$24.00",
        "price_minor": 2400,
        "currency": "USD",
        "cta_text": "Shop now",
        "hook": "title",
        "shots": (ShotSpec(photo, "push_in", 0.5, 1), ShotSpec(photo, "pan_left", 0.5, 2)),
        "factors": (("cta", "shop_now"), ("hook", "title")),
        "brand_name": "Acme Skin",
        "width": W,
        "height": H,
        "fps": FPS,
        "end_card_s": 0.25,
    }
    return CreativeSpec(**{**fields, **overrides})


def decoded_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        pieces = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(pieces, axis=1).astype(np.float64)


def aligned(decoded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``decoded`` moved by the AAC decoder delay (up to 2048 samples) onto ``reference``."""
    n = reference.shape[1]
    padded = np.zeros((decoded.shape[0], n + 2048))
    padded[:, : min(decoded.shape[1], n + 2048)] = decoded[:, : n + 2048]
    best = max(range(2049), key=lambda lag: float(padded[0, lag : lag + n] @ reference[0]))
    return padded[:, best : best + n]


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_stored_sound_is_bit_exact_and_video_packets_are_kept(tmp_path: Path) -> None:
    from generation.encode import VideoWriter

    path = tmp_path / "shot.mp4"
    with VideoWriter(path, 32, 32, 12) as writer:
        for i in range(5):
            writer.write(np.full((32, 32, 3), 40 * i, np.uint8))
    with av.open(str(path)) as container:
        before = [bytes(p) for p in container.demux(video=0) if p.size]
    # Over full scale, denormal, odd length: float PCM keeps every bit.
    samples = np.random.default_rng(0).normal(0, 0.8, (2, 10_001)).astype(np.float32)
    samples[0, 3], samples[1, 4] = 3.5, np.float32(1e-40)
    add_sound(path, samples, 24_000)
    stored = read_sound(path)
    assert stored is not None and stored.rate == 24_000
    assert stored.samples.dtype == np.float32
    assert stored.samples.tobytes() == samples.tobytes()
    with av.open(str(path)) as container:
        assert [bytes(p) for p in container.demux(video=0) if p.size] == before
    assert not list(tmp_path.glob("*.part"))
    mono = tmp_path / "mono.mp4"
    mono.write_bytes(path.read_bytes())
    add_sound(mono, samples[:1], 16_000)  # replaces the stream the file had
    again = read_sound(mono)
    assert again is not None and again.samples.tobytes() == samples[:1].tobytes()


def test_a_second_render_reads_the_sound_from_disk_and_calls_no_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.generation.conftest import draw_product_photo

    photo = draw_product_photo(tmp_path / "bottle.png")
    spec = two_shot_spec(photo)
    model, root = saved_tiny_pipeline("ltx2"), tmp_path / "footage"
    calls = counted_calls(monkeypatch, "LTX2ImageToVideoPipeline")

    first_engine = DiffusionEngine("tiny-ltx2", model_dir=model)
    first = render_creative(spec, tmp_path / "one", FootageCache(first_engine, root, (W, H)), "a")
    generated = [first_engine.sound(shot, W, H) for shot in spec.shots]
    assert len(calls) == 2 and first_engine.times.batches == 2  # one per shot

    engine = DiffusionEngine("tiny-ltx2", model_dir=model)
    cache = FootageCache(engine, root, (W, H))
    second = render_creative(spec, tmp_path / "two", cache, "b")
    assert len(calls) == 2 and engine.times.loads == 0 and cache.engine_calls == 0
    # Sample for sample what the pipeline produced, at its rate.
    for shot, made in zip(spec.shots, generated, strict=True):
        stored = cache.sound(shot, W, H, FPS)
        assert made is not None and stored is not None and stored.rate == made.rate
        assert stored.samples.tobytes() == made.samples.tobytes()
    assert len(calls) == 2 and engine.times.loads == 0

    # The second video's audio is the first's, and it carries the scene sound: the mix
    # less the music bed follows the generated sound laid on the scenes.
    starts = [start / spec.fps for start, _ in spec.scene_frames]
    bed = soundtrack(spec.frame_count / spec.fps, spec.shots[0].seed, spec.lines, starts, None)
    assert generated[0] is not None and generated[1] is not None
    pairs = zip(starts, generated, strict=False)  # the end card has no footage
    clips = [ClipSound(s, g.samples, g.rate) for s, g in pairs]
    expected = mix_scene_sound(bed.samples, clips, bed.voice).astype(np.float64)
    one = aligned(decoded_audio(first.video_path), expected)
    two = aligned(decoded_audio(second.video_path), expected)
    np.testing.assert_allclose(two, one, atol=1e-6)
    scene = expected - bed.samples
    assert np.sqrt(np.mean(scene**2)) > 0.01
    assert corr(two - bed.samples, scene) > 0.8
    assert two.shape[1] == round(spec.frame_count / spec.fps * SAMPLE_RATE)
