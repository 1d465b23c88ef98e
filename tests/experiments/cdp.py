"""A tiny Chrome DevTools Protocol client: load a page in headless Chromium, collect console
errors and failed requests, count what rendered, and take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["PageResult", "capture_page"]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1400,1800",
]


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)
    rows: int = 0
    images_ok: int = 0
    images: int = 0


async def _session(ws_url: str, url: str, headers: dict[str, str], shot: Path) -> PageResult:
    result = PageResult()
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        counter = 0
        loaded = asyncio.Event()
        pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

        async def reader() -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if "id" in data and data["id"] in pending:
                    pending.pop(data["id"]).set_result(data)
                    continue
                method, params = data.get("method"), data.get("params", {})
                if method == "Page.loadEventFired":
                    loaded.set()
                elif method == "Runtime.exceptionThrown":
                    result.errors.append(str(params["exceptionDetails"].get("text")))
                elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    result.errors.append(str(params.get("args")))
                elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                    result.errors.append(params["entry"].get("text", ""))
                elif method == "Network.loadingFailed" and not params.get("canceled"):
                    result.errors.append(f"request failed: {params.get('errorText')}")
                elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                    r = params["response"]
                    result.errors.append(f"HTTP {r['status']} for {r['url']}")

        async def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            pending[counter] = future
            await ws.send_str(json.dumps({"id": counter, "method": method, "params": params}))
            reply = await asyncio.wait_for(future, 30)
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply.get("result", {})

        task = asyncio.create_task(reader())
        for domain in ("Page", "Runtime", "Log", "Network"):
            await call(f"{domain}.enable")
        await call("Network.setExtraHTTPHeaders", headers=headers)
        await call("Page.navigate", url=url)
        await asyncio.wait_for(loaded.wait(), 30)
        await asyncio.sleep(0.3)  # let late console messages arrive
        probe = await call(
            "Runtime.evaluate",
            expression="JSON.stringify({rows: document.querySelectorAll('table tbody tr').length,"
            " images: document.images.length, ok: [...document.images]"
            ".filter(i => i.complete && i.naturalWidth > 0).length})",
            returnByValue=True,
        )
        counts = json.loads(probe["result"]["value"])
        result.rows, result.images, result.images_ok = (
            counts["rows"],
            counts["images"],
            counts["ok"],
        )
        png = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        shot.write_bytes(base64.b64decode(png["data"]))
        task.cancel()
    return result


def capture_page(
    browser: str, url: str, headers: dict[str, str], shot: Path, workdir: Path
) -> PageResult:
    """Open ``url`` in a fresh headless Chromium profile and report what happened."""
    profile = workdir / "chromium-profile"
    proc = subprocess.Popen(
        [browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])

        async def run() -> PageResult:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/json/list") as r,
            ):
                targets = await r.json()
            page = next(t for t in targets if t["type"] == "page")
            return await _session(page["webSocketDebuggerUrl"], url, headers, shot)

        return asyncio.run(run())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
