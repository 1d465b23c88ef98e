"""The quality gate of one rendered creative: every rule over what the render measured.

Runs in the render path (:func:`generation.render.render_creative`); its report goes into
the creative's manifest under ``"qa"``, and a creative whose report did not pass is not
published.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from generation.adcopy import TEMPLATE_WORDS
from generation.encode import probe_video
from generation.quality.price import CatalogPrice
from generation.quality.probe import FrameWatch, decode_audio
from generation.quality.report import Check, QualityReport
from generation.quality.rules import (
    Text,
    check_claims,
    check_cues,
    check_duration,
    check_loudness,
    check_motion,
    check_overlays_clear_of_product,
    check_price,
    check_text_in_frame,
    parse_vtt,
)
from generation.spec import CreativeSpec

__all__ = ["expected_texts", "run_gate"]

# A black or frozen stretch this long (seconds) fails the creative.
_STILL_S = 0.5


def expected_texts(spec: CreativeSpec) -> dict[str, str]:
    """The full strings each role must show (titles, CTA, brand, each scene's caption)."""
    expected = {"title": spec.title, "cta": spec.cta_text, "brand": spec.brand_name}
    for scene, line in enumerate(spec.lines):
        expected[f"caption{scene}.caption"] = line
    return expected


def run_gate(
    spec: CreativeSpec,
    texts: Sequence[Text],
    watch: FrameWatch,
    video_path: Path,
    vtt_path: Path | None,
    catalog: CatalogPrice | None,
    *,
    moving_until: int | None = None,
) -> QualityReport:
    """Every rule, over the render's measurements and the finished files.

    ``moving_until`` is the frame after which stills are by design (the end card once
    faded in); frozen runs starting there are not counted.
    """
    info = probe_video(video_path)
    checks: list[Check] = [
        check_overlays_clear_of_product(watch.samples),
        check_text_in_frame(texts, spec.width, spec.height, expected_texts(spec)),
        check_duration(info.frame_count, spec.frame_count, spec.fps, info.audio_duration_s),
        check_price(texts, catalog),
        check_claims(spec.lines, f"{spec.catalog_text} {spec.cta_text}", TEMPLATE_WORDS),
    ]
    cues = parse_vtt(vtt_path.read_text(encoding="utf-8")) if vtt_path is not None else []
    checks.append(check_cues(cues, spec.duration_s))
    limit = spec.frame_count if moving_until is None else moving_until
    frozen = [run for run in watch.frozen_runs if run[0] < limit]
    frozen = [(start, min(length, limit - start)) for start, length in frozen]
    checks.append(check_motion(watch.luma, frozen, spec.fps, _STILL_S))
    audio = decode_audio(video_path)
    if audio is None:
        checks.append(Check("loudness", False, "the file has no audio track", {}))
    else:
        checks.append(check_loudness(*audio))
    return QualityReport(tuple(checks))
