"""Every figure of the report agrees with every other: the page, creatives.csv, factors.csv
and export.json, read over HTTP from the real app after the campaign has acted on them."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import httpx
import pytest

from app.asgi import create_app
from connectors.storage import MediaStore
from experiments.evaluation import evaluate_campaign
from reelcart.db import Database
from reelcart.money import format_money
from reelcart.settings import Settings
from tests.experiments.conftest import add_traffic
from tests.servers import serve_on_loopback

P1, P2 = "gid://shopify/Product/1", "gid://shopify/Product/2"
AUTH = {"authorization": "Bearer test-token"}
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


class _Tables(HTMLParser):
    """Each ``<table>``'s rows as lists of cell texts (the header row included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _creative_tables(html: str) -> dict[str, dict[str, str]]:
    """Per-product tables: creative name -> {column header: cell text}."""
    parser = _Tables()
    parser.feed(html)
    out = {}
    for table in parser.tables:
        head = table[0]
        if "creative" not in head:
            continue
        for row in table[1:]:
            cells = dict(zip(head, row, strict=True))
            out[cells["creative"].split(" ")[0]] = cells
    return out


def test_page_and_exports_agree_after_the_campaign_acts(
    db: Database, store: MediaStore, settings: Settings, campaign: dict
) -> None:
    # Campaign-wide hook=price wins (product 1 carries the weight); product 2 alone says the
    # opposite: its title creative converts twice as well as its price one.
    add_traffic(db, campaign[P1]["price"], P1, 2000, 280, price=1999)
    add_traffic(db, campaign[P1]["title"], P1, 2000, 140, price=1999)
    add_traffic(db, campaign[P2]["price"], P2, 300, 15, price=1999)
    add_traffic(db, campaign[P2]["title"], P2, 300, 30, price=1999)
    with db.session() as session:
        evaluate_campaign(session, "spring", apply=True)
    with db.session() as session:
        evaluate_campaign(session, "spring", apply=True)  # the state after acting, again
    with (
        serve_on_loopback(create_app(settings, db, store)) as base,
        httpx.Client(base_url=base, headers=AUTH) as http,
    ):
        html = http.get("/reports/campaigns/spring").text
        creatives = list(
            csv.DictReader(io.StringIO(http.get("/reports/campaigns/spring/creatives.csv").text))
        )
        factors = list(
            csv.DictReader(io.StringIO(http.get("/reports/campaigns/spring/factors.csv").text))
        )
        data = http.get("/reports/campaigns/spring/export.json").json()
    page = _creative_tables(html)
    assert set(page) == {r["creative"] for r in creatives}
    assert len(data["creatives"]) == len(creatives)
    by_product: dict[str, list[dict[str, str]]] = {}
    for row, js in zip(creatives, data["creatives"], strict=True):
        by_product.setdefault(row["product_id"], []).append(row)
        cells = page[row["creative"]]
        # Every figure on the page is the export's, formatted.
        assert cells["shoppers shown"] == row["shoppers"] == str(js["shoppers"])
        assert cells["chance to be best"] == _pct(float(row["chance_best"]))
        assert cells["next traffic share"] == _pct(float(row["weight"]))
        conv = cells["Conversion (buyers per shopper shown)"].split(" ")
        assert conv[0] == _pct(float(row["conversion"]))
        assert conv[1] == _pct(float(row["conversion_low"]))
        assert conv[-1] == _pct(float(row["conversion_high"]))
        # Money carries its unit: the export names minor units and the currency.
        assert row["currency"] == "USD" and js["currency"] == "USD"
        aov = float(row["aov_minor"])
        assert cells["Average order value"].startswith(format_money(round(aov), "USD"))
        assert aov == pytest.approx(1999.0)
        assert js["aov_minor"] == pytest.approx(aov) and js["chance_best"] == pytest.approx(
            float(row["chance_best"])
        )
    assert "$-" not in html and "-$" not in html
    for product, rows in by_product.items():
        winners = [r for r in rows if r["winner"] == "True"]
        for w in winners:
            # A winner is the product's best bet by its own figures.
            assert float(w["chance_best"]) > 0.5, (product, w)
            assert page[w["creative"]]["status"] in ("published", "winner")
            for other in rows:
                if other is not w and other["status"] == "retired":
                    assert float(other["conversion"]) < float(w["conversion"]), (w, other)
        # No retired creative converts better than every live one of its product.
        live = [r for r in rows if r["status"] == "published"]
        for r in rows:
            if r["status"] == "retired":
                assert float(r["conversion"]) < max(float(x["conversion"]) for x in live), r
    # factors.csv: only the leading level of a decided factor is marked the winner.
    by_level = {(r["factor"], r["level"]): r for r in factors}
    assert by_level[("hook", "price")]["status"] == "winner"
    assert by_level[("hook", "title")]["status"] == "loser"
    assert data["factors"][0]["status"] in ("winner", "loser")
    # Product 2's better creative is explained, not silently retired.
    p2 = {r["factors"]: r for r in by_product[P2]}
    assert p2["hook=title"]["status"] == "published"
    steps = " ".join(data["next_steps"])
    assert "Steel Bottle" in steps and re.search(r"10\.0+%", steps), steps


def test_intervals_of_nonnegative_quantities_stay_nonnegative(
    db: Database, store: MediaStore, settings: Settings, campaign: dict
) -> None:
    # One buyer in 40 shoppers: a normal interval on revenue per shopper would dip below 0.
    add_traffic(db, campaign[P1]["price"], P1, 40, 1, price=1000)
    add_traffic(db, campaign[P1]["title"], P1, 40, 0, price=1000)
    with db.session() as session:
        report = evaluate_campaign(session, "spring")
    for exp in report.products:
        for arm in exp.arms:
            for metric, (low, high) in arm.intervals.items():
                assert 0 <= low <= high, (arm.name, metric, low, high)
    assert format_money(-10, "USD") == "-$0.10"
