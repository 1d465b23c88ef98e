"""Benchmark: N concurrent agents shop over real HTTP on loopback.

Each agent (a thread with its own HTTP client) calls the MCP tools ``search_products``
and ``get_product`` at /mcp, then buys over ACP REST (create, delegate payment,
complete) against localstripe. Prints p50/p99 per call and checkouts per second, and the
ratio of semantic to keyword search latency (the baseline, measured in the same run).

    .venv/bin/python -m bench.checkout                     # 500 products, 8 agents
    .venv/bin/python -m bench.checkout --products 10000 --agents 32 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

# The loopback Stripe emulator and the ACP request builders live with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.asgi import create_app
from commerce.catalog.embeddings import Encoder
from commerce.catalog.search import SemanticIndex
from commerce.catalog.search import search_products as semantic_search
from commerce.catalog.store import sync_snapshot
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CatalogSnapshot
from reelcart.settings import Settings
from tests.commerce.acp_helpers import complete_body, create_body, delegate, headers
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

WORDS = ["mug", "bottle", "beanie", "candle", "watch", "tote", "planter", "headphones"]
KINDS = ["Kitchen", "Outdoor", "Apparel", "Home", "Audio", "Accessories"]


def bench_catalog(n: int) -> CatalogSnapshot:
    """``n`` products over eight kinds of thing, each with plenty of stock."""
    products = []
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        products.append(
            {
                "id": f"gid://shopify/Product/{i + 1}",
                "handle": f"p-{i + 1}",
                "title": f"{word.title()} model {i + 1}",
                "descriptionHtml": f"<p>A {word} from our {KINDS[i % len(KINDS)]} line.</p>",
                "productType": KINDS[i % len(KINDS)],
                "variants": [
                    {
                        "id": f"gid://shopify/ProductVariant/{i + 1}",
                        "title": "Default",
                        "price": f"{5 + i % 200}.00",
                        "inventoryQuantity": 1_000_000,
                    }
                ],
            }
        )
    return CatalogSnapshot.model_validate(
        {"shop": {"name": "Bench", "currencyCode": "USD"}, "products": products}
    )


class _Mcp:
    """A minimal MCP streamable-HTTP client: initialize once, then tools/call."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.headers = {
            "Authorization": "Bearer test-token",
            "Accept": "application/json, text/event-stream",
        }
        init = self._rpc(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        )
        self.headers["Mcp-Session-Id"] = init.headers.get("mcp-session-id", "")
        self.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=self.headers,
        )

    def _rpc(self, method: str, params: dict[str, Any]) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
        response = self.client.post("/mcp", json=body, headers=self.headers)
        response.raise_for_status()
        return response

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        response = self._rpc("tools/call", {"name": tool, "arguments": arguments})
        text = response.text
        if "text/event-stream" in response.headers.get("content-type", ""):
            text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
        result = json.loads(text)["result"]
        if result.get("isError"):
            raise RuntimeError(result["content"][0]["text"])
        return dict(result["structuredContent"])


