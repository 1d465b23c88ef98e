"""The ACP envelope both bindings share: versions, idempotency keys, replays and errors.

REST carries the envelope in headers (``API-Version``, ``Idempotency-Key``), the MCP
binding in ``meta`` (``api_version``, ``idempotency_key``); past that, the rules are the
same and live here once: which versions are served, what a key may be, how a request
runs at most once per key (:class:`app.idempotency.IdempotencyStore`) and how any
failure becomes an ACP ``Error``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from app.http_limits import bad_string, classify_failure
from app.idempotency import IdempotencyStore
from commerce.checkout.errors import CheckoutError
from commerce.checkout.service import API_VERSION

__all__ = [
    "SUPPORTED_VERSIONS",
    "Answer",
    "as_acp_error",
    "check_key",
    "check_version",
    "run_once",
]

SUPPORTED_VERSIONS = [API_VERSION]
MAX_KEY = 255

Narrow = Callable[[CheckoutError], CheckoutError]


def check_version(version: str | None, name: str, param: str | None = None) -> None:
    """Refuse a missing or unsupported API version, listing the supported ones."""
    if version not in SUPPORTED_VERSIONS:
        raise CheckoutError(
            400,
            "missing_api_version" if version is None else "unsupported_api_version",
            f"{name} must be one of {', '.join(SUPPORTED_VERSIONS)}",
            param=param,
            supported_versions=SUPPORTED_VERSIONS,
        )


def check_key(key: str, name: str = "Idempotency-Key") -> str:
    """An idempotency key is bounded and storable (never a database error further in)."""
    if len(key) > MAX_KEY:
        raise CheckoutError(400, "invalid", f"{name} is at most {MAX_KEY} characters")
    if problem := bad_string(key):
        raise CheckoutError(400, "invalid", f"{name} {problem}")
    return key


# How ACP spells each protocol-neutral failure: (code, type).
_ACP_FAILURE = {
    "request_too_large": ("request_too_large", "invalid_request"),
    "service_unavailable": ("service_unavailable", "service_unavailable"),
    "unstorable_value": ("invalid", "invalid_request"),
    "internal_error": ("internal_error", "processing_error"),
}


def as_acp_error(exc: Exception, where: str) -> CheckoutError:
    """Any failure as the ACP ``Error`` to answer, without internals; logged here."""
    if isinstance(exc, CheckoutError):
        return exc
    failure = classify_failure(exc, f"ACP {where}")
    code, kind = _ACP_FAILURE[failure.kind]
    return CheckoutError(failure.status, code, failure.message, type=kind, headers=failure.headers)


@dataclass(frozen=True)
class Answer:
    """What one request answered: a status and body, extra headers, and whether replayed."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False

    def raise_error(self) -> None:
        """An error answer as the :class:`CheckoutError` it carries (for a binding that raises)."""
        if self.status >= 400:
            error = CheckoutError(
                self.status,
                str(self.body.get("code", "")),
                str(self.body.get("message", "")),
                type=str(self.body.get("type", "invalid_request")),
                param=self.body.get("param"),
                headers=self.headers,
                supported_versions=self.body.get("supported_versions"),
            )
            raise error


# The thread limiter of every protocol's writes in this process (None: anyio's default pool,
# shared with the reads).
_WRITES: list[anyio.CapacityLimiter | None] = [None]


def limit_writes(threads: int) -> None:
    """Run at most ``threads`` writes (checkout calls) at once in this process, 0 for no own
    limit: with a few, agents' reads no longer wait for the GIL behind a crowd of checkouts;
    a waiting write holds no thread."""
    _WRITES[0] = anyio.CapacityLimiter(threads) if threads else None


async def run_once(
    store: IdempotencyStore,
    scope: str,
    key: str,
    digest: str,
    call: Callable[[], tuple[int, Any]],
    narrow: Narrow | None = None,
    *,
    reenter: bool = False,
) -> Answer:
    """Run ``call`` at most once per ``(scope, key)``; the same body again gets the replay.

    ACP errors are answers like any other (stored, 5xx excepted, by the store); anything
    else releases the key so that the retry runs afresh, and propagates.
    """
    replay = await anyio.to_thread.run_sync(
        partial(store.begin, scope, key, digest, reenter=reenter)
    )
    if replay is not None:
        return Answer(replay.status, replay.body, {"Idempotent-Replayed": "true"}, True)
    answer: Answer | None = None
    try:
        status, body = await anyio.to_thread.run_sync(call, limiter=_WRITES[0])
        answer = Answer(status, body)
    except CheckoutError as error:
        error = narrow(error) if narrow else error
        answer = Answer(error.status, error.body(), error.headers)
    finally:
        if answer is None:
            await anyio.to_thread.run_sync(store.abandon, scope, key)
        else:
            await anyio.to_thread.run_sync(store.finish, scope, key, answer.status, answer.body)
    return answer
