"""UCP Embedded Checkout: a host page in headless Chromium embeds the store's checkout page.

The host (:mod:`tests.app.ucp.ecp_host`, another loopback origin) iframes ``continue_url``
with ``ec_version``, ``ec_delegate=window.open`` and ``ec_color_scheme=dark``. The buyer
changes the quantity and email, presses Pay (a real mouse click), pays in the window the
host opened, and the page reports ``ec.complete``. Every message is checked against
``embedded.openrpc.json``; a wrong ``ec_version`` gets ``ec.error`` alone; a channel
upgrade, a host that delegates nothing and a host the store does not trust are tried too.
Screenshots go to ``.reelcart/test-artifacts/embedded-*.png``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
from ucp_sdk.models.schemas import ucp as sdk_ucp
from ucp_sdk.models.schemas.shopping import checkout as sdk_checkout

from app.asgi import create_app
from app.checkout_page_embedded import embedded_markup, frame_headers
from app.ucp.embedded import checkout_services, discovery_service, embedded_session, host_origins
from app.ucp.envelope import UCP_VERSION
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.experiments.cdp import chromium, open_tab
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ecp_host import (
    ARTIFACTS,
    BROWSER,
    check_message,
    click,
    find_window,
    host_app,
    in_frame,
    pay_in_popup,
    until,
)
from .test_ucp_schemas import _validate
from .ucp_helpers import client, create_body, platform_on_loopback, signed_get, ucp_settings


async def _not_delegated(devtools: int, host_url: str, stripe: str) -> list[dict[str, Any]]:
    """A host that delegates nothing: the page opens Stripe's page itself on Pay."""
    async with open_tab(devtools, {}) as tab, aiohttp.ClientSession() as http:
        await tab.goto(host_url)
        await until(tab, "window.messages.some(m => m.method === 'ec.start')")
        await click(tab, await in_frame(tab), "#pay")
        await find_window(http, devtools, stripe + "/c/pay/cs_test_")
        return list(await tab.evaluate("window.messages"))


async def _embedded_purchase(devtools: int, host_url: str) -> dict[str, Any]:
    async with open_tab(devtools, {}) as tab:
        await tab.goto(host_url)
        await until(tab, "window.messages.some(m => m.method === 'ec.start')")
        frame = await in_frame(tab)
        scheme = await until(
            tab, "getComputedStyle(document.documentElement).colorScheme", context=frame
        )
        await tab.screenshot(ARTIFACTS / "embedded-1-started.png")
        await until(
            tab,
            "(() => { document.querySelector('[name=quantity_0]').value = '2';"
            " document.getElementById('update').form.requestSubmit(); return true; })()",
            context=frame,
        )
        await until(tab, "window.messages.some(m => m.method === 'ec.totals.change')")
        await until(
            tab,
            "(() => { document.querySelector('[name=email]').value = 'ada@example.com';"
            " document.getElementById('update').form.requestSubmit(); return true; })()",
            context=frame,
        )
        await until(tab, "window.messages.some(m => m.method === 'ec.buyer.change')")
        await click(tab, frame, "#pay")
        await until(tab, "window.opened.length === 1")
        opened = await tab.evaluate("window.opened[0]")
        await pay_in_popup(devtools, opened)
        await until(tab, "window.messages.some(m => m.method === 'ec.complete')", timeout=30)
        await tab.call("Page.bringToFront")  # a background tab is never painted
        await tab.screenshot(ARTIFACTS / "embedded-3-complete.png")
        return {
            "messages": await tab.evaluate("window.messages"),
            "scheme": scheme,
            "opened": opened,
        }


async def _wrong_version(devtools: int, host_url: str) -> list[dict[str, Any]]:
    async with open_tab(devtools, {}) as tab:
        await tab.goto(host_url)
        await until(tab, "window.messages.length > 0")
        await tab.screenshot(ARTIFACTS / "embedded-4-version-error.png")
        return list(await tab.evaluate("window.messages"))


async def _upgraded(devtools: int, host_url: str) -> tuple[list[dict[str, Any]], list[str]]:
    """A host that moves the session onto a ``MessagePort`` in its ``ec.ready`` answer."""
    async with open_tab(devtools, {}) as tab:
        await tab.goto(host_url)
        await until(tab, "window.messages.some(m => m.method === 'ec.start')")
        return list(await tab.evaluate("window.messages")), list(await tab.evaluate("window.via"))


