"""The command line as a merchant uses it."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from reelcart.db import Database
from reelcart.models import Product
from reelcart.settings import get_settings
from tests.factories import make_product, write_catalog


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("REELCART_DATA_DIR", str(data))
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    monkeypatch.delenv("REELCART_API_TOKEN", raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _count(data: Path) -> int:
    db = Database(f"sqlite:///{(data / 'reelcart.db').resolve()}")
    db.migrate()
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def test_sync_then_search(env: Path, tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "s", [make_product(1, title="Stoneware Mug"), make_product(2)])
    result = CliRunner().invoke(app, ["sync", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 new" in " ".join(result.output.split())  # Rich wraps long lines
    assert "2 embedded for search" in " ".join(result.output.split())
    found = CliRunner().invoke(app, ["products", "mug", "--json"])
    assert found.exit_code == 0
    assert '"title": "Stoneware Mug"' in found.output and "Product 2" not in found.output


def test_malformed_catalog_names_product_and_field_and_writes_nothing(
    env: Path, tmp_path: Path
) -> None:
    bad = make_product(2)
    bad["variants"][0]["price"] = "12,50"
    path = write_catalog(tmp_path / "s", [make_product(1), bad])
    result = CliRunner().invoke(app, ["sync", "--file", str(path)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "product 1 (product-2)" in output and "variants[0].price" in output
    assert "Traceback" not in result.output
    assert _count(env) == 0


def test_serve_refuses_to_start_without_a_token(env: Path) -> None:
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "REELCART_API_TOKEN" in result.output


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    for command in ("sync", "demo", "serve", "mcp", "products"):
        assert command in result.output


def test_outside_a_checkout_data_goes_to_the_user_data_dir_and_is_named(tmp_path: Path) -> None:
    """Run from another folder, a command leaves no ``./.reelcart`` there, and says where."""
    import os
    import subprocess
    import sys

    from reelcart.settings import default_data_dir

    root = Path(__file__).resolve().parents[2]
    assert default_data_dir(root) == Path(".reelcart")  # in the checkout: as before
    elsewhere, home = tmp_path / "somewhere", tmp_path / "home"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELCART_", "XDG_"))}
    env |= {"HOME": str(home), "PYTHONPATH": str(root)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "reelcart"), "campaign", "status"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not (elsewhere / ".reelcart").exists()
    data = home / ".local" / "share" / "reelcart"
    assert (data / "reelcart.db").is_file()
    assert str(data) in " ".join(done.stderr.split()), done.stderr
