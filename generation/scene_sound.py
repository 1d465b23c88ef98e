"""Sound generated with the picture (ambience, foley), mixed under the voiceover and music.

A footage engine that generates audio with its frames (LTX-2) hands each shot's sound
over at the model's own rate. Here the clips are resampled to :data:`SAMPLE_RATE`, laid
end to end from their scene starts (sample-exact, so picture and sound stay in step),
set a fixed distance under the soundtrack's loudness, ducked under speech like the
music, and the whole is brought to -14 LUFS with peaks under -1 dBFS by the
soundtrack's own normaliser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy.signal import resample_poly

from generation.audio import SAMPLE_RATE, duck, loudness_normalise

__all__ = [
    "SCENE_DUCK_DB",
    "SCENE_LEVEL_LU",
    "ClipSound",
    "engine_sounds",
    "mix_scene_sound",
    "scene_layer",
    "scene_sound_track",
]

Audio = npt.NDArray[np.float32]

# Where the generated sound sits: this many LU under the soundtrack (music + voice), so
# it is heard as the scene's ambience and never competes with the voiceover; under
# speech it drops like the music.
SCENE_LEVEL_LU = -8.0
SCENE_DUCK_DB = 12.0
_FADE_S = 0.01  # at each cut, so scene changes do not click


@dataclass(frozen=True)
class ClipSound:
    """One shot's generated sound: ``(channels, samples)`` at ``rate``, from ``start_s``."""

    start_s: float
    samples: npt.NDArray[np.floating]
    rate: int


def _stereo_at_rate(sound: ClipSound) -> Audio:
    samples = np.atleast_2d(np.asarray(sound.samples, dtype=np.float32))
    if samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)
    samples = samples[:2]
    if sound.rate != SAMPLE_RATE:
        common = math.gcd(SAMPLE_RATE, sound.rate)
        samples = resample_poly(samples, SAMPLE_RATE // common, sound.rate // common, axis=1)
    return samples.astype(np.float32)


def scene_sound_track(clips: Sequence[ClipSound], duration_s: float) -> Audio:
    """The clips' sound laid out over ``duration_s``: stereo at :data:`SAMPLE_RATE`.

    Each clip starts at its scene's first sample and stops where the next scene starts
    (or the video ends), with a 10 ms fade at both ends; a short clip leaves silence.
    """
    n = round(duration_s * SAMPLE_RATE)
    track = np.zeros((2, n), dtype=np.float32)
    ordered = sorted(clips, key=lambda c: c.start_s)
    ends = [*(c.start_s for c in ordered[1:]), duration_s]
    fade = max(1, round(_FADE_S * SAMPLE_RATE))
    for clip, end_s in zip(ordered, ends, strict=True):
        start, stop = round(clip.start_s * SAMPLE_RATE), min(n, round(end_s * SAMPLE_RATE))
        piece = _stereo_at_rate(clip)[:, : max(0, stop - start)].copy()
        length = piece.shape[1]
        ramp = np.linspace(0.0, 1.0, min(fade, length), dtype=np.float32)
        if length:
            piece[:, : len(ramp)] *= ramp
            piece[:, length - len(ramp) :] *= ramp[::-1]
        track[:, start : start + length] += piece
    return track


def _loudness(stereo: Audio) -> float:
    return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(stereo.T.astype(np.float64)))


def scene_layer(
    bed: Audio,
    scene: Audio,
    voice: npt.NDArray[np.float32] | None,
    *,
    level_lu: float = SCENE_LEVEL_LU,
) -> Audio:
    """``scene`` set ``level_lu`` under ``bed``'s loudness, then ducked under ``voice``."""
    scene_lufs, bed_lufs = _loudness(scene), _loudness(bed)
    if not (math.isfinite(scene_lufs) and math.isfinite(bed_lufs)):
        return np.zeros_like(bed)  # silence (or a silent bed): nothing to place
    layer = scene * np.float32(10 ** ((bed_lufs + level_lu - scene_lufs) / 20))
    if voice is not None and np.any(voice):
        layer = duck(layer, voice, depth_db=SCENE_DUCK_DB)
    return layer.astype(np.float32)


def engine_sounds(
    engine: Any,
    shots: Sequence[Any],
    starts_s: Sequence[float],
    width: int,
    height: int,
    fps: int | None = None,
) -> list[ClipSound]:
    """Each shot's generated sound from a footage engine that makes sound with its frames
    (a ``sound(shot, width, height)`` method: a footage cache's reads it from disk, else
    the engine it wraps is asked); none from any other engine. ``fps`` is the render's
    (a footage cache keeps each shot's sound with its footage at that fps)."""
    source = getattr(engine, "sound", None) or getattr(
        getattr(engine, "engine", None), "sound", None
    )
    if source is None:
        return []
    clips = []
    for shot, start_s in zip(shots, starts_s, strict=False):
        made = source(shot, width, height, fps=fps)
        if made is not None:
            clips.append(ClipSound(start_s, made.samples, made.rate))
    return clips


def mix_scene_sound(
    bed: Audio,
    clips: Sequence[ClipSound],
    voice: npt.NDArray[np.float32] | None,
    *,
    level_lu: float = SCENE_LEVEL_LU,
) -> Audio:
    """Generated clip audio under voice + music: the soundtrack ``bed`` (already mixed,
    ``(2, n)``) with the clips' sound beneath it, the whole at -14 LUFS, peaks < -1 dBFS.

    ``voice`` is the mono voiceover the bed was mixed with (``None``: no speech).
    """
    if not clips:
        return bed
    scene = scene_sound_track(clips, bed.shape[1] / SAMPLE_RATE)
    return loudness_normalise(bed + scene_layer(bed, scene, voice, level_lu=level_lu))
