"""The UCP REST door: every route goes through :meth:`UcpDoor.route`.

In order: ``Request-Id`` echoed; ``UCP-Agent`` parsed and the platform's protocol version
checked (the header's ``version`` parameter, else the fetched profile's); a request that
carries an RFC 9421 signature is verified against the profile's ``signing_keys`` (an
unsigned one is accepted: the spec lets platforms authenticate otherwise, and a bad
signature is always refused); ``Idempotency-Key`` claimed for state-changing calls; the
business call run in a thread pool; its answer signed (``Content-Digest``, ``Signature``)
with the business key. Errors keep UCP's shape whatever raised them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from app.http_limits import (
    DATABASE_DOWN,
    RETRY_AFTER_S,
    BodyTooLarge,
    JsonBodyError,
    bad_string,
    parse_json,
    read_body,
)
from app.idempotency import IdempotencyStore
from commerce.checkout.errors import CheckoutError

from .envelope import UcpError, from_checkout_error, intersect, narrow, parse_agent, run_once
from .profiles import ProfileCache, check_signature, negotiate
from .signatures import SigningKey, sign_response

__all__ = ["Call", "UcpDoor", "UcpRoute"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """What a handler gets: the parsed body, path parameters, the platform's profile URL."""

    body: Any
    params: dict[str, str]
    profile: str | None
    headers: dict[str, str]
    # True when the request carried a signature that verified against the profile's keys.
    signed: bool = False


Handler = Callable[[Call], tuple[int, Any]]
T = TypeVar("T")


async def while_connected(request: Request, work: Callable[[threading.Event], T]) -> T:
    """Run ``work`` in the thread pool; the event it gets is set when the client hangs up
    (after the body is read, the next ASGI message is the disconnect), so a fetch made on
    its behalf stops rather than running on for nobody."""
    gone = threading.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone.set()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            outcome.append(await run_in_threadpool(work, gone))
        except Exception as exc:  # re-raised below, outside the task group
            failure.append(exc)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]


def names_platform(scope: Scope) -> bool:
    """Whether the request names a UCP platform (a ``UCP-Agent`` header)."""
    return any(name == b"ucp-agent" for name, _ in scope.get("headers") or [])


class UcpRoute(Route):
    """A route that only answers requests that name a UCP platform (``UCP-Agent``), so a
    path another protocol also serves (``/orders/{id}``) goes to the right door."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        return (match, child) if names_platform(scope) else (Match.NONE, {})


class UcpDoor:
    """Shared request handling for the UCP REST routes."""

    def __init__(
        self,
        idempotency: IdempotencyStore,
        profiles: ProfileCache,
        key: SigningKey,
        *,
        max_body: int,
    ) -> None:
        self.idempotency = idempotency
        self.profiles = profiles
        self.key = key
        self.max_body = max_body

    def _respond(self, status: int, body: Any, headers: dict[str, str]) -> Response:
        response = JSONResponse(body, status_code=status, headers=headers)
        signed = sign_response(self.key, status, bytes(response.body), "application/json")
        response.headers.update(signed)
        return response

    def _authenticate(
        self,
        request: Request,
        raw: bytes,
        profile: str | None,
        version: str | None,
        gone: threading.Event,
    ) -> tuple[bool, frozenset[str] | None]:
        """Check the version and any signature: whether the request is signed, and the
        capabilities negotiated with the platform's profile."""
        signed = "signature" in request.headers or "signature-input" in request.headers
        fetched = negotiate(self.profiles, profile, version, required=signed, abandoned=gone.is_set)
        active = intersect(fetched) if fetched is not None else None
        if not signed:
            return False, active
        assert fetched is not None
        check_signature(
            fetched,
            method=request.method,
            authority=request.headers.get("host", ""),
            path=request.url.path,
            query=request.url.query,
            headers=dict(request.headers),
            body=raw,
        )
        return True, active

    def route(
        self,
        path: str,
        method: str,
        handler: Handler,
        *,
        mutating: bool,
        route_class: type[Route] = Route,
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            echo: dict[str, str] = {}
            request_id = request.headers.get("request-id")
            if request_id is not None:
                # rest.openapi.json: Request-Id is a string of format uuid.
                if not _is_uuid(request_id):
                    refused = UcpError(
                        400, "invalid_input", "Request-Id must be a UUID", path="Request-Id"
                    )
                    return self._respond(400, refused.body(), echo)
                echo["Request-Id"] = request_id
            try:
                return await self._handle(request, handler, mutating, echo)
            except UcpError as error:
                return self._respond(error.status, error.body(), {**echo, **error.headers})
            except BodyTooLarge as exc:
                return self._respond(413, UcpError(413, "request_too_large", str(exc)).body(), echo)
            except DATABASE_DOWN:
                log.warning("UCP %s %s: database unavailable", method, path)
                down = UcpError(
                    503,
                    "service_unavailable",
                    "the service is temporarily unavailable; retry later",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
                return self._respond(503, down.body(), {**echo, **down.headers})
            except DataError:
                refused = UcpError(400, "invalid_input", "a value in the request cannot be stored")
                return self._respond(400, refused.body(), echo)
            except Exception:
                log.exception("UCP %s %s failed", method, path)
                return self._respond(
                    500, UcpError(500, "internal_error", "unexpected server error").body(), echo
                )

        return route_class(path, endpoint, methods=[method])

    async def _handle(
        self, request: Request, handler: Handler, mutating: bool, echo: dict[str, str]
    ) -> Response:
        agent = parse_agent(request.headers.get("ucp-agent"))
        for value in request.path_params.values():
            if bad_string(str(value)) or len(str(value)) > 255:
                raise UcpError(400, "invalid_input", "the id in the path is not valid", path="$.id")
        raw = await read_body(request, self.max_body)
        try:
            body = parse_json(raw) if raw.strip() else None
        except JsonBodyError as exc:
            raise UcpError(400, "invalid_input", str(exc), path=exc.param) from None
        signed, active = await while_connected(
            request,
            lambda gone: self._authenticate(request, raw, agent.profile, agent.version, gone),
        )
        call = Call(body, dict(request.path_params), agent.profile, dict(request.headers), signed)
        key = request.headers.get("idempotency-key") if mutating else None
        if not key:
            status, result = await run_in_threadpool(_run, handler, call)
            return self._respond(status, narrow(result, active), echo)
        if len(key) > 255 or bad_string(key):
            raise UcpError(400, "invalid_input", "Idempotency-Key is not valid")
        echo["Idempotency-Key"] = key
        scope = f"ucp {str(agent.profile)[:300]} {request.method} {request.url.path}"
        seen = body if body is not None else raw.decode("latin-1")
        status, result, replayed = await run_once(
            self.idempotency, scope, key, seen, lambda: _run(handler, call)
        )
        headers = {**echo, "Idempotent-Replayed": "true"} if replayed else echo
        return self._respond(status, narrow(result, active), headers)


def _is_uuid(value: str) -> bool:
    """RFC 9562 text form (what JSON Schema's ``uuid`` format accepts)."""
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _run(handler: Handler, call: Call) -> tuple[int, Any]:
    try:
        return handler(call)
    except CheckoutError as error:
        raise from_checkout_error(error) from None
