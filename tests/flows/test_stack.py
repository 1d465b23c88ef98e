"""Campaigns on a real Prefect deployment shared by workers, as a merchant runs them.

One real ``prefect server`` (on PostgreSQL), the deployments of ``prefect.yaml``, a
``default`` worker for the parent and two ``gpu`` workers with separate data directories;
the app database on PostgreSQL and the media store on an S3 server on loopback. What the
tests assert is read from the other sides' own records: the Prefect server's flow runs,
the database rows, the objects in the bucket, and the videos decoded with PyAV.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
import s3fs
from mcp import Client
from prefect import get_client
from prefect.artifacts import Artifact
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    DeploymentFilterName,
)
from prefect.client.schemas.objects import Artifact as ArtifactResponse
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from app.mcp.server import build_mcp_server
from app.simulator import ShopperRun, run_shoppers
from connectors.storage import MediaStore
from experiments.allocation import current_weights
from experiments.decisions import DecisionRule
from experiments.generations import generation_history
from reelcart.models import Campaign, Creative, ExperimentDecision, Generation, RenderClaim
from tests.factories import make_product, write_catalog

from .stack_fixture import BUCKET, Stack, kill_machine

pytestmark = pytest.mark.xdist_group("prefect-stack")

LOOP_FACTORS = {"cta": ["shop_now", "buy_in_chat"], "hook": ["title", "price"]}


def _run(stack: Stack, deployment: str, parameters: dict[str, Any], timeout: float) -> FlowRun:
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        run = run_deployment(deployment, parameters=parameters, timeout=timeout, poll_interval=1)
    assert isinstance(run, FlowRun)
    return run


def _children(stack: Stack) -> list[FlowRun]:
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):
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
        return len(list(container.decode(video=0)))  # type: ignore[union-attr]


def _catalog(folder: Path, numbers: range, tags: dict[int, list[str]] | None = None) -> Path:
    return write_catalog(
        folder, [make_product(n, price=f"{10 + n}.00", tags=(tags or {}).get(n)) for n in numbers]
    )


def _check_fanout(stack: Stack, run: FlowRun) -> None:
    """What the two-worker campaign must have left, read before any later test adds to it."""
    assert run.state is not None and run.state.is_completed(), run.state

    rows = _creatives(stack, "fanout")
    assert len(rows) == 2 * 2  # 2 products x hook {title, price}
    assert all(c.status == "published" for c, _ in rows)
    # Every creative was claimed and rendered exactly once, by one of the two workers.
    assert all(claim is not None and claim.status == "done" for _, claim in rows)
    assert all(claim.attempts == 1 for _, claim in rows if claim)
    by_worker = Counter(claim.worker for _, claim in rows if claim)
    assert set(by_worker) == {"w1", "w2"}, by_worker
    # Each worker rendered into its own data directory, and nowhere else.
    for worker, count in by_worker.items():
        assert worker is not None
        assert len(list((stack.data_dir(worker) / "renders").rglob("*.mp4"))) == count
    assert not (stack.data_dir("parent") / "renders").exists()

    # The parent's artifact names every child with its worker and what it did.
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        table = Artifact.get("fanout-children")
    assert isinstance(table, ArtifactResponse)
    children = json.loads(str(table.data))
    assert sorted((r["worker"], r["rendered"], r["failed"]) for r in children) == [
        ("w1", 2, ""),
        ("w2", 2, ""),
    ]

    fs = s3fs.S3FileSystem(endpoint_url=stack.s3_endpoint)
    campaign_id = rows[0][0].campaign_id
    stored = fs.find(f"{BUCKET}/reelcart/creatives/{campaign_id}")
    assert sorted(p.rsplit("/", 1)[-1] for p in stored if p.endswith(".mp4")) == sorted(
        f"{c.name}.mp4" for c, _ in rows
    )
    for creative, _ in rows:
        assert creative.video_key is not None
        assert _decode(fs, creative.video_key) == creative.manifest["frame_count"]


@pytest.fixture(scope="module")
def fanout(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> FlowRun:
    """The campaign deployment run once over two products; later tests read what it left,
    whichever order the tests run in."""
    catalog = _catalog(tmp_path_factory.mktemp("store"), range(1, 3))
    parameters = {
        "campaign": "fanout",
        "catalog_path": str(catalog),
        "factors": LOOP_FACTORS,
        "max_variants": 2,  # cta=shop_now x hook {title, price}; cta=buy_in_chat is held back
        "batch_size": 1,
        "challenger_cap": 1,  # stored on the campaign: one round without a winner, then stop
    }
    began = time.monotonic()
    run = _run(stack, "run-campaign/campaign", parameters, timeout=240)
    print(f"campaign of 2 products on 2 workers: {time.monotonic() - began:.1f} s")
    _check_fanout(stack, run)
    return run


def test_campaign_fans_out_over_two_workers_through_s3(stack: Stack, fanout: FlowRun) -> None:
    # ``fanout`` ran the deployment and checked every creative, claim, render and artifact.
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):  # deployed from prefect.yaml: workers run the flows from this checkout
        child = client.read_deployment_by_name("generate-creatives/generate-creatives")
    root = str(Path(__file__).resolve().parents[2])
    assert child.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": root}}
    ]


def test_the_contact_sheet_shows_in_the_prefect_ui_with_no_reelcart_server(
    stack: Stack, fanout: FlowRun, tmp_path: Path
) -> None:
    """The parent's artifact embeds its picture: headless Chromium renders it from the
    Prefect UI alone (no ``reelcart serve``, no media server reachable from the page)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from tests.experiments.cdp import chromium, open_tab

    ui = stack.api_url.removesuffix("/api")
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        artifact = Artifact.get("fanout-run")
    assert isinstance(artifact, ArtifactResponse)
    assert "data:image/jpeg;base64," in str(artifact.data)

    async def look(port: int) -> dict[str, Any]:
        async with open_tab(port, {}) as tab:
            await tab.goto(f"{ui}/artifacts/artifact/{artifact.id}")
            deadline = time.monotonic() + 60
            found: dict[str, Any] = {}
            while time.monotonic() < deadline:
                found = json.loads(
                    await tab.evaluate(
                        "JSON.stringify([...document.images]"
                        ".filter(i => i.src.startsWith('data:image/jpeg'))"
                        ".map(i => ({ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth}))"
                        "[0] || {})"
                    )
                )
                if found.get("ok"):
                    break
                await asyncio.sleep(0.5)
            # What a person sees, kept beside the other pictures: the run's card, then the
            # artifacts list (one card per campaign report, none per creative).
            pictures = Path(__file__).resolve().parents[2] / ".reelcart" / "test-artifacts"
            pictures.mkdir(parents=True, exist_ok=True)
            await tab.screenshot(pictures / "prefect-ui-run-artifact.png")
            await tab.goto(f"{ui}/artifacts")
            listed: list[str] = []
            while time.monotonic() < deadline and not listed:
                listed = json.loads(
                    await tab.evaluate(
                        "JSON.stringify([...document.querySelectorAll('a[href*=\"/artifacts/key/\"]')]"
                        ".map(a => a.innerText.trim()))"
                    )
                )
                await asyncio.sleep(0.5)
            await tab.screenshot(pictures / "prefect-ui-artifacts.png")
            return {**found, "listed": listed}

    with chromium(browser, tmp_path / "chromium") as port:
        found = asyncio.run(look(port))
    assert found.get("ok") and found["w"] > 100, found
    assert found["listed"] and not [k for k in found["listed"] if k.startswith("qa-")], found


