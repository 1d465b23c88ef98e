"""Voices: Festival's HTS voice, a hosted speech API, espeak-ng behind both."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from generation.audio import SAMPLE_RATE, EspeakTTS
from generation.voices import FallbackTTS, FestivalTTS, choose_voice, decode_wav


def _wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def test_decode_wav_resamples_and_mixes_down() -> None:
    tone = np.sin(np.arange(24_000) / 24_000 * 2 * np.pi * 440).astype(np.float32) * 0.5
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    audio = decode_wav(_wav(stereo, 24_000, channels=2))
    assert audio is not None and audio.dtype == np.float32
    assert len(audio) == SAMPLE_RATE  # one second, now at 48 kHz
    # The tone survives: its strongest frequency is still 440 Hz.
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio) == pytest.approx(440, abs=2)
    assert decode_wav(b"not a wav") is None


def test_festival_speaks_at_the_asked_pace() -> None:
    voice = FestivalTTS()
    assert voice.available()  # the Makefile's SYSTEM_PACKAGES install it
    slow = voice.synthesize("Memory-foam ear cushions", words_per_minute=150)
    fast = voice.synthesize("Memory-foam ear cushions", words_per_minute=225)
    assert slow is not None and fast is not None
    assert 0.6 * SAMPLE_RATE < len(fast) < len(slow) < 3 * SAMPLE_RATE
    assert np.sqrt(np.mean(np.square(fast))) > 0.01  # speech, not silence


class _Mute:
    name = "mute"

    def synthesize(self, text: str, words_per_minute: int = 175) -> None:
        return None


def test_a_failing_voice_falls_back_to_espeak() -> None:
    chain = FallbackTTS([_Mute(), EspeakTTS()])
    speech = chain.synthesize("Shop now")
    assert speech is not None and len(speech) > 0.2 * SAMPLE_RATE
    assert chain.name == "espeak-ng"


def test_choose_voice() -> None:
    best = choose_voice("auto")
    assert isinstance(best, FallbackTTS) and best.name == "festival"
    assert choose_voice("none") is None
    assert isinstance(choose_voice("espeak"), EspeakTTS)
    with pytest.raises(ValueError, match="REELCART_SPEECH_API_URL"):
        choose_voice("api")
    with pytest.raises(ValueError, match="unknown voice"):
        choose_voice("robot")
