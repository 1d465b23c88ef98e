"""Flow: a whole campaign run — sync, plan, fan generation out to workers, publish, report.

With the ``generate-creatives`` deployment on a Prefect server, every batch of products is
one child flow run on the ``gpu`` pool (many workers share one campaign); without it (the
embedded server of ``make demo``) the same child flow runs in this process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from commerce.catalog.store import active_products
from commerce.publishing import image_data_uri
from experiments.campaigns import set_challenger_cap
from experiments.generations import generation_history, queue_report
from generation.plan_levels import check_levels
from reelcart.domain import CampaignPlan
from reelcart.models import Creative

from .catalog import sync_catalog
from .common import database
from .fanout import Child, deployment_exists, run_children
from .generate import (
    DEFAULT_FACTORS,
    Planned,
    campaign_config,
    generate_creatives,
    plan_generation,
)
from .publish import _slug, publish_creatives

__all__ = [
    "publish_and_report",
    "render_generation",
    "run_campaign",
    "target_products",
]


def target_products(target: dict[str, Any] | None) -> list[str] | None:
    """Ids of the active products a campaign targets (``None``: the whole catalog).

    ``target`` may name ``ids`` (product ids or handles), ``tags`` (any of them) and
    ``product_type``; the criteria given must all hold.
    """
    if not target:
        return None
    unknown = set(target) - {"ids", "tags", "product_type"}
    if unknown:
        raise ValueError(f"unknown target keys {sorted(unknown)}: use ids, tags, product_type")
    ids = set(target.get("ids") or ())
    tags = {t.lower() for t in target.get("tags") or ()}
    kind = target.get("product_type")
    with database().session() as session:
        return [
            p.id
            for p in active_products(session)
            if (not ids or p.id in ids or p.handle in ids)
            and (not tags or tags & {str(t).lower() for t in p.tags or ()})
            and (kind is None or p.product_type == kind)
        ]


@task(cache_policy=NO_CACHE)
def select_products(target: dict[str, Any] | None) -> list[str] | None:
    """The targeted products (the rest of the catalog is left alone)."""
    return target_products(target)


@task(cache_policy=NO_CACHE)
def store_cap(campaign: str, cap: int) -> None:
    """The campaign's own cap on challenger generations in a row without a winner."""
    with database().session() as session:
        set_challenger_cap(session, campaign, cap)


def _batches(queued: dict[str, list[str]], batch_size: int) -> list[list[str]]:
    products = sorted(queued)
    return [products[i : i + batch_size] for i in range(0, len(products), batch_size)]


