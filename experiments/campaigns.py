"""Campaigns: the creatives a campaign plans per product, and what happened to each."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from reelcart.domain import CampaignPlan, CreativeJob, CreativeStatus
from reelcart.models import (
    Campaign,
    Creative,
    CreativeShot,
    Product,
    ProductImage,
    ProductVariant,
    Shot,
    utcnow,
)

__all__ = [
    "campaign_creatives",
    "creative_id_for",
    "creative_job",
    "ensure_campaign",
    "mark_published",
    "plan_creatives",
    "record_render",
    "retire_stale",
    "set_challenger_cap",
]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def creative_id_for(campaign_id: str, product_id: str, variant_key: str) -> str:
    """Stable id: planning the same variant again finds the same creative."""
    return "crv_" + _digest(campaign_id, product_id, variant_key)[:20]


def ensure_campaign(session: Session, name: str, plan: CampaignPlan) -> Campaign:
    """The campaign called ``name``, created on first use; its plan is updated to ``plan``."""
    campaign = session.scalars(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        campaign = Campaign(name=name, plan=plan.model_dump())
        session.add(campaign)
    elif campaign.plan != plan.model_dump():
        campaign.plan = plan.model_dump()
    session.flush()
    return campaign


def set_challenger_cap(session: Session, name: str, cap: int | None) -> Campaign:
    """Store the campaign's cap: challenger generations in a row without a winner before
    its loop stops (``None``: the default of the run that grows it)."""
    if cap is not None and cap < 0:
        raise ValueError(f"the challenger cap must be 0 or more, got {cap}")
    campaign = session.scalars(select(Campaign).where(Campaign.name == name)).one()
    campaign.challenger_cap = cap
    session.flush()
    return campaign


def _name(product: Product, factors: dict[str, str], plan: CampaignPlan | None = None) -> str:
    """``handle__hook-price__aspect-9x16``: the factors that vary in the plan, file-safe."""
    shown = {
        k: v for k, v in factors.items() if plan is None or len(plan.factors.get(k, [])) > 1
    } or factors
    parts = "__".join(f"{k}-{v}".replace(":", "x") for k, v in sorted(shown.items()))
    return f"{product.handle[: max(8, 126 - len(parts))]}__{parts}"[:128]


def plan_creatives(
    session: Session,
    campaign: Campaign,
    products: Sequence[Product],
    image_path: Any,
    variants: Sequence[dict[str, str]] | None = None,
) -> list[CreativeJob]:
    """One creative per product per variant of the plan (or of ``variants``); a job for each.

    ``image_path(media_key) -> Path`` turns a stored image into a local file for the
    renderer. Products without images are skipped (there is nothing to show).
    """
    plan = CampaignPlan.model_validate(campaign.plan)
    existing = {
        c.id: c
        for c in session.scalars(select(Creative).where(Creative.campaign_id == campaign.id))
    }
    jobs: list[CreativeJob] = []
    for product in products:
        # Nothing to show, or nothing a shopper could buy: no ad.
        if not product.images or not any(v.purchasable for v in product.variants):
            continue
        for factors in plan.variants() if variants is None else variants:
            key = CampaignPlan.variant_key(factors)
            creative_id = creative_id_for(campaign.id, product.id, key)
            creative = existing.get(creative_id)
            if creative is None:
                creative = Creative(
                    id=creative_id,
                    campaign_id=campaign.id,
                    product_id=product.id,
                    variant_key=key,
                    name=_name(product, factors, plan),
                    factors=factors,
                    seed=int(_digest(creative_id)[:8], 16),
                    status=CreativeStatus.PLANNED.value,
                )
                session.add(creative)
            jobs.append(creative_job(product, creative, image_path))
    session.flush()
    return jobs


def _option_values(variant: ProductVariant) -> set[tuple[str, str]]:
    return {
        (str(o["name"]), str(o["value"]))
        for o in variant.selected_options or []
        if isinstance(o, dict) and "name" in o and "value" in o
    }


def _on_sale_options(product: Product, selling: Sequence[ProductVariant]) -> list[Any]:
    """The product's options with only the values some purchasable variant has.

    A variant without ``selected_options`` says nothing of its values: the options
    stay as the catalog lists them.
    """
    if not all(v.selected_options for v in product.variants):
        return list(product.options or [])
    wanted = set().union(*(_option_values(v) for v in selling))
    kept = []
    for option in product.options or []:
        if not isinstance(option, dict) or not option.get("name"):
            continue
        name = str(option["name"])
        values = [str(v) for v in option.get("values", []) if (name, str(v)) in wanted]
        if values:
            kept.append({**option, "values": values})
    return kept


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _on_sale_images(product: Product, selling: Sequence[ProductVariant]) -> list[ProductImage]:
    """The product's photos without those of sold-out variants only.

    A photo whose alt text names an option value no purchasable variant has (the Slate
    mug when Slate is sold out), and none that one has, shows what cannot be bought.
    Photos without alt text are kept: nothing says what they show. Never all photos
    are dropped (an ad needs a picture); then the unnamed ones come first.
    """
    selling_values = set().union(*(_option_values(v) for v in selling))
    gone = set().union(*(_option_values(v) for v in product.variants)) - selling_values
    gone_words = {w for _, value in gone for w in [" ".join(sorted(_words(value)))] if w}
    kept_words = {" ".join(sorted(_words(value))) for _, value in selling_values}

    def names(image: ProductImage, values: set[str]) -> bool:
        alt = " ".join(re.findall(r"[a-z0-9]+", (image.alt_text or "").lower()))
        return any(re.search(rf"\b{re.escape(v)}\b", alt) for v in values if v)

    kept = [i for i in product.images if not names(i, gone_words) or names(i, kept_words)]
    return kept or list(product.images)


def creative_job(product: Product, creative: Creative, image_path: Any) -> CreativeJob:
    """The render job of one creative of ``product`` (images made local by ``image_path``).

    Only purchasable variants (for sale and in stock) are advertised: their prices,
    their option values and their photos; a sold-out variant is never shown or named.
    """
    selling = [v for v in product.variants if v.purchasable] or list(product.variants)
    cheapest = min(selling, key=lambda v: v.price_minor)
    price = cheapest.price_minor
    return CreativeJob(
        creative_id=creative.id,
        name=creative.name,
        product_id=product.id,
        product_title=product.title,
        price_minor=price,
        price_max_minor=max(v.price_minor for v in selling),
        currency=product.currency,
        brand_name=product.brand_name,
        image_paths=tuple(
            str(image_path(i.media_key)) for i in _on_sale_images(product, selling)[:2]
        ),
        factors=dict(creative.factors),
        # Footage depends on the product, not the variant: variants share shots.
        seed=int(_digest(product.id, product.content_hash)[:8], 16),
        description=product.description_html or "",
        options=tuple(
            (str(o["name"]), tuple(str(v) for v in o.get("values", [])))
            for o in _on_sale_options(product, selling)
            if isinstance(o, dict) and o.get("name")
        ),
        compare_at_minor=cheapest.compare_at_minor,
        product_version=product.content_hash,
        rendered_hash=creative.render_hash,
        video_path=creative.video_path,
        poster_path=creative.poster_path,
    )


def record_render(
    session: Session,
    creative_id: str,
    *,
    render_hash: str,
    video_path: Path,
    poster_path: Path,
    manifest: dict[str, Any],
    engine: str,
) -> Creative:
    """Store a finished render, and the distinct shots it used, on the creative."""
    creative = session.get(Creative, creative_id, options=[selectinload(Creative.product)])
    if creative is None:
        raise LookupError(f"no creative {creative_id}")
    if creative.render_hash != render_hash:
        creative.status = CreativeStatus.RENDERED.value
        creative.published_at = None
    creative.render_hash = render_hash
    creative.product_version = creative.product.content_hash
    creative.video_path = str(video_path)
    creative.poster_path = str(poster_path)
    creative.manifest = manifest
    creative.duration_s = float(manifest["duration_s"])
    creative.width = int(manifest["width"])
    creative.height = int(manifest["height"])
    creative.rendered_at = creative.rendered_at or utcnow()
    creative.shots.clear()
    session.flush()
    for position, shot in enumerate(manifest.get("shots", [])):
        row = session.scalars(select(Shot).where(Shot.key == shot["key"])).first()
        if row is None:
            row = Shot(key=shot["key"], product_id=creative.product_id, engine=engine, spec=shot)
            session.add(row)
            session.flush()
        creative.shots.append(CreativeShot(position=position, shot_id=row.id))
    session.flush()
    return creative


def mark_published(session: Session, creative_id: str, video_key: str, poster_key: str) -> None:
    """Record where a creative's files now live in the media store."""
    creative = session.get(Creative, creative_id)
    if creative is None:
        raise LookupError(f"no creative {creative_id}")
    creative.video_key = video_key
    creative.poster_key = poster_key
    creative.status = CreativeStatus.PUBLISHED.value
    creative.published_at = creative.published_at or utcnow()


