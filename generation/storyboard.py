"""From a creative job (catalog facts + factor levels) to the spec the renderer draws.

A storyboard is a hook in the first seconds, feature shots, the price, and a CTA end
card. Factors choose among fixed, honest templates (see :mod:`generation.adcopy`):

- ``hook``: ``title`` or ``price`` leads;
- ``style``: the motion preset (``mixed``, ``zoom``, ``pan``); the 15 s cut's middle
  feature shot is a close-up on a detail in every style;
- ``cta``: the end-card button text;
- ``duration``: ``6s`` (hook, price, end card) or ``15s`` (hook, three feature shots,
  price, end card), the platforms' common lengths; without it, ``15s`` for a product
  with three or more photos and ``6s`` otherwise (``RenderConfig.shot_seconds`` sets a
  custom cut, one shot per photo, for previews and tests);
- ``aspect``: ``9:16``, ``1:1``, ``4:5`` or ``16:9``.

Shots depend on the product (photo, seed), the style and the timing only, never on the
copy, CTA or aspect, so variants that differ in those share footage. The first shot is
the same in every duration, so 6 s and 15 s variants share their hook footage too.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from reelcart.domain import CreativeJob
from reelcart.money import format_money

from .adcopy import (
    ProductFacts,
    catalog_text,
    char_budget,
    feature_lines,
    fit_line,
    hook_lines,
    offer_lines,
)
from .brand import BrandKit
from .platforms import get_aspect, size_for
from .provenance import SigningConfig
from .spec import CreativeSpec, ShotSpec
from .voices import SpeechClient

__all__ = [
    "CTA_TEXT",
    "DEFAULT_DURATIONS",
    "DURATIONS",
    "HOOKS",
    "MOTIONS",
    "STYLES",
    "RenderConfig",
    "master_size",
    "price_text",
    "storyboard",
]

HOOKS = ("title", "price")
CTA_TEXT = {
    "shop_now": "Shop now",
    "buy_in_chat": "Buy it right here in chat",
    "see_options": "See colours and sizes",
}
MOTIONS = ("push_in", "pan_left", "pull_out", "pan_right")
STYLES: dict[str, tuple[str, ...]] = {
    "mixed": MOTIONS,
    "zoom": ("push_in", "pull_out"),
    "pan": ("pan_left", "pan_right"),
}
# Scene lengths: (hook, features..., offer) then the end card. All sum to the duration.
DURATIONS: dict[str, tuple[tuple[float, ...], float]] = {
    "6s": ((2.5, 2.0), 1.5),
    "15s": ((2.5, 2.5, 2.5, 2.5, 2.5), 2.5),
}
# Without a duration factor: the short cut, or the long one when there is enough to show.
DEFAULT_DURATIONS = ("6s", "15s")
_LONG_CUT_PHOTOS = 3


@dataclass(frozen=True)
class RenderConfig:
    """How big, how fast and how long creatives are rendered, by which engine, how branded.

    ``shot_seconds`` (with ``end_card_seconds``, default 1.5) asks for a custom cut, one
    shot per photo, when a job has no ``duration`` factor: for quick previews and tests.
    ``width x height`` is the size without an ``aspect`` factor; with one, the aspect's
    platform size scaled to the same long edge. ``aspects`` are all the aspect ratios the
    campaign renders: footage is generated once at a master size covering them all.
    """

    width: int = 1080
    height: int = 1920
    fps: int = 30
    shot_seconds: float | None = None
    end_card_seconds: float | None = None
    engine: str = "motion"
    brand: BrandKit = field(default_factory=BrandKit)
    aspects: tuple[str, ...] = ()
    footage_dir: Path | None = None
    signing: SigningConfig | None = None
    # Who speaks the script (see generation.voices.choose_voice), and the merchant's
    # hosted speech service when one is configured.
    voice: str = "auto"
    speech: SpeechClient | None = field(default=None, compare=False, repr=False)

    @property
    def long_edge(self) -> int:
        return max(self.width, self.height)


def _size(config: RenderConfig, aspect: str | None) -> tuple[int, int]:
    if aspect is None:
        return config.width, config.height
    return size_for(aspect, config.long_edge)


def master_size(config: RenderConfig) -> tuple[int, int]:
    """The footage size covering every aspect the campaign renders (max width, max height).

    Each aspect is then a crop of it, at 1:1 pixel scale for the largest ones.
    """
    sizes = [_size(config, a) for a in config.aspects] or [(config.width, config.height)]
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def price_text(job: CreativeJob) -> str:
    """The price as shown: "from" the cheapest variant when the variants' prices differ."""
    text = format_money(job.price_minor, job.currency)
    if job.price_max_minor is not None and job.price_max_minor != job.price_minor:
        return f"from {text}"
    return text


