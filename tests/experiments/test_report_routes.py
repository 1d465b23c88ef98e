"""The report page, charts and tracking routes, served by the real app on loopback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.storage import MediaStore
from reelcart.app import create_app
from reelcart.db import Database
from reelcart.settings import Settings
from tests.experiments.conftest import add_traffic
from tests.servers import free_port, serve_on_loopback

P1 = "gid://shopify/Product/1"
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
