"""``reelcart campaign`` on a real data dir: plans checked before anything is written,
status, report and export read from the database, simulations kept in a sandbox."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from reelcart.db import Database
from reelcart.domain import CampaignPlan
from reelcart.models import Campaign, Creative, Event, Product, ProductVariant
from reelcart.settings import get_settings
from tests.experiments.conftest import add_traffic

RUN = CliRunner(env={"COLUMNS": "200"})


def _text(output: str) -> str:
    """Output with Rich's wrapping and box lines folded away."""
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _db() -> Database:
    db = Database(get_settings().resolved_database_url)
    db.migrate()
    return db


def _counts() -> tuple[int, int]:
    db = _db()
    with db.session() as s:
        campaigns = s.scalar(select(func.count()).select_from(Campaign)) or 0
        creatives = s.scalar(select(func.count()).select_from(Creative)) or 0
    db.dispose()
    return campaigns, creatives


def test_help_lists_factors_levels_and_designs() -> None:
    out = _text(RUN.invoke(app, ["campaign", "--help"]).output)
    for text in ("hook: title, price", "cta: shop_now", "aspect: 9:16", "duration: 6s, 15s"):
        assert text in out, text
    for design in ("full", "half", "pairwise", "auto"):
        assert design in out


def test_a_plan_that_drops_levels_is_refused_before_anything_is_written(
    data_dir: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: big\nmax_variants: 8\nfactors:\n  hook: [title, price]\n"
        "  cta: [shop_now, buy_in_chat, see_options]\n  aspect: ['9:16', '1:1', '4:5', '16:9']\n"
        "  duration: [6s, 15s]\n"
    )
    refused = RUN.invoke(app, ["campaign", "create", "--file", str(plan)], terminal_width=200)
    assert refused.exit_code == 2
    assert "never shows aspect: 1:1, 4:5, 16:9; cta: see_options" in refused.output
    assert "pairwise needs 13" in refused.output
    assert _counts() == (0, 0)
    # --design auto picks a design that shows every level, when one fits the cap.
    auto = RUN.invoke(
        app, ["campaign", "create", "--file", str(plan), "--design", "auto", "--max-variants", "13"]
    )
    assert auto.exit_code == 0, auto.output
    db = _db()
    with db.session() as s:
        stored = CampaignPlan.model_validate(s.scalars(select(Campaign)).one().plan)
    assert stored.design == "pairwise"
    shown = {(f, v[f]) for v in stored.variants() for f in v}
    assert shown == {(f, lvl) for f, levels in stored.factors.items() for lvl in levels}


