"""Flow: render a campaign's queued creatives — all of them, or one batch of products.

Run by the ``generate-creatives`` deployment on the ``gpu`` pool, one flow run per batch
of products (the campaign fans out). A worker shares nothing with the parent but the
database and the media store: product images are fetched from the store, and each
creative is published to the store as soon as it is rendered. Every creative is claimed
(with a lease this run keeps renewing) before it is rendered, so a re-run renders nothing
already made, and a run whose worker died leaves claims that lapse and are taken over.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.catalog.store import active_products
from commerce.publishing import publish_creative
from experiments.campaigns import creative_job, ensure_campaign, record_render, retire_stale
from experiments.campaigns import plan_creatives as plan_variants
from experiments.generations import claim, enqueue, finish, open_generation, renew
from generation.engines.base import FootageEngine
from generation.engines.registry import get_engine
from generation.jobs import plan_render, render_job
from generation.spec import CreativeSpec
from generation.storyboard import RenderConfig, storyboard
from generation.voices import choose_voice
from reelcart import progress
from reelcart.domain import CampaignPlan, CreativeJob, CreativeStatus
from reelcart.models import Campaign, Creative, Generation, Product, RenderClaim

from .common import database, media_store, render_config, settings, worker_name
from .gpu import job_windows, prepare_footage, use_gpu_slot
from .remix import RemixSource, publish_footage, remix_engine, remix_sources

__all__ = [
    "DEFAULT_FACTORS",
    "Planned",
    "campaign_config",
    "generate_creatives",
    "lease_seconds",
    "plan_generation",
]

DEFAULT_FACTORS: dict[str, list[str]] = {"hook": ["title", "price"]}


_recording = threading.Lock()


def lease_seconds() -> float:
    """How long a claim outlives its run's last renewal (a live run renews every third).

    ``REELCART_RENDER_LEASE_SECONDS``: shorter notices a dead worker sooner.
    """
    return float(os.environ.get("REELCART_RENDER_LEASE_SECONDS", "20"))


@dataclass(frozen=True)
class Planned:
    """Creative ids by product: queued for rendering, and already published (skipped)."""

    queued: dict[str, list[str]]
    skipped: dict[str, list[str]]


def campaign_config(plan: CampaignPlan, voice: str | None = None) -> RenderConfig:
    """The render config of a campaign: its aspects and its voice (checked here, before
    any render: an unknown voice, or ``api`` without a speech API, is a clear error)."""
    config = render_config()
    config = dataclasses.replace(
        config, aspects=tuple(plan.factors.get("aspect", ())), voice=voice or config.voice
    )
    if config.brand.voiceover:
        choose_voice(config.voice, config.brand.voice, config.speech)
    return config


def _local_image(key: str) -> Path:
    return media_store().fetch(key, settings().data_dir / "media-cache")


@task(cache_policy=NO_CACHE)
def plan_generation(
    campaign: str,
    plan: CampaignPlan,
    product_ids: list[str] | None = None,
    reason: str = "the campaign's variant plan",
) -> Planned:
    """Plan the campaign's creatives for the targeted products and queue what needs rendering.

    A generation is recorded only when something new is queued, so a re-run that has
    nothing to make leaves no trace.
    """
    with database().session() as session:
        record = ensure_campaign(session, campaign, plan)
        challengers = session.scalars(
            select(RenderClaim.creative_id)
            .join(Generation, Generation.id == RenderClaim.generation_id)
            .where(Generation.campaign_id == record.id, Generation.trigger == "challengers")
        ).all()
        retire_stale(session, record, keep=set(challengers))
        products = [
            p for p in active_products(session) if product_ids is None or p.id in product_ids
        ]
        jobs = plan_variants(session, record, products, image_path=lambda key: key)
        stale: list[str] = []
        skipped: dict[str, list[str]] = {}
        for job in jobs:
            creative = session.get(Creative, job.creative_id)
            assert creative is not None
            if (
                creative.status == CreativeStatus.PUBLISHED.value
                and creative.product_version == job.product_version
            ):
                skipped.setdefault(job.product_id, []).append(job.creative_id)
            else:
                stale.append(job.creative_id)
        return Planned(_queue(session, record, stale, "plan", reason), skipped)


def _queue(
    session: Session, campaign: Campaign, creative_ids: list[str], trigger: str, reason: str
) -> dict[str, list[str]]:
    pending = [
        cid
        for cid in creative_ids
        if (row := session.get(RenderClaim, cid)) is None or row.status != "claimed"
    ]
    if not pending:
        return {}
    generation = open_generation(session, campaign, trigger, reason)
    by_product: dict[str, list[str]] = {}
    for cid in enqueue(session, generation, pending):
        creative = session.get(Creative, cid)
        assert creative is not None
        by_product.setdefault(creative.product_id, []).append(cid)
    return by_product


@task(cache_policy=NO_CACHE)
def claim_batch(
    campaign: str, product_ids: list[str], run_id: str
) -> tuple[list[CreativeJob], dict[str, RemixSource]]:
    """Claim every queued creative of ``product_ids`` for this run: their render jobs, and
    the winner's footage each challenger remixes (diffusion challengers only)."""
    worker = worker_name()
    with database().session() as session:
        record = session.scalars(select(Campaign).where(Campaign.name == campaign)).one()
        rows = session.scalars(
            select(Creative)
            .join(RenderClaim, RenderClaim.creative_id == Creative.id)
            .where(Creative.campaign_id == record.id, Creative.product_id.in_(product_ids))
            .order_by(Creative.name)
        ).all()
        claimed = [c for c in rows if claim(session, c.id, run_id, worker, lease_seconds())]
        products = {
            p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))
        }
        jobs = [creative_job(products[c.product_id], c, _local_image) for c in claimed]
        return jobs, remix_sources(session, [c.id for c in claimed])