@task(cache_policy=NO_CACHE)
def children_report(
    campaign: str, children: list[Child], queued: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One row per child: its products, the worker(s), and what each creative became."""
    rows = []
    with database().session() as session:
        titles = dict(session.execute(select(Creative.id, Creative.name)).tuples().all())
        for child in children:
            ids = [cid for pid in child.parameters["product_ids"] for cid in queued.get(pid, [])]
            claims = queue_report(session, ids)
            rendered = [cid for cid in ids if claims.get(cid) and claims[cid].status == "done"]
            failed = [cid for cid in ids if cid not in rendered]
            rows.append(
                {
                    "child": child.label,
                    "products": ", ".join(child.parameters["product_ids"]),
                    "worker": ", ".join(sorted({c.worker for c in claims.values() if c.worker})),
                    "runs": len(child.runs),
                    "state": child.final_state,
                    "rendered": len(rendered),
                    "skipped": len(child.skipped),
                    "failed": ", ".join(titles.get(cid, cid) for cid in failed),
                }
            )
    return rows


def _run_here(children: list[Child]) -> list[Child]:
    for child in children:
        state = generate_creatives(**child.parameters, return_state=True)
        child.runs.append("in-process")
        child.states.append(state.type.value)
        child.done = True
    return children


def render_generation(
    campaign: str,
    planned: Planned,
    factors: dict[str, list[str]],
    max_variants: int,
    batch_size: int = 1,
    voice: str | None = None,
) -> list[dict[str, Any]]:
    """Render what ``planned`` queued: one child run per ``batch_size`` products on the
    ``gpu`` pool (in this process when no such deployment exists); one report row each."""
    children = [
        Child(
            label=f"{_slug(campaign)}-{_slug(batch[0].rsplit('/', 1)[-1])}",
            parameters={
                "campaign": campaign,
                "product_ids": batch,
                "factors": factors,
                "max_variants": max_variants,
                **({"voice": voice} if voice else {}),
            },
            skipped=[cid for pid in batch for cid in planned.skipped.get(pid, [])],
        )
        for batch in _batches(planned.queued, max(1, batch_size))
    ]
    if children and deployment_exists():
        run_children(children)
    else:
        _run_here(children)
    return children_report(campaign, children, planned.queued)


def publish_and_report(campaign: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Publish what is left, write the artifacts, and fail loudly naming failed children."""
    published = publish_creatives(campaign=campaign)
    _report_children(campaign, rows, published)
    failed = [r for r in rows if r["failed"] or r["state"] != "COMPLETED"]
    if failed:
        names = "; ".join(
            f"{r['child']} ({r['products']}): {r['failed'] or r['state']}" for r in failed
        )
        raise RuntimeError(f"{len(failed)} of {len(rows)} child runs failed: {names}")
    return published


@flow(name="run-campaign", log_prints=True)
def run_campaign(
    campaign: str = "demo",
    source: Literal["file", "shopify"] = "file",
    catalog_path: str | None = None,
    factors: dict[str, list[str]] | None = None,
    max_variants: int = 8,
    target: dict[str, Any] | None = None,
    batch_size: int = 1,
    design: Literal["full", "half", "pairwise"] = "full",
    challenger_cap: int | None = None,
    voice: Literal["auto", "api", "festival", "espeak", "none"] | None = None,
) -> dict[str, object]:
    """Sync the catalog, render the variant matrix for the targeted products on the
    ``gpu`` workers (one child run per ``batch_size`` products), publish and report.

    ``voice`` chooses who speaks this campaign's ads (``None``: ``REELCART_VOICE``).

    ``challenger_cap`` stores the campaign's cap on challenger generations in a row
    without a winner (``None`` keeps the one it has). Fails, naming them, when any child
    could not render its creatives.
    """
    if challenger_cap is not None and challenger_cap < 0:
        raise ValueError(f"challenger_cap must be 0 or more, got {challenger_cap}")
    # The plan is checked before anything is synced or planned: no orphans from a typo.
    plan = CampaignPlan(
        factors=factors or DEFAULT_FACTORS, max_variants=max_variants, design=design
    )
    check_levels(plan.factors)
    campaign_config(plan, voice)  # an unusable voice fails here, before any work
    synced = sync_catalog(source=source, path=catalog_path)
    product_ids = select_products(target)
    planned = plan_generation(campaign, plan, product_ids)
    if challenger_cap is not None:
        store_cap(campaign, challenger_cap)
    rows = render_generation(campaign, planned, plan.factors, max_variants, batch_size, voice)
    published = publish_and_report(campaign, rows)
    return {
        "catalog": synced,
        "rendered": sum(int(r["rendered"]) for r in rows),
        "children": rows,
        **published,
    }


def _report_children(campaign: str, rows: list[dict[str, Any]], published: dict[str, str]) -> None:
    slug = _slug(campaign)
    create_table_artifact(
        key=f"{slug}-children",
        table=rows or [{"child": "(none)", "products": "nothing to render"}],
        description=f"Child generation runs of campaign {campaign}",
    )
    with database().session() as session:
        history = generation_history(session, campaign)
    lines = [
        f"- generation {g['number']} ({g['trigger']}): {g['reason']} — "
        f"{len(g['creatives'])} creatives"
        for g in history
    ]
    sheet = published.get("contact_sheet")
    picture = f"![contact sheet]({image_data_uri(Path(sheet))})\n\n" if sheet else ""
    create_markdown_artifact(
        key=f"{slug}-run",
        markdown=f"## Campaign `{campaign}`\n\n{picture}### Generations\n\n" + "\n".join(lines),
        description=f"What this run of campaign {campaign} made, and why",
    )
