"""Inventory holds for checkout sessions: reserve, release, commit — never oversell.

A hold is a row in ``inventory_reservations``; what a variant can still sell is its stock
minus the live holds of other sessions. Reserving happens under a lock on the variant rows:
``SELECT … FOR UPDATE`` on PostgreSQL (correct across processes); on SQLite the checkout
takes a process lock (``write_lock``) and the reservation's first statement is a write, so
SQLite's single writer lock also serialises separate processes.

Holds are bounded per client (the session's ``owner``): a client's live holds together
may not pass ``max_units`` (:class:`HoldLimitReached`), and a hold made when a checkout
becomes payable lasts :func:`ready_hold_until` — shorter than the session — and is renewed
(availability checked again, :func:`renew`) when the payment starts, so stock held by a
checkout nobody pays goes back to the shelf soon.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reelcart.db import Database
from reelcart.models import CheckoutSession, InventoryReservation, ProductVariant
from reelcart.models.base import as_utc

__all__ = [
    "HoldLimitReached",
    "available",
    "client_open_checkouts",
    "commit_holds",
    "hold_until",
    "lock_variants",
    "ready_hold_until",
    "release_holds",
    "renew",
    "reserve",
    "restock",
    "write_lock",
]

# Checkout statuses in which a session is open (kept here: the core's OPEN_STATUSES is the
# same tuple, and this module sits below it).
_OPEN = ("not_ready_for_payment", "ready_for_payment", "authentication_required")


class HoldLimitReached(Exception):
    """The client already holds as many units as it may; nothing more is held for it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a client may hold at most {limit} units at once")
        self.limit = limit


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


def ready_hold_until(now: datetime, session_expires: datetime | None, hold_s: int) -> datetime:
    """How long a payable checkout holds its stock: ``hold_s``, never past the session."""
    until = now + timedelta(seconds=hold_s)
    return min(until, session_expires) if session_expires is not None else until


def _held_by_owner(session: Session, owner: str, checkout_id: str, now: datetime) -> int:
    held = session.scalar(
        select(func.coalesce(func.sum(InventoryReservation.quantity), 0))
        .join(CheckoutSession, CheckoutSession.id == InventoryReservation.checkout_session_id)
        .where(
            CheckoutSession.owner == owner,
            InventoryReservation.state == "held",
            InventoryReservation.expires_at > now,
            InventoryReservation.checkout_session_id != checkout_id,
        )
    )
    return int(held or 0)


def client_open_checkouts(session: Session, owner: str, now: datetime) -> int:
    """How many unexpired open checkouts ``owner`` has."""
    count = session.scalar(
        select(func.count())
        .select_from(CheckoutSession)
        .where(
            CheckoutSession.owner == owner,
            CheckoutSession.status.in_(_OPEN),
            CheckoutSession.expires_at > now,
        )
    )
    return int(count or 0)


def reserve(
    session: Session,
    checkout_id: str,
    needs: Mapping[str, int],
    *,
    now: datetime,
    expires_at: datetime,
    owner: str | None = None,
    max_units: int | None = None,
) -> dict[str, int]:
    """Hold ``needs`` (variant id -> units) for the session, all or nothing.

    Returns the shortfall per variant (empty when everything is held). The caller's
    transaction commits the holds; the variant rows stay locked until then. With ``owner``
    and ``max_units``, raises :class:`HoldLimitReached` (holding nothing) when the owner's
    other live holds and these would pass ``max_units``.
    """
    lock_variants(session, list(needs))
    release_holds(session, checkout_id)
    wanted = sum(needs.values())
    if (
        owner is not None
        and max_units is not None
        and (_held_by_owner(session, owner, checkout_id, now) + wanted > max_units)
    ):
        raise HoldLimitReached(max_units)
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


def renew(session: Session, checkout_id: str, *, now: datetime, until: datetime) -> dict[str, int]:
    """Keep the session's holds until ``until``; a hold that lapsed is taken again only if
    the stock is still free. Returns the shortfall per variant (empty: all held)."""
    holds = session.scalars(
        select(InventoryReservation).where(
            InventoryReservation.checkout_session_id == checkout_id,
            InventoryReservation.state == "held",
        )
    ).all()
    lapsed = [h for h in holds if as_utc(h.expires_at) <= now]
    if lapsed:
        lock_variants(session, [h.variant_id for h in lapsed])
    short: dict[str, int] = {}
    for hold in lapsed:
        variant = session.get(ProductVariant, hold.variant_id, populate_existing=True)
        free = available(session, variant, checkout_id, now) if variant else 0
        if free < hold.quantity:
            short[hold.variant_id] = hold.quantity - max(free, 0)
    if not short:
        hold_until(session, checkout_id, until)
    return short


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
