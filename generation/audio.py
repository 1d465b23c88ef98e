"""Soundtracks: a music bed made in code, an optional voiceover, and ducking under speech.

The music is synthesised from a seed (chords, bass, a soft beat), so it is royalty-free
by construction and differs between products without any audio files. Voiceover comes
from a pluggable :class:`TTSEngine`; the default runs the offline ``espeak-ng`` binary
(Debian package ``espeak-ng``) and is skipped, with a log message, when it is missing.
Every track is stereo float32 at :data:`SAMPLE_RATE`, exactly as long as the video, and
normalised to -14 LUFS integrated loudness (EBU R128) with peaks under -1 dBFS.
"""

from __future__ import annotations

import io
import logging
import math
import random
import re
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

__all__ = [
    "SAMPLE_RATE",
    "TARGET_LUFS",
    "EspeakTTS",
    "Soundtrack",
    "TTSEngine",
    "duck",
    "loudness_normalise",
    "music_bed",
    "soundtrack",
    "spoken_form",
]

_log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
Audio = npt.NDArray[np.float32]

# Chord roots in semitones above the key for a I-V-vi-IV loop, and the chord shapes.
_PROGRESSION = ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj"))
_SHAPES = {"maj": (0, 4, 7, 12), "min": (0, 3, 7, 12)}
_DUCK_DB = 12.0
# Social video plays back normalised to about -14 LUFS; peaks stay under -1 dBFS.
TARGET_LUFS = -14.0
_CEILING = 10 ** (-1 / 20)
_KNEE = 10 ** (-4 / 20)
_PACES = (175, 200, 225)


@runtime_checkable
class TTSEngine(Protocol):
    """Text to mono speech at :data:`SAMPLE_RATE`; ``None`` when it cannot speak."""

    name: str

    def synthesize(self, text: str, words_per_minute: int = 175) -> Audio | None: ...


