"""The schema: migrations match the models, on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from reelcart.db import Database
from reelcart.models import Base, Campaign, Creative, Event, IdempotencyRecord, Product


def test_migrations_produce_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"products", "creatives", "events", "orders", "checkout_sessions"} <= tables


def test_session_rolls_back_on_error(db: Database) -> None:
    try:
        with db.session() as session:
            session.add(Campaign(name="doomed", plan={}))
            session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_foreign_keys_are_enforced(db: Database) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session() as session:
        session.add(
            Creative(
                id="crv_x",
                campaign_id="nope",
                product_id="nope",
                variant_key="a=b",
                name="x",
                factors={},
            )
        )


def test_unique_event_dedupe_key(db: Database) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with db.session() as session:
        session.add(Event(kind="impression", dedupe_key="k1"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(Event(kind="impression", dedupe_key="k1"))


def test_product_round_trip_keeps_json_and_money(db: Database) -> None:
    with db.session() as session:
        session.add(
            Product(
                id="gid://shopify/Product/1",
                handle="p1",
                title="Mug",
                currency="USD",
                tags=["a", "b"],
                options=[{"name": "Color", "values": ["Red"]}],
                content_hash="0" * 64,
            )
        )
    with db.session() as session:
        product = session.get(Product, "gid://shopify/Product/1")
        assert product is not None
        assert product.tags == ["a", "b"]
        assert product.options[0]["values"] == ["Red"]
        assert product.synced_at.tzinfo is UTC


def test_every_stored_time_reads_back_aware_utc(db: Database) -> None:
    """One column type for every datetime: stored as UTC, read back aware, compared in SQL
    against aware values — alike on SQLite (which keeps no offset) and PostgreSQL."""
    noon_utc = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    in_paris = noon_utc.astimezone(timezone(timedelta(hours=2)))
    with db.session() as session:
        for key, moment in (("paris", in_paris), ("naive", noon_utc.replace(tzinfo=None))):
            session.add(
                IdempotencyRecord(
                    scope="s",
                    key=key,
                    fingerprint="f",
                    created_at=moment,
                    locked_until=moment,
                    expires_at=moment,
                )
            )
    with db.session() as session:
        rows = session.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.key)).all()
        for row in rows:
            assert row.expires_at == noon_utc
            assert row.expires_at.tzinfo is UTC
        before = session.scalars(
            select(IdempotencyRecord.key).where(
                IdempotencyRecord.expires_at < in_paris + timedelta(minutes=1)
            )
        ).all()
        assert sorted(before) == ["naive", "paris"]
        after = session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.expires_at > in_paris)
        ).all()
        assert after == []
