"""Generated clip sound under the voiceover and music: level, ducking, timing, loudness."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from generation.audio import SAMPLE_RATE, duck, loudness_normalise, music_bed
from generation.quality.rules import check_loudness
from generation.scene_sound import (
    SCENE_DUCK_DB,
    SCENE_LEVEL_LU,
    ClipSound,
    mix_scene_sound,
    scene_layer,
    scene_sound_track,
)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _lufs(stereo: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(stereo.T.astype(float)))


def _ambience(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Stationary stereo noise at ``rate`` (what a generated room tone looks like)."""
    return np.random.default_rng(seed).normal(0, 0.2, (2, round(seconds * rate))).astype(np.float32)


def _bed_with_voice(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    music = music_bed(seconds, seed=7)
    voice = np.zeros(music.shape[1], dtype=np.float32)
    speech = slice(SAMPLE_RATE, 2 * SAMPLE_RATE)  # one second of "speech"
    voice[speech] = 0.3 * np.sin(np.arange(SAMPLE_RATE) / SAMPLE_RATE * 2 * np.pi * 180)
    return loudness_normalise(duck(music, voice) + 0.9 * voice[None, :]), voice


def test_clip_sound_lands_on_its_scene_sample_exact_at_any_rate() -> None:
    # LTX-2's vocoder speaks 24 kHz, its audio VAE 16 kHz: both resampled to 48 kHz.
    first = ClipSound(0.0, np.zeros((2, 24_000), np.float32), 24_000)
    click = np.zeros((1, 16_000), np.float32)
    click[0, 4_000] = 1.0  # 0.25 s into the second clip
    second = ClipSound(1.0, click, 16_000)
    track = scene_sound_track([second, first], 2.0)
    assert track.shape == (2, 2 * SAMPLE_RATE) and track.dtype == np.float32
    # Mono becomes both channels; the click is at 1.25 s (resampling keeps it in place).
    assert np.argmax(np.abs(track[0])) == np.argmax(np.abs(track[1])) == round(1.25 * SAMPLE_RATE)
    # A clip longer than its scene stops at the next scene, faded (no click at the cut).
    long = ClipSound(0.0, np.ones((2, 48_000 * 3), np.float32), SAMPLE_RATE)
    cut = scene_sound_track([long, ClipSound(1.0, np.zeros((2, 10)), SAMPLE_RATE)], 2.0)
    assert cut[0, SAMPLE_RATE // 2] == 1.0 and cut[0, SAMPLE_RATE - 1] < 0.01
    assert not cut[:, SAMPLE_RATE:].any()


def test_scene_sound_sits_under_the_bed_and_ducks_under_speech() -> None:
    bed, voice = _bed_with_voice(3.0)
    scene = scene_sound_track([ClipSound(0.0, _ambience(3.0, 16_000, 1), 16_000)], 3.0)
    quiet = scene_layer(bed, scene, None)
    assert _lufs(quiet) == pytest.approx(_lufs(bed) + SCENE_LEVEL_LU, abs=0.2)
    layer = scene_layer(bed, scene, voice)
    during = slice(int(1.3 * SAMPLE_RATE), int(1.9 * SAMPLE_RATE))
    drop = 20 * np.log10(_rms(layer[:, during]) / _rms(quiet[:, during]))
    assert drop == pytest.approx(-SCENE_DUCK_DB, abs=0.5)
    before = slice(0, int(0.8 * SAMPLE_RATE))
    np.testing.assert_array_equal(layer[:, before], quiet[:, before])


def test_the_mix_passes_the_quality_gate_loudness_rule() -> None:
    bed, voice = _bed_with_voice(4.0)
    clips = [
        ClipSound(0.0, _ambience(2.0, 24_000, 2), 24_000),
        ClipSound(2.0, 3 * _ambience(2.0, 24_000, 3), 24_000),  # a loud clip
    ]
    mixed = mix_scene_sound(bed, clips, voice)
    assert mixed.shape == bed.shape and mixed.dtype == np.float32
    check = check_loudness(mixed.T.astype(np.float64), SAMPLE_RATE)
    assert check.passed, check.detail
    assert 20 * np.log10(np.abs(mixed).max()) < -1.0
    # The scene sound is really there: the mix is not the bed alone.
    assert _rms(mixed - bed) > 0.01
    assert mix_scene_sound(bed, [], voice) is bed
