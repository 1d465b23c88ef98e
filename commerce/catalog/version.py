"""Which version of the catalog the database holds, asked at most once a second per cache.

In-memory catalog data (the search index, product views) is valid for one version: the
count of active products and the newest sync and embedding times. A sync in this process
makes the next check immediate; one in another process is seen within ``RECHECK_S``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from reelcart.models import Product, ProductEmbedding

from .embeddings import catalog_generation

__all__ = ["RECHECK_S", "VersionWatch", "database_of"]

# How long a process trusts its in-memory catalog before asking the database whether another
# process changed it. Stock, status and the checkout's prices are never taken from memory.
RECHECK_S = 1.0


def database_of(session: Session) -> str:
    """Which database ``session`` reads: a process (or a test run) may switch databases."""
    bind = session.get_bind()
    return str(bind.engine.url if isinstance(bind, Connection) else bind.url)


def read_version(session: Session) -> tuple[Any, ...]:
    embedded = select(func.max(ProductEmbedding.embedded_at)).scalar_subquery()
    row = session.execute(
        select(func.count(Product.id), func.max(Product.synced_at), embedded).where(
            Product.status == "ACTIVE"
        )
    ).one()
    return (database_of(session), *row)


class VersionWatch:
    """The catalog version, re-read when ``recheck_s`` has passed, this process synced, or the
    session reads another database."""

    def __init__(self, recheck_s: float = RECHECK_S) -> None:
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._until = 0.0
        self._generation = -1

    def current(self, session: Session) -> tuple[Any, ...]:
        with self._lock:
            version, until, generation = self._version, self._until, self._generation
        if (
            version is not None
            and time.monotonic() < until
            and generation == catalog_generation()
            and version[0] == database_of(session)
        ):
            return version
        generation = catalog_generation()
        version = read_version(session)
        with self._lock:
            self._version, self._generation = version, generation
            self._until = time.monotonic() + self.recheck_s
        return version
