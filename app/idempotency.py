"""Idempotency keys for every protocol's writes, kept in the database for >= 24 hours.

ACP (RFC agentic_checkout §6) and UCP use the same store; each door maps the outcomes to
its own status codes. A key is scoped to the authenticated identity and the endpoint. Same
key and same body (semantic JSON equality: key order and ``1.0`` vs ``1`` do not matter,
``null`` vs absent does) replays the stored response; another body is a 422
``idempotency_conflict``; a key whose first request is still running is a 409
``idempotency_in_flight`` with ``Retry-After``. 5xx responses are never stored: the retry
runs afresh. A claim whose worker died is taken over after its lease.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from commerce.checkout.errors import CheckoutError
from reelcart.db import Database
from reelcart.models import IdempotencyRecord, utcnow

__all__ = ["IdempotencyStore", "Replay", "fingerprint"]


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def fingerprint(body: Any) -> str:
    """SHA-256 of the body's canonical JSON (sorted keys, integral floats as ints)."""
    canonical = json.dumps(_normalise(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    """A stored response to send again."""

    status: int
    body: Any


class IdempotencyStore:
    """Claims, completes and replays idempotency keys."""

    def __init__(
        self,
        db: Database,
        *,
        retention: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = db
        self.retention = retention
        self.lease = lease

    def begin(self, scope: str, key: str, digest: str, *, reenter: bool = False) -> Replay | None:
        """Claim ``key`` for a new request, or return the stored response to replay.

        ``reenter``: the same request while the first is still marked in flight runs again
        instead of a 409, for an operation that is safe to run twice at once and that learns
        what the first one did (a complete: its payment is settled, not sent again). The
        first one may have died with its process; then the retry need not wait out the
        lease to be answered."""
        for _ in range(2):
            now = utcnow()
            try:
                with self.db.session() as session:
                    row = session.scalars(
                        select(IdempotencyRecord)
                        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
                        .with_for_update()
                    ).first()
                    if row is not None and row.expires_at <= now:
                        session.delete(row)  # past retention: a reused key is a new request
                        session.flush()
                        row = None
                    if row is None:
                        session.add(
                            IdempotencyRecord(
                                scope=scope,
                                key=key,
                                fingerprint=digest,
                                state="in_flight",
                                created_at=now,
                                locked_until=now + self.lease,
                                expires_at=now + self.retention,
                            )
                        )
                        return None
                    if row.fingerprint != digest:
                        raise CheckoutError(
                            422,
                            "idempotency_conflict",
                            "Idempotency-Key has already been used with a different request body",
                        )
                    if row.state == "done":
                        return Replay(int(row.status_code or 200), row.response)
                    if row.locked_until > now and not reenter:
                        raise CheckoutError(
                            409,
                            "idempotency_in_flight",
                            "A request with this Idempotency-Key is currently being processed",
                            headers={"Retry-After": "1"},
                        )
                    row.locked_until = now + self.lease  # the first worker died: take over
                    return None
            except IntegrityError:
                continue  # a concurrent first request inserted the key: look again
        raise CheckoutError(
            409,
            "idempotency_in_flight",
            "A request with this Idempotency-Key is currently being processed",
            headers={"Retry-After": "1"},
        )

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        """Store the response (4xx included); a 5xx releases the key instead."""
        if status >= 500:
            self.abandon(scope, key)
            return
        with self.db.session() as session:
            row = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            ).first()
            if row is not None:
                row.state = "done"
                row.status_code = status
                row.response = body

    def abandon(self, scope: str, key: str) -> None:
        """Forget an in-flight claim (server error): the retry is processed afresh."""
        with self.db.session() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.state == "in_flight",
                )
            )

    def purge_expired(self) -> int:
        """Delete keys past retention; returns how many."""
        with self.db.session() as session:
            result = session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow())
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
