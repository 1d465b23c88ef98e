"""Profile fetches are bounded whatever the named server does (real sockets on loopback):
a total deadline, a byte-rate floor, a size cap, failures remembered, no more reading once
the caller hung up, and concurrency caps so that slow profiles never hold the workers
that serve paying agents."""

from __future__ import annotations

import select
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.ucp.envelope import UcpError
from app.ucp.outbound import FetchBounds
from app.ucp.profiles import ProfileCache
from connectors.safe_fetch import FetchPolicy
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.app.ucp.conftest import served, sqlite_db
from tests.app.ucp.ucp_helpers import Platform, client, ucp_app, ucp_settings
from tests.commerce.acp_helpers import create_body as acp_create_body
from tests.commerce.acp_helpers import headers as acp_headers
from tests.commerce.acp_helpers import localstripe, stock_shop
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .hostile_servers import hostile_server

__all__ = ["localstripe", "served", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")

LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}))


def _timed_failure(cache: ProfileCache, url: str) -> tuple[UcpError, float]:
    started = time.monotonic()
    with pytest.raises(UcpError) as caught:
        cache.get(url)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("mode", ["drip", "endless", "silent"])
def test_a_profile_server_cannot_hold_a_fetch_past_its_deadline(mode: str) -> None:
    bounds = FetchBounds(deadline_s=1.5, read_s=1.0)
    cache = ProfileCache(LOOPBACK, bounds)
    with hostile_server(mode) as server:
        error, took = _timed_failure(cache, server.profile())
        assert error.status == 424 and error.code == "profile_unreachable"
        assert took < bounds.deadline_s + bounds.read_s
        # The failure is remembered: the next request naming it costs no fetch.
        again, quick = _timed_failure(cache, server.profile())
        assert again.code == "profile_unreachable" and quick < 0.2
        assert server.connections == 1


def test_the_fetch_stops_reading_when_its_caller_is_gone() -> None:
    # No rate floor and a long deadline: only the hang-up can stop this fetch early.
    cache = ProfileCache(LOOPBACK, FetchBounds(deadline_s=30, min_bytes_per_s=0))
    gone = threading.Event()
    with hostile_server("drip", interval_s=0.1) as server:
        threading.Timer(0.5, gone.set).start()
        started = time.monotonic()
        with pytest.raises(UcpError):
            cache.get(server.profile(), gone.is_set)
        assert time.monotonic() - started < 2.0
        # A hang-up says nothing about the profile: the next caller fetches afresh (a
        # client cannot make a platform's profile fail for others by hanging up).
        gone.clear()
        threading.Timer(0.3, gone.set).start()
        with pytest.raises(UcpError):
            cache.get(server.profile(), gone.is_set)
        assert server.connections == 2


def test_a_client_that_hangs_up_ends_the_fetch_made_for_it(
    sqlite_db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    stock_shop(sqlite_db, store, tmp_path)
    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, None, port))
    app.state.ucp.profiles.bounds = FetchBounds(deadline_s=30, min_bytes_per_s=0)
    with hostile_server("drip", interval_s=0.1) as drip, serve_on_loopback(app, port) as base:
        hung_up = time.monotonic()
        with pytest.raises(httpx.TimeoutException), httpx.Client(base_url=base) as http:
            http.get(
                "/checkout-sessions/cs_x",
                headers={"UCP-Agent": f'profile="{drip.profile()}"'},
                timeout=0.5,
            )
        deadline = time.monotonic() + 5
        while not drip.released and time.monotonic() < deadline:
            time.sleep(0.05)
        assert drip.released, "the server kept reading the profile for a client that left"
        assert drip.released[0] - hung_up < 3.0


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _acp_reads(base: str, checkout_id: str, count: int) -> list[float]:
    took = []
    with httpx.Client(base_url=base, timeout=15) as http:
        for _ in range(count):
            started = time.monotonic()
            answer = http.get(f"/checkout_sessions/{checkout_id}", headers=acp_headers(None))
            assert answer.status_code == 200, answer.text
            took.append(time.monotonic() - started)
    return took


def _attack(base: str, profiles: list[str]) -> list[socket.socket]:
    """One raw connection per profile, each asking for a checkout in that platform's name."""
    port = int(base.rsplit(":", 1)[1])
    sockets = []
    for url in profiles:
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(
            f"GET /checkout-sessions/cs_x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f'UCP-Agent: profile="{url}"\r\n\r\n'.encode()
        )
        sockets.append(conn)
    return sockets


def _status(conn: socket.socket) -> int:
    conn.settimeout(30)
    with conn:
        return int(conn.recv(64).split(b" ")[1])


def test_slow_profiles_do_not_stall_paying_agents(
    served: tuple[str, Platform, Database], localstripe: LocalStripe
) -> None:
    base, _, _ = served
    with client(base) as http:
        created = http.post("/checkout_sessions", json=acp_create_body(), headers=acp_headers())
        assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    quiet = _acp_reads(base, checkout_id, 100)

    with hostile_server("drip", interval_s=1.0) as drip, hostile_server("silent") as silent:
        profiles = [drip.profile(str(n)) for n in range(30)]
        profiles += [silent.profile(str(n)) for n in range(15)]
        attackers = _attack(base, profiles)
        # Measured while the slow fetches are held: the attackers over the caps have been
        # refused already (their answers are waiting), at most a cap's worth are fetching.
        holding = 2 * FetchBounds().per_host
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answered, _, _ = select.select(attackers, [], [], 0.05)
            if len(answered) >= len(attackers) - holding and drip.connections >= 1:
                break
        loud = _acp_reads(base, checkout_id, 100)
        codes = [_status(conn) for conn in attackers]
    assert set(codes) == {424}, codes
    # Within 2x of the quiet run (plus 50 ms for a shared machine's scheduler); with the
    # workers held, these reads time out instead.
    assert _p99(loud) <= 2 * _p99(quiet) + 0.05, (_p99(quiet), _p99(loud))
