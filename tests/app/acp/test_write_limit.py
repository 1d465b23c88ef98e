"""A server process runs at most ``write_threads`` checkout writes at once (the rest wait
without a thread), so agents' reads do not queue behind a crowd of checkouts."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from app.acp.envelope import limit_writes, run_once
from app.idempotency import IdempotencyStore
from reelcart.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _peak(db: Database, writes: int, run: str) -> int:
    store = IdempotencyStore(db)
    lock, running, peak = threading.Lock(), [0], [0]

    def call() -> tuple[int, object]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return 200, {"ok": True}

    async with anyio.create_task_group() as group:
        for i in range(writes):
            group.start_soon(run_once, store, "test", f"{run}-{i}", "digest", call)
    return peak[0]


async def test_writes_are_limited_per_process(db: Database) -> None:
    try:
        limit_writes(2)
        assert await _peak(db, 6, "limited") == 2
        limit_writes(0)  # no own limit: anyio's shared pool runs them side by side
        assert await _peak(db, 6, "shared") > 2
    finally:
        limit_writes(0)
