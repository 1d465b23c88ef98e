"""A loopback proxy that adds ``Authorization: Bearer <token>`` to every request.

For HTTP clients that cannot send headers (the MCP conformance suite's server mode): the
client plays an assistant that already holds a token. Each request goes upstream on its
own connection (``Connection: close``), so every request is given the header; the rest of
the exchange, streamed responses included, is piped unchanged. Host and Origin pass
through as the client sent them, so DNS-rebinding checks still see the client's values.

Run: ``python scripts/bearer_proxy.py UPSTREAM_PORT TOKEN`` prints the port it listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

__all__ = ["serve_proxy"]

_DROP = (b"authorization:", b"connection:", b"keep-alive:", b"proxy-connection:")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            writer.close()


async def _handle(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_port: int,
    token: bytes,
) -> None:
    try:
        head = await client_reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        client_writer.close()
        return
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if not line.lower().startswith(_DROP)]
    kept += [b"Authorization: Bearer " + token, b"Connection: close"]
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    upstream_writer.write(b"\r\n".join(kept) + b"\r\n\r\n")
    await upstream_writer.drain()
    await asyncio.gather(
        _pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer)
    )


async def serve_proxy(upstream_port: int, token: str) -> asyncio.Server:
    """Listen on a free loopback port; ``server.sockets[0].getsockname()[1]`` is the port."""
    secret = token.encode()
    return await asyncio.start_server(
        lambda r, w: _handle(r, w, upstream_port, secret), "127.0.0.1", 0
    )


async def _main(upstream_port: int, token: str) -> None:
    server = await serve_proxy(upstream_port, token)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]), sys.argv[2]))
