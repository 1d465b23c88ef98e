"""The production stack for tests, real parts on loopback: a Prefect server on PostgreSQL,
the work pools and deployments of ``prefect.yaml``, process workers with separate data
directories, the app database on PostgreSQL, the media store on an S3 server (moto) and
the store on the Shopify GraphQL fake (every worker is configured for it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from connectors.shopify.client import ScaledClock
from reelcart.db import Database
from scripts.stack import (
    TINY_VIDEO,
    deploy_all,
    free_port,
    prefect_env,
    start_server,
    start_worker,
    stop,
    wait_healthy,
)
from tests.fakes.shopify_server import FakeShopify

__all__ = ["Stack", "kill_machine", "stack"]

BUCKET = "reelcart-media"


@dataclass
class Stack:
    api_url: str
    root: Path
    env: dict[str, str]
    database_url: str
    media_url: str
    s3_endpoint: str
    shop: FakeShopify
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def data_dir(self, worker: str) -> Path:
        return self.root / worker

    def start_worker(self, name: str, pool: str = "gpu") -> subprocess.Popen[bytes]:
        env = {**self.env, "REELCART_DATA_DIR": str(self.data_dir(name))}
        self.data_dir(name).mkdir(parents=True, exist_ok=True)
        limit = 1 if pool == "gpu" else None
        process = start_worker(pool, name, env, self.root / f"{name}.log", limit)
        self.workers[name] = process
        return process

    def database(self) -> Database:
        return Database(self.database_url)


def kill_machine(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL a worker and every process it started, as if its machine died."""
    tree = psutil.Process(process.pid)
    victims = [tree, *tree.children(recursive=True)]
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    process.wait(timeout=10)
    return len(victims)


def _postgres_admin() -> str:
    return os.environ.get(
        "REELCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from moto.server import ThreadedMotoServer

    keep = os.environ.get("REELCART_TEST_STACK_DIR")  # keep the logs for a post-mortem
    root = Path(keep) if keep else tmp_path_factory.mktemp("stack")
    root.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    admin = create_engine(_postgres_admin(), isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:10]
    names = {"app": f"reelcart_stack_{suffix}", "prefect": f"prefect_stack_{suffix}"}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    app_url = admin.url.set(database=names["app"]).render_as_string(hide_password=False)
    prefect_db = admin.url.set(drivername="postgresql+asyncpg", database=names["prefect"])
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    s3.start()
    host, s3_port = s3.get_host_and_port()
    s3_endpoint = f"http://{host}:{s3_port}"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    aws = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }
    os.environ.update(aws)  # the test process reads the bucket too
    import s3fs

    s3fs.S3FileSystem(endpoint_url=s3_endpoint).mkdir(BUCKET)
    shop = FakeShopify(clock=ScaledClock(200), restore_rate=100, video_processing_s=0.2)
    shop.__enter__()
    env = prefect_env(
        api_url,
        root / "prefect-home",
        {
            **aws,
            **TINY_VIDEO,
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.render_as_string(hide_password=False),
            "PREFECT_LOGGING_LEVEL": "INFO",
            "REELCART_DATABASE_URL": app_url,
            "REELCART_MEDIA_URL": f"s3://{BUCKET}/reelcart",
            "REELCART_RENDER_LEASE_SECONDS": "6",
            "REELCART_SHOPIFY_SHOP": shop.base_url,
            "REELCART_SHOPIFY_ACCESS_TOKEN": shop.state.access_token,
        },
    )
    env.pop("REELCART_DATA_DIR", None)
    # The app schema exists before any worker starts (workers would race to migrate it).
    database = Database(app_url)
    database.migrate()
    database.dispose()
    server = start_server(port, env, root / "server.log", ui=True)
    made = Stack(api_url, root, env, app_url, f"s3://{BUCKET}/reelcart", s3_endpoint, shop)
    try:
        wait_healthy(api_url, server)
        up = time.monotonic()
        deploy_all(env)
        made.start_worker("parent", pool="default")
        for name in ("w1", "w2"):
            made.start_worker(name)
        print(f"stack: server up {up - began:.1f} s, deployed {time.monotonic() - up:.1f} s")
        yield made
    finally:
        for process in made.workers.values():
            stop(process)
        stop(server)
        s3.stop()
        shop.__exit__(None, None, None)
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
