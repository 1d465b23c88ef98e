"""LTX-2 remixes picture and sound in one call: a winner's footage, published to the media
store with its sound inside, is the condition of ``LTX2ConditionPipeline``; the challenger's
new sound lands on each of its scenes from the first sample, and its mix passes the gate.

Tiny LTX-2 saved and loaded through ``from_pretrained``; the full-size condition pipeline
is built on ``meta`` from the same modules as the published image-to-video one.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyloudnorm
import pytest
import torch
from scipy.signal import resample_poly

from connectors.storage import MediaStore
from flows.remix import RemixSource, publish_footage, remix_engine
from generation.audio import SAMPLE_RATE
from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.sound import condition_strength
from generation.footage import FootageCache
from generation.footage_sound import read_sound
from generation.render import render_creative
from generation.scene_sound import engine_sounds, scene_sound_track
from generation.storyboard import RenderConfig
from tests.generation.conftest import draw_product_photo
from tests.generation.test_footage_sound import FPS, H, W, decoded_audio, two_shot_spec
from tests.generation.tiny_pipelines import saved_tiny_pipeline

STRENGTH = 0.35


def spied(monkeypatch: pytest.MonkeyPatch, cls_name: str) -> list[tuple[dict[str, Any], Any]]:
    """Every call of the diffusers pipeline class ``cls_name``: its arguments and output."""
    import diffusers

    cls = getattr(diffusers, cls_name)
    calls: list[tuple[dict[str, Any], Any]] = []
    real = cls.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = real(self, *args, **kwargs)
        calls.append((kwargs, out))
        return out

    monkeypatch.setattr(cls, "__call__", call)
    return calls


def all_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def fetch_path(store: MediaStore, key: str) -> Path:
    local = store.local_path(key)
    assert local is not None
    return local


def cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` centre-cropped to the aspect of ``width x height`` and area-averaged to it."""
    src_h, src_w = frame.shape[:2]
    scale = min(src_w / width, src_h / height)
    crop_w, crop_h = round(width * scale), round(height * scale)
    x0, y0 = (src_w - crop_w) // 2, (src_h - crop_h) // 2
    crop = torch.from_numpy(frame[y0 : y0 + crop_h, x0 : x0 + crop_w]).permute(2, 0, 1).float()
    small = torch.nn.functional.interpolate(crop[None], size=(height, width), mode="area")
    return small[0].permute(1, 2, 0).numpy().astype(np.float64)