class EspeakTTS:
    """Offline speech from the ``espeak-ng`` command line (robotic, but free and local)."""

    name = "espeak-ng"

    def __init__(self, voice: str = "en-us", binary: str = "espeak-ng", timeout_s: float = 20):
        self.voice, self.binary, self.timeout_s = voice, binary, timeout_s

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def synthesize(self, text: str, words_per_minute: int = 175) -> Audio | None:
        if not text.strip() or not self.available():
            return None
        # Text goes in on stdin, never as an argument: a title starting with "-" must not
        # be read as an option.
        done = subprocess.run(
            [self.binary, "-v", self.voice, "-s", str(words_per_minute), "--stdin", "--stdout"],
            input=text.encode(),
            capture_output=True,
            timeout=self.timeout_s,
            check=False,
        )
        if done.returncode != 0 or not done.stdout:
            _log.warning("espeak-ng failed (exit %s); no voiceover line", done.returncode)
            return None
        with wave.open(io.BytesIO(done.stdout)) as wav:
            rate, width = wav.getframerate(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
        if width != 2:
            return None
        pcm = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        g = math.gcd(SAMPLE_RATE, rate)
        return np.asarray(resample_poly(pcm, SAMPLE_RATE // g, rate // g), dtype=np.float32)


def _envelope(n: int, attack: int, release: int) -> Audio:
    env = np.ones(n, dtype=np.float32)
    a, r = min(attack, n), min(release, n)
    env[:a] = np.linspace(0, 1, a, dtype=np.float32)
    if r:
        env[n - r :] *= np.linspace(1, 0, r, dtype=np.float32)
    return env


def music_bed(duration_s: float, seed: int, *, sample_rate: int = SAMPLE_RATE) -> Audio:
    """A seeded, loopable pop bed: pad chords, a bass line and a soft kick/hat pulse."""
    rng = random.Random(seed)
    n = round(duration_s * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    bpm = rng.choice((96, 104, 112, 120))
    beat = 60.0 / bpm
    key_hz = 220.0 * 2 ** (rng.randrange(0, 7) / 12)
    bar = 4 * beat
    left = np.zeros(n, dtype=np.float32)
    right = np.zeros(n, dtype=np.float32)
    for index in range(math.ceil(duration_s / bar)):
        root, shape = _PROGRESSION[index % len(_PROGRESSION)]
        s0, s1 = round(index * bar * sample_rate), min(n, round((index + 1) * bar * sample_rate))
        if s0 >= n:
            break
        seg = t[s0:s1] - t[s0]
        env = _envelope(s1 - s0, int(0.25 * sample_rate), int(0.3 * sample_rate))
        for voice, step in enumerate(_SHAPES[shape]):
            hz = key_hz * 2 ** ((root + step) / 12)
            tone = np.sin(2 * np.pi * hz * seg) + 0.3 * np.sin(4 * np.pi * hz * seg)
            pan = 0.35 + 0.1 * voice  # spread the chord a little across the stereo field
            left[s0:s1] += 0.05 * tone * env * (1 - pan)
            right[s0:s1] += 0.05 * tone * env * pan
        bass_hz = key_hz / 2 * 2 ** (root / 12)
        bass = 0.12 * np.sin(2 * np.pi * bass_hz * seg) * env
        left[s0:s1] += bass
        right[s0:s1] += bass
    noise = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    hat_noise = noise - uniform_filter1d(noise, 8)  # crude high-pass: keep the fizz
    for k in range(math.ceil(duration_s / beat * 2)):
        start = round(k * beat / 2 * sample_rate)
        if start >= n:
            break
        length = min(n - start, int(0.12 * sample_rate))
        decay = np.exp(-np.arange(length, dtype=np.float32) / (0.02 * sample_rate))
        if k % 2 == 0:  # kick on the beat: a fast downward pitch sweep
            tt = np.arange(length, dtype=np.float32) / sample_rate
            kick = 0.22 * np.sin(2 * np.pi * (50 * tt + 60 * (1 - np.exp(-tt / 0.03)))) * decay
            left[start : start + length] += kick
            right[start : start + length] += kick
        else:  # hat off the beat
            hat = 0.05 * hat_noise[start : start + length] * decay
            left[start : start + length] += hat
            right[start : start + length] += hat
    fade = _envelope(n, int(0.05 * sample_rate), int(min(0.6, duration_s / 4) * sample_rate))
    stereo = np.stack([left * fade, right * fade])
    peak = float(np.abs(stereo).max()) or 1.0
    return (stereo * (0.35 / peak)).astype(np.float32)


def duck(music: Audio, voice: Audio, *, depth_db: float = _DUCK_DB) -> Audio:
    """``music`` (stereo) turned down by ``depth_db`` wherever ``voice`` (mono) speaks.

    Speech is detected from a 20 ms RMS; the gain holds 150 ms after speech stops and
    ramps over ~80 ms, so the music neither pumps between words nor jumps.
    """
    rate = SAMPLE_RATE
    power = uniform_filter1d(voice.astype(np.float32) ** 2, max(1, int(0.02 * rate)))
    active = (np.sqrt(np.maximum(power, 0)) > 0.01).astype(np.float32)
    held = maximum_filter1d(active, max(1, int(0.3 * rate)))
    smooth = uniform_filter1d(held, max(1, int(0.08 * rate)))
    floor = 10 ** (-depth_db / 20)
    gain = 1 - (1 - floor) * smooth
    return (music * gain[None, :]).astype(np.float32)


@dataclass(frozen=True)
class Soundtrack:
    """A mixed stereo track plus what went into it (for the manifest).

    ``said`` holds, per script line, the words actually spoken ("" for a line left
    unsaid), or is empty when there was no voice: captions then show the whole script.
    """

    samples: Audio
    voiceover: str | None
    lines_spoken: int
    lines_shortened: int = 0
    said: tuple[str, ...] = ()
    # The mono voiceover the mix holds (what generated scene sound ducks under).
    voice: Audio | None = None

    def describe(self) -> dict[str, object]:
        return {
            "music": "generated-in-code",
            "voiceover": self.voiceover,
            "lines_spoken": self.lines_spoken,
            "lines_shortened": self.lines_shortened,
            "target_lufs": TARGET_LUFS,
            "ducking_db": _DUCK_DB if self.lines_spoken else 0.0,
            "sample_rate": SAMPLE_RATE,
        }


_WHOLE_MONEY = re.compile(r"(?<=\d)[.,]00\b")


def spoken_form(text: str) -> str:
    """``text`` as a voice should read it: whole amounts without their zero cents.

    "$29.00" read aloud is "twenty-nine dollars and zero cents" (espeak-ng): twice as
    long as "$29", and nothing a listener needs.
    """
    return _WHOLE_MONEY.sub("", " ".join(text.split()))


def _speak_fitting(tts: TTSEngine, text: str, room: int) -> tuple[Audio | None, str]:
    """Speak ``text`` within ``room`` samples: faster if needed, else fewer sentences.

    Returns the speech and what was said. Speech is never cut mid-word: when even the
    fastest reading runs long, trailing whole sentences are dropped; when a single
    sentence cannot fit, nothing is said for that scene.
    """
    parts = _sentences(text)
    while parts:
        said = " ".join(parts)
        for wpm in _PACES:
            speech = tts.synthesize(spoken_form(said), words_per_minute=wpm)
            if speech is None:
                return None, ""
            if len(speech) <= room:
                return speech, said
        parts = parts[:-1]
    return None, ""


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if p.strip()]


def loudness_normalise(mix: Audio, target_lufs: float = TARGET_LUFS) -> Audio:
    """``mix`` (stereo, ``(2, n)``) at ``target_lufs`` integrated (ITU-R BS.1770 / EBU R128).

    Peaks above -1 dBFS are softly limited and the gain re-measured, so the result is on
    target without clipping.
    """
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    out = mix.astype(np.float64)
    for _ in range(4):
        loudness = meter.integrated_loudness(out.T)
        if not np.isfinite(loudness):
            return mix
        out = out * 10 ** ((target_lufs - loudness) / 20)
        if np.abs(out).max() <= _CEILING:
            break
        # Soft knee above the ceiling: below it the signal is untouched.
        over = np.abs(out) > _KNEE
        out[over] = np.sign(out[over]) * (
            _KNEE + (_CEILING - _KNEE) * np.tanh((np.abs(out[over]) - _KNEE) / (_CEILING - _KNEE))
        )
    return np.clip(out, -_CEILING, _CEILING).astype(np.float32)


def soundtrack(
    duration_s: float,
    seed: int,
    lines: Sequence[str],
    scene_starts_s: Sequence[float],
    tts: TTSEngine | None,
) -> Soundtrack:
    """Music for ``duration_s``, with ``lines[i]`` spoken from ``scene_starts_s[i]``."""
    n = round(duration_s * SAMPLE_RATE)
    music = music_bed(duration_s, seed)
    if tts is None or not lines:
        return Soundtrack(loudness_normalise(music), None, 0)
    if isinstance(tts, EspeakTTS) and not tts.available():
        _log.warning("espeak-ng is not installed; rendering without voiceover")
        return Soundtrack(loudness_normalise(music), None, 0)
    voice = np.zeros(n, dtype=np.float32)
    spoken = shortened = 0
    said_lines: list[str] = []
    lead = int(0.12 * SAMPLE_RATE)
    ends = [*scene_starts_s[1:], duration_s]
    for line, start_s, end_s in zip(lines, scene_starts_s, ends, strict=True):
        start = round(start_s * SAMPLE_RATE) + lead
        room = round(end_s * SAMPLE_RATE) - start - int(0.08 * SAMPLE_RATE)
        said_lines.append("")
        if room <= 0 or not line.strip():
            continue
        speech, said = _speak_fitting(tts, line, room)
        if speech is None:
            continue
        said_lines[-1] = said
        if said != " ".join(line.split()):
            shortened += 1
        voice[start : start + len(speech)] += speech[: n - start]
        spoken += 1
    mixed = loudness_normalise(duck(music, voice) + 0.9 * voice[None, :])
    if not spoken:  # no voice came out at all: a caption-only creative
        return Soundtrack(mixed, None, 0, voice=voice)
    return Soundtrack(mixed, tts.name, spoken, shortened, tuple(said_lines), voice)
