"""The report page, charts and tracking routes, served by the real app on loopback."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from app.asgi import create_app
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.experiments.conftest import add_traffic
from tests.servers import free_port, serve_on_loopback

P1, P2 = "gid://shopify/Product/1", "gid://shopify/Product/2"
AUTH = {"authorization": "Bearer test-token"}
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_report_page_and_charts(
    db: Database, store: MediaStore, settings: Settings, campaign: dict
) -> None:
    add_traffic(db, campaign[P1]["price"], P1, 400, 48)
    add_traffic(db, campaign[P1]["title"], P1, 400, 30)
    with (
        serve_on_loopback(create_app(settings, db, store)) as base,
        httpx.Client(base_url=base) as http,
    ):
        # Without the token a browser is sent to sign in (the page is never served).
        anonymous = http.get("/reports/campaigns/spring")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/login?next=/reports/campaigns/spring"
        page = http.get("/reports/campaigns/spring", headers=AUTH)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        for text in (
            "Stoneware Mug",
            "product-1__hook-price",
            "chance to be best",
            "Sample ratio",
            "12.00%",
        ):
            assert text in html, text
        chart = http.get("/reports/campaigns/spring/charts/product-0.png", headers=AUTH)
        assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert (
            http.get("/reports/campaigns/spring/charts/factors.png", headers=AUTH).status_code
            == 200
        )
        assert (
            http.get("/reports/campaigns/spring/charts/product-9.png", headers=AUTH).status_code
            == 404
        )
        missing = http.get("/reports/campaigns/nope", headers=AUTH)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_tracking_routes(
    db: Database, store: MediaStore, settings: Settings, campaign: dict
) -> None:
    cid = campaign[P1]["price"]
    with (
        serve_on_loopback(create_app(settings, db, store)) as base,
        httpx.Client(base_url=base) as http,
    ):
        r = http.get(f"/t/click/{cid}", params={"s": "ann", "to": "https://evil.example"})
        assert r.status_code == 302
        target = urlparse(r.headers["location"])
        assert target.netloc == "127.0.0.1:8787"  # built from the creative, not ?to=
        query = parse_qs(target.query)
        assert query["utm_content"] == [cid] and query["utm_campaign"] == ["spring"]
        assert query["utm_source"] == ["reelcart"] and query["rc_creative"] == [cid]
        assert http.get("/t/click/crv_nope").status_code == 404
        pixel = http.get(f"/t/pixel/{cid}.gif", params={"s": "ann"})
        assert pixel.headers["content-type"] == "image/gif" and pixel.content.startswith(b"GIF89a")
        assert http.post("/events", json={"events": []}).status_code == 401
        bad = http.post("/events", headers=AUTH, content=b"{not json")
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
        batch = {
            "events": [
                {
                    "event_id": "o-1",
                    "kind": "purchase",
                    "creative_id": cid,
                    "subject": "ann",
                    "amount_minor": 2400,
                    "currency": "USD",
                },
                {
                    "event_id": "o-1",
                    "kind": "purchase",
                    "creative_id": cid,
                    "subject": "ann",
                    "amount_minor": 2400,
                    "currency": "USD",
                },
                {"event_id": "o-2", "kind": "purchase", "creative_id": cid},
                {"event_id": "o-3", "kind": "click", "creative_id": "crv_nope"},
            ]
        }
        results = http.post("/events", headers=AUTH, json=batch).json()["results"]
        assert [r["status"] for r in results] == ["created", "duplicate", "rejected", "rejected"]
        assert "unknown creative" in results[3]["reason"]
        page = http.get("/reports/campaigns/spring", headers=AUTH).text
    assert "Stoneware Mug" in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(
    db: Database, store: MediaStore, settings: Settings, campaign: dict, tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from tests.experiments.cdp import capture_page

    add_traffic(db, campaign[P1]["price"], P1, 300, 36)
    add_traffic(db, campaign[P1]["title"], P1, 300, 24)
    shot = tmp_path / "report.png"
    # Posters are served by this app: the store's public URL must name its real port.
    port = free_port()
    served = MediaStore(str(tmp_path / "media"), f"http://127.0.0.1:{port}")
    with serve_on_loopback(create_app(settings, db, served), port=port) as base:
        result = capture_page(browser, f"{base}/reports/campaigns/spring", AUTH, shot, tmp_path)
    assert result.errors == [], result.errors
    assert result.rows >= 4 and result.images_ok >= 3, result
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"


ARTIFACTS = Path(__file__).resolve().parents[2] / ".reelcart" / "test-artifacts"


def test_index_and_exports_over_http(
    db: Database, store: MediaStore, settings: Settings, campaign: dict
) -> None:
    add_traffic(db, campaign[P1]["price"], P1, 500, 70)
    add_traffic(db, campaign[P1]["title"], P1, 500, 35)
    with (
        serve_on_loopback(create_app(settings, db, store)) as base,
        httpx.Client(base_url=base) as http,
    ):
        assert http.get("/reports/campaigns").status_code == 303  # sign in first
        index = http.get("/reports/campaigns", headers=AUTH)
        assert index.status_code == 200 and 'href="campaigns/spring"' in index.text
        assert "hook: price sells best" in index.text
        creatives = http.get("/reports/campaigns/spring/creatives.csv", headers=AUTH)
        assert creatives.headers["content-type"].startswith("text/csv")
        assert 'filename="spring-creatives.csv"' in creatives.headers["content-disposition"]
        rows = {r["creative_id"]: r for r in csv.DictReader(io.StringIO(creatives.text))}
        assert rows[campaign[P1]["price"]]["buyers"] == "70"
        assert float(rows[campaign[P1]["title"]]["conversion"]) == pytest.approx(0.07)
        factors = http.get("/reports/campaigns/spring/factors.csv", headers=AUTH).text
        assert factors.splitlines()[0].startswith("factor,level,status,factor_status,leader")
        data = http.get("/reports/campaigns/spring/export.json", headers=AUTH).json()
        assert data["headlines"][0]["status"] == "winner"
        nope = http.get("/reports/campaigns/spring/secrets.txt", headers=AUTH)
        assert nope.status_code == 404 and nope.json()["error"] == "not_found"
        assert http.get("/reports/campaigns/nope/export.json", headers=AUTH).status_code == 404


def test_marketer_reads_the_answer_in_chromium(
    db: Database, store: MediaStore, settings: Settings, campaign: dict, tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from tests.experiments.cdp import chromium, open_tab

    traffic = {(P1, "price"): (600, 84), (P1, "title"): (600, 42)}
    traffic |= {(P2, "price"): (600, 72), (P2, "title"): (600, 48)}
    for (product, hook), (shown, buyers) in traffic.items():
        add_traffic(db, campaign[product][hook], product, shown, buyers)
    # Products as blocks with equal traffic: each product's rate weighs the same.
    price = (84 / 600 + 72 / 600) / 2
    title = (42 / 600 + 48 / 600) / 2
    expected = f"price converts {price:.1%} vs {title:.1%} for title"
    port = free_port()
    served = MediaStore(str(tmp_path / "media"), f"http://127.0.0.1:{port}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def visit(base: str, devtools: int) -> dict:
        # As a person would: no header, sent to sign in, the token buys a cookie.
        async with open_tab(devtools, {}) as tab:
            await tab.goto(f"{base}/reports/campaigns")
            assert await tab.evaluate("location.pathname") == "/login"
            await tab.submit(
                "document.querySelector('input[name=token]').value = 'test-token';"
                "document.querySelector('form').submit()"
            )
            assert await tab.evaluate("location.pathname") == "/reports/campaigns"
            tab.errors.clear()  # the sign-in page is not under test here
            await tab.goto(f"{base}/reports/campaigns")
            link = await tab.evaluate("document.querySelector('a[href$=\"spring\"]').href")
            index_verdict = await tab.evaluate("document.querySelector('tbody tr').innerText")
            await tab.screenshot(ARTIFACTS / "campaigns-index.png")
            await tab.goto(link)
            page = await tab.evaluate(
                "JSON.stringify({headlines: [...document.querySelectorAll('.headline')].map("
                "h => ({factor: h.dataset.factor, status: h.dataset.status, text: h.innerText})),"
                " next: [...document.querySelectorAll('#next li')].map(li => li.innerText),"
                " answerFirst: !!(document.querySelector('#answer').compareDocumentPosition("
                "document.querySelector('h3')) & Node.DOCUMENT_POSITION_FOLLOWING),"
                " factorRows: [...document.querySelectorAll('#factors tbody tr')].map("
                "r => r.innerText)})"
            )
            await tab.screenshot(ARTIFACTS / "campaign-report.png")
            exported = await tab.download("#export-json", tmp_path / "downloads")
            # Chromium holds back a second automatic download from one page view.
            await tab.goto(link)
            table = await tab.download("#export-creatives", tmp_path / "downloads")
            return {
                "index": index_verdict,
                "page": json.loads(page),
                "json": json.loads(exported.read_text()),
                "csv": list(csv.DictReader(io.StringIO(table.read_text()))),
                "errors": list(tab.errors),
            }

    with (
        serve_on_loopback(create_app(settings, db, served), port=port) as base,
        chromium(browser, tmp_path) as devtools,
    ):
        seen = asyncio.run(visit(base, devtools))
    assert seen["errors"] == [], seen["errors"]
    assert "hook: price sells best" in seen["index"]
    (headline,) = seen["page"]["headlines"]
    assert headline["factor"] == "hook" and headline["status"] == "winner"
    assert expected in headline["text"] and "always-valid p = " in headline["text"]
    assert seen["page"]["answerFirst"]
    assert any("hook = price wins campaign-wide" in line for line in seen["page"]["next"])
    # No number contradicts the verdict: the losing level's interval clears 1, its p < 0.05.
    title_row = next(r for r in seen["page"]["factorRows"] if r.startswith("hook = title"))
    low = float(re.search(r"odds ratio [\d.]+ \(([\d.]+)–", title_row).group(1))
    assert low > 1 and "loses: retire" in title_row
    assert seen["json"]["headlines"][0]["title"] == "hook: price sells best"
    got = {
        (r["product_id"], r["factors"]): (int(r["shoppers"]), int(r["buyers"])) for r in seen["csv"]
    }
    assert got == {(p, f"hook={h}"): v for (p, h), v in traffic.items()}
    shot = ARTIFACTS / "campaign-report.png"
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
