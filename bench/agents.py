"""Shopping agents for the serving benchmarks: asyncio tasks over aiohttp (one connection each).

Each round: MCP ``search_products`` then ``get_product`` at /mcp, then an ACP checkout
(create, delegate payment, complete). Agents are spread over the given servers round-robin,
as a load balancer would; each keeps its own connection and MCP session.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

__all__ = ["GOAL", "StepResult", "race", "run_step", "warm_queries"]

WORDS = ["mug", "bottle", "beanie", "candle", "watch", "tote", "planter", "headphones"]
GOAL = "search_products and get_product p99 < 50 ms, complete p99 < 300 ms"
ADDRESS = {
    "name": "Ada",
    "line_one": "1 Main St",
    "city": "Austin",
    "state": "TX",
    "country": "US",
    "postal_code": "78701",
}


@dataclass
class StepResult:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    checkouts: int = 0
    errors: int = 0
    seconds: float = 0.0
    load: str = ""

    def pct(self, name: str, q: float) -> float:
        values = sorted(self.timings.get(name) or [float("nan")])
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    @property
    def checkouts_per_s(self) -> float:
        return self.checkouts / self.seconds if self.seconds else 0.0

    def meets_goal(self) -> bool:
        return (
            self.errors == 0
            and self.pct("search_products", 0.99) < 50
            and self.pct("get_product", 0.99) < 50
            and self.pct("complete", 0.99) < 300
        )


def _acp_headers() -> dict[str, str]:
    return {
        "Authorization": "Bearer test-token",
        "API-Version": "2026-04-17",
        "Idempotency-Key": str(uuid.uuid4()),
    }


class _Agent:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, index: int) -> None:
        self.http, self.base, self.index = http, base_url, index
        self.mcp_headers = {
            "Authorization": "Bearer test-token",
            "Accept": "application/json, text/event-stream",
        }

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        async with self.http.post(self.base + path, json=body, headers=headers) as response:
            raw = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"{path} {response.status}: {raw[:300]}")
            if "text/event-stream" in response.headers.get("content-type", ""):
                raw = next(line[5:] for line in raw.splitlines() if line.startswith("data:"))
            if path == "/mcp" and body.get("method") == "initialize":
                self.mcp_headers["Mcp-Session-Id"] = response.headers.get("mcp-session-id", "")
            return json.loads(raw) if raw else None

    async def start(self) -> None:
        params = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        }
        body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        await self._post("/mcp", body, self.mcp_headers)
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        async with self.http.post(self.base + "/mcp", json=note, headers=self.mcp_headers):
            pass

    async def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        params = {"name": name, "arguments": arguments}
        body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": "tools/call", "params": params}
        result = (await self._post("/mcp", body, self.mcp_headers))["result"]
        if result.get("isError"):
            raise RuntimeError(result["content"][0]["text"])
        return dict(result["structuredContent"])

    async def round(self, n: int, result: StepResult) -> None:
        t = time.perf_counter()
        found = await self.tool(
            "search_products", {"query": WORDS[(self.index + n) % len(WORDS)], "limit": 5}
        )
        result.timings["search_products"].append(time.perf_counter() - t)
        t = time.perf_counter()
        product = await self.tool(
            "get_product",
            {"product_id": found["products"][0]["id"], "shopper_id": f"a{self.index}"},
        )
        result.timings["get_product"].append(time.perf_counter() - t)
        done = await self.buy(product["variants"][0]["id"], result)
        if done.get("status") == "completed":
            result.checkouts += 1
        else:
            result.errors += 1

    async def buy(self, variant_id: str, result: StepResult) -> dict[str, Any]:
        """Create, delegate payment, complete: the completed session (or raises)."""
        body = {
            "currency": "usd",
            "line_items": [{"id": variant_id}],
            "capabilities": {"interventions": {"supported": ["3ds"]}},
            "fulfillment_details": {"name": "Ada", "email": "ada@example.com", "address": ADDRESS},
        }
        t = time.perf_counter()
        session = await self._post("/checkout_sessions", body, _acp_headers())
        result.timings["create"].append(time.perf_counter() - t)
        total = next(x["amount"] for x in session["totals"] if x["type"] == "total")
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        delegate = {
            "payment_method": {
                "type": "card",
                "card_number_type": "fpan",
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "2030",
                "cvc": "123",
                "display_last4": "4242",
            },
            "allowance": {
                "reason": "one_time",
                "max_amount": total,
                "currency": "usd",
                "checkout_session_id": session["id"],
                "merchant_id": "reelcart",
                "expires_at": expires,
            },
            "risk_signals": [],
            "metadata": {"source": "bench"},
        }
        token = await self._post("/agentic_commerce/delegate_payment", delegate, _acp_headers())
        payment = {
            "payment_data": {
                "handler_id": "card_tokenized",
                "instrument": {"type": "card", "credential": {"type": "spt", "token": token["id"]}},
            }
        }
        t = time.perf_counter()
        path = f"/checkout_sessions/{session['id']}/complete"
        done = await self._post(path, payment, _acp_headers())
        result.timings["complete"].append(time.perf_counter() - t)
        return dict(done)


async def run_step(urls: list[str], agents: int, seconds: float) -> StepResult:
    """``agents`` agents shop for ``seconds`` (after one untimed round each)."""
    result, warmup = StepResult(), StepResult()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        crew = [_Agent(http, urls[i % len(urls)], i) for i in range(agents)]
        await asyncio.gather(*(a.start() for a in crew))
        await asyncio.gather(*(a.round(0, warmup) for a in crew))
        deadline = time.perf_counter() + seconds

        async def shop(agent: _Agent) -> None:
            n = 1
            while time.perf_counter() < deadline:
                try:
                    await agent.round(n, result)
                except (TimeoutError, RuntimeError, aiohttp.ClientError, KeyError):
                    result.errors += 1
                n += 1

        started = time.perf_counter()
        await asyncio.gather(*(shop(a) for a in crew))
        result.seconds = time.perf_counter() - started
    result.load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return result


async def race(urls: list[str], variant_id: str, agents: int) -> tuple[list[str], int]:
    """``agents`` agents buy ``variant_id`` at once, spread over ``urls``: the ids of the
    sessions completed, and how many attempts were refused (sold out) or failed."""
    completed: list[str] = []
    refused = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        crew = [_Agent(http, urls[i % len(urls)], i) for i in range(agents)]

        async def one(agent: _Agent) -> None:
            nonlocal refused
            try:
                done = await agent.buy(variant_id, StepResult())
            except (TimeoutError, RuntimeError, aiohttp.ClientError, KeyError, StopIteration):
                refused += 1
                return
            if done.get("status") == "completed":
                completed.append(str(done["id"]))
            else:
                refused += 1

        await asyncio.gather(*(one(a) for a in crew))
    return completed, refused


async def warm_queries(url: str) -> None:
    """Search each of the agents' words once, untimed: steps then measure a server whose
    popular queries are embedded already, as a running one's are."""
    async with aiohttp.ClientSession() as http:
        agent = _Agent(http, url, 0)
        await agent.start()
        for word in WORDS:
            await agent.tool("search_products", {"query": word, "limit": 5})
