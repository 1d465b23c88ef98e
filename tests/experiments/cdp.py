"""A tiny Chrome DevTools Protocol client: drive headless Chromium, collect console errors
and failed requests, read the DOM, download files and take screenshots."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["PageResult", "Tab", "capture_page", "chromium", "open_tab"]

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


class Tab:
    """One page target: commands, load waits, and every error the page reports."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.errors: list[str] = []
        self.loaded = asyncio.Event()
        self.downloads: dict[str, str] = {}
        self._counter = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Page.loadEventFired":
                self.loaded.set()
            elif method == "Runtime.exceptionThrown":
                self.errors.append(str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                self.errors.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(params["entry"].get("text", ""))
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                self.errors.append(f"request failed: {params.get('errorText')}")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                r = params["response"]
                self.errors.append(f"HTTP {r['status']} for {r['url']}")
            elif method == "Browser.downloadProgress":
                self.downloads[params["guid"]] = params["state"]

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._counter += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._counter] = future
        await self.ws.send_str(
            json.dumps({"id": self._counter, "method": method, "params": params})
        )
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def goto(self, url: str) -> None:
        self.loaded.clear()
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(self.loaded.wait(), 30)
        await asyncio.sleep(0.3)  # let late console messages arrive

    async def submit(self, expression: str) -> None:
        """Run ``expression`` (one that navigates, e.g. submits a form); wait for the load."""
        self.loaded.clear()
        await self.evaluate(expression)
        await asyncio.wait_for(self.loaded.wait(), 30)
        await asyncio.sleep(0.3)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        png = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(png["data"]))

    async def download(self, selector: str, folder: Path, timeout: float = 20) -> Path:
        """Click the link ``selector`` and wait for the file Chromium saves into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        before = set(folder.iterdir())
        await self.call(
            "Browser.setDownloadBehavior",
            behavior="allow",
            downloadPath=str(folder),
            eventsEnabled=True,
        )
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [p for p in set(folder.iterdir()) - before if not p.name.endswith(".crdownload")]
            if done and "inProgress" not in self.downloads.values():
                return done[0]
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no download from {selector}")


@contextmanager
def chromium(browser: str, workdir: Path) -> Iterator[int]:
    """A fresh headless Chromium profile; yields its DevTools port."""
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
        yield int(port_file.read_text().split()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@asynccontextmanager
async def open_tab(port: int, headers: dict[str, str]) -> AsyncIterator[Tab]:
    """The browser's page target with Page, Runtime, Log and Network events on."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
            targets = await r.json()
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tab = Tab(ws)
            reader = asyncio.create_task(tab.read())
            for domain in ("Page", "Runtime", "Log", "Network"):
                await tab.call(f"{domain}.enable")
            await tab.call("Network.setExtraHTTPHeaders", headers=headers)
            try:
                yield tab
            finally:
                reader.cancel()


def capture_page(
    browser: str, url: str, headers: dict[str, str], shot: Path, workdir: Path
) -> PageResult:
    """Open ``url`` in a fresh headless Chromium profile and report what happened."""

    async def run(port: int) -> PageResult:
        async with open_tab(port, headers) as tab:
            await tab.goto(url)
            counts = json.loads(
                await tab.evaluate(
                    "JSON.stringify({rows: document.querySelectorAll('table tbody tr').length,"
                    " images: document.images.length, ok: [...document.images]"
                    ".filter(i => i.complete && i.naturalWidth > 0).length})"
                )
            )
            await tab.screenshot(shot)
            return PageResult(list(tab.errors), counts["rows"], counts["ok"], counts["images"])

    with chromium(browser, workdir) as port:
        return asyncio.run(run(port))