def _facts(job: CreativeJob, brand: str) -> ProductFacts:
    compare_at = None
    varies = job.price_max_minor is not None and job.price_max_minor != job.price_minor
    # "Was X, now Y" would be false for all variants but the cheapest.
    if not varies and job.compare_at_minor is not None and job.compare_at_minor > job.price_minor:
        compare_at = format_money(job.compare_at_minor, job.currency)
    return ProductFacts(
        title=job.product_title,
        price_text=price_text(job),
        description=job.description,
        options=tuple((name, tuple(values)) for name, values in job.options),
        compare_at_text=compare_at,
        brand=brand,
    )


def _product_prompt(job: CreativeJob) -> str:
    """Title plus the first sentence of the description: what a video model should show."""
    text = " ".join((job.description or "").split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip() if text else ""
    return ". ".join(part.rstrip(".") for part in (job.product_title.strip(), first) if part)


def _motion(motions: tuple[str, ...], seed: int, index: int, count: int, cut: bool) -> str:
    """The camera move of shot ``index``: the style's moves in turn, and in a long cut
    a close-up on a detail for the middle feature shot (variety from a single photo)."""
    if cut and count >= 5 and index == count // 2:
        return "detail"
    return motions[(seed + index) % len(motions)]


def _level(job: CreativeJob, factor: str, default: str, allowed: Collection[str]) -> str:
    level = job.factors.get(factor, default)
    if level not in allowed:
        raise ValueError(f"unknown {factor} level {level!r}; expected one of {sorted(allowed)}")
    return level


def storyboard(job: CreativeJob, config: RenderConfig) -> CreativeSpec:
    """The creative spec for ``job``: shots, copy, script, size and end card."""
    hook = _level(job, "hook", "title", HOOKS)
    cta = _level(job, "cta", "shop_now", CTA_TEXT)
    style = _level(job, "style", "mixed", STYLES)
    duration = job.factors.get("duration")
    if duration is not None:
        _level(job, "duration", "", DURATIONS)
    elif config.shot_seconds is None:
        duration = DEFAULT_DURATIONS[len(job.image_paths) >= _LONG_CUT_PHOTOS]
    aspect = job.factors.get("aspect")
    if aspect is not None:
        get_aspect(aspect)  # raises for an unknown aspect
    width, height = _size(config, aspect)
    brand = config.brand
    brand_name = brand.name or job.brand_name
    facts = _facts(job, brand_name)

    if duration is None:
        assert config.shot_seconds is not None
        scenes: tuple[float, ...] = (config.shot_seconds,) * len(job.image_paths)
        end_card = config.end_card_seconds or 1.5
        has_offer = False
    else:
        scenes, end_card = DURATIONS[duration]
        has_offer = True
    motions = STYLES[style]
    # Only the diffusion engine reads text; motion shot keys (and footage) stay unchanged.
    prompt = _product_prompt(job) if config.engine == "diffusion" else ""
    shots = tuple(
        ShotSpec(
            image_path=Path(job.image_paths[index % len(job.image_paths)]),
            # Motion follows the product's seed, not the variant: variants share footage.
            motion=_motion(motions, job.seed, index, len(scenes), has_offer),
            duration_s=seconds,
            seed=job.seed + index,
            prompt=prompt,
        )
        for index, seconds in enumerate(scenes)
    )
    middle = max(0, len(shots) - 1 - (1 if has_offer else 0))
    budgets = [char_budget(seconds) for seconds in scenes]
    opening = fit_line(hook_lines(facts, hook, brand.tone), budgets[0])
    offer: list[str] = []
    # When the opening already said the price (or the sale), the offer
    # scene tells one more selling point instead of saying the price twice.
    point_for_offer = has_offer and facts.price_text.lower() in opening.lower()
    features = feature_lines(
        facts, middle + point_for_offer, budgets[1 : 1 + middle + point_for_offer]
    )
    if has_offer and len(shots) > 1:
        extra = features.pop() if point_for_offer else ""
        offer = [extra or fit_line(offer_lines(facts), budgets[len(shots) - 1])]
    lines = [opening, *features, *offer, CTA_TEXT[cta]]
    return CreativeSpec(
        title=job.product_title,
        price_text=facts.price_text,
        cta_text=CTA_TEXT[cta],
        hook=hook,
        shots=shots,
        factors=tuple(sorted(job.factors.items())),
        brand_name=brand_name,
        width=width,
        height=height,
        fps=config.fps,
        end_card_s=end_card,
        lines=tuple(lines),
        ai_label=brand.ai_label,
        price_minor=job.price_minor,
        price_max_minor=job.price_max_minor if job.price_max_minor is not None else job.price_minor,
        currency=job.currency,
        was_price_text=facts.compare_at_text or "",
        catalog_text=catalog_text(facts),
        compare_at_minor=job.compare_at_minor if facts.compare_at_text else None,
    )
