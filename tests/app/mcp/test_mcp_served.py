"""A fresh ``reelcart serve`` met by real outside clients: the official MCP conformance
suite, and the MCP App in a real browser through the official MCP Apps host bridge.

The conformance suite (npm) runs every scenario that applies (``scripts/mcp_conformance.py``);
its summary lines are printed at the end of the pytest run (tests/conftest.py).

Headless Chromium opens a small host page (``tests/js/host``, bundled from
``@modelcontextprotocol/ext-apps``' AppBridge and the MCP TypeScript client) whose backend
forwards ``/mcp`` to a fresh ``reelcart serve`` with its token, as a hosted assistant's
backend would. The page renders the ``ui://`` showcase; the test watches the video play,
presses Buy and reads the order and the events back from the database. A screenshot is
saved while the video plays (``.reelcart/test-artifacts/mcp-app-playing.png``) and after
the purchase (``mcp-app-ordered.png``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event, Order
from scripts.mcp_conformance import APPLICABLE, SUITES, run_conformance, write_summary
from scripts.node_tools import JS_DIR, ensure_node_modules
from tests.commerce.acp_helpers import localstripe, stock_shop
from tests.commerce.showcase_media import publish_playable_creative
from tests.experiments import cdp
from tests.experiments.cdp import Tab, chromium, open_tab
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["localstripe"]
# One server for both tests: they share a worker.
pytestmark = pytest.mark.xdist_group("mcp-served")
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / ".reelcart" / "test-artifacts"
BROWSER = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "browser-test-token"
_FORWARDED = ("content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id")


def _bundle(out: Path) -> Path:
    ensure_node_modules()
    esbuild = JS_DIR / "node_modules" / "@esbuild" / "linux-x64" / "bin" / "esbuild"
    target = out / "host.js"
    subprocess.run(
        [str(esbuild), "host/host.mjs", "--bundle", "--format=esm", f"--outfile={target}"],
        cwd=JS_DIR,
        check=True,
        capture_output=True,
    )
    shutil.copy(JS_DIR / "host" / "host.html", out / "host.html")
    return out


def host_app(folder: Path, upstream: str) -> Starlette:
    """The host: its page, its script, and its backend's forwarding of /mcp (with the token)."""
    client = httpx.AsyncClient(timeout=60)

    async def mcp(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        headers["authorization"] = f"Bearer {TOKEN}"
        outgoing = client.build_request(
            request.method, upstream, headers=headers, content=await request.body()
        )
        answer = await client.send(outgoing, stream=True)
        kept = {k: v for k, v in answer.headers.items() if k in _FORWARDED or k == "cache-control"}
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=kept,
            background=BackgroundTask(answer.aclose),
        )

    return Starlette(
        routes=[
            Route("/", lambda _: FileResponse(folder / "host.html")),
            Route("/host.js", lambda _: FileResponse(folder / "host.js")),
            Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]),
        ]
    )


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[tuple[str, Database, str]]:
    """A fresh ``reelcart serve`` over a store with one published, playable creative."""
    tmp_path = tmp_path_factory.mktemp("served")
    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(data / "media"), "")
    stock_shop(db, store, tmp_path)
    creative = publish_playable_creative(db, data / "media", "gid://shopify/Product/1", seconds=8.0)
    port = free_port()
    env = {
        **os.environ,
        "REELCART_DATA_DIR": str(data),
        "REELCART_API_TOKEN": TOKEN,
        "REELCART_STRIPE_API_KEY": API_KEY,
        "REELCART_STRIPE_API_BASE": localstripe.url,
    }
    for name in ("REELCART_DATABASE_URL", "REELCART_PUBLIC_BASE_URL", "REELCART_OAUTH_ISSUER"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/mcp", db, creative
    finally:
        server.terminate()
        server.wait(timeout=20)
        db.dispose()


def test_official_mcp_conformance_suite(served: tuple[str, Database, str]) -> None:
    upstream = served[0]
    ok, lines = run_conformance(int(upstream.split(":")[2].split("/")[0]), TOKEN)
    write_summary(lines)
    assert ok, "\n".join(lines)
    # Each applicable scenario ran and passed in some run, and both releases ran: the
    # newest release and the newest pre-release with its 2026-07-28 requirement set.
    passed = {line.split(" PASS ")[1].split(" ")[0] for line in lines if " PASS " in line}
    assert passed == set(APPLICABLE)
    versions = {SUITES[0].version, SUITES[1].version}
    assert {line.split(" ")[2] for line in lines if line.endswith("not applicable)")} == versions
    assert any(
        line.startswith(f"MCP conformance {SUITES[1].version} 2026-07-28:") for line in lines
    )


async def _in_app(tab: Tab, context: int, expression: str) -> Any:
    reply = await tab.call(
        "Runtime.evaluate", expression=expression, contextId=context, returnByValue=True
    )
    if "exceptionDetails" in reply:
        raise RuntimeError(f"app script failed: {reply['exceptionDetails']}")
    return reply["result"].get("value")


async def _until(probe: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError(what)


def test_video_plays_and_buy_completes_an_attributed_order(
    served: tuple[str, Database, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream, db, creative = served
    # The sandboxed frame in the page's own renderer, so the DevTools page session reaches it.
    monkeypatch.setattr(cdp, "FLAGS", [*cdp.FLAGS, "--disable-features=IsolateSandboxedIframes"])
    folder = _bundle(tmp_path / "host")
    shopper = "chat-42"

    async def run(port: int, host: str) -> dict[str, Any]:
        async with open_tab(port, {}) as tab:
            hash_ = f"#tool=get_product&product=product-1&shopper={shopper}"
            await tab.goto(f"{host}/{hash_}")
            await _until(lambda: tab.evaluate("document.body.dataset.state || ''"), "host rendered")
            assert await tab.evaluate("document.body.dataset.state") == "rendered"
            tree = await tab.call("Page.getFrameTree")
            frame = tree["frameTree"]["childFrames"][0]["frame"]["id"]
            world = await tab.call("Page.createIsolatedWorld", frameId=frame, worldName="test")
            ctx = world["executionContextId"]
            await _until(
                lambda: _in_app(tab, ctx, "document.querySelector('video').currentTime > 1"),
                "video playing",
            )
            await tab.screenshot(ARTIFACTS / "mcp-app-playing.png")
            first = await _in_app(tab, ctx, "document.querySelector('video').currentTime")
            await asyncio.sleep(1.0)
            later = await _in_app(tab, ctx, "document.querySelector('video').currentTime")
            shown = json.loads(
                await _in_app(
                    tab,
                    ctx,
                    """JSON.stringify({
                      poster: document.querySelector('video').poster,
                      track: document.querySelector('track')?.src,
                      cues: document.querySelector('video').textTracks[0]?.cues?.length || 0,
                      aspect: document.getElementById('stage').style.aspectRatio,
                      width: document.querySelector('video').videoWidth,
                      height: document.querySelector('video').videoHeight,
                      price: document.getElementById('price').textContent,
                      variants: [...document.querySelectorAll('#variant option')].map(o => o.value),
                    })""",
                )
            )
            fill = {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "line_one": "1 Chat Road",
                "city": "San Francisco",
                "state": "CA",
                "postal_code": "94131",
            }
            await _in_app(
                tab,
                ctx,
                f"Object.entries({json.dumps(fill)}).forEach(([k, v]) => "
                "document.getElementById(k).value = v); document.getElementById('buy').click()",
            )
            order_id = await _until(
                lambda: _in_app(tab, ctx, "document.body.dataset.orderId || ''"), "order", 60
            )
            status = await _in_app(tab, ctx, "document.getElementById('status').textContent")
            await tab.screenshot(ARTIFACTS / "mcp-app-ordered.png")
            await asyncio.sleep(0.3)
            return {
                "first": first,
                "later": later,
                "shown": shown,
                "order": order_id,
                "status": status,
                "errors": list(tab.errors),
            }

    with (
        serve_on_loopback(host_app(folder, upstream)) as host,
        chromium(BROWSER, tmp_path) as port,
    ):
        seen = asyncio.run(run(port, host))
    assert seen["errors"] == []
    assert seen["later"] > seen["first"] > 1  # the video plays
    shown = seen["shown"]
    assert shown["poster"].endswith(f"{creative}.jpg") and shown["track"].endswith(".vtt")
    assert shown["cues"] == 1  # the captions loaded
    assert shown["aspect"] == "144 / 256" and (shown["width"], shown["height"]) == (144, 256)
    assert shown["price"] == "$24.00"
    assert shown["variants"] == ["gid://shopify/ProductVariant/11"]
    assert seen["status"].startswith(f"Order {seen['order']} confirmed")
    with db.session() as session:
        order = session.get(Order, seen["order"])
        assert order is not None and order.status == "confirmed"
        assert order.creative_id == creative and order.subject == shopper
        kinds = {
            (e.kind, e.creative_id)
            for e in session.scalars(select(Event).where(Event.subject == shopper))
        }
    assert {("impression", creative), ("click", creative), ("purchase", creative)} <= kinds
