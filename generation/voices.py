"""Voices for the voiceover: Festival's HTS voice, a hosted speech API, espeak-ng last.

Each voice is a :class:`~generation.audio.TTSEngine`. :func:`choose_voice` picks one per
campaign: ``"auto"`` takes the best the machine has (the merchant's hosted speech API
when configured, else Festival with Debian's ``festvox-us-slt-hts`` voice, else
espeak-ng's formant voice); ``"api"``, ``"festival"`` and ``"espeak"`` ask for one;
``"none"`` renders without a voice. Every choice falls back to espeak-ng when its voice
fails on a line, so one bad request never silences an ad.

This package touches no network: a hosted API is reached through a :class:`SpeechClient`
the caller builds (``connectors.speech`` holds the HTTP one), returning WAV bytes.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.signal import resample_poly

from .audio import SAMPLE_RATE, Audio, EspeakTTS, TTSEngine

__all__ = [
    "VOICES",
    "FallbackTTS",
    "FestivalTTS",
    "HostedTTS",
    "SpeechClient",
    "choose_voice",
    "decode_wav",
]

_log = logging.getLogger(__name__)

VOICES = ("auto", "api", "festival", "espeak", "none")
# The pace the scripts are written for: words a minute at speed 1.0.
_BASE_WPM = 175
# Debian's festival looks for voices here (festvox-* packages install into it).
_FESTIVAL_VOICE_DIRS = (Path("/usr/share/festival/voices"), Path("/usr/lib/festival/voices"))


@runtime_checkable
class SpeechClient(Protocol):
    """A hosted text-to-speech service: ``text`` spoken at ``speed`` (1.0 normal) as WAV."""

    name: str

    def speak(self, text: str, speed: float) -> bytes: ...


def decode_wav(data: bytes) -> Audio | None:
    """16-bit PCM WAV (mono, or channels averaged) as mono float32 at :data:`SAMPLE_RATE`.

    ``None`` for anything else: a voice that returns what cannot be played says nothing.
    """
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return None
    if width != 2 or not raw:
        return None
    pcm = np.frombuffer(raw[: len(raw) // (2 * channels) * 2 * channels], dtype="<i2")
    mono = pcm.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
    if rate == SAMPLE_RATE:
        return mono
    g = math.gcd(SAMPLE_RATE, rate)
    return np.asarray(resample_poly(mono, SAMPLE_RATE // g, rate // g), dtype=np.float32)


class FestivalTTS:
    """Festival's ``text2wave`` with an HTS voice (Debian ``festival festvox-us-slt-hts``).

    A statistical parametric voice: far more natural than a formant synthesiser, and
    still offline and free. Pace is the HTS engine's speed factor (``-r``).
    """

    name = "festival"

    def __init__(
        self,
        voice: str = "cmu_us_slt_arctic_hts",
        binary: str = "text2wave",
        timeout_s: float = 30,
    ) -> None:
        self.voice, self.binary, self.timeout_s = voice, binary, timeout_s

    def available(self) -> bool:
        if shutil.which(self.binary) is None:
            return False
        return any(any(root.glob(f"*/{self.voice}")) for root in _FESTIVAL_VOICE_DIRS)

    def synthesize(self, text: str, words_per_minute: int = _BASE_WPM) -> Audio | None:
        if not text.strip() or not self.available():
            return None
        speed = words_per_minute / _BASE_WPM
        params = f'(list (list "-r" {speed:.3f}))'
        # A file, not stdout: text2wave patches the WAV header's sizes by seeking back.
        with tempfile.TemporaryDirectory(prefix="festival-") as folder:
            out = Path(folder) / "line.wav"
            # The text goes in on stdin: a title is never read as an option or as Scheme.
            done = subprocess.run(
                [
                    self.binary,
                    "-eval",
                    f"(voice_{self.voice})",
                    "-eval",
                    f"(set! hts_engine_params (append hts_engine_params {params}))",
                    "-o",
                    str(out),
                ],
                input=text.encode(),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
            if done.returncode != 0 or not out.is_file():
                _log.warning("festival failed (exit %s); no line from it", done.returncode)
                return None
            return decode_wav(out.read_bytes())


class HostedTTS:
    """A hosted speech API (see :class:`SpeechClient`) as a voice.

    Errors of the service (network, HTTP, a body that is not WAV) make this line
    ``None`` with a log naming the service, never the key.
    """

    def __init__(self, client: SpeechClient) -> None:
        self.client = client
        self.name = f"api:{client.name}"

    def synthesize(self, text: str, words_per_minute: int = _BASE_WPM) -> Audio | None:
        if not text.strip():
            return None
        try:
            data = self.client.speak(text, words_per_minute / _BASE_WPM)
        except Exception as exc:  # any failure of a remote service: fall back, don't fail
            _log.warning("speech API %s failed (%s); falling back", self.client.name, exc)
            return None
        speech = decode_wav(data)
        if speech is None:
            _log.warning("speech API %s returned no playable WAV; falling back", self.client.name)
        return speech


class FallbackTTS:
    """The first of ``voices`` that speaks a line speaks it; :attr:`name` names who spoke.

    Once a voice has failed it is skipped for the rest of the creative, so one ad never
    mixes two voices mid-script after the first failure.
    """

    def __init__(self, voices: Sequence[TTSEngine]) -> None:
        if not voices:
            raise ValueError("FallbackTTS needs at least one voice")
        self.voices = list(voices)
        self.name = self.voices[0].name

    def synthesize(self, text: str, words_per_minute: int = _BASE_WPM) -> Audio | None:
        while self.voices:
            speech = self.voices[0].synthesize(text, words_per_minute=words_per_minute)
            if speech is not None:
                self.name = self.voices[0].name
                return speech
            if len(self.voices) == 1:
                return None
            self.voices.pop(0)
        return None


def choose_voice(
    choice: str, espeak_voice: str = "en-us", client: SpeechClient | None = None
) -> TTSEngine | None:
    """The voice for ``choice`` (one of :data:`VOICES`), espeak-ng behind it; ``None``
    for ``"none"`` or when no voice at all is installed.

    ``"api"`` without a configured ``client`` is a clear error, not a silent fallback:
    the merchant asked for their service.
    """
    if choice not in VOICES:
        raise ValueError(f"unknown voice {choice!r}; expected one of {list(VOICES)}")
    if choice == "none":
        return None
    if choice == "api" and client is None:
        raise ValueError(
            "voice 'api' needs a speech API: set REELCART_SPEECH_API_URL "
            "(and REELCART_SPEECH_API_KEY) to an OpenAI-compatible /v1/audio/speech service"
        )
    espeak = EspeakTTS(voice=espeak_voice)
    festival = FestivalTTS()
    chain: list[TTSEngine] = []
    if choice in ("auto", "api") and client is not None:
        chain.append(HostedTTS(client))
    if choice in ("auto", "festival") and festival.available():
        chain.append(festival)
    elif choice == "festival":
        _log.warning("festival with %s is not installed; using espeak-ng", festival.voice)
    if espeak.available():
        chain.append(espeak)
    if not chain:
        _log.warning("no voice installed (espeak-ng, festival); rendering without voiceover")
        return None
    return chain[0] if len(chain) == 1 else FallbackTTS(chain)
