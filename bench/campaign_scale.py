"""One campaign on a real Prefect stack with 1 and with 2 ``gpu`` workers: the scale-out.

    .venv/bin/python bench/campaign_scale.py [--products 6] [--variants 2] [--full-size]

Starts a Prefect server on loopback (SQLite), deploys ``prefect.yaml``, and for each worker
count runs the ``campaign`` deployment on a fresh app database (PostgreSQL on 127.0.0.1
when reachable, else SQLite) and media folder, one child run per product. It prints:

- the campaign's wall time with 1 and 2 workers and their ratio (the baseline is 1 worker,
  measured in the same run);
- engine calls (footage clips generated, counted on the workers' disks) against distinct
  shots (the ``shots`` table): each shot is generated once;
- the parent's overhead per child: the child phase's wall time times the workers, less the
  children's own run time, per child (submission, a worker's poll, process start);
- what the campaign would take on N machines, from those measured parts.

On a 2-core machine the 2-worker ratio is bounded by the CPU: both workers share 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect import get_client  # noqa: E402
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from reelcart.db import Database  # noqa: E402
from reelcart.models import Shot  # noqa: E402
from scripts.stack import (  # noqa: E402
    TINY_VIDEO,
    deploy_all,
    free_port,
    prefect_env,
    start_server,
    start_worker,
    stop,
    wait_healthy,
)
from tests.factories import make_product, write_catalog  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _app_database() -> tuple[str, object]:
    """A fresh app database: PostgreSQL when reachable (what workers share at scale)."""
    try:
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        name = f"reelcart_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        return url, drop
    except Exception:  # no PostgreSQL here: SQLite in a temp folder
        folder = Path(tempfile.mkdtemp(prefix="reelcart-bench-db-"))
        return f"sqlite:///{folder / 'reelcart.db'}", lambda: shutil.rmtree(folder)


def run_once(
    api_url: str,
    base_env: dict[str, str],
    root: Path,
    workers: int,
    catalog: Path,
    args: argparse.Namespace,
) -> dict[str, float]:
    url, drop = _app_database()
    db = Database(url)
    db.migrate()
    media = root / f"media-{workers}"
    env = {**base_env, "REELCART_DATABASE_URL": url, "REELCART_MEDIA_URL": str(media)}
    names = [f"gpu-{workers}-{i}" for i in range(1, workers + 1)]
    procs = [
        start_worker(
            "default",
            f"parent-{workers}",
            {**env, "REELCART_DATA_DIR": str(root / f"parent-{workers}")},
            root / f"parent-{workers}.log",
        )
    ]
    for name in names:
        procs.append(
            start_worker(
                "gpu",
                name,
                {**env, "REELCART_DATA_DIR": str(root / name)},
                root / f"{name}.log",
                limit=1,
            )
        )
    try:
        time.sleep(3)  # the workers register and poll
        began = time.monotonic()
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            run = run_deployment(
                "run-campaign/campaign",
                parameters={
                    "campaign": f"bench-{workers}",
                    "catalog_path": str(catalog),
                    "max_variants": args.variants,
                    "batch_size": 1,
                },
                timeout=1800,
                poll_interval=1,
            )
            wall = time.monotonic() - began
            assert run.state is not None and run.state.is_completed(), run.state  # type: ignore[union-attr]
            with get_client(sync_client=True) as client:
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])  # type: ignore[union-attr]
                    )
                )
        children = [c for c in children if c.name.startswith(f"bench-{workers}-")]
        starts = [c.expected_start_time or c.start_time for c in children]
        ends = [c.end_time for c in children]
        phase = (max(e for e in ends if e) - min(s for s in starts if s)).total_seconds()
        own = sum(c.total_run_time.total_seconds() for c in children)
        with db.session() as session:
            shots = int(session.scalar(select(func.count()).select_from(Shot)) or 0)
        # The footage cache writes one clip and its .json per engine call.
        clips = sum(len(list((root / n / "footage").rglob("*.json"))) for n in names)
        return {
            "wall_s": wall,
            "children": len(children),
            "child_phase_s": phase,
            "child_run_s": own / max(1, len(children)),
            "overhead_per_child_s": (phase * workers - own) / max(1, len(children)),
            "distinct_shots": shots,
            "engine_calls": clips,
        }
    finally:
        for proc in procs:
            stop(proc)
        db.dispose()
        drop()  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=6)
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--full-size", action="store_true", help="1080x1920, 30 fps renders")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reelcart-bench-scale-"))
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(api_url, root / "prefect-home", {} if args.full_size else dict(TINY_VIDEO))
    env.pop("REELCART_DATA_DIR", None)
    server = start_server(port, env, root / "server.log", ui=False)
    catalog = write_catalog(
        root / "store", [make_product(n, price=f"{9 + n}.00") for n in range(1, args.products + 1)]
    )
    try:
        wait_healthy(api_url, server)
        deploy_all(env)
        results = {w: run_once(api_url, env, root, w, catalog, args) for w in (1, 2)}
    finally:
        stop(server)
    one, two = results[1], results[2]
    print(json.dumps(results, indent=2))
    print(
        f"\ncampaign of {args.products} products x {args.variants} variants, one child per product"
    )
    ratio = one["wall_s"] / two["wall_s"]
    print(f"wall time: 1 worker {one['wall_s']:.1f} s, 2 workers {two['wall_s']:.1f} s")
    print(f"ratio (1 worker / 2 workers): {ratio:.2f}x")
    for w, r in results.items():
        calls, shots = r["engine_calls"], r["distinct_shots"]
        print(f"  {w} worker(s): engine calls {calls}, distinct shots {shots}: {calls == shots}")
    per_child = one["child_run_s"]
    overhead = one["overhead_per_child_s"]
    fixed = one["wall_s"] - one["child_phase_s"]
    n_children = int(one["children"])
    print(f"per child: {per_child:.1f} s of its own run; parent overhead {overhead:.1f} s")
    print(f"fixed part (sync, plan, publish, report): {fixed:.1f} s")
    for n in (1, 2, 4, 8, 16):
        rounds = -(-n_children // n)
        estimate = fixed + rounds * (per_child + overhead)
        print(f"  on {n:>2} machines (one worker each): ~{estimate:.0f} s")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
