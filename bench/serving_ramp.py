"""Benchmark: how serving cost grows with load, on PostgreSQL, with one and two servers.

Agents (asyncio tasks, each with its own HTTP connection) run the mixed workload against
``reelcart serve`` processes on loopback: MCP ``search_products`` and ``get_product`` at
/mcp, then an ACP checkout (create, delegate payment, complete) against the Stripe stand-in.
Each step runs 1, 8, 32, 64 agents for a fixed time and prints p50/p99 per call,
checkouts/s and the load average; the last line per setup names the largest load that meets
the goal (search and get_product p99 < 50 ms, complete p99 < 300 ms).

Setups, all in the same run: ``baseline`` (one server with the serving options off: product
views read whole from the database, access log on, default pool), ``tuned-1`` (one server
with them on) and ``tuned-2`` (two such servers on the same database, agents spread over
them as a load balancer would spread them over two machines). With ``--before-src``, also
``before``: the server of an earlier commit's tree (``git archive <commit> | tar -x -C dir``)
on its own copy of the catalog, started and synced by that code.

    .venv/bin/python -m bench.serving_ramp --products 500
    .venv/bin/python -m bench.serving_ramp --products 10000 --steps 8 --setups baseline,tuned-1

The catalog is synced (and embedded) into ``reelcart_bench_<N>`` once; later runs reuse it
and show that a re-sync embeds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

# The Stripe stand-in lives with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agents import GOAL, StepResult, race, run_step, warm_queries
from bench.checkout import bench_catalog
from bench.stripe_standin import StripeStandIn
from commerce.catalog.embeddings import embed_catalog
from commerce.catalog.store import sync_snapshot
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Order, PaymentAttempt, ProductVariant
from tests.fakes.stripe_server import API_KEY
from tests.servers import free_port

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The baseline serves as before these options existed: every product view read whole from
# the database, every request logged, the default connection pool.
BASELINE_ENV = {"REELCART_READ_CACHE": "false"}
# The tuned setups: views' catalog part cached per process, no access log, a pool sized for
# the request threads (two processes stay well inside PostgreSQL's 100 connections), at most
# four checkout writes at once per process.
TUNED_ENV = {
    "REELCART_DB_POOL_SIZE": "8",
    "REELCART_DB_MAX_OVERFLOW": "8",
    "REELCART_WRITE_THREADS": "4",
}
TUNED_ARGS = ["--no-access-log"]


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def prepare_database(admin_url: str, products: int, root: Path) -> str:
    """The bench database with ``products`` products, synced and embedded (once)."""
    name = f"reelcart_bench_{products}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.migrate()
    store = MediaStore(str(root / "media"), "http://127.0.0.1")
    started = time.perf_counter()
    with db.session() as session:
        report = sync_snapshot(session, bench_catalog(products), store, embed=False)
    synced = time.perf_counter() - started
    started = time.perf_counter()
    with db.session() as session:
        embedded = embed_catalog(session).embedded
    seconds = time.perf_counter() - started
    with db.engine.connect() as connection:  # fresh planner statistics, as autovacuum keeps
        connection.execute(text("ANALYZE"))
        connection.commit()
    rate = f" = {len(embedded) / seconds:.0f} products/s" if embedded else ""
    print(
        f"catalog {products}: sync {synced:.1f}s ({len(report.created)} new, "
        f"{len(report.updated)} changed); embedded {len(embedded)} in {seconds:.1f}s{rate} "
        f"on {os.cpu_count()} cores ({_load()})"
    )
    db.dispose()
    return url


def prepare_before(admin_url: str, products: int, root: Path, src: Path) -> str:
    """A database for the code in ``src`` (an earlier commit), synced by that code's CLI."""
    name = f"reelcart_bench_{products}_before"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    catalog = root / "catalog.json"
    catalog.write_text(bench_catalog(products).model_dump_json(by_alias=True))
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "REELCART_DATA_DIR": str(root / "before-data"),
        "REELCART_DATABASE_URL": url,
        "REELCART_MEDIA_URL": str(root / "media"),
    }
    command = [sys.executable, "-m", "app.cli", "sync", "--file", str(catalog)]
    subprocess.run(command, env=env, cwd=src, check=True, capture_output=True)
    return url


