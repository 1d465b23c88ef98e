"""``/login``'s per-address limit cannot be dodged with a new ``X-Forwarded-For`` per try
(real sockets, uvicorn configured as ``reelcart serve`` configures it): forwarding headers
are believed only from proxies named in ``REELCART_TRUSTED_PROXIES``, none by default."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette

from app.http_auth import login_routes
from app.proxies import proxy_options
from reelcart.settings import Settings
from tests.servers import free_port


@contextmanager
def _serve_like_reelcart(settings: Settings) -> Iterator[str]:
    app = Starlette(routes=login_routes("the-token", attempts_per_minute=3))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **proxy_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _guesses(base: str, count: int) -> list[int]:
    with httpx.Client(base_url=base, timeout=10) as http:
        return [
            http.post(
                "/login",
                data={"token": f"guess-{n}"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(count)
        ]


def test_forwarded_addresses_are_not_believed_by_default(settings: Settings) -> None:
    with _serve_like_reelcart(settings) as base:
        assert _guesses(base, 5) == [401, 401, 401, 429, 429]


def test_a_configured_proxy_is_believed(settings: Settings) -> None:
    behind = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with _serve_like_reelcart(behind) as base:
        # Each forwarded address is its own client behind the trusted proxy.
        assert _guesses(base, 5) == [401] * 5