async def _shop(stack: Stack, shoppers: int, seed: int, rule: DecisionRule) -> ShopperRun:
    db = stack.database()
    store = MediaStore(stack.media_url, "http://127.0.0.1:8787")
    try:
        rates = {"hook": {"price": 0.45, "title": 0.02}}
        server = build_mcp_server(db, store)
        return await run_shoppers(
            db, server, "fanout", shoppers, rates, seed=seed, evaluate_every=10**6, rule=rule
        )
    finally:
        db.dispose()


async def _shown(stack: Stack, product_id: str, shoppers: int) -> Counter[str]:
    """Which creative each later shopper is shown, through the MCP server."""
    db = stack.database()
    store = MediaStore(stack.media_url, "http://127.0.0.1:8787")
    shown: Counter[str] = Counter()
    try:
        async with Client(build_mcp_server(db, store)) as client:
            for i in range(shoppers):
                result = await client.call_tool(
                    "get_product", {"product_id": product_id, "shopper_id": f"late-{i}"}
                )
                shown[(result.structured_content or {})["creative"]["creative_id"]] += 1
    finally:
        db.dispose()
    return shown


def test_the_loop_closes_by_itself_and_the_cap_holds(stack: Stack, fanout: FlowRun) -> None:
    """Shoppers through MCP -> an evaluation on the server declares winners -> the automation
    renders their challengers once on the gpu pool -> later shoppers are shown them."""
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):  # the deployment's default cap is 3: the campaign's own cap of 1 is what holds
        grow = client.read_deployment_by_name("grow-campaigns/grow-campaigns")
        assert grow.parameters["max_rounds"] == 3
    # Evidence, but no verdict in-process: the verdict comes from the deployed evaluation.
    asyncio.run(_shop(stack, 500, seed=1, rule=DecisionRule(min_units=10**6)))
    evaluation = _run(
        stack,
        "evaluate-campaign/evaluate-campaign-hourly",
        {"campaign": "fanout", "min_units": 60},
        timeout=180,
    )
    assert evaluation.state is not None and evaluation.state.is_completed(), evaluation.state
    db = stack.database()
    with db.session() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.name == "fanout")).one()
        asked = session.scalars(
            select(ExperimentDecision).where(
                ExperimentDecision.campaign_id == campaign.id,
                ExperimentDecision.kind == "challengers",
            )
        ).all()
        assert len(asked) == 2, "expected winners (with challengers) on both products"
    # Nobody starts anything: the automation on the evaluation's completion does.
    deadline = time.monotonic() + 240
    grown: list[FlowRun] = []
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):
        only_grow = DeploymentFilter(id=DeploymentFilterId(any_=[grow.id]))
        while time.monotonic() < deadline:
            grown = client.read_flow_runs(deployment_filter=only_grow)
            if any(r.state.is_final() for r in grown if r.state):
                break
            time.sleep(1)
    assert [r.state_type for r in grown] == [StateType.COMPLETED], grown

    with db.session() as session:
        history = generation_history(session, "fanout")
        assert [g["trigger"] for g in history][:2] == ["plan", "challengers"]
        assert [g["trigger"] for g in history[2:]] == ["capped"]  # the cap of 1 holds
        assert history[2]["detail"] == {"cap": 1, "rounds_without_a_win": 1}
        # The motion engine remixes factors only: no footage source is recorded.
        assert "footage" not in history[1]["detail"]
        cap = select(Campaign.challenger_cap).where(Campaign.name == "fanout")
        assert session.scalars(cap).one() == 1
        challengers = session.scalars(
            select(Creative)
            .join(RenderClaim, RenderClaim.creative_id == Creative.id)
            .join(Generation, Generation.id == RenderClaim.generation_id)
            .where(Generation.trigger == "challengers")
        ).all()
        assert len(challengers) == 1
        challenger = challengers[0]
        claim = session.get(RenderClaim, challenger.id)
        assert claim is not None and (claim.status, claim.attempts) == ("done", 1)
        assert challenger.status == "published"
        # One factor changed from the winner (hook=price won; cta is remixed).
        assert challenger.factors == {"cta": "buy_in_chat", "hook": "price"}
        weights = current_weights(session, challenger.product_id)
        assert weights is not None and weights[challenger.id] == pytest.approx(0.05)
        product_id = challenger.product_id
        challenger_id = challenger.id
    db.dispose()
    shown = asyncio.run(_shown(stack, product_id, 200))
    assert 0 < shown[challenger_id] < 40, shown  # about 5% of 200 later shoppers