@contextmanager
def keep_leases(run_id: str) -> Iterator[None]:
    """Renew this run's claims in the background until the block ends."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_seconds() / 3):
            with database().session() as session:
                renew(session, run_id, lease_seconds())

    thread = threading.Thread(target=beat, name="render-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _engine(config: RenderConfig, remix: RemixSource | None) -> FootageEngine:
    engine = get_engine(config.engine)
    if remix is None or config.engine != "diffusion":
        return engine

    # The winner's footage comes from the media store: the machine that rendered it may
    # be gone.
    def fetch(key: str) -> Path:
        return media_store().fetch(key, settings().data_dir / "media-cache")

    return remix_engine(engine, remix, fetch, config)


@task(cache_policy=NO_CACHE, retries=1, tags=["render"])
def render(
    job: CreativeJob,
    config: RenderConfig,
    run_id: str,
    remix: RemixSource | None = None,
    spec: CreativeSpec | None = None,
) -> str:
    """Render, record and publish one claimed creative: ``rendered`` or ``skipped``.

    ``remix``: the winner whose footage this challenger remixes (diffusion engine);
    ``spec``: the job's storyboard, when the flow drew it already.
    """
    engine = _engine(config, remix)
    planned = plan_render(job, config, engine, spec)
    with database().session() as session:
        creative = session.get(Creative, job.creative_id)
        if (
            creative is not None
            and creative.status == CreativeStatus.PUBLISHED.value
            and creative.render_hash == planned.digest
        ):
            finish(session, job.creative_id, run_id)
            progress.advance("frames", planned.spec.frame_count)
            return "skipped"
    try:
        out_dir = settings().renders_dir / job.creative_id[:6]
        outcome = render_job(
            job,
            config,
            out_dir,
            engine,
            on_frame=lambda d, t: progress.advance("frames"),
            planned=planned,
        )
        manifest = outcome.manifest
        if config.engine == "diffusion" and not outcome.skipped:
            # Its footage, for the remixes it may be asked for (by any worker, later).
            root = out_dir.parent / "footage"
            footage = publish_footage(media_store(), engine, planned.spec, config, root)
            manifest = {**manifest, "footage": footage}
        # Variants of a product share shots: one record at a time keeps the shot rows unique.
        with _recording, database().session() as session:
            record_render(
                session,
                outcome.creative_id,
                render_hash=outcome.render_hash,
                video_path=outcome.video_path,
                poster_path=outcome.poster_path,
                manifest=manifest,
                engine=config.engine,
            )
            publish_creative(session, media_store(), outcome.creative_id)
            finish(session, job.creative_id, run_id)
    except Exception as exc:
        with database().session() as session:
            finish(session, job.creative_id, run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return "rendered"


# Two renders at a time keep 2 cores busy while either waits on I/O. (Prefect's annotations
# declare TaskRunner invariant in its future type, hence the ignore.)
@flow(
    name="generate-creatives",
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
def generate_creatives(
    campaign: str = "demo",
    product_ids: list[str] | None = None,
    factors: dict[str, list[str]] | None = None,
    max_variants: int = 8,
    voice: str | None = None,
) -> dict[str, object]:
    """Render the campaign's queued creatives of ``product_ids`` (all products: plan first).

    ``voice`` is the campaign's choice of voice (see ``generation.voices``); ``None``:
    the settings' ``REELCART_VOICE``. Returns the counts and the creatives this run
    rendered; fails when any render failed.
    """
    plan = CampaignPlan(factors=factors or DEFAULT_FACTORS, max_variants=max_variants)
    config = campaign_config(plan, voice)
    if product_ids is None:
        product_ids = list(plan_generation(campaign, plan).queued)
    run_id = str(flow_run.get_id() or "local")
    jobs, remixes = claim_batch(campaign, product_ids, run_id)
    # Each storyboard drawn once: it sizes the progress bar, the GPU batches and the render.
    specs = {job.creative_id: storyboard(job, config) for job in jobs}
    # Several children of one campaign may draw on one display: each adds its frames.
    progress.add("frames", sum(spec.frame_count for spec in specs.values()))
    with keep_leases(run_id):
        engine = get_engine(config.engine)
        futures: list[PrefectFuture[str]] = []
        if hasattr(engine, "prepare"):  # diffusion: footage in GPU batches, encodes overlap
            use_gpu_slot(engine, settings())
            for window in job_windows(jobs):
                # A remix starts from the winner's footage: nothing to generate up front.
                fresh = [specs[j.creative_id] for j in window if j.creative_id not in remixes]
                prepare_footage(fresh, config)
                futures.extend(
                    render.map(
                        window,
                        config=unmapped(config),
                        run_id=unmapped(run_id),
                        remix=[remixes.get(j.creative_id) for j in window],
                        spec=[specs[j.creative_id] for j in window],
                    )
                )
        else:
            futures = list(
                render.map(
                    jobs,
                    config=unmapped(config),
                    run_id=unmapped(run_id),
                    spec=[specs[j.creative_id] for j in jobs],
                )
            )
        for future in futures:
            future.wait()
        results = [f.state for f in futures]
    outcomes = {
        job.creative_id: r.result() if r.is_completed() else "failed"
        for job, r in zip(jobs, results, strict=True)
    }
    failed = [job.name for job in jobs if outcomes[job.creative_id] == "failed"]
    summary: dict[str, object] = {
        "worker": worker_name(),
        "products": product_ids,
        "rendered": [cid for cid, o in outcomes.items() if o == "rendered"],
        "skipped": sum(o == "skipped" for o in outcomes.values()),
        "failed": failed,
    }
    if failed:
        raise RuntimeError(f"{len(failed)} creative(s) failed to render: {', '.join(failed)}")
    return summary
