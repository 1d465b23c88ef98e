"""Seed a store from a folder of CSVs in the UCP conformance suite's layout.

Products go through the catalog's own upsert (``commerce.catalog.store.sync_snapshot``), store
rules through ``commerce.store.sync``; both in one transaction, so a bad folder writes
nothing. A photo that cannot be fetched (the suite's are placeholders on example.com) is
dropped from its product with a warning rather than failing the seed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from commerce.catalog.store import SyncReport, sync_snapshot
from connectors.flower_shop import CsvStore, read_csv_store
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CatalogSnapshot
from reelcart.settings import Settings

from .sync import StoreSyncReport, apply_store_data

__all__ = ["SeedReport", "csv_source", "seed_store_from_csv"]

log = logging.getLogger(__name__)


@dataclass
class SeedReport:
    """What a seed wrote, and the payment instruments the folder lists (for the door)."""

    source: str
    products: SyncReport
    store: StoreSyncReport
    payment_instruments: list[dict[str, str]] = field(default_factory=list)
    dropped_images: list[str] = field(default_factory=list)


def csv_source(folder: Path) -> str:
    """The source name a folder's rows carry (``csv:<folder>``), at most 32 characters."""
    return f"csv:{re.sub(r'[^a-z0-9._-]+', '-', folder.name.lower()).strip('-')}"[:32]


def _store_products(
    session: Session, snapshot: CatalogSnapshot, media: MediaStore, source: str, fetch: bool
) -> tuple[SyncReport, list[str]]:
    if not fetch:
        bare = [p.model_copy(update={"images": []}) for p in snapshot.products]
        return sync_snapshot(
            session, snapshot.model_copy(update={"products": bare}), media, source=source
        ), []
    try:
        with session.begin_nested():
            return sync_snapshot(session, snapshot, media, source=source), []
    except (httpx.HTTPError, OSError) as exc:
        log.warning("seed %s: photos not stored (%s); products stored without them", source, exc)
    bare = [p.model_copy(update={"images": []}) for p in snapshot.products]
    dropped = [i.url for p in snapshot.products for i in p.images]
    report = sync_snapshot(
        session, snapshot.model_copy(update={"products": bare}), media, source=source
    )
    return report, dropped


def _seed(
    session: Session, data: CsvStore, media: MediaStore, source: str, fetch_images: bool
) -> SeedReport:
    products, dropped = _store_products(session, data.snapshot, media, source, fetch_images)
    store = apply_store_data(session, data.store, source)
    return SeedReport(source, products, store, list(data.payment_instruments), dropped)


def seed_store_from_csv(
    target: Session | Settings | Database,
    folder: Path | str,
    *,
    media: MediaStore | None = None,
    settings: Settings | None = None,
    currency: str = "USD",
    fetch_images: bool = True,
) -> SeedReport:
    """Load the folder's products, stock, discount codes, shipping rates, free-shipping
    promotions and customers with addresses; re-running it changes nothing.

    ``target`` is an open session (written in the caller's transaction), a ``Database``
    or ``Settings`` (migrated, then written in one transaction of its own). Product and
    variant ids are the folder's own (``bouquet_roses``). ``media`` defaults to the
    settings' media store.
    """
    folder = Path(folder)
    data = read_csv_store(folder, currency)
    source = csv_source(folder)
    if isinstance(target, Session):
        return _seed(
            target,
            data,
            media or MediaStore.from_settings(settings or Settings()),
            source,
            fetch_images,
        )
    if isinstance(target, Database):
        db, owned = target, False
    else:
        settings, db, owned = target, Database.from_settings(target), True
    settings = settings or Settings()
    try:
        db.migrate()
        with db.session() as session:
            return _seed(
                session, data, media or MediaStore.from_settings(settings), source, fetch_images
            )
    finally:
        if owned:
            db.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m commerce.store.seed FOLDER [--no-images]`` into the configured database."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="folder of CSVs (products.csv, ...)")
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--no-images", action="store_true", help="do not fetch product photos")
    args = parser.parse_args(argv)
    report = seed_store_from_csv(
        Settings(), args.folder, currency=args.currency, fetch_images=not args.no_images
    )
    print(
        f"{report.source}: {len(report.products.created)} new, "
        f"{len(report.products.updated)} updated, {len(report.products.unchanged)} unchanged "
        f"products; store rules {report.store.counts}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
