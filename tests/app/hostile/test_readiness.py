"""Readiness says what the server can do: while every worker thread is taken (requests
would only queue) ``/healthz`` answers 503, and 200 again once they are free."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.asgi import _health_endpoint
from reelcart.db import Database
from tests.servers import serve_on_loopback


def test_readiness_turns_false_while_no_worker_can_serve(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'ready.db'}")
    release = threading.Event()

    async def busy(_: Request) -> Response:
        await anyio.to_thread.run_sync(lambda: release.wait(20))
        return JSONResponse({"done": True})

    app = Starlette(routes=[Route("/healthz", _health_endpoint(db)), Route("/busy", busy)])
    with serve_on_loopback(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        port = int(base.rsplit(":", 1)[1])
        held = []
        try:
            for _ in range(45):  # more than the worker pool (40 threads)
                conn = socket.create_connection(("127.0.0.1", port))
                conn.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append(conn)
            deadline = time.monotonic() + 10
            answer = http.get("/healthz")
            while answer.status_code == 200 and time.monotonic() < deadline:
                answer = http.get("/healthz")
            assert answer.status_code == 503 and answer.json()["status"] == "busy"
            assert answer.headers["Retry-After"]
        finally:
            release.set()
            for conn in held:
                conn.close()
        deadline = time.monotonic() + 10
        while http.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http.get("/healthz").status_code == 200
    db.dispose()
