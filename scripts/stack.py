"""The production stack on this machine, real parts on loopback: a Prefect server, the
``default`` and ``gpu`` process work pools, the deployments of ``prefect.yaml`` and workers.

    python scripts/stack.py up      # or: make stack
    python scripts/stack.py down    # or: make stack-down

The Prefect server keeps its state in PostgreSQL: ``PREFECT_API_DATABASE_CONNECTION_URL``
when set (``postgresql+asyncpg://user@host:5432/prefect``), else a ``prefect`` database on
the local server the tests use (``REELCART_STACK_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; created once). SQLite takes one writer at
a time, and a campaign's workers, task runs and events write together: Prefect on SQLite
logs "database is locked" under that load. Only when no PostgreSQL answers does the stack
fall back to SQLite under ``$REELCART_DATA_DIR/prefect``, and says so. Workers inherit the
environment, so ``REELCART_DATABASE_URL`` and ``REELCART_MEDIA_URL`` (``s3://…``) set here are
what they share. The same functions start the stack for the tests (``tests/flows/test_stack.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "BIN",
    "ROOT",
    "TINY_VIDEO",
    "deploy_all",
    "free_port",
    "prefect_database",
    "prefect_env",
    "run_command",
    "start_server",
    "start_worker",
    "stop",
    "wait_healthy",
]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOLS = ("default", "gpu")
# The tiny, fast renders the tests and the benchmark use (a stack for people renders 1080p).
TINY_VIDEO = {
    "REELCART_VIDEO_WIDTH": "144",
    "REELCART_VIDEO_HEIGHT": "256",
    "REELCART_VIDEO_FPS": "8",
    "REELCART_SHOT_SECONDS": "0.5",
    "REELCART_END_CARD_SECONDS": "0.5",
    "REELCART_VOICEOVER": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(api_url: str, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every process of the stack (server, CLI, workers)."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        # Workers poll for scheduled runs often, so a fanned-out child starts within seconds.
        "PREFECT_WORKER_QUERY_SECONDS": os.environ.get("PREFECT_WORKER_QUERY_SECONDS", "2"),
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        # prefect.yaml's pull step: the flows run from this checkout.
        "PWD": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    return env


LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def prefect_database(admin_url: str | None = None, name: str = "prefect") -> tuple[str | None, str]:
    """The Prefect server's database URL (None: its SQLite default) and a line saying which.

    An explicit ``PREFECT_API_DATABASE_CONNECTION_URL`` wins; else database ``name`` on the
    PostgreSQL at ``admin_url`` (created when missing); else SQLite, with the reason.
    """
    explicit = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL")
    if explicit:
        return explicit, "Prefect database: PREFECT_API_DATABASE_CONNECTION_URL"
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url or os.environ.get("REELCART_STACK_POSTGRES_URL", LOCAL_POSTGRES))
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            found = conn.execute("select 1 from pg_database where datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        return None, (
            f"Prefect database: SQLite (no PostgreSQL at {admin.host}:{admin.port}: "
            f"{str(exc).strip()[:120]}). SQLite takes one writer at a time and logs "
            "'database is locked' under a campaign; set PREFECT_API_DATABASE_CONNECTION_URL "
            "to PostgreSQL for real runs."
        )
    url = admin.set(drivername="postgresql+asyncpg", database=name)
    shown = url.render_as_string(hide_password=True)
    return url.render_as_string(hide_password=False), f"Prefect database: {shown}"


def _program(name: str) -> str:
    """``.venv/bin/prefect`` as a person at the repository root can type it."""
    path = BIN / name
    try:
        return os.path.relpath(path, Path.cwd()) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def run_command(api_url: str) -> str:
    """The command that runs a campaign on this stack, as it works when typed."""
    return f"PREFECT_API_URL={api_url} {_program('prefect')} deployment run run-campaign/campaign"


def start_server(
    port: int, env: Mapping[str, str], log: Path, ui: bool = True, services: bool = True
) -> subprocess.Popen[bytes]:
    """``prefect server start`` on 127.0.0.1:``port`` (its own session, so it stops whole).

    ``services=False``: the API alone (``--no-services``), one of several API servers
    whose background services (scheduler, triggers, ...) run elsewhere.
    """
    server_env = {**env, "PREFECT_UI_ENABLED": "true" if ui else "false"}
    args = ["server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not services:
        args.append("--no-services")
    return subprocess.Popen(
        [str(BIN / "prefect"), *args],
        env=server_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(api_url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no Prefect server at {api_url} after {timeout_s:.0f} s")


def _prefect(args: Sequence[str], env: Mapping[str, str], check: bool = True) -> str:
    result = subprocess.run(
        [str(BIN / "prefect"), *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def deploy_all(env: Mapping[str, str], pools: bool = True) -> None:
    """Create the work pools (unless ``pools`` is false: they exist) and apply every
    deployment of ``prefect.yaml``."""
    for pool in POOLS if pools else ():
        _prefect(["work-pool", "create", pool, "--type", "process", "--overwrite"], env)
    _prefect(["--no-prompt", "deploy", "--all"], env)


def start_worker(
    pool: str, name: str, env: Mapping[str, str], log: Path, limit: int | None = None
) -> subprocess.Popen[bytes]:
    """``prefect worker start`` on ``pool``; its flow runs inherit ``env``.

    ``limit`` caps the flow runs it runs at once: 1 on a GPU worker, so the children of a
    campaign spread over the pool's workers instead of piling onto the first that polls.
    """
    worker_env = {**env, "REELCART_WORKER_NAME": name}
    args = ["worker", "start", "--pool", pool, "--name", name]
    if limit is not None:
        args += ["--limit", str(limit)]
    return subprocess.Popen(
        [str(BIN / "prefect"), *args],
        env=worker_env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """Stop a process started here and everything it started (its process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass


def _up(args: argparse.Namespace) -> None:
    data_dir = Path(os.environ.get("REELCART_DATA_DIR", ROOT / ".reelcart")).resolve()
    stack_dir = data_dir / "stack"
    stack_dir.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{args.port}/api"
    extra = {"REELCART_DATA_DIR": str(data_dir)}
    database, which = prefect_database()
    if database is not None:
        extra["PREFECT_API_DATABASE_CONNECTION_URL"] = database
    env = prefect_env(api_url, data_dir / "prefect", extra)
    print(which)
    server = start_server(args.port, env, stack_dir / "server.log")
    wait_healthy(api_url, server)
    deploy_all(env)
    pids = {"server": server.pid}
    for pool, count in (("default", args.default_workers), ("gpu", args.gpu_workers)):
        for i in range(1, count + 1):
            name = f"{pool}-{socket.gethostname()}-{i}"
            limit = 1 if pool == "gpu" else None
            pids[name] = start_worker(pool, name, env, stack_dir / f"{name}.log", limit).pid
    (stack_dir / "pids.json").write_text(json.dumps(pids))
    print(f"Prefect server and UI: http://127.0.0.1:{args.port}  (API {api_url})")
    print(f"Workers: {', '.join(n for n in pids if n != 'server')}; logs in {stack_dir}")
    print(f"Run a campaign: {run_command(api_url)}")
    print("Stop it all: make stack-down  (or: python scripts/stack.py down)")


def _down(_: argparse.Namespace) -> None:
    data_dir = Path(os.environ.get("REELCART_DATA_DIR", ROOT / ".reelcart")).resolve()
    pid_file = data_dir / "stack" / "pids.json"
    if not pid_file.is_file():
        print("No stack is running (no pids.json).")
        return
    for name, pid in json.loads(pid_file.read_text()).items():
        try:
            os.killpg(pid, signal.SIGTERM)
            print(f"stopped {name} ({pid})")
        except ProcessLookupError:
            print(f"{name} ({pid}) was not running")
    pid_file.unlink()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the server, pools, deployments and workers")
    up.add_argument("--port", type=int, default=int(os.environ.get("PREFECT_PORT", "4200")))
    up.add_argument("--default-workers", type=int, default=1)
    up.add_argument("--gpu-workers", type=int, default=1)
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop what `up` started")
    down.set_defaults(run=_down)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
