"""``reelcart simulate`` on a real data dir: shoppers through MCP, a table of results."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from reelcart.db import Database
from reelcart.models import Campaign, Creative, Product
from reelcart.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    db = Database(get_settings().resolved_database_url)
    db.migrate()
    with db.session() as s:
        s.add(Product(id="p1", handle="mug", title="Mug", currency="USD", content_hash="x"))
        s.add(Campaign(id="cmp1", name="demo", plan={"factors": {"hook": ["price", "title"]}}))
        s.flush()
        for level in ("price", "title"):
            s.add(
                Creative(
                    id=f"crv_{level}",
                    campaign_id="cmp1",
                    product_id="p1",
                    variant_key=f"hook={level}",
                    name=f"mug__hook-{level}",
                    factors={"hook": level},
                    status="published",
                    video_key=f"v/{level}.mp4",
                    poster_key=f"v/{level}.jpg",
                )
            )
    db.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_simulate_prints_the_result_table(data_dir: Path) -> None:
    from reelcart.models import ProductVariant

    db = Database(get_settings().resolved_database_url)
    with db.session() as s:
        s.add(ProductVariant(id="v1", product_id="p1", title="Default", price_minor=2400))
    db.dispose()
    result = CliRunner().invoke(app, ["simulate", "--shoppers", "60", "--evaluate-every", "30"])
    assert result.exit_code == 0, result.output
    assert "mug__hook-price" in result.output and "hook" in result.output
    assert "0.12" in result.output  # the demo default rates are shown


def test_simulate_rejects_bad_rates_and_unknown_campaigns(data_dir: Path) -> None:
    bad = CliRunner().invoke(app, ["simulate", "--rate", "hook:price"])
    assert bad.exit_code == 2 and "factor=level:rate" in bad.output
    missing = CliRunner().invoke(app, ["simulate", "--campaign", "nope", "--shoppers", "5"])
    assert missing.exit_code == 2 and "reelcart demo" in missing.output
