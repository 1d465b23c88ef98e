"""Claiming rows of a webhook outbox, so several server processes send each event once per
delivery attempt (the ACP and UCP order webhooks share this).

An outbox table has ``id``, ``delivered_at``, ``next_attempt_at``, ``attempts`` and
``created_at``. A claim pushes ``next_attempt_at`` past a lease and counts the attempt: no
other worker finds the row due until the lease runs out (a worker that died mid-delivery
is retried then). PostgreSQL locks the due rows other workers have not locked (``FOR
UPDATE SKIP LOCKED``); SQLite runs one conditional UPDATE per row, each its own write
transaction (one writer at a time, so the condition sees the latest committed row).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, exists, func, select, update
from sqlalchemy.orm import aliased

from reelcart.db import Database
from reelcart.models import utcnow
from reelcart.models.base import as_utc

__all__ = ["OutboxWorker", "claim_due", "deliver_in_batches", "next_due_in", "record_attempt"]

log = logging.getLogger(__name__)


def _due(
    model: Any, now: datetime, max_attempts: int, fresh_first: bool, in_order_of: str | None
) -> Select[Any]:
    order = (model.attempts, model.created_at) if fresh_first else (model.created_at,)
    due = (
        select(model.id)
        .where(
            model.delivered_at.is_(None),
            model.next_attempt_at <= now,
            model.attempts < max_attempts,
        )
        .order_by(*order)
    )
    if in_order_of is not None:
        earlier = aliased(model)
        due = due.where(
            ~exists().where(
                getattr(earlier, in_order_of) == getattr(model, in_order_of),
                earlier.delivered_at.is_(None),
                earlier.attempts < max_attempts,
                earlier.created_at < model.created_at,
            )
        )
    return due


def _take(model: Any, now: datetime, lease: timedelta) -> Update:
    return (
        update(model)
        .values(next_attempt_at=now + lease, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )


def claim_due(
    db: Database,
    model: Any,
    *,
    limit: int,
    max_attempts: int,
    lease: timedelta,
    only: str | None = None,
    fresh_first: bool = False,
    in_order_of: str | None = None,
) -> list[str]:
    """Claim up to ``limit`` due rows of ``model`` (or just the row ``only``); their ids.

    ``fresh_first`` puts never-tried rows ahead of retries, so a failing receiver's backlog
    does not hold up fresh events; ``in_order_of`` (a column, e.g. ``order_id``) keeps a
    row back while an earlier row with the same value is undelivered, so the events of one
    order arrive in the order they happened.
    """
    now = utcnow()
    due = _due(model, now, max_attempts, fresh_first, in_order_of)
    if only is not None:
        due = due.where(model.id == only)
    if db.engine.dialect.name == "postgresql":
        with db.session() as session:
            ids = list(session.scalars(due.limit(limit).with_for_update(skip_locked=True)))
            if ids:
                session.execute(_take(model, now, lease).where(model.id.in_(ids)))
            return ids
    with db.session() as session:
        candidates = list(session.scalars(due.limit(limit)))
    claimed = []
    for row_id in candidates:
        with db.session() as session:
            result = session.execute(
                _take(model, now, lease).where(
                    model.id == row_id,
                    model.delivered_at.is_(None),
                    model.next_attempt_at <= now,
                )
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(row_id)
    return claimed


def record_attempt(
    db: Database, model: Any, row_id: str, error: str | None, retry_in: Callable[[int], float]
) -> bool:
    """Record one delivery attempt: delivered, or its error and when to try again
    (``retry_in(attempts)`` seconds). True when delivered."""
    with db.session() as session:
        row = session.get(model, row_id)
        if row is None:
            return False
        if error is None:
            row.delivered_at = utcnow()
            return True
        row.last_error = error
        row.next_attempt_at = utcnow() + timedelta(seconds=retry_in(max(row.attempts, 1)))
        return False


def deliver_in_batches(
    claim: Callable[[], list[str]], send: Callable[[str], bool], limit: int
) -> int:
    """Claim a few due rows at a time and try each once, up to ``limit``; how many were
    delivered. A few at a time, so no claim outlives its lease while the earlier deliveries of
    its batch wait on a slow receiver."""
    delivered = tried = 0
    while tried < limit:
        claimed = claim()
        if not claimed:
            break
        for row_id in claimed:
            delivered += send(row_id)
        tried += len(claimed)
    return delivered


def next_due_in(db: Database, model: Any, max_attempts: int) -> float | None:
    """Seconds until the earliest undelivered row is due (0 when one is); None when none is."""
    with db.session() as session:
        due = session.scalar(
            select(func.min(model.next_attempt_at)).where(
                model.delivered_at.is_(None), model.attempts < max_attempts
            )
        )
    if due is None:
        return None
    return max((as_utc(due) - utcnow()).total_seconds(), 0.0)


class OutboxWorker:
    """Delivers an outbox on a daemon thread while rows are pending.

    ``kick`` (a row was queued) wakes it, or starts it; between passes it sleeps until the
    next retry is due (at least ``poll_s``, at most a minute) and it ends when nothing is
    pending. When a pass fails (the database is away) it backs off, doubling from
    ``poll_s``; after ``give_up_after`` failures in a row it ends and leaves the rest to a
    later kick (None: it keeps trying).
    """

    def __init__(
        self,
        name: str,
        deliver: Callable[[], object],
        due_in: Callable[[], float | None],
        *,
        poll_s: float = 0.5,
        give_up_after: int | None = None,
    ) -> None:
        self.name = name
        self.deliver, self.due_in = deliver, due_in
        self.poll_s, self.give_up_after = poll_s, give_up_after
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def kick(self) -> None:
        """A row was queued: deliver soon (starts the worker if needed)."""
        with self._guard:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
                self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                self.deliver()
                failures = 0
                wait = self.due_in()
            except Exception:
                failures += 1
                log.warning(
                    "%s: delivery pass failed (%d in a row)", self.name, failures, exc_info=True
                )
                if self.give_up_after is not None and failures >= self.give_up_after:
                    with self._guard:
                        self._thread = None
                    return
                self._wake.wait(min(self.poll_s * 2**failures, 60.0))
                continue
            if wait is None:
                with self._guard:
                    if not self._wake.is_set():  # nothing queued meanwhile
                        self._thread = None
                        return
                continue
            self._wake.wait(min(max(wait, self.poll_s), 60.0))