@contextmanager
def serve(
    root: Path, url: str, stripe_url: str, tuned: bool, tag: str, src: Path | None = None
) -> Iterator[str]:
    """One ``reelcart serve`` process on ``url`` (of the code in ``src``, default this
    checkout); yields its base URL once search is warm."""
    port = free_port()
    env = {
        **os.environ,
        "REELCART_DATA_DIR": str(root / "data"),
        "REELCART_DATABASE_URL": url,
        "REELCART_MEDIA_URL": str(root / "media"),
        "REELCART_API_TOKEN": "test-token",
        "REELCART_STRIPE_API_KEY": API_KEY,
        "REELCART_STRIPE_API_BASE": stripe_url,
        "REELCART_ACP_TAX_RATE_BPS": "825",
        "REELCART_PORT": str(port),
        **(TUNED_ENV if tuned else BASELINE_ENV),
    }
    if src is not None:
        env["PYTHONPATH"] = str(src)
    command = [sys.executable, "-m", "app.cli", "serve", *(TUNED_ARGS if tuned else [])]
    log = (root / f"server-{tag}-{port}.log").open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=src or Path.cwd()
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                if process.poll() is not None or time.monotonic() - started > 900:
                    raise RuntimeError(f"server did not become ready; see {log.name}")
                try:
                    if client.get("/healthz").json()["search"] == "semantic":
                        break
                except (httpx.TransportError, ValueError):
                    pass
                time.sleep(0.2)
        print(f"  server {tag} on :{port} ready in {time.monotonic() - started:.1f}s")
        asyncio.run(warm_queries(base_url))
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _last_units(url: str, urls: list[str], stripe_port: int) -> str:
    """The checkout's guarantees under the tuned setup: agents on both servers race for the
    last units of one product; exactly that many orders and charges, no oversell."""
    units, agents = 10, 40
    variant = "gid://shopify/ProductVariant/1"
    db = Database(url)
    with db.session() as session:
        only = update(ProductVariant).where(ProductVariant.id == variant)
        session.execute(only.values(inventory_quantity=units))
    with StripeStandIn(stripe_port):
        completed, refused = asyncio.run(race(urls, variant, agents))
    with db.session() as session:
        orders = session.scalar(
            select(func.count(Order.id)).where(Order.checkout_session_id.in_(completed))
        )
        charged = session.scalar(
            select(func.count(PaymentAttempt.id)).where(
                PaymentAttempt.checkout_session_id.in_(completed),
                PaymentAttempt.state == "succeeded",
            )
        )
        left = session.scalar(
            select(ProductVariant.inventory_quantity).where(ProductVariant.id == variant)
        )
        # Back to plenty, so the next run's agents are not refused.
        session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == variant)
            .values(inventory_quantity=1_000_000)
        )
    db.dispose()
    ok = len(completed) == orders == charged == units and left == 0
    verdict = "OK" if ok else "VIOLATED"
    return (
        f"  last units over 2 servers: {agents} agents for {units} units -> {len(completed)} "
        f"completed, {orders} orders, {charged} charges, {refused} refused, {left} left: {verdict}"
    )


def _row(agents: int, result: StepResult) -> str:
    calls = "  ".join(
        f"{name} {result.pct(name, 0.5):5.1f}/{result.pct(name, 0.99):6.1f}"
        for name in ("search_products", "get_product", "complete")
    )
    return (
        f"  {agents:3d} agents  {calls}  ms p50/p99  {result.checkouts_per_s:5.1f} checkouts/s"
        f"  errors {result.errors}  {result.load}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--steps", default="1,8,32,64")
    parser.add_argument("--setups", default="baseline,tuned-1,tuned-2")
    parser.add_argument("--seconds", type=float, default=20.0, help="per step")
    parser.add_argument(
        "--before-src",
        type=Path,
        default=None,
        help="a tree of an earlier commit (git archive): adds its server as setup 'before'",
    )
    parser.add_argument("--tuned-env", default="", help="extra KEY=VALUE,... for tuned servers")
    parser.add_argument("--admin-url", default=os.environ.get("REELCART_BENCH_PG", ADMIN_URL))
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    TUNED_ENV.update(dict(kv.split("=", 1) for kv in args.tuned_env.split(",") if kv))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = prepare_database(args.admin_url, args.products, root)
        # Each step gets a fresh Stripe stand-in on the same port (its state in memory only):
        # a later step must not pay for an earlier one's charges.
        stripe_port = free_port()
        stripe_url = f"http://127.0.0.1:{stripe_port}"
        setups = args.setups.split(",")
        before_url = ""
        if args.before_src:
            setups.insert(0, "before")
            before_url = prepare_before(args.admin_url, args.products, root, args.before_src)
        best = dict.fromkeys(setups, 0)
        rows: dict[str, list[str]] = {setup: [] for setup in setups}
        with ExitStack() as stack:
            servers: dict[str, list[str]] = {}
            for setup in setups:
                tuned = setup.startswith("tuned")
                count = int(setup.split("-")[1]) if tuned else 1
                if setup == "before":  # its start-up embeds the catalog
                    where, src = before_url, args.before_src
                else:
                    where, src = url, None
                servers[setup] = [
                    stack.enter_context(serve(root, where, stripe_url, tuned, f"{setup}.{i}", src))
                    for i in range(count)
                ]
            # Steps interleave the setups, so a change in the machine's load (other work on
            # it) falls on all of them alike.
            for agents in steps:
                for setup in setups:
                    with StripeStandIn(stripe_port):
                        result = asyncio.run(run_step(servers[setup], agents, args.seconds))
                    rows[setup].append(_row(agents, result))
                    print(f"{setup:9s}" + rows[setup][-1], flush=True)
                    if result.meets_goal():
                        best[setup] = agents
            if "tuned-2" in servers:
                check = _last_units(url, servers["tuned-2"], stripe_port)
    print(f"\n{args.products} products, {args.seconds:.0f} s per step (p50/p99 in ms):")
    for setup in setups:
        count = len(servers[setup])
        print(f"{setup}: {count} server process(es)")
        print("\n".join(rows[setup]))
    for setup in setups:
        found = f"{best[setup]} agents" if best[setup] else "none of the steps"
        print(f"  {setup}: largest load meeting the goal ({GOAL}): {found}")
    if "tuned-2" in setups:
        print(check)


if __name__ == "__main__":
    main()
