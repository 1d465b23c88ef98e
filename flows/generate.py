"""Flow: plan a campaign's creatives and render the ones not rendered yet."""

from __future__ import annotations

import dataclasses

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from commerce.catalog import active_products
from experiments.campaigns import ensure_campaign, plan_creatives, record_render, retire_stale
from generation.engines.registry import get_engine
from generation.jobs import RenderOutcome, expected_frames, render_job
from generation.storyboard import RenderConfig
from reelcart import progress
from reelcart.domain import CampaignPlan, CreativeJob

from .common import database, media_store, render_config, settings
from .gpu import job_windows, prepare_footage, use_gpu_slot

__all__ = ["DEFAULT_FACTORS", "generate_creatives"]

DEFAULT_FACTORS: dict[str, list[str]] = {"hook": ["title", "price"]}


@task(cache_policy=NO_CACHE)
def plan_campaign(campaign: str, plan: CampaignPlan) -> list[CreativeJob]:
    """Plan the campaign's creatives (one per product and variant; stale ones retired)."""
    store = media_store()

    def image_path(key: str) -> object:
        local = store.local_path(key)
        if local is None:
            raise RuntimeError("rendering needs the media store on local disk")
        return local

    with database().session() as session:
        record = ensure_campaign(session, campaign, plan)
        retire_stale(session, record)
        return plan_creatives(session, record, active_products(session), image_path)


@task(cache_policy=NO_CACHE, retries=1, tags=["render"])
def render(job: CreativeJob, config: RenderConfig) -> RenderOutcome:
    """Render one creative (skipped when an identical render exists)."""
    out_dir = settings().renders_dir / job.creative_id[:6]
    outcome = render_job(
        job,
        config,
        out_dir,
        get_engine(config.engine),
        on_frame=lambda done, total: progress.advance("frames"),
    )
    if outcome.skipped:
        progress.advance("frames", expected_frames(job, config))
    return outcome


@task(cache_policy=NO_CACHE)
def record(outcome: RenderOutcome, engine: str) -> None:
    """Store the render's files, manifest and shots on its creative."""
    if outcome.skipped:
        return
    with database().session() as session:
        record_render(
            session,
            outcome.creative_id,
            render_hash=outcome.render_hash,
            video_path=outcome.video_path,
            poster_path=outcome.poster_path,
            manifest=outcome.manifest,
            engine=engine,
        )


# Two renders at a time keep 2 cores busy while either waits on I/O. (Prefect's annotations
# declare TaskRunner invariant in its future type, hence the ignore.)
@flow(
    name="generate-creatives",
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
def generate_creatives(
    campaign: str = "demo",
    factors: dict[str, list[str]] | None = None,
    max_variants: int = 8,
) -> list[str]:
    """Render every creative the campaign plan calls for; returns the rendered ids."""
    plan = CampaignPlan(factors=factors or DEFAULT_FACTORS, max_variants=max_variants)
    # Footage is generated once per shot at a size covering every aspect of the plan.
    config = dataclasses.replace(render_config(), aspects=tuple(plan.factors.get("aspect", ())))
    jobs = plan_campaign(campaign, plan)
    progress.start("frames", sum(expected_frames(job, config) for job in jobs))
    # --- diffusion engine: footage generated in GPU batches, renders encode meanwhile ---
    engine = get_engine(config.engine)
    if hasattr(engine, "prepare"):
        use_gpu_slot(engine, settings())
        futures: list[PrefectFuture[RenderOutcome]] = []
        for window in job_windows(jobs):
            prepare_footage(window, config)
            futures.extend(render.map(window, config=unmapped(config)))
        outcomes = [future.result() for future in futures]
    else:
        outcomes = render.map(jobs, config=unmapped(config)).result()
    # --- end diffusion engine ---
    for outcome in outcomes:
        record(outcome, config.engine)
    return [o.creative_id for o in outcomes if not o.skipped]
