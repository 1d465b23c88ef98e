"""Two server processes on one database deliver every order webhook exactly once.

A receiving HTTP server on loopback verifies each delivery's signature and counts them by
event id (``Request-Id``); it answers slowly, so both processes' dispatchers are busy at
the same time. Orders are placed through both servers at once, each session read back from
the other server.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commerce.checkout.webhooks import deliver_due, verify
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import OrderWebhook
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_settings, headers, localstripe, stock_shop
from tests.commerce.acp_process import AcpProcess, process_env
from tests.commerce.payment_checks import complete, new_session, postgres_db
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe", "postgres_db"]

pytestmark = pytest.mark.xdist_group("payment-processes")

SECRET = "whsec_two_servers"
ORDERS = 8


class Receiver:
    """The agent platform's webhook endpoint: counts verified deliveries per event id."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.counts: Counter[str] = Counter()
        self.bad = 0
        self.delay_s = delay_s
        self._lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        ok = verify(request.headers.get("merchant-signature", ""), body, SECRET)
        with self._lock:
            if ok:
                self.counts[request.headers["request-id"]] += 1
            else:
                self.bad += 1
        time.sleep(self.delay_s)  # a slow platform: deliveries overlap across processes
        return Response(status_code=200 if ok else 401)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks", self.endpoint, methods=["POST"])])


def _outbox(db: Database) -> list[OrderWebhook]:
    with db.session() as session:
        return list(session.scalars(select(OrderWebhook)).all())


def test_two_servers_deliver_each_event_once(
    postgres_db: Database, store: MediaStore, tmp_path: Path, localstripe: LocalStripe
) -> None:
    """On PostgreSQL, where several servers share a database in production; the SQLite claim
    is raced by independent connections below."""
    db = postgres_db
    stock_shop(db, store, tmp_path, stock=ORDERS)
    receiver = Receiver()
    with serve_on_loopback(receiver.app()) as hooks_url:
        env = process_env(
            db.url,
            tmp_path,
            localstripe.url,
            acp_webhook_url=f"{hooks_url}/hooks",
            acp_webhook_secret=SECRET,
        )
        servers = [AcpProcess(env, free_port(), tmp_path / f"server{i}.log") for i in (0, 1)]
        for server in servers:
            server.launch()
        try:
            for server in servers:
                server.wait_ready()

            def buy(index: int) -> None:
                url = servers[index % 2].url
                with httpx.Client(base_url=url, timeout=30) as client:
                    session, token = new_session(client)
                    done = complete(client, session["id"], token)
                    assert done.status_code == 200, done.text
                    # The other server sees the same order (one database).
                    other = servers[(index + 1) % 2].url
                    seen = httpx.get(
                        f"{other}/checkout_sessions/{session['id']}",
                        headers=headers(None),
                        timeout=30,
                    )
                    assert seen.json()["status"] == "completed", seen.text

            with ThreadPoolExecutor(ORDERS) as pool:
                list(pool.map(buy, range(ORDERS)))
            deadline = time.monotonic() + 30
            while any(w.delivered_at is None for w in _outbox(db)):
                assert time.monotonic() < deadline, "webhooks still undelivered"
                time.sleep(0.1)
            time.sleep(0.5)  # a late duplicate would arrive now
        finally:
            for server in servers:
                server.stop()
    events = {w.id for w in _outbox(db)}
    assert len(events) == ORDERS
    assert receiver.bad == 0
    assert set(receiver.counts) == events
    duplicates = {event: n for event, n in receiver.counts.items() if n != 1}
    assert not duplicates, f"delivered more than once: {duplicates}"


def test_concurrent_dispatchers_claim_each_event_once(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    """Four delivery loops on four engines (as four processes would have) share one outbox."""
    from reelcart.models import Order

    with db.session() as session:
        for index in range(30):
            order = Order(id=f"ord_{index}", currency="USD", total_minor=100, line_items=[])
            session.add(order)
            session.add(OrderWebhook(order_id=order.id, event_type="order_create", payload={}))
    receiver = Receiver(delay_s=0.01)
    with serve_on_loopback(receiver.app()) as hooks_url:
        config = acp_settings(
            settings, None, acp_webhook_url=f"{hooks_url}/hooks", acp_webhook_secret=SECRET
        )
        engines = [Database(db.url) for _ in range(4)]
        start = threading.Barrier(len(engines))

        def loop(engine: Database) -> int:
            start.wait()
            with httpx.Client(timeout=10) as client:
                return sum(deliver_due(engine, config, client) for _ in range(3))

        with ThreadPoolExecutor(len(engines)) as pool:
            delivered = sum(pool.map(loop, engines))
        for engine in engines:
            engine.dispose()
    assert delivered == 30
    assert len(receiver.counts) == 30 and set(receiver.counts.values()) == {1}
