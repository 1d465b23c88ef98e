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
    assert "hook=price" in result.output and "Mug" in result.output
    # No rates given: every creative converts alike, and the screen says so.
    assert "same assumed 8%" in result.output and "false positive" in result.output
    assert "0.12" not in result.output and "12%" not in result.output


def test_simulate_rejects_bad_rates_and_unknown_campaigns(data_dir: Path) -> None:
    bad = CliRunner().invoke(app, ["simulate", "--rate", "hook:price"])
    assert bad.exit_code == 2 and "factor=level:rate" in bad.output
    missing = CliRunner().invoke(app, ["simulate", "--campaign", "nope", "--shoppers", "5"])
    assert missing.exit_code == 2 and "reelcart demo" in missing.output


def test_the_quickstart_simulation_shows_numbers_in_the_browser(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``reelcart simulate`` the web report shows the simulated shoppers and what the
    simulation assumed; the live campaign's report stays at zero."""
    import re
    import shutil

    import httpx

    from app.asgi import create_app
    from connectors.storage import MediaStore
    from reelcart.models import ProductVariant
    from tests.servers import free_port, serve_on_loopback

    db = Database(get_settings().resolved_database_url)
    with db.session() as s:
        s.add(ProductVariant(id="v1", product_id="p1", title="Default", price_minor=2400))
    db.dispose()
    result = CliRunner().invoke(
        app,
        ["simulate", "--shoppers", "80", "--evaluate-every", "40", "--rate", "hook=price:0.3"],
    )
    assert result.exit_code == 0, result.output
    assert "/reports/sandbox/demo" in result.output
    monkeypatch.setenv("REELCART_API_TOKEN", "test-token")
    get_settings.cache_clear()
    settings = get_settings()
    live = Database(settings.resolved_database_url)
    port = free_port()
    store = MediaStore(str(data_dir / "media"), f"http://127.0.0.1:{port}")
    auth = {"authorization": "Bearer test-token"}
    with (
        serve_on_loopback(create_app(settings, live, store), port=port) as base,
        httpx.Client(base_url=base, headers=auth) as http,
    ):
        index = http.get("/reports/campaigns").text
        assert 'href="sandbox/demo"' in index
        page = http.get("/reports/sandbox/demo")
        assert page.status_code == 200, page.text
        assert "Simulated, not live data" in page.text and "hook = price at 30%" in page.text
        rows = http.get("/reports/sandbox/demo/export.json").json()["creatives"]
        assert sum(r["shoppers"] for r in rows) == 80  # every simulated shopper is on it
        assert sum(r["buyers"] for r in rows) > 0
        for r in rows:  # the page shows the export's figures
            assert f"<td>{r['shoppers']}</td>" in page.text
        live_rows = http.get("/reports/campaigns/demo/export.json").json()["creatives"]
        assert sum(r["shoppers"] for r in live_rows) == 0  # the live campaign is untouched
        assert http.get("/reports/sandbox/nope").status_code == 404
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is not None:
            from tests.experiments.cdp import capture_page

            artifacts = Path(__file__).resolve().parents[2] / ".reelcart" / "test-artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            shot = artifacts / "sandbox-report.png"
            seen = capture_page(browser, f"{base}/reports/sandbox/demo", auth, shot, data_dir)
            # Posters of this fixture are not files: only the page's own errors count here.
            assert not [e for e in seen.errors if not re.search(r"\.jpg|404", e)], seen.errors
            assert seen.rows >= 2 and shot.read_bytes()[:4] == b"\x89PNG"
    live.dispose()


def test_cli_tables_read_whole_at_80_columns(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing cut with "…": names and numbers whole at 80 columns (a picture is saved)."""
    import io

    from rich.console import Console
    from rich.text import Text

    from app.cli_console import console
    from reelcart.models import ProductVariant

    db = Database(get_settings().resolved_database_url)
    with db.session() as s:
        s.add(ProductVariant(id="v1", product_id="p1", title="Default", price_minor=2400))
        s.add(Campaign(id="cmp2", name="spring-sale-2026", plan={"factors": {"hook": ["a"]}}))
    db.dispose()
    monkeypatch.setattr(console, "width", 80)  # a terminal of 80 columns
    said = []
    for args in (
        ["simulate", "--shoppers", "60", "--evaluate-every", "30"],
        ["campaign", "status"],
    ):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        said.append(result.output)
    text = "\n".join(said)
    assert "…" not in text
    tables = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert tables and max(len(line) for line in tables) <= 80
    for whole in ("hook=price", "hook=title", "spring-sale-2026", "Mug"):
        assert whole in text, whole
    artifacts = Path(__file__).resolve().parents[2] / ".reelcart" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    picture = Console(record=True, width=80, file=io.StringIO())
    picture.print(Text(text))
    picture.save_svg(str(artifacts / "cli-80-columns.svg"), title="reelcart at 80 columns")
