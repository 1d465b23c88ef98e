"""``scripts/buy_locally.py`` shops a copy of the store: its test order never reaches the
live store or the live campaign's statistics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reelcart.db import Database
from reelcart.models import Campaign, Event
from reelcart.settings import Settings
from scripts.buy_locally import sandbox_store


def test_the_local_purchase_goes_to_a_copy(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    live = Database(settings.resolved_database_url)
    live.migrate()
    with live.session() as session:
        session.add(Campaign(name="spring", plan={"factors": {"hook": ["price"]}}))
    copy = sandbox_store(settings)
    assert copy.parent == (tmp_path / "sandbox").resolve() and copy.exists()
    shopped = Database(f"sqlite:///{copy}")
    with shopped.session() as session:
        assert session.query(Campaign).filter_by(name="spring").count() == 1
        session.add(Event(kind="purchase", dedupe_key="purchase:local-buyer"))
    shopped.dispose()
    with live.session() as session:
        assert session.query(Event).count() == 0  # the live campaign saw nothing
    live.dispose()
    # A second run starts from the live store again, not from the last copy.
    again = sandbox_store(settings)
    with sqlite3.connect(again) as conn:
        assert conn.execute("select count(*) from events").fetchone() == (0,)


def test_a_store_that_is_not_sqlite_is_refused_clearly(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1/x")
    with pytest.raises(SystemExit) as refused:
        sandbox_store(settings)
    assert "scratch database" in str(refused.value)
    with pytest.raises(SystemExit) as missing:
        sandbox_store(Settings(data_dir=tmp_path / "empty"))
    assert "reelcart sync" in str(missing.value)