def _manifests(stack: Stack, workers: list[str]) -> Counter[str]:
    """Finished renders on the workers' disks: the manifest is written when a render ends."""
    found: Counter[str] = Counter()
    for worker in workers:
        for path in (stack.data_dir(worker) / "renders").rglob("*.json"):
            found[json.loads(path.read_text())["creative_id"]] += 1
    return found


def test_a_worker_killed_mid_campaign_leaves_nothing_twice_or_missing(
    stack: Stack, tmp_path: Path
) -> None:
    catalog = _catalog(tmp_path / "store", range(11, 13))
    parameters = {
        "campaign": "survivor",
        "catalog_path": str(catalog),
        "max_variants": 2,
        "batch_size": 1,
    }
    killed: list[str] = []

    def kill_the_first_worker_seen_rendering() -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not killed:
            for _, claim in _creatives(stack, "survivor"):
                if claim is not None and claim.status == "claimed" and claim.worker:
                    kill_machine(stack.workers[claim.worker])
                    killed.append(claim.worker)
                    stack.start_worker("w3")  # a fresh machine joins the pool
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_first_worker_seen_rendering)
    killer.start()
    run = _run(stack, "run-campaign/campaign", parameters, timeout=300)
    killer.join()
    assert killed, "no worker was seen rendering"
    assert run.state is not None and run.state.is_completed(), run.state

    rows = _creatives(stack, "survivor")
    assert len(rows) == 2 * 2
    assert all(c.status == "published" for c, _ in rows)
    assert all(claim is not None and claim.status == "done" for _, claim in rows)
    # Taken over: some creative the dead worker held was finished by another worker.
    assert any(claim.attempts == 2 for _, claim in rows if claim)
    # Every creative was rendered to the end exactly once, across every worker's disk.
    finished = _manifests(stack, ["w1", "w2", "w3"])
    assert {c.id: finished[c.id] for c, _ in rows} == {c.id: 1 for c, _ in rows}
    fs = s3fs.S3FileSystem(endpoint_url=stack.s3_endpoint)
    stored = fs.find(f"{BUCKET}/reelcart/creatives/{rows[0][0].campaign_id}")
    assert sorted(p.rsplit("/", 1)[-1] for p in stored if p.endswith(".mp4")) == sorted(
        f"{c.name}.mp4" for c, _ in rows
    )
    for creative, _ in rows:
        assert _decode(fs, creative.video_key or "") == creative.manifest["frame_count"]
    # The Prefect server's own record: the dead child crashed and was tried again.
    states = Counter(
        (r.name.rsplit("-", 1)[-1], r.state_type.value if r.state_type else None)
        for r in _children(stack)
        if r.name.startswith("survivor-")
    )
    assert states[("try1", "CRASHED")] == 1, states
    assert states[("try2", "COMPLETED")] == 1, states


