"""Hostile profile servers on loopback: real sockets that answer slowly, endlessly or never.

``drip`` sends the status line and headers, then one byte every ``interval_s`` for as long
as the connection lasts; ``endless`` streams a never-ending chunked body as fast as it can;
``silent`` reads the request and never answers. Each records its connections and when
the fetching side let go of one (a send failed or the peer closed).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["HostileServer", "hostile_server"]


@dataclass
class HostileServer:
    """What the server saw."""

    base: str = ""
    connections: int = 0
    released: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def profile(self, tag: str = "") -> str:
        return f"{self.base}/profile.json" + (f"?t={tag}" if tag else "")


def _serve(conn: socket.socket, mode: str, interval_s: float, stop: threading.Event) -> bool:
    """Answer one connection; True when the other side let go first."""
    conn.settimeout(0.5)
    try:
        conn.recv(65536)
        if mode == "silent":
            while not stop.is_set():
                try:
                    if conn.recv(1) == b"":
                        return True
                except TimeoutError:
                    continue
            return False
        if mode == "drip":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000\r\n\r\n"
            )
            while not stop.wait(interval_s):
                conn.sendall(b" ")
            return False
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
        while not stop.is_set():
            conn.sendall(chunk)
        return False
    except OSError:
        return True
    finally:
        conn.close()


@contextmanager
def hostile_server(mode: str, interval_s: float = 0.3) -> Iterator[HostileServer]:
    """A ``mode`` server on 127.0.0.1 for the length of the block."""
    server = HostileServer()
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    listener.settimeout(0.2)
    server.base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        if _serve(conn, mode, interval_s, stop):
            with server.lock:
                server.released.append(time.monotonic())

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with server.lock:
                server.connections += 1
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for thread in threads:
            thread.join(timeout=5)
