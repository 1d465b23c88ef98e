"""Several Prefect API servers, one PostgreSQL database and Redis messaging (prefect-redis).

Two real ``prefect server start`` processes on loopback: ``api`` serves the API alone
(``--no-services``), ``services`` also runs the background services (triggers, event
persister, scheduler). An event sent to ``api`` reaches the triggers of ``services``
only through Redis: an automation watching for it fires there, and what it did is read
back through ``api``. With Prefect's default in-memory messaging the event would stay
inside ``api`` and nothing would fire.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from sqlalchemy import create_engine, text

from scripts.stack import BIN, free_port, prefect_env, start_server, stop, wait_healthy

pytestmark = pytest.mark.xdist_group("prefect-stack")

REDIS = ("127.0.0.1", 6379)
# A database number of its own: the test empties it, and nothing else uses it.
REDIS_DB = int(os.environ.get("REELCART_TEST_REDIS_DB", "13"))


def _unavailable(why: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (required under CI)")
    pytest.skip(why)


def _redis_env() -> dict[str, str]:
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_HOST": REDIS[0],
        "PREFECT_REDIS_MESSAGING_PORT": str(REDIS[1]),
        "PREFECT_REDIS_MESSAGING_DB": str(REDIS_DB),
        "PREFECT_SERVER_DOCKET_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
        "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
        # Two servers starting at once on a busy machine: no start-up query gives up early.
        "PREFECT_API_DATABASE_CONNECTION_TIMEOUT": "30",
        "PREFECT_API_DATABASE_TIMEOUT": "60",
    }


@pytest.fixture(scope="module")
def api_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``{"api": url, "services": url}``: two API servers on one database and one Redis."""
    try:
        import prefect_redis  # noqa: F401
        import redis
    except ImportError:
        _unavailable("prefect-redis is not installed (pip install prefect-redis==0.3.0)")
    try:
        socket.create_connection(REDIS, timeout=2).close()
    except OSError:
        _unavailable(f"no Redis server on {REDIS[0]}:{REDIS[1]}")
    redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB).flushdb()
    keep = os.environ.get("REELCART_TEST_STACK_DIR")  # keep the logs for a post-mortem
    root = Path(keep) / "api-pair" if keep else tmp_path_factory.mktemp("api-pair")
    root.mkdir(parents=True, exist_ok=True)
    admin = create_engine(
        os.environ.get(
            "REELCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        isolation_level="AUTOCOMMIT",
    )
    name = f"prefect_pair_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = admin.url.set(drivername="postgresql+asyncpg", database=name)
    ports = {"api": free_port(), "services": free_port()}
    urls = {role: f"http://127.0.0.1:{port}/api" for role, port in ports.items()}
    env = prefect_env(
        urls["api"],
        root / "prefect-home",
        {
            **_redis_env(),
            "PREFECT_API_DATABASE_CONNECTION_URL": database.render_as_string(hide_password=False),
        },
    )
    servers: list[subprocess.Popen[bytes]] = []
    try:
        # Migrated once, before either server starts (both would race to do it).
        subprocess.run(
            [str(BIN / "prefect"), "server", "database", "upgrade", "-y"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        for role, port in ports.items():
            log = root / f"{role}.log"
            services = role == "services"
            # Servers starting together race to register Prefect's block types (a unique
            # violation ends one of them): only one of them registers.
            role_env = {**env, "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": str(services).lower()}
            servers.append(start_server(port, role_env, log, ui=False, services=services))
        for (role, url), server in zip(urls.items(), servers, strict=True):
            try:
                wait_healthy(url, server)
            except (RuntimeError, TimeoutError) as exc:
                tail = (root / f"{role}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{role} server: {exc}\n{tail}") from exc
        yield urls
    finally:
        for server in servers:
            stop(server)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB).flushdb()


def _automation_events(api: str, automation_id: str) -> list[dict[str, Any]]:
    reply = httpx.post(
        f"{api}/events/filter",
        json={
            "filter": {
                "event": {"prefix": ["prefect.automation."]},
                "resource": {"id": [f"prefect.automation.{automation_id}"]},
                "occurred": {"since": "2000-01-01T00:00:00Z"},
            },
            "limit": 50,
        },
        timeout=10,
    )
    reply.raise_for_status()
    events: list[dict[str, Any]] = reply.json()["events"]
    return events


def test_an_event_sent_to_one_api_server_fires_an_automation_on_the_other(
    api_pair: dict[str, str],
) -> None:
    api = api_pair["api"]
    resource = f"reelcart.test.{uuid.uuid4().hex}"
    created = httpx.post(
        f"{api}/automations/",
        json={
            "name": "ping-seen",
            "trigger": {
                "type": "event",
                "match": {"prefect.resource.id": resource},
                "expect": ["reelcart.ping"],
                "posture": "Reactive",
                "threshold": 1,
                "within": 0,
            },
            "actions": [{"type": "do-nothing"}],
        },
        timeout=10,
    )
    created.raise_for_status()
    automation_id = created.json()["id"]
    # The services' triggers learn of the new automation from PostgreSQL, not from `api`.
    time.sleep(2)
    ping = {
        "id": str(uuid.uuid4()),
        "occurred": datetime.now(UTC).isoformat(),
        "event": "reelcart.ping",
        "resource": {"prefect.resource.id": resource},
    }
    sent = httpx.post(f"{api}/events", json=[ping], timeout=10)
    assert sent.status_code == 204, sent.text
    deadline = time.monotonic() + 60
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = _automation_events(api, automation_id)
        if any(e["event"] == "prefect.automation.triggered" for e in seen):
            break
        time.sleep(1)
    kinds = {e["event"] for e in seen}
    assert "prefect.automation.triggered" in kinds, kinds
    # The trigger names the very event that came in through the other server.
    triggered = next(e for e in seen if e["event"] == "prefect.automation.triggered")
    assert triggered["payload"]["triggering_event"]["id"] == ping["id"]
