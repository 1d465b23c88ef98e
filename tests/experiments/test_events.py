from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from experiments.events import record_event
from reelcart.db import Database
from reelcart.domain import EventKind
from reelcart.models import Event


def test_same_dedupe_key_is_one_event(db: Database) -> None:
    with db.session() as session:
        first, created = record_event(
            session, EventKind.PURCHASE, "order:1", amount_minor=2400, currency="USD"
        )
        again, created_again = record_event(
            session, EventKind.PURCHASE, "order:1", amount_minor=9999
        )
    assert created and not created_again
    assert again.id == first.id and again.amount_minor == 2400


def test_concurrent_reports_of_one_event_store_one_row(db: Database) -> None:
    def report(_: int) -> bool:
        with db.session() as session:
            return record_event(session, EventKind.CLICK, "click:abc")[1]

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(report, range(8)))
    assert created.count(True) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_duplicate_does_not_undo_the_callers_other_work(db: Database) -> None:
    with db.session() as session:
        record_event(session, EventKind.CLICK, "k")
    with db.session() as session:
        record_event(session, EventKind.IMPRESSION, "other")
        record_event(session, EventKind.CLICK, "k")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2
