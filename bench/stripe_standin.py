"""The tests' Stripe stand-in without its persistence, for benchmarks.

localstripe pickles its whole state to disk on every write, so a charge costs more the more
charges came before it: under a benchmark's thousands of checkouts that, not the server under
test, would set the ``complete`` latency. Stripe keeps no such cost; this stand-in keeps its
state in memory only.

    .venv/bin/python -m bench.stripe_standin --port 8420
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))

__all__ = ["StripeStandIn"]


class StripeStandIn:
    """The stand-in in its own process on ``port`` (loopback), for a ``with`` block."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> StripeStandIn:
        command = [sys.executable, "-m", "bench.stripe_standin", "--port", str(self.port)]
        self._process = subprocess.Popen(command, cwd=_ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the Stripe stand-in exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("the Stripe stand-in did not start")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from aiohttp import web
    from localstripe import resources

    from tests.fakes.stripe_server import _patch_and_build_app

    with tempfile.TemporaryDirectory() as tmp:
        app = _patch_and_build_app(str(Path(tmp) / "unused.pickle"))

        def keep_in_memory(self: Any) -> None:
            return None

        resources.Store.dump_to_disk = keep_in_memory
        web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
