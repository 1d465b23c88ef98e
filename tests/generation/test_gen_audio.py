"""Soundtracks: the generated music bed, ducking under speech, espeak-ng voiceover."""

from __future__ import annotations

import shutil

import numpy as np
import pyloudnorm
import pytest

from generation.audio import (
    SAMPLE_RATE,
    TARGET_LUFS,
    EspeakTTS,
    duck,
    loudness_normalise,
    music_bed,
    soundtrack,
)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def test_music_bed_is_exact_seeded_and_not_silent() -> None:
    bed = music_bed(2.5, seed=4)
    assert bed.shape == (2, round(2.5 * SAMPLE_RATE)) and bed.dtype == np.float32
    assert np.array_equal(bed, music_bed(2.5, seed=4))
    assert not np.array_equal(bed, music_bed(2.5, seed=5))
    assert _rms(bed) > 0.02 and np.abs(bed).max() <= 0.35 + 1e-6


def test_music_ducks_under_speech_and_recovers() -> None:
    music = music_bed(3.0, seed=1)
    voice = np.zeros(music.shape[1], dtype=np.float32)
    speech = slice(SAMPLE_RATE, 2 * SAMPLE_RATE)  # one second of "speech" in the middle
    voice[speech] = 0.3 * np.sin(np.arange(SAMPLE_RATE) / SAMPLE_RATE * 2 * np.pi * 180)
    ducked = duck(music, voice)
    during = slice(int(1.3 * SAMPLE_RATE), int(1.9 * SAMPLE_RATE))
    drop_db = 20 * np.log10(_rms(ducked[:, during]) / _rms(music[:, during]))
    assert drop_db == pytest.approx(-12, abs=0.5)
    before = slice(0, int(0.8 * SAMPLE_RATE))
    assert np.array_equal(ducked[:, before], music[:, before])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")
def test_espeak_voiceover_fits_its_scenes() -> None:
    tts = EspeakTTS()
    said = tts.synthesize("Aloe face wash")
    assert said is not None and 0.3 * SAMPLE_RATE < len(said) < 3 * SAMPLE_RATE
    long_sentence = "A very long line that cannot possibly be said in one second " * 3
    track = soundtrack(
        6.0,
        seed=2,
        lines=[long_sentence.strip() + ".", "Aloe face wash. " + long_sentence, "Shop now"],
        scene_starts_s=[0.0, 1.0, 3.0],
        tts=tts,
    )
    assert track.samples.shape == (2, 6 * SAMPLE_RATE)
    # A sentence too long for its scene is not said at all (never cut mid-word); a line
    # of several sentences loses its trailing ones.
    assert track.lines_spoken == 2 and track.lines_shortened == 1
    assert track.voiceover == "espeak-ng"
    loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(track.samples.T.astype(float))
    assert abs(loudness - TARGET_LUFS) < 0.5 and np.abs(track.samples).max() < 0.9


def test_no_lines_or_no_tts_gives_music_only() -> None:
    track = soundtrack(1.0, seed=3, lines=["hello"], scene_starts_s=[0.0], tts=None)
    assert track.voiceover is None and track.describe()["ducking_db"] == 0.0
    assert np.allclose(track.samples, loudness_normalise(music_bed(1.0, seed=3)))
