"""Campaigns on a real Prefect deployment shared by workers, as a merchant runs them.

One real ``prefect server`` (on PostgreSQL), the deployments of ``prefect.yaml``, a
``default`` worker for the parent and two ``gpu`` workers with separate data directories;
the app database on PostgreSQL and the media store on an S3 server on loopback. What the
tests assert is read from the other sides' own records: the Prefect server's flow runs,
the database rows, the objects in the bucket, and the videos decoded with PyAV.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path
from typing import Any

import av
import pytest
import s3fs
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from reelcart.models import Campaign, Creative, RenderClaim
from tests.factories import make_product, write_catalog

from .stack_fixture import BUCKET, Stack, stack

__all__ = ["stack"]

pytestmark = pytest.mark.xdist_group("prefect-stack")


def _run(stack: Stack, deployment: str, parameters: dict[str, Any], timeout: float) -> FlowRun:
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        run = run_deployment(deployment, parameters=parameters, timeout=timeout, poll_interval=1)
    assert isinstance(run, FlowRun)
    return run


def _children(stack: Stack, parent: FlowRun) -> list[FlowRun]:
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=["generate-creatives"])
                ),
            )


def _creatives(stack: Stack, campaign: str) -> list[tuple[Creative, RenderClaim | None]]:
    db = stack.database()
    with db.session() as session:
        rows = session.execute(
            select(Creative, RenderClaim)
            .join(Campaign)
            .outerjoin(RenderClaim, RenderClaim.creative_id == Creative.id)
            .where(Campaign.name == campaign)
            .order_by(Creative.name)
        ).all()
        session.expunge_all()
    db.dispose()
    return [(c, r) for c, r in rows]


def _decode(fs: s3fs.S3FileSystem, key: str) -> int:
    """Frames PyAV decodes from the MP4 as stored in the bucket."""
    with av.open(io.BytesIO(fs.cat_file(f"{BUCKET}/reelcart/{key}"))) as container:
        return sum(1 for _ in container.decode(video=0))


def _catalog(folder: Path, numbers: range, tags: dict[int, list[str]] | None = None) -> Path:
    return write_catalog(
        folder, [make_product(n, price=f"{10 + n}.00", tags=(tags or {}).get(n)) for n in numbers]
    )


def test_campaign_fans_out_over_two_workers_through_s3(stack: Stack, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path / "store", range(1, 5))
    parameters = {"campaign": "fanout", "catalog_path": str(catalog), "max_variants": 2}
    run = _run(stack, "run-campaign/campaign", parameters, timeout=240)
    assert run.state is not None and run.state.is_completed(), run.state

    rows = _creatives(stack, "fanout")
    assert len(rows) == 4 * 2  # 4 products x hook {title, price}
    assert all(c.status == "published" for c, _ in rows)
    # Every creative was claimed and rendered exactly once, by one of the two workers.
    assert all(claim is not None and claim.status == "done" for _, claim in rows)
    assert all(claim.attempts == 1 for _, claim in rows if claim)
    by_worker = Counter(claim.worker for _, claim in rows if claim)
    assert set(by_worker) == {"w1", "w2"}, by_worker
    # Each worker rendered into its own data directory, and nowhere else.
    for worker, count in by_worker.items():
        assert len(list((stack.data_dir(worker) / "renders").rglob("*.mp4"))) == count
    assert not (stack.data_dir("parent") / "renders").exists()

    fs = s3fs.S3FileSystem(endpoint_url=stack.s3_endpoint)
    campaign_id = rows[0][0].campaign_id
    stored = fs.find(f"{BUCKET}/reelcart/creatives/{campaign_id}")
    assert sorted(p.rsplit("/", 1)[-1] for p in stored if p.endswith(".mp4")) == sorted(
        f"{c.id}.mp4" for c, _ in rows
    )
    for creative, _ in rows:
        assert creative.video_key is not None
        assert _decode(fs, creative.video_key) == creative.manifest["frame_count"]


def test_a_schedule_fires_on_the_real_server(stack: Stack) -> None:
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        with get_client(sync_client=True) as client:
            flow_id = client.read_deployment_by_name("sync-catalog/nightly-catalog-sync").flow_id
            pool = "default"
            deployment_id = client.create_deployment(
                flow_id=flow_id,
                name="every-few-seconds",
                entrypoint="flows/catalog.py:sync_catalog",
                work_pool_name=pool,
                path=str(Path(__file__).resolve().parents[2]),
                schedules=[],
                parameters={"source": "file"},
            )
            client.create_deployment_schedules(
                deployment_id, [(IntervalSchedule(interval=5), True)]
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id={"any_": [deployment_id]})  # type: ignore[arg-type]
                )
                if any(r.auto_scheduled for r in runs):
                    break
                time.sleep(1)
            client.delete_deployment(deployment_id)
    assert any(r.auto_scheduled for r in runs), "the scheduler created no run in 60 s"
