"""Shared fixtures: isolated settings, a database on SQLite and on PostgreSQL, a catalog."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Base
from reelcart.settings import Settings

# Tests never talk to a Prefect server the developer may have configured.
os.environ.setdefault("PREFECT_API_URL", "")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The protocol stand-ins (Shopify's CDN among them) live on loopback, which catalog image
# fetches refuse unless allowed; tests of that guard clear this themselves.
os.environ.setdefault("REELCART_FETCH_ALLOW_HOSTS", "127.0.0.1")
# CLI output is asserted on, and Rich wraps it at the width it detects: 80 columns when
# stdout is not a terminal, as under CI. One wide width keeps the text whole everywhere.
os.environ["COLUMNS"] = "200"

POSTGRES_ADMIN_URL = os.environ.get(
    "REELCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        api_token="test-token",
        video_width=144,
        video_height=256,
        video_fps=8,
        shot_seconds=0.5,
        end_card_seconds=0.5,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards.

    Locally a missing server skips the PostgreSQL half; under CI it fails the run.
    """
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any connection failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"reelcart_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.migrate()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database; every test using it runs on both backends."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'reelcart.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    database = Database(url)
    try:
        yield database
    finally:
        with database.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        database.dispose()


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(str(tmp_path / "media"), "http://127.0.0.1:8787")


_SESSION_STARTED = __import__("time").time()
_SUMMARIES = Path(__file__).resolve().parents[1] / ".reelcart" / "test-artifacts" / "summaries"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the summaries tests wrote this run (e.g. the MCP conformance suite's), for CI."""
    for path in sorted(_SUMMARIES.glob("*.txt")):
        if path.stat().st_mtime >= _SESSION_STARTED:
            terminalreporter.write_sep("-", path.stem)
            terminalreporter.write(path.read_text())
