"""``reelcart campaign create --challenger-cap``: the loop's cap stored on the campaign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from reelcart.db import Database
from reelcart.models import Campaign
from reelcart.settings import get_settings

RUN = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _cap(name: str) -> int | None:
    db = Database(get_settings().resolved_database_url)
    with db.session() as session:
        cap = session.scalars(select(Campaign.challenger_cap).where(Campaign.name == name)).one()
    db.dispose()
    return cap


def test_the_cap_is_stored_on_the_campaign_and_checked(data_dir: Path) -> None:
    create = ["campaign", "create", "spring", "--factor", "hook=title,price"]
    made = RUN.invoke(app, [*create, "--challenger-cap", "2"])
    assert made.exit_code == 0, made.output
    assert _cap("spring") == 2
    # The same plan again leaves the cap alone unless one is given.
    assert RUN.invoke(app, create).exit_code == 0
    assert _cap("spring") == 2
    assert RUN.invoke(app, [*create, "--challenger-cap", "0"]).exit_code == 0
    assert _cap("spring") == 0
    refused = RUN.invoke(app, [*create, "--challenger-cap", "-1"])
    assert refused.exit_code != 0 and _cap("spring") == 0
