"""The gate's rules, each a plain function from measurements to a :class:`Check`.

Rules take what was measured (boxes, cue times, sample counts, loudness), never the
renderer's own intentions, so each can be fed a crafted bad creative and must fail it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyloudnorm

from generation.overlays.layout import Box, DrawnText, intersects
from generation.quality.price import CatalogPrice, read_price
from generation.quality.report import Check

__all__ = [
    "LOUDNESS_TARGET_LUFS",
    "LOUDNESS_TOLERANCE_LU",
    "Cue",
    "FrameSample",
    "Text",
    "check_claims",
    "check_cues",
    "check_duration",
    "check_loudness",
    "check_motion",
    "check_overlays_clear_of_product",
    "check_price",
    "check_text_in_frame",
    "parse_vtt",
]

# Social platforms normalise playback to about -14 LUFS (YouTube, Spotify, TikTok).
LOUDNESS_TARGET_LUFS = -14.0
LOUDNESS_TOLERANCE_LU = 1.0
# A sample at or beyond this magnitude counts as clipped (decoded float PCM).
_CLIP = 0.999


Text = DrawnText
"""A drawn string: its layer, role (title, price, caption, cta, ...), text and box."""


@dataclass(frozen=True)
class FrameSample:
    """A sampled frame: where the product was found, and the boxes drawn over it."""

    index: int
    product: Box | None
    overlays: tuple[tuple[str, Box], ...]
    close_up: bool = False


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


# In a close-up the product fills the frame by design; an overlay there may cover at
# most this share of it (a caption along one edge), never its middle.
CLOSE_UP_COVER = 0.15


def _covered(box: Box, product: Box) -> float:
    """The share of ``product``'s area that ``box`` covers."""
    w = min(box[2], product[2]) - max(box[0], product[0])
    h = min(box[3], product[3]) - max(box[1], product[1])
    area = (product[2] - product[0]) * (product[3] - product[1])
    return max(0, w) * max(0, h) / area if area > 0 else 0.0


def _on_product(sample: FrameSample, box: Box) -> bool:
    assert sample.product is not None
    if sample.close_up:
        return _covered(box, sample.product) > CLOSE_UP_COVER
    return intersects(box, sample.product)


def check_overlays_clear_of_product(samples: Sequence[FrameSample]) -> Check:
    """No overlay box shares a pixel with the product's box on any sampled frame (in a
    close-up, none covers more than :data:`CLOSE_UP_COVER` of it)."""
    hits = [
        {"frame": s.index, "overlay": name, "overlay_box": list(box), "product": list(s.product)}
        for s in samples
        if s.product is not None
        for name, box in s.overlays
        if _on_product(s, box)
    ]
    located = sum(1 for s in samples if s.product is not None)
    detail = f"{len(samples)} frames sampled, product found on {located}; " + (
        f"{len(hits)} overlay(s) on the product" if hits else "no overlay on the product"
    )
    return Check(
        "overlays_clear_of_product",
        not hits,
        detail,
        {"sampled": len(samples), "located": located, "hits": hits[:10]},
    )


_STAMP = re.compile(r"(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})")


def _seconds(stamp: str) -> float:
    match = _STAMP.fullmatch(stamp.strip())
    if match is None:
        raise ValueError(f"bad timestamp {stamp!r}")
    hours, minutes, secs, ms = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(ms) / 1000


