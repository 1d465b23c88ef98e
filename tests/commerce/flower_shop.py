"""The UCP conformance suite's flower shop (its CSVs and fixture files), for tests."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commerce.store.seed import seed_store_from_csv
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings

FLOWER_SHOP = Path(
    os.environ.get(
        "REELCART_UCP_FLOWER_SHOP",
        Path(__file__).resolve().parents[3]
        / "shared"
        / "ucp"
        / "conformance"
        / "test_data"
        / "flower_shop",
    )
)


def require_flower_shop() -> Path:
    """The folder; locally a missing suite skips, under CI it fails the run."""
    if not (FLOWER_SHOP / "products.csv").is_file():
        message = f"UCP flower shop not found at {FLOWER_SHOP} (set REELCART_UCP_FLOWER_SHOP)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return FLOWER_SHOP


def rows(name: str) -> list[dict[str, str]]:
    """One CSV of the folder, as the suite itself reads it."""
    with (require_flower_shop() / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def fixture_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((require_flower_shop() / name).read_text())
    return data


def price_of(product_id: str) -> int:
    return next(int(r["price"]) for r in rows("products.csv") if r["id"] == product_id)


@pytest.fixture
def flower_shop(db: Database, store: MediaStore, settings: Settings) -> Database:
    """A database (each backend) seeded with the flower shop; photos left out, they are
    placeholders."""
    folder = require_flower_shop()
    seed_store_from_csv(db, folder, media=store, settings=settings, fetch_images=False)
    return db


@pytest.fixture(scope="module")
def flower_shop_readonly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One seeded SQLite database shared by a module's tests that only read it."""
    folder = require_flower_shop()
    tmp = tmp_path_factory.mktemp("flower-shop")
    database = Database(f"sqlite:///{tmp / 'shop.db'}")
    database.migrate()
    media = MediaStore(str(tmp / "media"), "http://127.0.0.1:8787")
    seed_store_from_csv(
        database, folder, media=media, settings=Settings(data_dir=tmp), fetch_images=False
    )
    yield database
    database.dispose()
