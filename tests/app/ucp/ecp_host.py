"""A web host for UCP Embedded Checkout tests, and the Chromium steps that drive it.

The host page (served on its own loopback origin) frames ``src`` as the spec's security
section asks (sandboxed, credentialless), speaks only to the store's origin and its frame,
answers ``ec.ready`` (moving to a ``MessagePort`` when ``upgrade=1``), records every
message, and opens https (or loopback) URLs on ``ec.window.open_request``. Messages are
checked against ``embedded.openrpc.json`` and the schemas it references.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.experiments.cdp import Tab

from .test_ucp_schemas import SPEC, _registry, _validate

__all__ = [
    "ARTIFACTS",
    "BROWSER",
    "check_message",
    "click",
    "find_window",
    "host_app",
    "in_frame",
    "pay_in_popup",
    "until",
]

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / ".reelcart" / "test-artifacts"
BROWSER = shutil.which("chromium") or "/usr/bin/chromium"
OPENRPC_URL = "https://ucp.dev/services/shopping/embedded.openrpc.json"

# The host: frames the page as the spec's security section asks (sandboxed, credentialless),
# speaks only to the store's origin and only to its frame, opens https (or loopback) URLs.
HOST_PAGE = """<!doctype html><meta charset="utf-8"><title>Host</title>
<body style="margin:0;background:#eef"><p>Host app</p>
<iframe id="ec" width="900" height="1500" credentialless
 sandbox="allow-scripts allow-forms allow-same-origin allow-popups"></iframe>
<script>
const params = new URLSearchParams(location.search);
const src = params.get('src'), store = new URL(src).origin, version = params.get('version');
const frame = document.getElementById('ec');
window.messages = []; window.opened = []; window.via = [];
let port = null;  // after a channel upgrade every message goes over it
const post = (msg) => port ? port.postMessage(msg) : frame.contentWindow.postMessage(msg, store);
const reply = (id, result) => post({jsonrpc: '2.0', id, result});
const handle = (m, via) => {
  window.messages.push(m); window.via.push(via);
  const ucp = {version, status: 'success'};
  if (m.method === 'ec.ready' && params.get('upgrade') === '1' && !port) {
    const channel = new MessageChannel();
    const result = {ucp, upgrade: {port: channel.port2}};
    frame.contentWindow.postMessage({jsonrpc: '2.0', id: m.id, result}, store, [channel.port2]);
    port = channel.port1;
    port.onmessage = (e) => handle(e.data, 'port');
    return;
  }
  if (m.method === 'ec.ready') reply(m.id, {ucp});
  if (m.method === 'ec.window.open_request') {
    const url = new URL(m.params.url);
    const allowed = url.protocol === 'https:' || url.hostname === '127.0.0.1';
    const opened = allowed ? window.open(m.params.url, '_blank') : null;
    if (opened) { window.opened.push(m.params.url); reply(m.id, {ucp}); return; }
    reply(m.id, {ucp: {version, status: 'error'}, messages: [{type: 'error',
      code: 'window_open_rejected_error', content: 'Window open rejected by host.',
      severity: 'unrecoverable'}]});
  }
};
addEventListener('message', (e) => {
  if (e.origin === store && e.source === frame.contentWindow) handle(e.data, 'window');
});
frame.src = src;
</script>"""


def host_app() -> Starlette:
    async def page(_: Request) -> HTMLResponse:
        return HTMLResponse(HOST_PAGE)

    return Starlette(routes=[Route("/", page)])


def check_message(message: dict[str, Any]) -> None:
    """One ECP message against its method in ``embedded.openrpc.json``."""
    document = json.loads((SPEC / "source/services/shopping/embedded.openrpc.json").read_text())
    registry = _registry().with_resource(OPENRPC_URL, DRAFT202012.create_resource(document))
    assert message["jsonrpc"] == "2.0"
    index, method = next(
        (i, m) for i, m in enumerate(document["methods"]) if m.get("name") == message["method"]
    )
    assert ("id" in message) == ("result" in method), message  # requests vs notifications
    params = message["params"]
    if method["name"] == "ec.error":
        # embedded-protocol.md (Session Error): the payload is the error response itself.
        _validate("schemas/shopping/types/error_response.json", params)
        return
    for number, param in enumerate(method["params"]):
        if param.get("required"):
            assert param["name"] in params, (message["method"], param["name"])
        if param["name"] in params:
            ref = f"{OPENRPC_URL}#/methods/{index}/params/{number}/schema"
            validator = Draft202012Validator({"$ref": ref}, registry=registry)
            errors = [
                f"{list(e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(params[param["name"]])
            ]
            assert not errors, (message["method"], errors[:5])


async def until(tab: Tab, expression: str, timeout: float = 20, context: int | None = None) -> Any:
    """Poll ``expression`` (in the page or a frame's world) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        extra = {"contextId": context} if context is not None else {}
        reply = await tab.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, **extra
        )
        value = reply["result"].get("value")
        if value:
            print(f"TIMING {time.monotonic():.2f} {expression[:60]}")
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"never true: {expression}")
        await asyncio.sleep(0.05)


async def in_frame(tab: Tab) -> int:
    """An isolated world in the embedded page (same DOM, its own globals)."""
    tree = await tab.call("Page.getFrameTree")
    frame_id = tree["frameTree"]["childFrames"][0]["frame"]["id"]
    world = await tab.call("Page.createIsolatedWorld", frameId=frame_id, worldName="test")
    return int(world["executionContextId"])


async def click(tab: Tab, context: int, selector: str) -> None:
    """A real mouse click (user activation) on ``selector`` inside the frame."""
    frame = json.loads(
        await tab.evaluate("JSON.stringify(document.getElementById('ec').getBoundingClientRect())")
    )
    x, y = await until(
        tab,
        f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
        ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()",
        context=context,
    )
    for kind in ("mousePressed", "mouseReleased"):
        await tab.call(
            "Input.dispatchMouseEvent",
            type=kind,
            x=frame["x"] + x,
            y=frame["y"] + y,
            button="left",
            clickCount=1,
        )


async def find_window(http: aiohttp.ClientSession, devtools: int, prefix: str) -> dict[str, Any]:
    """The browser window (page target) whose address starts with ``prefix``."""
    deadline = time.monotonic() + 20
    while True:
        async with http.get(f"http://127.0.0.1:{devtools}/json/list") as r:
            found = [t for t in await r.json() if t["url"].startswith(prefix)]
        if found and found[0]["type"] == "page":
            return dict(found[0])
        assert time.monotonic() < deadline, f"no window opened at {prefix}"
        await asyncio.sleep(0.05)


async def pay_in_popup(devtools: int, url: str) -> None:
    """The window the host opened: Stripe's hosted page; the buyer pays there."""
    async with aiohttp.ClientSession() as http:
        found = await find_window(http, devtools, url)
        async with http.ws_connect(found["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            popup = Tab(ws)
            reader = asyncio.create_task(popup.read())
            try:
                await popup.call("Page.enable")
                await until(
                    popup, "document.readyState === 'complete' && !!document.getElementById('pay')"
                )
                await popup.screenshot(ARTIFACTS / "embedded-2-stripe-window.png")
                await popup.submit("document.getElementById('pay').click()")
            finally:
                reader.cancel()
