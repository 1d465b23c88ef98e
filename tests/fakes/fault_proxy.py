"""Proxies on 127.0.0.1 that break the network on purpose, switched while a test runs.

- :class:`HttpFaultProxy` sits between the app and an HTTP server (the Stripe stand-in).
  Each request is forwarded whole; a rule picked by method and path then decides what
  happens to the reply: ``drop`` (the request was processed upstream, the client's
  connection is closed without an answer), ``delay`` (the reply is held for a while), or
  nothing. Every request is recorded with the fault it got.
- :class:`TcpProxy` forwards raw bytes (PostgreSQL's protocol); ``cut()`` aborts every open
  connection and refuses new ones until ``restore()``: the database is unreachable.

Both run their own asyncio loop on a daemon thread, so a test drives them synchronously.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault", "HttpFaultProxy", "Rule", "Seen", "TcpProxy"]

_HEAD_END = b"\r\n\r\n"
_REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]\r\n")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CONNECTION = re.compile(rb"\r\nconnection:[^\r]*", re.IGNORECASE)


@dataclass(frozen=True)
class Fault:
    """What happens to a reply: ``drop`` it, or ``delay`` it by ``seconds``."""

    kind: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    fault: str | None


Rule = Callable[[str, str], Fault | None]


class _LoopThread:
    """An asyncio server on 127.0.0.1 (port 0) running on its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _abort_all(self) -> None:
        """Close every connection this proxy holds (both ends), on the loop's thread."""

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> Any:
        self._thread.start()

        async def serve() -> asyncio.Server:
            return await asyncio.start_server(self._handle, "127.0.0.1", 0)

        self._server = self._run(serve())
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        if self._server is not None:
            server = self._server

            async def close() -> None:
                server.close()
                self._abort_all()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            self._run(close())
            self._server = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(_HEAD_END)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = _CONTENT_LENGTH.search(head)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    return head + body


class HttpFaultProxy(_LoopThread):
    """An HTTP/1.1 proxy whose replies can be dropped or delayed by rule."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        super().__init__()
        self.upstream = (upstream_host, upstream_port)
        self.rule: Rule = lambda method, path: None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_rule(self, rule: Rule | None) -> None:
        """Faults from now on (None: forward everything untouched)."""
        self.rule = rule or (lambda method, path: None)

    def faults(self, kind: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.fault == kind]

    async def _forward(self, request: bytes) -> bytes:
        # One upstream connection per request, closed by the upstream after its reply.
        head, _, body = request.partition(_HEAD_END)
        head = _CONNECTION.sub(b"", head) + b"\r\nConnection: close"
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(head + _HEAD_END + body)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            line = _REQUEST_LINE.match(request)
            method, path = (line.group(1).decode(), line.group(2).decode()) if line else ("", "")
            fault = self.rule(method, path.split("?", 1)[0])
            with self._lock:
                self.seen.append(Seen(method, path, fault.kind if fault else None))
            reply = await self._forward(request)
            if fault is not None and fault.kind == "drop":
                writer.transport.abort()  # processed upstream; the answer never arrives
                return
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            writer.write(reply)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()


class TcpProxy(_LoopThread):
    """A byte-for-byte TCP proxy that can be cut (every connection reset) and restored."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        super().__init__()
        self.upstream = (upstream_host, upstream_port)
        self._cut = False
        self._live: set[asyncio.StreamWriter] = set()

    def cut(self) -> None:
        """The upstream becomes unreachable: open connections die, new ones are refused."""

        async def go() -> None:
            self._cut = True
            self._abort_all()

        self._run(go())

    def _abort_all(self) -> None:
        for writer in list(self._live):
            writer.transport.abort()
        self._live.clear()

    def restore(self) -> None:
        async def go() -> None:
            self._cut = False

        self._run(go())

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._live.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._live.discard(writer)
            self._live.discard(up_writer)
