"""Buy something from the local store the way an assistant does, with a Stripe stand-in.

Starts the Stripe stand-in (localstripe on loopback, ``tests/fakes/stripe_server.py``) and
the reelcart app on free loopback ports, then, as an MCP client over HTTP: search, show the
product (its video is allocated and the impression counted) and create the checkout. The
shopper's part follows the checkout's ``continue_url``: the store's page, Pay, the stand-in's
hosted Stripe Checkout page (test card), whose signed webhook writes the order. The agent
polls until the checkout is completed and prints the order and the creative it is
attributed to.

It shops a copy of the store in ``REELCART_DATA_DIR`` (run ``reelcart sync`` or ``make demo``
first), made with SQLite's backup API into ``<data dir>/sandbox/buy-locally.db``: the test
order, its stock hold and its purchase event never reach the live store or the live
campaign's statistics. The copy stays for a look afterwards and is replaced by the next run.

Run: ``.venv/bin/python scripts/buy_locally.py "gift for a coffee lover"``
"""

from __future__ import annotations

import logging
import secrets
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
import httpx
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.asgi import create_app
from reelcart.db import Database
from reelcart.settings import Settings, get_settings
from tests.fakes.stripe_server import API_KEY, LocalStripe

ADDRESS = {
    "name": "Ada Lovelace",
    "line_one": "1 Chat Road",
    "city": "San Francisco",
    "state": "CA",
    "country": "US",
    "postal_code": "94131",
}


def sandbox_store(settings: Settings) -> Path:
    """A consistent copy of the live SQLite store to shop in (the live one is only read)."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        raise SystemExit(
            "buy_locally.py shops a copy of a SQLite store; with REELCART_DATABASE_URL on "
            "another database, point it at a scratch database to buy in."
        )
    live = Path(url.removeprefix("sqlite:///"))
    if not live.exists():
        raise SystemExit(f"no store at {live}: run `reelcart sync` (or `make demo`) first")
    Database(url).migrate()  # the copy gets the live schema, up to date
    copy = settings.data_dir.resolve() / "sandbox" / "buy-locally.db"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{live}?mode=ro", uri=True) as source, sqlite3.connect(copy) as dst:
        source.backup(dst)
    return copy


async def buy(url: str, token: str, query: str) -> dict[str, str]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        found = (await client.call_tool("search_products", {"query": query})).structured_content
        if not found["products"]:
            raise SystemExit(f"nothing found for {query!r}: run `reelcart sync` first")
        product = found["products"][0]
        shown = await client.call_tool(
            "get_product", {"product_id": product["id"], "shopper_id": "local-buyer"}
        )
        detail = shown.structured_content
        variant = next(v for v in detail["variants"] if v["available"])
        creative = detail["creative"]["creative_id"] if detail["creative"] else None
        name = detail["creative"]["name"] if detail["creative"] else "no video"
        created = await client.call_tool(
            "create_checkout",
            {
                "items": [{"variant_id": variant["id"], "quantity": 1}],
                "shopper_id": detail["shopper_id"],
                "email": "ada@example.com",
                "shipping_address": ADDRESS,
            },
        )
        checkout = created.structured_content
        print(f"Hand the shopper {checkout['continue_url']}")
        await anyio.to_thread.run_sync(pay_as_the_shopper, checkout["continue_url"])
        for _ in range(100):
            state = await client.call_tool("get_checkout", {"checkout_id": checkout["checkout_id"]})
            if state.structured_content["status"] == "completed":
                break
            await anyio.sleep(0.2)
        order = state.structured_content["order"]
        return {
            "product": detail["title"],
            "price": variant["price"]["display"],
            "creative": f"{name} ({creative})" if creative else name,
            "order": order["order_id"],
            "status": order["status"],
        }


def pay_as_the_shopper(continue_url: str) -> None:
    """The store's page, Pay, then the hosted Stripe Checkout page with the test card."""
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        hosted = browser.post(f"{continue_url}/pay", follow_redirects=False)
        if hosted.status_code != 303:
            raise SystemExit(f"the checkout page refused to pay: {hosted.status_code}")
        browser.post(hosted.headers["location"], data={"card": "4242424242424242"})


def main() -> None:
    query = sys.argv[1] if len(sys.argv) > 1 else "gift for a coffee lover"
    token = secrets.token_urlsafe(16)
    live = get_settings()
    copy = sandbox_store(live)
    with tempfile.TemporaryDirectory(prefix="stripe-") as state:
        stripe = LocalStripe(Path(state)).start()
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            webhook_secret = "whsec_" + secrets.token_hex(16)
            settings = type(live).model_validate(
                live.model_dump()
                | {
                    "port": port,
                    "public_base_url": f"http://127.0.0.1:{port}",
                    "database_url": f"sqlite:///{copy}",
                    "api_token": token,
                    "stripe_api_key": API_KEY,
                    "stripe_api_base": stripe.url,
                    "stripe_webhook_secret": webhook_secret,
                }
            )
            # The stand-in delivers checkout.session.completed to the store, signed.
            httpx.post(
                f"{stripe.url}/_config/webhooks/reelcart",
                data={"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": webhook_secret},
                timeout=10,
            ).raise_for_status()
            app = create_app(settings)
            # The result is the point: the libraries' INFO chatter would bury it.
            for name in ("", *logging.root.manager.loggerDict):
                logging.getLogger(name).setLevel(logging.WARNING)
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.1)
            result = anyio.run(buy, f"http://127.0.0.1:{port}/mcp", token, query)
            server.should_exit = True
            thread.join(timeout=10)
        finally:
            stripe.stop()
    print(
        f"\nBought {result['product']} for {result['price']} on the store's page (test card).\n"
        f"  Order:       {result['order']} ({result['status']})\n"
        f"  Attributed:  {result['creative']}\n"
        f"  Written to:  {copy} (a copy; the live store and campaigns are untouched)"
    )


if __name__ == "__main__":
    main()