def test_an_ltx2_challenger_is_remixed_with_its_own_sound_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = draw_product_photo(tmp_path / "bottle.png")
    spec = two_shot_spec(photo)
    root = tmp_path / "footage"
    config = RenderConfig(width=W, height=H, fps=FPS, engine="diffusion", footage_dir=root)
    engine = DiffusionEngine("tiny-ltx2", model_dir=saved_tiny_pipeline("ltx2"))
    winner_cache = FootageCache(engine, root, (W, H))
    winner = render_creative(spec, tmp_path / "renders", winner_cache, "winner")

    # The winner's footage goes to the media store with its sound inside; its machine's
    # files are then gone.
    store = MediaStore(str(tmp_path / "store"), "http://media.test")
    keys = publish_footage(store, winner_cache, spec, config, root)
    for shot in spec.shots:
        stored = store.local_path(keys[shot.key()])
        made = engine.sound(shot, W, H)
        assert stored is not None and made is not None
        travelled = read_sound(stored)
        assert travelled is not None and travelled.samples.tobytes() == made.samples.tobytes()
    video_key = store.put_file(winner.video_path, "videos/winner.mp4")
    segments, first = [], 0
    for shot, count in zip(spec.shots, spec.shot_frames, strict=True):
        segments.append((shot.key(), first, count, keys[shot.key()]))
        first += count
    source = RemixSource("winner-id", video_key, STRENGTH, FPS, tuple(segments))
    sources = {shot.key(): all_frames(fetch_path(store, keys[shot.key()])) for shot in spec.shots}
    shutil.rmtree(root)

    conditioned = spied(monkeypatch, "LTX2ConditionPipeline")
    fresh = spied(monkeypatch, "LTX2ImageToVideoPipeline")

    cache = remix_engine(engine, source, lambda key: fetch_path(store, key), config)
    challenger_spec = dataclasses.replace(
        spec, cta_text="Buy in chat", factors=(("cta", "buy_in_chat"), ("hook", "title"))
    )
    challenger = render_creative(challenger_spec, tmp_path / "renders", cache, "challenger")

    # One condition-pipeline call per shot, none image-to-video: the whole winner's shot
    # is the condition at latent index 0, at the mapped strength.
    assert len(conditioned) == len(spec.shots) and not fresh
    for shot, (kwargs, _) in zip(spec.shots, conditioned, strict=True):
        (condition,) = kwargs["conditions"]
        assert condition.index == 0
        assert condition.strength == pytest.approx(1 - STRENGTH)
        assert len(condition.frames) == kwargs["num_frames"]
        # Its middle frame is the stored one there, cropped to the native shape (the first
        # is the photo in every shot); not the other shot's.
        mid = len(condition.frames) // 2
        got = np.asarray(condition.frames[mid], dtype=np.float64)
        ours = sources[shot.key()]
        (other,) = (v for k, v in sources.items() if k != shot.key())
        pick = round(mid * (len(ours) - 1) / (len(condition.frames) - 1))
        near, far = (
            np.abs(got - cover(clip[pick], got.shape[1], got.shape[0])).mean()
            for clip in (ours, other)
        )
        assert near < 6 and far > 3 * near, (near, far)

    # Each shot's sound is the one its condition call generated, bit for bit, read back
    # from the remix's own footage on disk, placed at its scene's start.
    starts = [start / challenger_spec.fps for start, _ in challenger_spec.scene_frames]
    placed = engine_sounds(cache, challenger_spec.shots, starts, W, H, FPS)
    assert [c.start_s for c in placed] == starts[: len(spec.shots)]
    for clip, (_, out) in zip(placed, conditioned, strict=True):
        generated = out.audio[0].float().numpy()
        assert clip.samples.tobytes() == np.ascontiguousarray(generated).tobytes()
    # In step: from each scene's first sample at the mix rate, the track is that clip's
    # sound (past the 10 ms fade in); one sample off it is not.
    duration = challenger_spec.frame_count / challenger_spec.fps
    track = scene_sound_track(placed, duration)
    fade = round(0.01 * SAMPLE_RATE)
    for k, clip in enumerate(placed):
        common = math.gcd(SAMPLE_RATE, clip.rate)
        up = resample_poly(clip.samples, SAMPLE_RATE // common, clip.rate // common, axis=1)
        begin = round(clip.start_s * SAMPLE_RATE)
        span = slice(begin + fade, begin + 2000)
        np.testing.assert_allclose(track[:, span], up[:, fade:2000], atol=1e-6)
        shifted = up[:, fade - 1 : 1999]
        assert np.abs(track[:, span] - shifted).max() > 1e-4, k

    # The mix: -14 LUFS, peaks under -1 dBFS, and the quality gate passes.
    audio = decoded_audio(challenger.video_path)
    lufs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(audio.T)
    assert lufs == pytest.approx(-14.0, abs=0.5)
    assert 20 * np.log10(np.abs(audio).max()) < -1.0
    assert challenger.quality is not None and challenger.quality.passed, (
        challenger.quality.failures if challenger.quality else None
    )


def test_the_full_size_condition_pipeline_shares_the_published_modules() -> None:
    """``LTX2ConditionPipeline`` on the LTX-2 preset's own modules (built from the published
    configs on ``meta``): the very same objects, so the same shapes, rates and scales."""
    from generation.engines.diffusion.pipes import remix_pipeline
    from generation.engines.diffusion.presets import get_preset
    from generation.engines.diffusion.random_weights import build_ltx2_pipeline

    preset = get_preset("ltx2-i2v-audio")
    pipe = build_ltx2_pipeline(preset, "meta", torch.bfloat16)
    remix = remix_pipeline(pipe, preset)
    assert type(remix).__name__ == preset.remix_pipeline == "LTX2ConditionPipeline"
    for name, module in pipe.components.items():
        assert remix.components[name] is module, name
    assert remix.components["audio_scheduler"] is None  # the video scheduler's copy is used
    for attr in (
        "vae_spatial_compression_ratio",
        "vae_temporal_compression_ratio",
        "audio_sampling_rate",
        "audio_hop_length",
        "transformer_spatial_patch_size",
    ):
        assert getattr(remix, attr) == getattr(pipe, attr), attr
    assert remix.audio_mel_bins == pipe.audio_vae.config.mel_bins
    assert remix.vocoder.config.output_sampling_rate == 24_000


def test_strength_maps_to_the_condition_strength() -> None:
    assert condition_strength(1.0) == 0.0  # ignores the source
    assert condition_strength(0.25) == 0.75
    with pytest.raises(ValueError, match="strength"):
        condition_strength(0.0)
