"""Guards every HTTP edge shares: a bounded request body, safe JSON, a database outage as 503.

A request body is counted while it streams in, so a client cannot make the server buffer
more than the limit (``Content-Length`` is checked first, chunked bodies as they arrive).
JSON is parsed with a nesting bound and refused when a string holds something no database
or encoder can keep (a lone UTF-16 surrogate, a NUL). A lost database is the client's
"try again shortly", never a 500.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelcart.storable import bad_string

__all__ = [
    "DATABASE_DOWN",
    "RETRY_AFTER_S",
    "BodyTooLarge",
    "Failure",
    "JsonBodyError",
    "RequestLimits",
    "bad_string",
    "classify_failure",
    "parse_json",
    "read_all",
    "read_body",
    "replay",
    "request_echo",
]

log = logging.getLogger(__name__)

# What SQLAlchemy raises when the database cannot be reached or the connection dropped.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
RETRY_AFTER_S = 5
MAX_DEPTH = 64


class BodyTooLarge(Exception):
    """The request body is over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Failure:
    """What any door answers for an exception its protocol has no error of its own for.

    ``kind`` is protocol-neutral (``request_too_large``, ``service_unavailable``,
    ``unstorable_value``, ``internal_error``); each protocol's envelope spells it in its own
    error shape.
    """

    status: int
    kind: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def classify_failure(exc: Exception, where: str) -> Failure:
    """The answer to an unexpected exception in a request handler, logged here."""
    if isinstance(exc, BodyTooLarge):
        return Failure(413, "request_too_large", str(exc))
    if isinstance(exc, DATABASE_DOWN):
        log.warning("%s: database unavailable", where)
        return Failure(
            503,
            "service_unavailable",
            "the service is temporarily unavailable; retry later",
            {"Retry-After": str(RETRY_AFTER_S)},
        )
    if isinstance(exc, sa_exc.DataError):
        # A value the database cannot hold slipped past validation: still the client's
        # input, so a 400 rather than a 500.
        log.warning("%s: value refused by the database", where)
        return Failure(400, "unstorable_value", "a value in the request cannot be stored")
    log.error("%s failed", where, exc_info=exc)
    return Failure(500, "internal_error", "unexpected server error")


def request_echo(request: Request) -> dict[str, str]:
    """The headers every protocol echoes back: the caller's ``Request-Id``, bounded."""
    request_id = request.headers.get("request-id")
    return {"Request-Id": request_id[:255]} if request_id else {}


class JsonBodyError(ValueError):
    """The body is not JSON this server can accept; ``param`` is a JSONPath to the problem."""

    def __init__(self, message: str, param: str = "$", *, code: str = "invalid_json") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with :class:`BodyTooLarge` as soon as it passes ``limit``."""
    declared = _declared_length(list(request.scope.get("headers") or []))
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    return path + "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _check_tree(root: Any, max_depth: int, finite: bool) -> None:
    # Iterative, so a deep document can never exhaust the interpreter's stack here.
    stack: list[tuple[Any, str, int]] = [(root, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if problem := bad_string(value):
                raise JsonBodyError(f"string at {path} {problem}", path, code="invalid")
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                raise JsonBodyError(f"JSON is nested deeper than {max_depth} levels", path)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                if isinstance(key, str) and (problem := bad_string(key)):
                    raise JsonBodyError(f"a key in {path} {problem}", path, code="invalid")
                stack.append((child, _child_path(path, key), depth + 1))
        elif finite and isinstance(value, float) and not math.isfinite(value):
            raise JsonBodyError(f"number at {path} is out of range", path, code="invalid")


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH, finite: bool = True) -> Any:
    """Parse a JSON body; :class:`JsonBodyError` for anything a handler should not see.

    ``finite=False`` lets numbers beyond a double (``1e400``) through as infinities, for
    senders whose deliveries must not bounce (the handler then treats them as invalid).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("the request body is not UTF-8") from None
    odd: list[str] = []

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            odd.append(literal)
        return value

    def constant(literal: str) -> float:
        odd.append(literal)
        return float(literal)

    try:
        value = json.loads(text, parse_float=number, parse_constant=constant)
    except RecursionError:
        raise JsonBodyError(f"JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JsonBodyError(f"the request body is not valid JSON: {exc}") from None
    # The walk finds where a problem is; skip it when the text cannot hold one: NULs and
    # lone surrogates only arrive as \u escapes (raw ones are not valid JSON or UTF-8),
    # and fewer brackets than the bound cannot nest that deep.
    if (finite and odd) or "\\u" in text or text.count("[") + text.count("{") >= max_depth:
        _check_tree(value, max_depth, finite)
    return value


ErrorBody = Callable[[Scope, int, str, str], dict[str, Any]]


def plain_error(scope: Scope, status: int, code: str, message: str) -> dict[str, Any]:
    """The app's own error shape (routes outside a protocol)."""
    return {"error": code, "message": message}


class RequestLimits:
    """ASGI middleware: bodies over ``max_body`` get 413; a lost database gets 503.

    A path that decodes to something no database can look up (a NUL, a lone surrogate)
    is a 400 before any route sees it. Under ``json_paths`` (routes whose library parses
    JSON with no bounds) a JSON body is read here first and refused when :func:`parse_json`
    refuses it. ``error_body(scope, status, code, message)`` shapes the error for the
    route's protocol (known by its path, and where two protocols share a path, by its
    headers). Routes that answer errors themselves still do; this is the guard for those
    that don't.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        error_body: ErrorBody = plain_error,
        json_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.error_body = error_body
        self.json_paths = json_paths

    async def _checked_json(self, scope: Scope, receive: Receive) -> Receive | str:
        """Read the body (bounded), check it, and hand the route a replay of it."""
        body = await read_all(receive, self.max_body)
        if body.strip():
            try:
                parse_json(body)
            except JsonBodyError as exc:
                return str(exc)
        return replay(body, receive)

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {}
        body = self.error_body(scope, status, code, message)
        await JSONResponse(body, status_code=status, headers=headers)(scope, _no_body, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if problem := bad_string(scope.get("path", "")):
            await self._refuse(scope, send, 400, "invalid_path", f"the request path {problem}")
            return
        declared = _declared_length(list(scope.get("headers") or []))
        if declared is not None and declared > self.max_body:
            await self._refuse(
                scope, send, 413, "request_too_large", str(BodyTooLarge(self.max_body))
            )
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            inner: Receive = counted_receive
            path = str(scope.get("path", ""))
            if (
                scope.get("method") == "POST"
                and self.json_paths
                and path.startswith(self.json_paths)
            ):
                checked = await self._checked_json(scope, counted_receive)
                if isinstance(checked, str):
                    await self._refuse(scope, send, 400, "invalid_json", checked)
                    return
                inner = checked
            await self.app(scope, inner, tracked_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await self._refuse(scope, send, 413, "request_too_large", str(exc))
        except DATABASE_DOWN:
            if started:
                raise
            await self._refuse(
                scope, send, 503, "service_unavailable", "the database is unavailable; retry"
            )


async def read_all(receive: Receive, limit: int) -> bytes:
    """A request's whole body from its ASGI messages; more than ``limit`` bytes raises."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        more = bool(message.get("more_body"))
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (already read) once, then the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
