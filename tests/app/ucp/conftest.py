"""Fixtures of the UCP door tests: a SQLite store and a served app with its platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import localstripe, stock_shop
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ucp_helpers import Platform, platform_on_loopback, ucp_app, ucp_settings

__all__ = ["localstripe", "served", "sqlite_db"]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'ucp.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def served(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> Iterator[tuple[str, Platform, Database]]:
    stock_shop(sqlite_db, store, tmp_path, stock=5)
    port = free_port()
    configured = ucp_settings(settings, localstripe.url, port, ucp_simulation_secret="s3cret")
    with (
        platform_on_loopback() as platform,
        serve_on_loopback(ucp_app(sqlite_db, store, configured), port) as base,
    ):
        yield base, platform, sqlite_db