def parse_vtt(text: str) -> list[Cue]:
    """The cues of a WebVTT (or SRT) file, read from the file's own text."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        for i, line in enumerate(lines):
            if "-->" in line:
                start, end = line.split("-->", 1)
                cues.append(
                    Cue(_seconds(start), _seconds(end.split()[0]), " ".join(lines[i + 1 :]))
                )
                break
    return cues


def check_cues(cues: Sequence[Cue], duration_s: float) -> Check:
    """Cues are in order, each ends after it starts, none overlaps the next or the end."""
    problems = []
    for i, cue in enumerate(cues):
        if cue.end_s <= cue.start_s:
            problems.append(f"cue {i + 1} ends before it starts")
        if cue.end_s > duration_s + 1e-3:
            problems.append(f"cue {i + 1} runs past the end")
        if i and cue.start_s < cues[i - 1].end_s - 1e-6:
            overlap = cues[i - 1].end_s - cue.start_s
            problems.append(f"cues {i} and {i + 1} overlap by {overlap:.3f} s")
    detail = "; ".join(problems) if problems else f"{len(cues)} cues, none overlapping"
    return Check("captions_do_not_overlap", not problems, detail, {"cues": len(cues)})


def _norm(text: str) -> str:
    # Emoji and other pictographs are left out of burned-in text by design (no font draws
    # them); everything else must be there.
    kept = "".join(c for c in text if unicodedata.category(c) not in ("So", "Cf", "Cs", "Co"))
    return " ".join(kept.split()).casefold()


def check_text_in_frame(
    texts: Sequence[Text], width: int, height: int, expected: dict[str, str]
) -> Check:
    """Every text box lies inside the frame, and no expected string was shortened.

    ``expected`` maps a role (``title``, ``cta``, ...) or ``layer.role`` (``caption2.caption``)
    to the full string it must show:
    an ellipsis or a missing word is a clipped text, as much as a box past the edge.
    """
    problems = []
    for item in texts:
        left, top, right, bottom = item.box
        if left < 0 or top < 0 or right > width or bottom > height or right <= left:
            problems.append(f"{item.layer} {item.role} box {list(item.box)} leaves the frame")
        want = expected.get(f"{item.layer}.{item.role}", expected.get(item.role))
        if want is not None and _norm(item.text) != _norm(want):
            problems.append(f"{item.layer} {item.role} shows {item.text!r}, not {want!r}")
        if "…" in item.text and "…" not in expected.get(item.role, ""):
            problems.append(f"{item.layer} {item.role} is cut: {item.text!r}")
    detail = "; ".join(problems[:5]) if problems else f"{len(texts)} text boxes whole and in frame"
    return Check("text_not_clipped", not problems, detail, {"texts": len(texts)})


def check_duration(frames: int, planned_frames: int, fps: int, audio_s: float | None) -> Check:
    """The file holds the planned frame count to within one frame (audio likewise)."""
    video_ok = abs(frames - planned_frames) <= 1
    audio_ok = audio_s is None or abs(audio_s - planned_frames / fps) <= 1 / fps + 0.025
    detail = (
        f"{frames} frames in the file, {planned_frames} planned ({planned_frames / fps:.3f} s)"
        + ("" if audio_s is None else f"; audio {audio_s:.3f} s")
    )
    return Check(
        "duration_matches_plan",
        video_ok and audio_ok,
        detail,
        {"frames": frames, "planned": planned_frames, "audio_s": audio_s},
    )


def check_loudness(samples: np.ndarray, rate: int) -> Check:
    """Integrated loudness (ITU-R BS.1770-4 / EBU R128) on target; no clipped sample.

    ``samples`` is ``(n, channels)`` float PCM decoded from the file.
    """
    meter = pyloudnorm.Meter(rate)
    loudness = float(meter.integrated_loudness(samples)) if len(samples) else float("-inf")
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    clipped = int((np.abs(samples) >= _CLIP).sum())
    on_target = abs(loudness - LOUDNESS_TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU
    detail = (
        f"{loudness:.1f} LUFS integrated (target {LOUDNESS_TARGET_LUFS:g} ± "
        f"{LOUDNESS_TOLERANCE_LU:g}), peak {20 * np.log10(max(peak, 1e-9)):.1f} dBFS, "
        f"{clipped} clipped samples"
    )
    return Check(
        "loudness",
        on_target and clipped == 0,
        detail,
        {"lufs": round(loudness, 2), "peak": round(peak, 4), "clipped": clipped},
    )


def check_motion(
    luma: Sequence[float], frozen_runs: Sequence[tuple[int, int]], fps: int, min_s: float
) -> Check:
    """No black stretch and no frozen stretch of ``min_s`` or longer.

    ``luma`` is the mean luma of every frame checked; ``frozen_runs`` are ``(first,
    length)`` runs of frames that did not change.
    """
    limit = max(1, round(min_s * fps))
    black_runs, run = [], 0
    for i, value in enumerate([*luma, 255.0]):
        if value < 16:
            run += 1
            continue
        if run >= limit:
            black_runs.append((i - run, run))
        run = 0
    frozen = [r for r in frozen_runs if r[1] >= limit]
    problems = [f"black from frame {a} for {n} frames" for a, n in black_runs]
    problems += [f"frozen from frame {a} for {n} frames" for a, n in frozen]
    detail = "; ".join(problems) if problems else f"{len(luma)} frames, none black or frozen"
    return Check(
        "no_black_or_frozen",
        not problems,
        detail,
        {"black": black_runs, "frozen": frozen, "limit_frames": limit},
    )


_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# Counts the templates state ("2 color options"): small whole numbers.
_COUNT = re.compile(r"\d{1,2}")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(unicodedata.normalize("NFKC", text))}


def check_claims(lines: Sequence[str], catalog: str, template: frozenset[str]) -> Check:
    """Every word of the script comes from the catalog (or a fixed template word).

    What a voice says and a caption shows may only rephrase what the catalog holds:
    a rating, a discount or a superlative the catalog does not make fails the creative.
    """
    if not catalog.strip():
        return Check("claims_from_catalog", True, "no catalog text to compare with", {})
    known = _words(catalog) | set(template)
    foreign = sorted(
        {w for line in lines for w in _words(line) if w not in known and not _COUNT.fullmatch(w)}
    )
    detail = (
        f"not in the catalog: {', '.join(foreign)}"
        if foreign
        else f"{sum(1 for line in lines if line.strip())} lines, every word from the catalog"
    )
    return Check("claims_from_catalog", not foreign, detail, {"foreign": foreign})


def check_price(texts: Sequence[Text], catalog: CatalogPrice | None) -> Check:
    """Every price drawn reads back as the catalog's: "from" the cheapest when prices vary;
    a struck "was" price only as the catalog's compare-at of a sale."""
    prices = [t for t in texts if t.role == "price"]
    if catalog is None:
        return Check("price_matches_catalog", False, "no catalog price to compare with", {})
    if not prices:
        return Check("price_matches_catalog", False, "no price was drawn", {})
    problems = []
    for item in prices:
        shown = read_price(item.text, catalog.currency)
        if shown is None:
            problems.append(f"{item.layer}: cannot read a price in {item.text!r}")
            continue
        if shown.minor != catalog.min_minor:
            problems.append(f"{item.layer}: shows {shown.minor}, catalog {catalog.min_minor}")
        if shown.is_from != catalog.varies:
            word = "lacks" if catalog.varies else "has"
            problems.append(f"{item.layer}: {item.text!r} {word} 'from'")
        if not shown.currency_ok:
            problems.append(f"{item.layer}: {item.text!r} does not show {catalog.currency}")
    for item in (t for t in texts if t.role == "was_price"):
        # A "was" price is the catalog's compare-at, above a price every variant shares.
        shown = read_price(item.text, catalog.currency)
        sale = catalog.compare_at_minor
        if sale is None or catalog.varies or sale <= catalog.min_minor:
            problems.append(f"{item.layer}: {item.text!r} but the catalog has no sale")
        elif shown is None or shown.minor != sale:
            problems.append(f"{item.layer}: {item.text!r} is not the catalog's {sale}")
    detail = (
        "; ".join(problems)
        if problems
        else f"{len(prices)} prices drawn, all {catalog.min_minor} {catalog.currency}"
        + (" (from)" if catalog.varies else "")
    )
    return Check(
        "price_matches_catalog",
        not problems,
        detail,
        {"drawn": [p.text for p in prices], "catalog_min": catalog.min_minor},
    )
