"""The voiceover says every caption: what the captions list is what a voice said.

Rendered from the demo store's own catalog with the real voices (Debian's espeak-ng and
Festival with festvox-us-slt-hts, both in the Makefile's SYSTEM_PACKAGES).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generation.audio import EspeakTTS, TTSEngine
from generation.engines.motion import MotionEngine
from generation.render import render_creative
from generation.storyboard import RenderConfig, storyboard
from generation.voices import FestivalTTS
from reelcart.money import to_minor_units
from tests.generation.demo_jobs import demo_job, demo_products

CONFIG = RenderConfig(width=72, height=128, fps=8)


def _job(handle: str, factors: dict[str, str]):  # type: ignore[no-untyped-def]
    product = next(p for p in demo_products() if p["handle"] == handle)
    compare = [v["compareAtPrice"] for v in product["variants"] if v["compareAtPrice"]]
    job = demo_job(product, factors)
    if compare:
        job = job.model_copy(
            update={"compare_at_minor": to_minor_units(compare[0], product["currency"])}
        )
    return job


def _cues(vtt: Path) -> list[str]:
    return [block.split("\n", 2)[2] for block in vtt.read_text().strip().split("\n\n")[1:]]


@pytest.mark.parametrize(
    ("voice", "handle", "hook"),
    [
        (EspeakTTS(), "merino-beanie", "price"),
        (EspeakTTS(), "field-watch-38mm", "price"),
        (FestivalTTS(), "over-ear-headphones", "price"),
    ],
    ids=["espeak-beanie", "espeak-watch", "festival-headphones"],
)
def test_every_caption_is_spoken(tmp_path: Path, voice: TTSEngine, handle: str, hook: str) -> None:
    spec = storyboard(_job(handle, {"duration": "6s", "hook": hook}), CONFIG)
    rendered = render_creative(spec, tmp_path, MotionEngine(), "ad", tts=voice, preview=False)
    audio = rendered.manifest["audio"]
    assert rendered.captions is not None
    cues = _cues(rendered.captions[0])
    # Captions list exactly what was said: as many cues as spoken lines...
    assert len(cues) == audio["lines_spoken"], (cues, audio)
    # ... and the script was written to be said: every line of it made it.
    assert cues == [" ".join(line.split()) for line in spec.lines], (cues, spec.lines)
    assert audio["voiceover"] == voice.name
