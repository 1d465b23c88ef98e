"""Caption sidecars (WebVTT and SRT) from a creative's script, one cue per scene.

Cue times are the scene boundaries in frames divided by the frame rate, so a cue starts
on the very frame its scene (and its burned-in caption) starts.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generation.spec import CreativeSpec

__all__ = ["Cue", "cues_for", "to_srt", "to_vtt", "write_captions"]


@dataclass(frozen=True)
class Cue:
    """One caption: shown from ``start_s`` up to (not including) ``end_s``."""

    start_s: float
    end_s: float
    text: str


def cues_for(spec: CreativeSpec) -> list[Cue]:
    """The spec's script as cues, one per non-empty line, on scene boundaries."""
    return [
        Cue(start / spec.fps, end / spec.fps, " ".join(line.split()))
        for line, (start, end) in zip(spec.lines, spec.scene_frames, strict=False)
        if line.strip()
    ]


def _stamp(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _clean(text: str) -> str:
    # A blank line ends a cue in both formats, and "-->" is the timing arrow: neither
    # may appear inside cue text.
    return " ".join(text.replace("-->", "→").split())


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT text (W3C WebVTT: header, blank line, then ``start --> end`` cues)."""
    blocks = ["WEBVTT"]
    for i, cue in enumerate(cues, 1):
        text = _clean(cue.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{i}\n{_stamp(cue.start_s, '.')} --> {_stamp(cue.end_s, '.')}\n{text}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: list[Cue]) -> str:
    """SubRip text: numbered cues with comma-separated milliseconds."""
    blocks = [
        f"{i}\n{_stamp(c.start_s, ',')} --> {_stamp(c.end_s, ',')}\n{_clean(c.text)}"
        for i, c in enumerate(cues, 1)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_captions(spec: CreativeSpec, base: Path) -> tuple[Path, Path] | None:
    """Write ``<base>.vtt`` and ``<base>.srt``; ``None`` (nothing written) without a script."""
    cues = cues_for(spec)
    if not cues:
        return None
    vtt, srt = Path(f"{base}.vtt"), Path(f"{base}.srt")
    _write(vtt, to_vtt(cues))
    _write(srt, to_srt(cues))
    return vtt, srt
