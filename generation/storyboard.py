"""From a creative job (catalog facts + factor levels) to the spec the renderer draws.

Copy comes only from the catalog: the title and the price exactly as the catalog holds it.
Factors pick among fixed, honest templates; nothing here invents a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reelcart.domain import CreativeJob
from reelcart.money import format_money

from .spec import CreativeSpec, ShotSpec

__all__ = ["CTA_TEXT", "HOOKS", "MOTIONS", "RenderConfig", "storyboard"]

HOOKS = ("title", "price")
CTA_TEXT = {
    "shop_now": "Shop now",
    "buy_in_chat": "Buy it right here in chat",
    "see_options": "See colours and sizes",
}
MOTIONS = ("push_in", "pan_left", "pull_out", "pan_right")


@dataclass(frozen=True)
class RenderConfig:
    """How big, how fast and how long creatives are rendered, and by which engine."""

    width: int = 1080
    height: int = 1920
    fps: int = 30
    shot_seconds: float = 2.5
    end_card_seconds: float = 1.5
    engine: str = "motion"


def storyboard(job: CreativeJob, config: RenderConfig) -> CreativeSpec:
    """The creative spec for ``job``: one shot per product photo, then the CTA end card."""
    hook = job.factors.get("hook", "title")
    cta = job.factors.get("cta", "shop_now")
    if hook not in HOOKS:
        raise ValueError(f"unknown hook level {hook!r}; expected one of {HOOKS}")
    if cta not in CTA_TEXT:
        raise ValueError(f"unknown cta level {cta!r}; expected one of {sorted(CTA_TEXT)}")
    shots = tuple(
        ShotSpec(
            image_path=Path(path),
            # Motion follows the product's seed, not the variant: variants share footage.
            motion=MOTIONS[(job.seed + index) % len(MOTIONS)],
            duration_s=config.shot_seconds,
            seed=job.seed + index,
        )
        for index, path in enumerate(job.image_paths)
    )
    return CreativeSpec(
        title=job.product_title,
        price_text=format_money(job.price_minor, job.currency),
        cta_text=CTA_TEXT[cta],
        hook=hook,
        shots=shots,
        factors=tuple(sorted(job.factors.items())),
        brand_name=job.brand_name,
        width=config.width,
        height=config.height,
        fps=config.fps,
        end_card_s=config.end_card_seconds,
    )