def _agent(base_url: str, index: int, rounds: int, timings: dict[str, list[float]]) -> int:
    bought = 0
    with httpx.Client(base_url=base_url, timeout=120) as client:
        mcp = _Mcp(client)
        for r in range(rounds):
            start = time.perf_counter()
            found = mcp.call(
                "search_products", {"query": WORDS[(index + r) % len(WORDS)], "limit": 5}
            )
            timings["search_products"].append(time.perf_counter() - start)
            start = time.perf_counter()
            product = mcp.call(
                "get_product", {"product_id": found["products"][0]["id"], "shopper_id": f"a{index}"}
            )
            timings["get_product"].append(time.perf_counter() - start)
            body = create_body({"id": product["variants"][0]["id"]})
            session = client.post("/checkout_sessions", json=body, headers=headers()).json()
            token = delegate(client, session)
            start = time.perf_counter()
            done = client.post(
                f"/checkout_sessions/{session['id']}/complete",
                json=complete_body(token),
                headers=headers(),
            )
            timings["complete"].append(time.perf_counter() - start)
            bought += done.status_code == 200
    return bought


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@contextmanager
def _server_process(root: Path, stripe_url: str) -> Iterator[str]:
    """``reelcart serve`` in its own process on the bench's database, warm before timing."""
    port = free_port()
    env = {
        **os.environ,
        "REELCART_DATA_DIR": str(root / "data"),
        "REELCART_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
        "REELCART_MEDIA_URL": str(root / "media"),
        "REELCART_API_TOKEN": "test-token",
        "REELCART_STRIPE_API_KEY": API_KEY,
        "REELCART_STRIPE_API_BASE": stripe_url,
        "REELCART_ACP_TAX_RATE_BPS": "825",
        "REELCART_PORT": str(port),
    }
    command = [sys.executable, "-m", "app.cli", "serve"]
    # Logs go to a file: an undrained pipe would fill up and stall the server.
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not become ready")
                try:
                    state = client.get("/healthz").json()["search"]
                except httpx.TransportError:
                    state = "down"
                if state == "semantic":
                    break
                if state in ("cold", "warming"):
                    # The first search starts the warm-up; keyword search answers meanwhile.
                    _Mcp(client).call("search_products", {"query": "warm up"})
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # open MCP sessions can hold a graceful shutdown
            process.kill()
            process.wait(timeout=10)
        log.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve from a thread of this process (the agents then share its GIL)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(
            data_dir=root / "data",
            api_token=SecretStr("test-token"),
            stripe_api_key=SecretStr(API_KEY),
            acp_tax_rate_bps=825,
        )
        db = Database(f"sqlite:///{root / 'bench.db'}")
        db.migrate()
        store = MediaStore(str(root / "media"), "http://127.0.0.1")
        started = time.perf_counter()
        with db.session() as session:
            sync_snapshot(session, bench_catalog(args.products), store)
            semantic_search(session, "warm up")  # loads the query model and the stored vectors
        print(
            f"catalog {args.products} products synced+embedded"
            f" in {time.perf_counter() - started:.1f}s"
        )
        with db.session() as session:
            keyword, semantic = [], []
            no_model = Encoder()
            no_model._failed = True  # keyword search: what answers without the model
            keywords = SemanticIndex(no_model)
            for word in WORDS * 3:
                t = time.perf_counter()
                semantic_search(session, word, limit=5, index=keywords)
                keyword.append(time.perf_counter() - t)
                t = time.perf_counter()
                semantic_search(session, word, limit=5)
                semantic.append(time.perf_counter() - t)
        with LocalStripe(root / "stripe") as stripe:
            settings = settings.model_copy(update={"stripe_api_base": stripe.url})
            settings = Settings.model_validate(
                settings.model_dump() | {"api_token": "test-token", "stripe_api_key": API_KEY}
            )
            timings: dict[str, list[float]] = {
                "search_products": [],
                "get_product": [],
                "complete": [],
            }
            server = (
                serve_on_loopback(create_app(settings, db, store))
                if args.in_process
                else _server_process(root, stripe.url)
            )
            with server as base_url, ThreadPoolExecutor(args.agents) as pool:
                t0 = time.perf_counter()
                bought = sum(
                    pool.map(
                        lambda i: _agent(base_url, i, args.rounds, timings), range(args.agents)
                    )
                )
                elapsed = time.perf_counter() - t0
    where = "in this process" if args.in_process else "in its own process"
    print(
        f"{args.agents} agents x {args.rounds} rounds over HTTP, {args.products} products, "
        f"server {where}"
    )
    for name, values in timings.items():
        print(f"  {name:16s} p50 {_pct(values, 0.5):7.1f} ms   p99 {_pct(values, 0.99):7.1f} ms")
    print(f"  checkouts       {bought} in {elapsed:.1f}s = {bought / elapsed:.1f}/s")
    ratio = statistics.median(semantic) / statistics.median(keyword)
    print(
        f"  in-process search p50: semantic {statistics.median(semantic) * 1000:.1f} ms vs "
        f"keyword baseline {statistics.median(keyword) * 1000:.1f} ms (ratio {ratio:.2f})"
    )


if __name__ == "__main__":
    main()
