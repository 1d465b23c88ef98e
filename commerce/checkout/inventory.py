"""Inventory holds for checkout sessions: reserve, release, commit — never oversell.

A hold is a row in ``inventory_reservations``; what a variant can still sell is its stock
minus the live holds of other sessions. Reserving happens under a lock on the variant rows:
``SELECT … FOR UPDATE`` on PostgreSQL (correct across processes); on SQLite the checkout
takes a process lock (``write_lock``) and the reservation's first statement is a write, so
SQLite's single writer lock also serialises separate processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reelcart.db import Database
from reelcart.models import InventoryReservation, ProductVariant

__all__ = [
    "available",
    "commit_holds",
    "hold_until",
    "lock_variants",
    "release_holds",
    "reserve",
    "restock",
    "write_lock",
]

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def write_lock(db: Database) -> Iterator[None]:
    """Serialise checkout writes in this process on SQLite (a no-op on PostgreSQL)."""
    if db.engine.dialect.name != "sqlite":
        yield
        return
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(db.url, threading.RLock())
    with lock:
        yield


def lock_variants(session: Session, variant_ids: list[str]) -> None:
    """Lock the variant rows until the transaction ends (sorted ids: no deadlocks)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(ProductVariant.id).where(ProductVariant.id.in_(ids)).with_for_update()
        )
    else:
        # A no-op write takes SQLite's writer lock now, before anything is read.
        session.execute(
            update(ProductVariant)
            .where(ProductVariant.id.in_(ids))
            .values(inventory_quantity=ProductVariant.inventory_quantity)
        )


def _held_by_others(session: Session, variant_id: str, checkout_id: str, now: datetime) -> int:
    held = session.scalar(
        select(func.coalesce(func.sum(InventoryReservation.quantity), 0)).where(
            InventoryReservation.variant_id == variant_id,
            InventoryReservation.state == "held",
            InventoryReservation.expires_at > now,
            InventoryReservation.checkout_session_id != checkout_id,
        )
    )
    return int(held or 0)


def available(session: Session, variant: ProductVariant, checkout_id: str, now: datetime) -> int:
    """Units of ``variant`` this session could still hold."""
    if not variant.available_for_sale:
        return 0
    return variant.inventory_quantity - _held_by_others(session, variant.id, checkout_id, now)


def release_holds(session: Session, checkout_id: str, state: str = "released") -> int:
    """End the session's live holds (cancel, expiry, or before re-reserving)."""
    result = session.execute(
        update(InventoryReservation)
        .where(
            InventoryReservation.checkout_session_id == checkout_id,
            InventoryReservation.state == "held",
        )
        .values(state=state)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reserve(
    session: Session,
    checkout_id: str,
    needs: Mapping[str, int],
    *,
    now: datetime,
    expires_at: datetime,
) -> dict[str, int]:
    """Hold ``needs`` (variant id -> units) for the session, all or nothing.

    Returns the shortfall per variant (empty when everything is held). The caller's
    transaction commits the holds; the variant rows stay locked until then.
    """
    lock_variants(session, list(needs))
    release_holds(session, checkout_id)
    short: dict[str, int] = {}
    for variant_id, quantity in needs.items():
        variant = session.get(ProductVariant, variant_id, populate_existing=True)
        free = available(session, variant, checkout_id, now) if variant else 0
        if free < quantity:
            short[variant_id] = quantity - max(free, 0)
    if short:
        return short
    for variant_id, quantity in needs.items():
        session.add(
            InventoryReservation(
                checkout_session_id=checkout_id,
                variant_id=variant_id,
                quantity=quantity,
                state="held",
                created_at=now,
                expires_at=expires_at,
            )
        )
    session.flush()
    return {}


def hold_until(session: Session, checkout_id: str, until: datetime) -> None:
    """The session's live holds last until ``until`` (a payment under way, or done with)."""
    session.execute(
        update(InventoryReservation)
        .where(
            InventoryReservation.checkout_session_id == checkout_id,
            InventoryReservation.state == "held",
        )
        .values(expires_at=until)
    )


def _move_stock(session: Session, checkout_id: str, state: str, to: str, sign: int) -> None:
    """Move the session's ``state`` reservations to ``to``, changing stock by ``sign`` × qty."""
    holds = session.scalars(
        select(InventoryReservation).where(
            InventoryReservation.checkout_session_id == checkout_id,
            InventoryReservation.state == state,
        )
    ).all()
    lock_variants(session, [h.variant_id for h in holds])
    for hold in holds:
        session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == hold.variant_id)
            .values(inventory_quantity=ProductVariant.inventory_quantity + sign * hold.quantity)
        )
        hold.state = to
    session.flush()


def commit_holds(session: Session, checkout_id: str) -> None:
    """The sale happened: held units leave the stock for good."""
    _move_stock(session, checkout_id, "held", "committed", -1)


def restock(session: Session, checkout_id: str) -> None:
    """A refunded sale: committed units go back on the shelf."""
    _move_stock(session, checkout_id, "committed", "restocked", +1)
