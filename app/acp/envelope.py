"""The ACP envelope both bindings share: versions, idempotency keys, replays and errors.

REST carries the envelope in headers (``API-Version``, ``Idempotency-Key``), the MCP
binding in ``meta`` (``api_version``, ``idempotency_key``); past that, the rules are the
same and live here once: which versions are served, what a key may be, how a request
runs at most once per key (:class:`app.acp.idempotency.IdempotencyStore`) and how any
failure becomes an ACP ``Error``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.exc import DataError

from app.acp.idempotency import IdempotencyStore
from app.http_limits import DATABASE_DOWN, RETRY_AFTER_S, BodyTooLarge, bad_string
from commerce.checkout import API_VERSION
from commerce.checkout_errors import AcpError

__all__ = [
    "SUPPORTED_VERSIONS",
    "Answer",
    "as_acp_error",
    "check_key",
    "check_version",
    "run_once",
]

log = logging.getLogger(__name__)
SUPPORTED_VERSIONS = [API_VERSION]
MAX_KEY = 255

Narrow = Callable[[AcpError], AcpError]


def check_version(version: str | None, name: str, param: str | None = None) -> None:
    """Refuse a missing or unsupported API version, listing the supported ones."""
    if version not in SUPPORTED_VERSIONS:
        raise AcpError(
            400,
            "missing_api_version" if version is None else "unsupported_api_version",
            f"{name} must be one of {', '.join(SUPPORTED_VERSIONS)}",
            param=param,
            supported_versions=SUPPORTED_VERSIONS,
        )


def check_key(key: str, name: str = "Idempotency-Key") -> str:
    """An idempotency key is bounded and storable (never a database error further in)."""
    if len(key) > MAX_KEY:
        raise AcpError(400, "invalid", f"{name} is at most {MAX_KEY} characters")
    if problem := bad_string(key):
        raise AcpError(400, "invalid", f"{name} {problem}")
    return key


def unavailable() -> AcpError:
    """The database is gone for the moment: a 503 the client retries."""
    return AcpError(
        503,
        "service_unavailable",
        "the service is temporarily unavailable; retry later",
        type="service_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def as_acp_error(exc: Exception, where: str) -> AcpError:
    """Any failure as the ACP ``Error`` to answer, without internals; logged here."""
    if isinstance(exc, AcpError):
        return exc
    if isinstance(exc, BodyTooLarge):
        return AcpError(413, "request_too_large", str(exc))
    if isinstance(exc, DATABASE_DOWN):
        log.warning("ACP %s: database unavailable", where)
        return unavailable()
    if isinstance(exc, DataError):
        # A value the database cannot hold slipped past validation: still the client's
        # input, so a 400 rather than a 500.
        log.warning("ACP %s: value refused by the database", where)
        return AcpError(400, "invalid", "a value in the request cannot be stored")
    log.error("ACP %s failed", where, exc_info=exc)
    return AcpError(500, "internal_error", "unexpected server error", type="processing_error")


@dataclass(frozen=True)
class Answer:
    """What one request answered: a status and body, extra headers, and whether replayed."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False

    def raise_error(self) -> None:
        """An error answer as the :class:`AcpError` it carries (for a binding that raises)."""
        if self.status >= 400:
            error = AcpError(
                self.status,
                str(self.body.get("code", "")),
                str(self.body.get("message", "")),
                type=str(self.body.get("type", "invalid_request")),
                param=self.body.get("param"),
                headers=self.headers,
                supported_versions=self.body.get("supported_versions"),
            )
            raise error


async def run_once(
    store: IdempotencyStore,
    scope: str,
    key: str,
    digest: str,
    call: Callable[[], tuple[int, Any]],
    narrow: Narrow | None = None,
) -> Answer:
    """Run ``call`` at most once per ``(scope, key)``; the same body again gets the replay.

    ACP errors are answers like any other (stored, 5xx excepted, by the store); anything
    else releases the key so that the retry runs afresh, and propagates.
    """
    replay = await anyio.to_thread.run_sync(store.begin, scope, key, digest)
    if replay is not None:
        return Answer(replay.status, replay.body, {"Idempotent-Replayed": "true"}, True)
    answer: Answer | None = None
    try:
        status, body = await anyio.to_thread.run_sync(call)
        answer = Answer(status, body)
    except AcpError as error:
        error = narrow(error) if narrow else error
        answer = Answer(error.status, error.body(), error.headers)
    finally:
        if answer is None:
            await anyio.to_thread.run_sync(store.abandon, scope, key)
        else:
            await anyio.to_thread.run_sync(store.finish, scope, key, answer.status, answer.body)
    return answer
