"""Buy something from the local store the way an assistant does, with a Stripe stand-in.

Starts the Stripe stand-in (localstripe on loopback, ``tests/fakes/stripe_server.py``) and
the reelcart app on free loopback ports, then, as an MCP client over HTTP: search, show the
product (its video is allocated and the impression counted) and create the checkout. The
shopper's part follows the checkout's ``continue_url``: the store's page, Pay, the stand-in's
hosted Stripe Checkout page (test card), whose signed webhook writes the order. The agent
polls until the checkout is completed and prints the order and the creative it is
attributed to. Uses the store in ``REELCART_DATA_DIR`` (run
``reelcart sync`` or ``make demo`` first).

Run: ``.venv/bin/python scripts/buy_locally.py "gift for a coffee lover"``
"""

from __future__ import annotations

import secrets
import socket
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
from reelcart.settings import get_settings
from tests.fakes.stripe_server import API_KEY, LocalStripe

ADDRESS = {
    "name": "Ada Lovelace",
    "line_one": "1 Chat Road",
    "city": "San Francisco",
    "state": "CA",
    "country": "US",
    "postal_code": "94131",
}


async def buy(url: str, token: str, query: str) -> None:
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
        print(f"Showing {detail['title']} ({variant['price']['display']}), video {creative}")
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
        print(f"Order {order['order_id']} ({order['status']}), attributed to {creative}")


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
    with tempfile.TemporaryDirectory(prefix="stripe-") as state:
        stripe = LocalStripe(Path(state)).start()
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            settings = get_settings().model_copy(
                update={"port": port, "public_base_url": f"http://127.0.0.1:{port}"}
            )
            webhook_secret = "whsec_" + secrets.token_hex(16)
            settings = type(settings).model_validate(
                settings.model_dump()
                | {
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
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings), host="127.0.0.1", port=port, log_level="warning"
                )
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.1)
            anyio.run(buy, f"http://127.0.0.1:{port}/mcp", token, query)
            server.should_exit = True
            thread.join(timeout=10)
        finally:
            stripe.stop()


if __name__ == "__main__":
    main()