def retire_stale(session: Session, campaign: Campaign, keep: Collection[str] = ()) -> list[str]:
    """Retire creatives whose product left the catalog or whose variant left the plan.

    ``keep`` names creatives outside the plan that stay (challengers remixed from a winner).
    """
    plan_keys = {
        CampaignPlan.variant_key(f) for f in CampaignPlan.model_validate(campaign.plan).variants()
    }
    retired = []
    creatives = session.scalars(
        select(Creative)
        .where(Creative.campaign_id == campaign.id, Creative.status != CreativeStatus.RETIRED.value)
        .options(selectinload(Creative.product))
    )
    for creative in creatives:
        if creative.product.status != "ACTIVE" or (
            creative.variant_key not in plan_keys and creative.id not in keep
        ):
            creative.status = CreativeStatus.RETIRED.value
            retired.append(creative.id)
    return retired


def campaign_creatives(session: Session, campaign_name: str) -> list[Creative]:
    """The campaign's live (published) creatives with their products, by name."""
    return list(
        session.scalars(
            select(Creative)
            .join(Campaign)
            .where(
                Campaign.name == campaign_name,
                Creative.status == CreativeStatus.PUBLISHED.value,
            )
            .options(selectinload(Creative.product))
            .order_by(Creative.name)
        )
    )