async def _foreign_host(devtools: int, host_url: str) -> tuple[str, list[dict[str, Any]]]:
    """A host the store does not trust: Chromium refuses to frame the page (CSP)."""
    async with open_tab(devtools, {}) as tab:
        await tab.goto(host_url)
        deadline = time.monotonic() + 20
        while True:
            tree = await tab.call("Page.getFrameTree")
            frames = [f["frame"] for f in tree["frameTree"].get("childFrames", [])]
            shown = frames[0].get("unreachableUrl") or frames[0]["url"] if frames else ""
            if frames and frames[0]["url"].startswith("chrome-error:"):
                break
            assert time.monotonic() < deadline, f"the frame still shows {shown}"
            await asyncio.sleep(0.05)
        return frames[0]["url"], list(await tab.evaluate("window.messages"))


def test_a_host_embeds_the_checkout_and_the_page_speaks_ecp(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    stock_shop(sqlite_db, store, tmp_path, stock=5)
    port = free_port()
    secret = "whsec_" + secrets.token_hex(16)
    with serve_on_loopback(host_app()) as host, serve_on_loopback(host_app()) as foreign:
        configured = ucp_settings(
            settings,
            localstripe.url,
            port,
            stripe_webhook_secret=secret,
            embedded_host_origins=host,
        )
        httpx.post(
            f"{localstripe.url}/_config/webhooks/reelcart-handoff",
            data={"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": secret},
            timeout=10,
        ).raise_for_status()
        with (
            platform_on_loopback() as platform,
            serve_on_loopback(create_app(configured, sqlite_db, store), port) as base,
            client(base) as http,
        ):
            profile = http.get("/.well-known/ucp").json()
            _validate("discovery/profile_schema.json#/$defs/business_profile", profile)
            sdk_ucp.BusinessSchema.model_validate(profile["ucp"])  # the ucp-sdk reads it too
            embedded = [
                s
                for s in profile["ucp"]["services"]["dev.ucp.shopping"]
                if s["transport"] == "embedded"
            ]
            assert embedded == [
                {
                    "version": UCP_VERSION,
                    "spec": f"https://ucp.dev/{UCP_VERSION}/specification/embedded-checkout",
                    "transport": "embedded",
                    "schema": f"https://ucp.dev/{UCP_VERSION}/services/shopping/embedded.openrpc.json",
                    "config": {"delegate": ["window.open"], "color_scheme": ["light", "dark"]},
                }
            ]
            url = f"{base}/checkout-sessions"
            raw, headers = platform.signed("POST", url, create_body())
            checkout = http.post(url, content=raw, headers=headers).json()
            _validate("schemas/shopping/checkout.json", checkout)
            sdk_checkout.Checkout.model_validate(checkout)
            assert checkout["ucp"]["services"] == {
                "dev.ucp.shopping": [
                    {
                        "version": UCP_VERSION,
                        "transport": "embedded",
                        "config": {"delegate": ["window.open"], "color_scheme": ["light", "dark"]},
                    }
                ]
            }
            page = checkout["continue_url"]
            raw, headers = platform.signed("POST", url, create_body())
            second = http.post(url, content=raw, headers=headers).json()
            # Framing: nobody on a plain load, only the configured host in an ECP session.
            plain = httpx.get(page, timeout=10)
            assert plain.headers["content-security-policy"] == "frame-ancestors 'none'"
            session_url = (
                page
                + "?"
                + urlencode(
                    {
                        "ec_version": UCP_VERSION,
                        "ec_delegate": "window.open,payment.credential",
                        "ec_color_scheme": "dark",
                        "ec_auth": "host-credential-7f3a",
                    }
                )
            )
            framed = httpx.get(session_url, timeout=10)
            assert framed.headers["content-security-policy"] == f"frame-ancestors {host}"
            assert "host-credential-7f3a" not in framed.text  # no token is taken or copied

            with chromium(BROWSER, tmp_path) as devtools:
                seen = asyncio.run(
                    _embedded_purchase(
                        devtools,
                        f"{host}/?" + urlencode({"src": session_url, "version": UCP_VERSION}),
                    )
                )
                wrong = (
                    page
                    + "?"
                    + urlencode({"ec_version": "2025-01-01", "ec_delegate": "window.open"})
                )
                errors = asyncio.run(
                    _wrong_version(
                        devtools, f"{host}/?" + urlencode({"src": wrong, "version": "2025-01-01"})
                    )
                )
                upgraded = asyncio.run(
                    _upgraded(
                        devtools,
                        f"{host}/?"
                        + urlencode({"src": session_url, "version": UCP_VERSION, "upgrade": "1"}),
                    )
                )
                own = second["continue_url"] + "?" + urlencode({"ec_version": UCP_VERSION})
                undelegated = asyncio.run(
                    _not_delegated(
                        devtools,
                        f"{host}/?" + urlencode({"src": own, "version": UCP_VERSION}),
                        localstripe.url,
                    )
                )
                blocked = asyncio.run(
                    _foreign_host(
                        devtools,
                        f"{foreign}/?" + urlencode({"src": session_url, "version": UCP_VERSION}),
                    )
                )
            after = signed_get(http, platform, f"/checkout-sessions/{checkout['id']}").json()

    messages = seen["messages"]
    for message in messages + errors:
        check_message(message)
    methods = [m["method"] for m in messages]
    # Handshake; the quantity change (line items, then totals, as the spec orders them); the
    # email (buyer only: the totals did not change); Pay asks the host to open Stripe's page;
    # the order is written. Nothing unsolicited (no payment credential request) in between.
    assert methods == [
        "ec.ready",
        "ec.start",
        "ec.line_items.change",
        "ec.totals.change",
        "ec.buyer.change",
        "ec.window.open_request",
        "ec.complete",
    ]
    assert messages[0]["params"] == {"delegate": ["window.open"]}  # payment.credential refused
    assert messages[4]["params"]["checkout"]["buyer"]["email"] == "ada@example.com"
    assert messages[1]["params"]["checkout"]["line_items"][0]["quantity"] == 1
    changed = messages[methods.index("ec.line_items.change")]["params"]["checkout"]
    assert changed["line_items"][0]["quantity"] == 2
    assert changed["totals"] != messages[1]["params"]["checkout"]["totals"]
    opened = messages[methods.index("ec.window.open_request")]
    assert opened["params"] == {"url": seen["opened"]}
    assert seen["opened"].startswith(localstripe.url + "/c/pay/cs_test_")
    done = messages[-1]["params"]["checkout"]
    assert done["status"] == "completed"
    assert done["order"] == after["order"] and after["status"] == "completed"
    assert done["totals"] == after["totals"] == changed["totals"]
    assert all(
        m["params"]["checkout"]["ucp"]["version"] == UCP_VERSION
        for m in messages
        if "checkout" in m["params"]
    )
    assert seen["scheme"] == "dark"
    # A version the checkout does not speak: ec.error alone, with the way back.
    assert [m["method"] for m in errors] == ["ec.error"]
    assert errors[0]["params"]["messages"][0]["code"] == "version_unsupported"
    assert errors[0]["params"]["continue_url"] == page
    # A channel upgrade: ec.ready again over the port, then everything over it alone.
    for message in upgraded[0]:
        check_message(message)
    assert [m["method"] for m in upgraded[0]] == ["ec.ready", "ec.ready", "ec.start"]
    assert upgraded[1] == ["window", "port", "port"]
    assert upgraded[0][2]["params"]["checkout"]["status"] == "completed"
    # Nothing delegated: the page handled Pay with its own window, asking the host nothing.
    for message in undelegated:
        check_message(message)
    assert [m["method"] for m in undelegated] == ["ec.ready", "ec.start"]
    assert undelegated[0]["params"] == {"delegate": []}
    # Another origin cannot frame the page at all, so it hears nothing.
    assert blocked == ("chrome-error://chromewebdata/", [])


def test_only_configured_hosts_may_embed_and_the_page_state_cannot_break_out(
    settings: Settings,
) -> None:
    assert discovery_service(settings) is None  # no host configured: nothing is offered
    assert checkout_services(settings, "incomplete") is None
    configured = settings.model_copy(
        update={
            "embedded_host_origins": "https://host.example, https://x.example; script-src *,"
            " javascript:alert(1), http://127.0.0.1:8080/, https://a.example/path"
        }
    )
    assert host_origins(configured) == ("https://host.example", "http://127.0.0.1:8080")
    assert checkout_services(configured, "completed") is None  # nothing left to embed
    assert frame_headers(None) == {
        "Content-Security-Policy": "frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
    }
    page = "https://shop.example/checkout/cs_1"
    assert embedded_session({}, configured, None, page) is None  # a plain load
    not_ucp = embedded_session({"ec_version": UCP_VERSION}, configured, None, page)
    assert not_ucp is not None and not_ucp.error is not None
    assert not_ucp.error["messages"][0]["code"] == "not_supported_error"
    _validate("schemas/shopping/types/error_response.json", not_ucp.error)
    assert frame_headers(not_ucp) == {
        "Content-Security-Policy": "frame-ancestors https://host.example http://127.0.0.1:8080"
    }
    hostile = {"ucp": {"version": UCP_VERSION}, "name": "</script><script>alert(1)</script>"}
    query = {"ec_version": UCP_VERSION, "ec_delegate": "payment.credential,window.open"}
    session = embedded_session(query, configured, hostile, page)
    assert session is not None and session.delegate == ["window.open"]
    markup = embedded_markup(session)
    assert markup.count("</script>") == 2  # the state's own and the script's, no third
    state = markup.split("id='ec-state'>", 1)[1].split("</script>", 1)[0]
    assert json.loads(state)["checkout"]["name"] == hostile["name"]