def test_a_schedule_fires_on_the_real_server(stack: Stack, tmp_path: Path) -> None:
    """An interval of seconds: the server's scheduler creates runs, a worker completes one."""
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):
        flow_id = client.read_deployment_by_name("sync-catalog/nightly-catalog-sync").flow_id
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name="every-few-seconds",
            entrypoint="flows/catalog.py:sync_catalog",
            work_pool_name="default",
            path=str(Path(__file__).resolve().parents[2]),
            parameters={"source": "file", "path": str(_catalog(tmp_path, range(90, 91)))},
            concurrency_limit=1,  # one run at a time, however many the schedule makes
        )
        every_5s: list[tuple[Any, bool]] = [(IntervalSchedule(interval=timedelta(seconds=5)), True)]
        client.create_deployment_schedules(deployment_id, every_5s)
        only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        deadline = time.monotonic() + 150
        runs: list[FlowRun] = []
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(deployment_filter=only_this)
            if any(r.auto_scheduled and r.state_type == StateType.COMPLETED for r in runs):
                break
            time.sleep(1)
        client.delete_deployment(deployment_id)  # and the runs it still has scheduled
    assert any(r.auto_scheduled for r in runs), "the scheduler created no run in 150 s"
    assert any(r.state_type == StateType.COMPLETED for r in runs), [r.state_type for r in runs]
