"""Immutable descriptions of what to render: one camera shot, and one whole creative.

The specs are plain frozen dataclasses so they can be hashed, compared and cached by the
callers (flows, experiments) without this package knowing anything about where the
catalog data came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "HOOKS",
    "MOTIONS",
    "CreativeSpec",
    "ShotSpec",
    "frames_for",
]

MOTIONS: frozenset[str] = frozenset({"push_in", "pull_out", "pan_left", "pan_right", "detail"})
HOOKS: frozenset[str] = frozenset({"title", "price"})

# Bumped when the meaning of a key changes, so old cache entries stop matching.
_KEY_VERSION = 1


def frames_for(duration_s: float, fps: int) -> int:
    """Number of frames a segment of ``duration_s`` seconds occupies at ``fps``.

    Engines and the renderer must agree on this exactly, hence one shared definition.
    """
    return round(duration_s * fps)


@lru_cache(maxsize=256)
def _sha256_of_file(path: str, mtime_ns: int, size: int) -> str:
    # mtime and size are part of the cache key so an edited image is re-hashed.
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _image_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_of_file(str(path.resolve()), st.st_mtime_ns, st.st_size)


def _check_duration(what: str, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True)
class ShotSpec:
    """One camera move over one product photo.

    ``motion`` is one of :data:`MOTIONS`; ``seed`` picks small deterministic variations
    (zoom amount, focal point, drift) so two shots of the same photo need not look alike.
    ``prompt`` optionally describes the product for engines that read text (diffusion);
    it enters :meth:`key` only when non-empty, so prompt-less keys never change.
    """

    image_path: Path
    motion: str
    duration_s: float
    seed: int
    prompt: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_path", Path(self.image_path))
        if self.motion not in MOTIONS:
            raise ValueError(f"unknown motion {self.motion!r}; expected one of {sorted(MOTIONS)}")
        _check_duration("ShotSpec.duration_s", self.duration_s)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"ShotSpec.seed must be an int, got {self.seed!r}")
        if not isinstance(self.prompt, str):
            raise ValueError(f"ShotSpec.prompt must be a string, got {self.prompt!r}")

    @property
    def close_up(self) -> bool:
        """A close-up on one part of the product (it fills the frame by design)."""
        return self.motion == "detail"

    def key(self) -> str:
        """Stable hex digest identifying the footage this shot produces.

        Built from the image *content* (not its path), so moving or renaming a file keeps
        the key while re-uploading a different photo under the same name changes it. The
        footage also depends on the engine and the frame size; callers caching footage
        should combine this key with those.
        """
        payload: dict[str, object] = {
            "v": _KEY_VERSION,
            "image_sha256": _image_sha256(self.image_path),
            "motion": self.motion,
            # repr of a float round-trips exactly, so equal durations give equal keys.
            "duration_s": repr(float(self.duration_s)),
            "seed": self.seed,
        }
        if self.prompt:
            payload["prompt"] = self.prompt
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def _normalise_factors(
    factors: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    pairs = dict(factors.items() if isinstance(factors, Mapping) else factors)
    for k, v in pairs.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError(f"CreativeSpec.factors must map str to str, got {k!r}: {v!r}")
    return tuple(sorted(pairs.items()))


@dataclass(frozen=True)
class CreativeSpec:
    """Everything needed to render one video ad variant.

    ``hook`` chooses the opening: ``"title"`` leads with the product title big and the
    price small; ``"price"`` leads with a large price badge. ``price_text`` is shown
    verbatim: formatting money is the caller's job, as it knows the store's currency.
    ``factors`` are passed through to the manifest (a mapping is accepted too and
    normalised to sorted ``(name, level)`` pairs, keeping the spec hashable and
    ``dataclasses.asdict`` / JSON friendly; :attr:`factor_map` gives a dict view).

    ``lines`` is the script: one caption / voiceover line per scene (each shot, then the
    end card), or empty for a silent, caption-free creative. ``burn_captions`` draws the
    lines into the picture (they always go to the WebVTT/SRT sidecars); ``ai_label`` adds
    a visible "AI-generated" label.

    ``was_price_text`` (the catalog's compare-at price, ``compare_at_minor``, formatted)
    marks a sale: drawn struck through beside the price, on the hook, the strip and the
    end card; empty when nothing is on sale.

    ``catalog_text`` is what the catalog says of the product (title, description,
    options, brand, prices): the gate checks every line of copy draws on it alone.

    ``price_minor`` / ``price_max_minor`` / ``currency`` are the catalog's cheapest and
    dearest variant prices, kept so the quality gate can check the drawn ``price_text``
    against the catalog (``None``: not known, and the price check fails).
    """

    title: str
    price_text: str
    cta_text: str
    hook: str
    shots: tuple[ShotSpec, ...]
    factors: tuple[tuple[str, str], ...]
    brand_name: str
    width: int = 1080
    height: int = 1920
    fps: int = 30
    end_card_s: float = 1.5
    lines: tuple[str, ...] = ()
    burn_captions: bool = True
    ai_label: bool = False
    price_minor: int | None = None
    price_max_minor: int | None = None
    currency: str | None = None
    was_price_text: str = ""
    compare_at_minor: int | None = None
    catalog_text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shots", tuple(self.shots))
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.lines and len(self.lines) != len(self.shots) + 1:
            raise ValueError(
                f"CreativeSpec.lines needs one line per shot plus one for the end card "
                f"({len(self.shots) + 1}), got {len(self.lines)}"
            )
        if not all(isinstance(line, str) for line in self.lines):
            raise ValueError("CreativeSpec.lines must hold strings")
        object.__setattr__(self, "factors", _normalise_factors(self.factors))
        for name in ("title", "price_text", "cta_text", "brand_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"CreativeSpec.{name} must be a non-empty string")
        if self.hook not in HOOKS:
            raise ValueError(f"unknown hook {self.hook!r}; expected one of {sorted(HOOKS)}")
        if not self.shots:
            raise ValueError("CreativeSpec.shots must contain at least one ShotSpec")
        for shot in self.shots:
            if not isinstance(shot, ShotSpec):
                raise ValueError(f"CreativeSpec.shots must hold ShotSpec, got {shot!r}")
        for name in ("width", "height"):
            value = getattr(self, name)
            # yuv420p subsamples chroma 2x2, so H.264 needs even dimensions.
            if not isinstance(value, int) or value < 16 or value % 2:
                raise ValueError(
                    f"CreativeSpec.{name} must be an even integer >= 16, got {value!r}"
                )
        if not isinstance(self.fps, int) or isinstance(self.fps, bool) or not 1 <= self.fps <= 120:
            raise ValueError(f"CreativeSpec.fps must be an integer in 1..120, got {self.fps!r}")
        _check_duration("CreativeSpec.end_card_s", self.end_card_s)
        for i, shot in enumerate(self.shots):
            if frames_for(shot.duration_s, self.fps) < 1:
                raise ValueError(
                    f"shot {i} lasts {shot.duration_s}s, shorter than one frame at {self.fps} fps"
                )
        if self.end_card_frames < 1:
            raise ValueError(
                f"end_card_s={self.end_card_s} is shorter than one frame at {self.fps} fps"
            )

    @property
    def factor_map(self) -> dict[str, str]:
        """The experiment factors as a plain dict (a fresh copy)."""
        return dict(self.factors)

    @property
    def duration_s(self) -> float:
        """Total length: all shots plus the end card."""
        return sum(shot.duration_s for shot in self.shots) + self.end_card_s

    @property
    def frame_count(self) -> int:
        """Total number of frames in the video, ``round(duration_s * fps)``."""
        return frames_for(self.duration_s, self.fps)

    @property
    def shot_frames(self) -> tuple[int, ...]:
        """Frames each shot occupies, in order (what the engine yields for it)."""
        return tuple(frames_for(shot.duration_s, self.fps) for shot in self.shots)

    @property
    def planned_around(self) -> tuple[bool, ...]:
        """Per shot, whether the overlay layout is planned around it: every wide shot; a
        close-up (the product fills the frame by design) only when all shots are close-ups,
        since planned around, it would leave text no room in any shot."""
        wide = tuple(not shot.close_up for shot in self.shots)
        return wide if any(wide) else (True,) * len(self.shots)

    @property
    def end_card_frames(self) -> int:
        """Frames of the end card: whatever remains, so the total is exactly right."""
        return self.frame_count - sum(self.shot_frames)

    @property
    def scene_frames(self) -> tuple[tuple[int, int], ...]:
        """``(first, end)`` frame of every scene (shots, then the end card), end exclusive."""
        bounds = []
        start = 0
        for count in (*self.shot_frames, self.end_card_frames):
            bounds.append((start, start + count))
            start += count
        return tuple(bounds)
