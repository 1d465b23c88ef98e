"""The ACP door served by its own process, for tests that kill it or run two of them.

``python -m tests.commerce.acp_process`` serves what ``reelcart serve`` serves for agent
checkout — the ACP routes over the same checkout service, the order-webhook dispatcher and
the start-up payment reconciliation — configured from ``REELCART_*`` variables, without the
MCP door's semantic-search warm-up (tens of seconds on a busy CI machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

__all__ = ["AcpProcess", "process_env"]

_ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    import uvicorn
    from starlette.applications import Starlette

    from app.acp.rest import acp_routes
    from commerce.checkout.factory import build_checkout_service
    from commerce.checkout.reconcile import reconcile_in_background
    from connectors.storage import MediaStore
    from reelcart.db import Database
    from reelcart.settings import Settings

    settings = Settings()
    db = Database.from_settings(settings)
    store = MediaStore.from_settings(settings)
    service = build_checkout_service(db, store, settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        reconcile_in_background(service)  # as app.asgi does
        yield

    app = Starlette(routes=acp_routes(db, store, settings, service=service), lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")


def process_env(database_url: str, folder: Path, stripe_url: str, **extra: str) -> dict[str, str]:
    """The ``REELCART_*`` variables of a server on ``database_url`` paying through
    ``stripe_url`` (the Stripe stand-in, or a fault proxy in front of it)."""
    from tests.fakes.stripe_server import API_KEY

    return {
        "REELCART_DATABASE_URL": database_url,
        "REELCART_DATA_DIR": str(folder / "data"),
        "REELCART_MEDIA_URL": str(folder / "media"),
        "REELCART_API_TOKEN": "test-token",
        "REELCART_STRIPE_API_KEY": API_KEY,
        "REELCART_STRIPE_API_BASE": stripe_url,
        **{f"REELCART_{name.upper()}": value for name, value in extra.items()},
    }


class AcpProcess:
    """One server process on a loopback port; ``kill()`` is SIGKILL, nothing cleans up."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = {**os.environ, **env, "REELCART_PORT": str(port)}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> AcpProcess:
        """Start the process; :meth:`wait_ready` waits for it (launch several, then wait)."""
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.commerce.acp_process"],
                cwd=_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> AcpProcess:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/.well-known/acp.json", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start")

    def start(self, timeout_s: float = 60.0) -> AcpProcess:
        return self.launch().wait_ready(timeout_s)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no transaction finished, no reply sent."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None


if __name__ == "__main__":
    main()
