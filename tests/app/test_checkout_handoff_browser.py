"""An assistant of another lineage buys through the handoff, and a real browser pays.

The agent is the MCP TypeScript SDK's client (``tests/js/agent/buy.mjs``, Node), in both
protocol eras: it searches, shows the product, starts a checkout with the compact tools and
hands over ``continue_url``; then it polls. Headless Chromium is the shopper: it opens the
store's checkout page, presses Pay, pays on the Stripe stand-in's hosted page and lands
back on the store's page. The agent sees ``completed`` and the order, attributed to the
video it showed. Screenshots of each step go to ``.reelcart/test-artifacts/handoff-*.png``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reelcart.models import Order
from scripts.node_tools import JS_DIR, NODE, ensure_node_modules, node_env
from tests.app.handoff_shop import CREATIVE, TOKEN, Shop, served_shop
from tests.commerce.acp_helpers import localstripe
from tests.experiments.cdp import chromium, open_tab

__all__ = ["localstripe", "served_shop"]
pytestmark = pytest.mark.xdist_group("checkout-handoff")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".reelcart" / "test-artifacts"
BROWSER = shutil.which("chromium") or "/usr/bin/chromium"


def _line(agent: subprocess.Popen[str]) -> dict[str, Any]:
    assert agent.stdout is not None
    line = agent.stdout.readline()
    if not line:
        err = agent.stderr.read() if agent.stderr else ""
        raise AssertionError(f"the agent stopped: {err[-2000:]}")
    return dict(json.loads(line))


async def _shopper_pays(port: int, continue_url: str, era: str) -> dict[str, Any]:
    """Chromium: the store's page, Pay, Stripe's page, Pay, back on the store's page."""
    async with open_tab(port, {}) as tab:
        await tab.goto(continue_url)
        page = await tab.evaluate(
            "JSON.stringify({status: document.body.dataset.status,"
            " video: document.getElementById('video')?.dataset.creative,"
            " total: document.querySelector('[data-total=total] .r')?.textContent})"
        )
        await tab.screenshot(ARTIFACTS / f"handoff-{era}-1-store-page.png")
        await tab.submit("document.getElementById('pay').click()")
        stripe_page = await tab.evaluate("location.href")
        await tab.screenshot(ARTIFACTS / f"handoff-{era}-2-stripe-page.png")
        await tab.submit("document.getElementById('pay').click()")
        back = await tab.evaluate(
            "JSON.stringify({url: location.href, status: document.body.dataset.status,"
            " order: document.getElementById('order')?.dataset.order})"
        )
        await tab.screenshot(ARTIFACTS / f"handoff-{era}-3-paid.png")
        return {"page": json.loads(page), "stripe": stripe_page, "back": json.loads(back)}


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_typescript_agent_and_browser_complete_a_purchase(
    served_shop: Shop, tmp_path: Path, era: str
) -> None:
    ensure_node_modules()
    shopper = f"ts-agent-{era}"
    agent = subprocess.Popen(
        [
            str(NODE),
            str(JS_DIR / "agent" / "buy.mjs"),
            f"{served_shop.base}/mcp",
            TOKEN,
            era,
            shopper,
        ],
        cwd=JS_DIR,
        env=node_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        handoff = _line(agent)
        with chromium(BROWSER, tmp_path) as port:
            seen = asyncio.run(_shopper_pays(port, handoff["continue_url"], era))
        done = _line(agent)
        agent.wait(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(timeout=10)
    assert handoff["era"] == ("2025-11-25" if era == "legacy" else "2026-07-28")
    assert "create_checkout" in handoff["tools"]
    assert "create_checkout_session" not in handoff["tools"]
    assert "record_video_event" not in handoff["tools"]  # this host renders no MCP App
    assert handoff["creative_id"] == CREATIVE
    assert seen["page"] == {
        "status": "ready_for_payment",
        "video": CREATIVE,
        "total": handoff["total"]["display"],
    }
    assert seen["stripe"].startswith(served_shop.stripe + "/c/pay/cs_test_")
    assert seen["back"]["status"] == "completed"
    assert seen["back"]["url"].startswith(handoff["continue_url"])
    assert done["status"] == "completed"
    order = done["order"]
    assert order["order_id"] == seen["back"]["order"]
    assert order["total"] == handoff["total"]
    with served_shop.db.session() as session:
        row = session.get(Order, order["order_id"])
        assert row is not None and row.creative_id == CREATIVE and row.subject == shopper