def test_unknown_levels_and_bad_files_fail_cleanly(data_dir: Path, tmp_path: Path) -> None:
    bad = RUN.invoke(app, ["campaign", "create", "x", "--factor", "hook=title,cheapest"])
    assert bad.exit_code == 2 and "unknown hook level 'cheapest'" in bad.output
    typo = RUN.invoke(app, ["campaign", "create", "x", "--factor", "hoook=title"])
    assert typo.exit_code == 2 and "unknown factor 'hoook'" in typo.output
    extra = tmp_path / "extra.yaml"
    extra.write_text("name: x\nfactors: {hook: [title]}\nbudget: 5\n")
    keys = RUN.invoke(app, ["campaign", "create", "--file", str(extra)])
    assert keys.exit_code == 2 and "unknown keys ['budget']" in keys.output
    assert "Traceback" not in bad.output + typo.output + keys.output
    assert _counts() == (0, 0)
    ok = RUN.invoke(app, ["campaign", "create", "x", "--factor", "hook=title,price"])
    assert ok.exit_code == 0, ok.output
    missing = RUN.invoke(app, ["campaign", "run", "x", "--catalog", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "nothing run" in missing.output
    db = _db()
    with db.session() as s:  # nothing synced, nothing planned
        assert s.scalar(select(func.count()).select_from(Product)) == 0
    assert _counts() == (1, 0)
    other = RUN.invoke(app, ["campaign", "create", "x", "--factor", "cta=shop_now,buy_in_chat"])
    assert other.exit_code == 2 and "--replace" in other.output


def _seed_campaign() -> None:
    db = _db()
    with db.session() as s:
        for n in (1, 2):
            s.add(
                Product(
                    id=f"p{n}",
                    handle=f"item-{n}",
                    title=f"Item {n}",
                    currency="USD",
                    content_hash="x",
                )
            )
            s.add(ProductVariant(id=f"v{n}", product_id=f"p{n}", title="Default", price_minor=2400))
        s.add(Campaign(id="cmp1", name="spring", plan={"factors": {"hook": ["price", "title"]}}))
        s.flush()
        for n in (1, 2):
            for level in ("price", "title"):
                s.add(
                    Creative(
                        id=f"crv_{n}_{level}",
                        campaign_id="cmp1",
                        product_id=f"p{n}",
                        variant_key=f"hook={level}",
                        name=f"item-{n}__hook-{level}",
                        factors={"hook": level},
                        status="published",
                        video_key=f"v/{n}{level}.mp4",
                        poster_key=f"v/{n}{level}.jpg",
                    )
                )
    add_traffic(db, "crv_1_price", "p1", 800, 112)
    add_traffic(db, "crv_1_title", "p1", 800, 56)
    add_traffic(db, "crv_2_price", "p2", 800, 96)
    add_traffic(db, "crv_2_title", "p2", 800, 64)
    db.dispose()


def test_status_report_and_export_read_the_campaign(data_dir: Path, tmp_path: Path) -> None:
    _seed_campaign()
    status = RUN.invoke(app, ["campaign", "status", "spring"], terminal_width=200)
    assert status.exit_code == 0, status.output
    assert "hook: price sells best" in status.output
    report = RUN.invoke(app, ["campaign", "report", "spring"], terminal_width=200)
    assert report.exit_code == 0, report.output
    # Products as blocks: 13.0% vs 7.5% (each product weighs equally here).
    assert "price converts 13.0% vs 7.5% for title" in report.output
    assert report.output.index("the answer") < report.output.index("Per product")
    out = tmp_path / "factors.csv"
    ok = RUN.invoke(app, ["campaign", "export", "spring", "--what", "factors", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    rows = {r["level"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert rows["price"]["shoppers"] == "1600" and rows["price"]["buyers"] == "208"
    assert float(rows["title"]["conversion"]) == pytest.approx(120 / 1600)
    assert rows["title"]["decisive"] == "True" and float(rows["title"]["p_holm"]) < 0.05
    creatives = RUN.invoke(app, ["campaign", "export", "spring"])
    parsed = list(csv.DictReader(io.StringIO(creatives.output)))
    assert {(r["creative"], r["shoppers"], r["buyers"]) for r in parsed} >= {
        ("item-1__hook-price", "800", "112")
    }
    data = json.loads(RUN.invoke(app, ["campaign", "export", "spring", "--format", "json"]).output)
    assert data["headlines"][0]["status"] == "winner"
    assert RUN.invoke(app, ["campaign", "report", "nope"]).exit_code == 2


def test_simulate_never_touches_the_live_campaign(data_dir: Path) -> None:
    _seed_campaign()
    db = _db()
    with db.session() as s:
        live_events = s.scalar(select(func.count()).select_from(Event))
        statuses = dict(s.execute(select(Creative.id, Creative.status)).tuples().all())
    db.dispose()
    sim = RUN.invoke(
        app,
        [
            "simulate",
            "--campaign",
            "spring",
            "--shoppers",
            "120",
            "--evaluate-every",
            "60",
            "--rate",
            "hook=price:0.5",
            "--rate",
            "hook=title:0.01",
        ],
        terminal_width=200,
    )
    assert sim.exit_code == 0, sim.output
    assert "sandbox" in sim.output
    db = _db()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == live_events
        assert dict(s.execute(select(Creative.id, Creative.status)).tuples().all()) == statuses
    db.dispose()
    sandbox = Database(f"sqlite:///{data_dir / 'sandbox' / 'spring.db'}")
    with sandbox.session() as s:
        simulated = s.scalars(select(Event.subject).where(Event.kind == "impression")).all()
    sandbox.dispose()
    assert len(simulated) == 120 and all(x.startswith("sim-") for x in simulated)
    report = RUN.invoke(app, ["campaign", "report", "spring", "--sandbox", "--json"])
    assert report.exit_code == 0, report.output
    shown = sum(r["shoppers"] for r in json.loads(report.output)["creatives"])
    assert shown == 120
