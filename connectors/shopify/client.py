"""Shopify Admin GraphQL over async httpx, paced by the store's leaky bucket.

Shopify meters GraphQL in cost points: each query reserves its *requested* cost from a
per-app-per-store bucket, is refunded down to its *actual* cost, and the bucket refills
at ``restoreRate`` points/s. Every response reports ``extensions.cost.throttleStatus``, so
the client keeps a local estimate of the bucket and waits *before* sending until the next
query's requested cost fits: it runs at the restore rate instead of bouncing off
``THROTTLED`` errors. What still goes wrong (``THROTTLED``, HTTP 429 with ``Retry-After``,
5xx, timeouts, dropped connections) is retried a bounded number of times with exponential
backoff and jitter. Time is injectable (``Clock``) so tests and benchmarks run fast.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

__all__ = [
    "ClientStats",
    "Clock",
    "ScaledClock",
    "ShopifyAuthError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyUnavailable",
    "ShopifyUnreachable",
    "ShopifyUserError",
    "SystemClock",
    "ThrottleState",
    "TokenSource",
    "admin_base_url",
]

log = logging.getLogger(__name__)


class Clock(Protocol):
    """A source of time and a way to wait; ``ScaledClock`` makes Shopify seconds short."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs ``scale`` times faster than the wall clock (shared by client and fake).

    A restore rate of 100 points/s under ``ScaledClock(20)`` restores 2,000 points per real
    second; every figure measured in this clock's seconds is what a real store would see.
    """

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale

    def monotonic(self) -> float:
        return time.monotonic() * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class TokenSource(Protocol):
    """Where a token comes from when it is not fixed (``oauth.ClientCredentials``)."""

    async def token(self, http: httpx.AsyncClient) -> str: ...

    def invalidate(self) -> None: ...


class ShopifyError(Exception):
    """Shopify refused or failed a request."""


class ShopifyAuthError(ShopifyError):
    """The access token is missing, revoked or lacks a scope (HTTP 401/403); never retried."""


class ShopifyGraphQLError(ShopifyError):
    """The query itself was rejected (syntax, validation, cost too high); never retried."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e.get("message", e)) for e in errors)[:500])


class ShopifyUserError(ShopifyError):
    """A mutation returned ``userErrors``."""

    def __init__(self, operation: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        super().__init__(f"{operation}: {detail}"[:500])


class ShopifyUnavailable(ShopifyError):
    """Retries ran out (5xx, timeouts, throttling); the caller may resume later."""


class ShopifyUnreachable(ShopifyUnavailable):
    """The shop's host never answered (a wrong shop name, DNS, a closed port): not retried."""


@dataclass
class ThrottleState:
    """The bucket as last reported, and the local estimate derived from it."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    observed_at: float = 0.0
    known: bool = False

    def estimate(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * (now - self.observed_at))


@dataclass
class ClientStats:
    """What the client did: requests, retries by cause, points and time spent waiting."""

    requests: int = 0
    throttled: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    timeouts: int = 0
    points_requested: float = 0.0
    points_actual: float = 0.0
    paced_seconds: float = 0.0
    backoff_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def admin_base_url(shop: str) -> str:
    """``my-store.myshopify.com`` → ``https://my-store.myshopify.com``; URLs pass through."""
    shop = shop.strip().rstrip("/")
    return shop if "://" in shop else f"https://{shop}"


def _throttled(errors: list[dict[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


class ShopifyClient:
    """An Admin GraphQL client for one shop; use as ``async with ShopifyClient(...) as c``."""

    def __init__(
        self,
        shop: str,
        access_token: str | TokenSource,
        api_version: str,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 6,
        max_throttle_waits: int = 50,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        clock: Clock | None = None,
        pace: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = admin_base_url(shop)
        self.shop = shop
        self.api_version = api_version
        self.endpoint = f"{self.base_url}/admin/api/{api_version}/graphql.json"
        self.max_retries = max_retries
        self.max_throttle_waits = max_throttle_waits
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.clock: Clock = clock or SystemClock()
        self.pace = pace
        self.throttle = ThrottleState()
        self.stats = ClientStats()
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._requested_cost: dict[str, float] = {}
        self._tokens = None if isinstance(access_token, str) else access_token
        fixed = {"X-Shopify-Access-Token": access_token} if isinstance(access_token, str) else {}
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            headers={**fixed, "User-Agent": "reelcart"},
            limits=httpx.Limits(max_connections=8),
        )
        # Until the shop has answered once, a connection that fails is a wrong or dead
        # address, not a blip: it fails at once, naming the host, instead of backing off.
        self._reached = False
        # Staged-upload targets and bulk result files live on other hosts: never send the
        # Admin token there, so they get a client without it.
        self._plain = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=True)

    async def __aenter__(self) -> ShopifyClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._plain.aclose()

    # -- pacing and backoff -------------------------------------------------------------

    async def _wait_for_budget(self, cost: float) -> None:
        """Wait until the estimated bucket holds ``cost`` points, then reserve them."""
        async with self._lock:
            if not (self.pace and self.throttle.known):
                return
            cost = min(cost, self.throttle.maximum)
            now = self.clock.monotonic()
            # A loop, not one sleep: event loops may wake a timer slightly early.
            while (missing := cost - self.throttle.estimate(now)) > 0:
                wait = missing / max(self.throttle.restore_rate, 1e-9)
                self.stats.paced_seconds += wait
                await self.clock.sleep(wait)
                now = self.clock.monotonic()
            # Reserve locally so concurrent callers do not spend the same points twice.
            self.throttle.available = self.throttle.estimate(now) - cost
            self.throttle.observed_at = now

    def _observe(self, extensions: dict[str, Any] | None) -> dict[str, Any]:
        cost = (extensions or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if status:
            self.throttle = ThrottleState(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                # The server measured just before answering: anchoring the figure at our
                # receipt (later) underestimates what has been restored since: the safe side.
                observed_at=self.clock.monotonic(),
                known=True,
            )
        return dict(cost)

    async def _backoff(self, attempt: int, reason: str) -> None:
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2**attempt))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)  # "equal jitter"
        self.stats.backoff_seconds += delay
        log.info("shopify: %s; retrying in %.2fs (attempt %d)", reason, delay, attempt + 1)
        await self.clock.sleep(delay)

    # -- requests -----------------------------------------------------------------------

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        cost: float | None = None,
    ) -> dict[str, Any]:
        """Run one GraphQL operation; returns ``data``.

        ``cost`` is the query's requested cost if known; otherwise the cost Shopify reported
        for the same query text last time is used for pacing.
        """
        expected = cost if cost is not None else self._requested_cost.get(query, 0.0)
        attempt = 0
        throttle_waits = 0
        while True:
            await self._wait_for_budget(expected)
            self.stats.requests += 1
            headers = {}
            if self._tokens is not None:
                headers["X-Shopify-Access-Token"] = await self._tokens.token(self._http)
            try:
                response = await self._http.post(
                    self.endpoint,
                    json={"query": query, "variables": variables or {}},
                    headers=headers,
                )
            except httpx.TimeoutException:
                self.stats.timeouts += 1
                reason = "timeout"
            except httpx.TransportError as exc:
                if not self._reached and isinstance(exc, httpx.ConnectError):
                    raise ShopifyUnreachable(
                        f"cannot reach the shop at {self.base_url} ({exc}); "
                        "check REELCART_SHOPIFY_SHOP"
                    ) from exc
                self.stats.server_errors += 1
                reason = f"transport error {type(exc).__name__}"
            else:
                self._reached = True
                if response.status_code == 401 and self._tokens is not None and attempt == 0:
                    self._tokens.invalidate()  # expired or revoked: ask for a new one once
                    attempt += 1
                    continue
                if response.status_code in (401, 403):
                    raise ShopifyAuthError(
                        f"{self.base_url} refused the access token (HTTP {response.status_code})"
                    )
                if response.status_code == 429:
                    self.stats.rate_limited += 1
                    retry_after = _retry_after(response)
                    if attempt >= self.max_retries:
                        self._give_up("HTTP 429")
                    attempt += 1
                    self.stats.backoff_seconds += retry_after
                    await self.clock.sleep(retry_after)
                    continue
                if response.status_code >= 500:
                    self.stats.server_errors += 1
                    reason = f"HTTP {response.status_code}"
                elif response.status_code >= 400:
                    raise ShopifyError(
                        f"Shopify answered HTTP {response.status_code}: {response.text[:200]}"
                    )
                else:
                    try:
                        body = response.json()
                    except ValueError:
                        self.stats.server_errors += 1
                        reason = "response was not JSON"
                    else:
                        result = self._handle(body, query)
                        if result is not None:
                            return result
                        # THROTTLED: the bucket status says exactly how long to wait.
                        throttle_waits += 1
                        self.stats.throttled += 1
                        if throttle_waits > self.max_throttle_waits:
                            self._give_up("still THROTTLED")
                        expected = max(expected, self._requested_cost.get(query, expected))
                        if not self.pace:
                            await self._backoff(min(throttle_waits - 1, 6), "THROTTLED")
                        continue
            if attempt >= self.max_retries:
                self._give_up(reason)
            await self._backoff(attempt, reason)
            attempt += 1

    def _handle(self, body: dict[str, Any], query: str) -> dict[str, Any] | None:
        cost = self._observe(body.get("extensions"))
        if "requestedQueryCost" in cost:
            self._requested_cost[query] = float(cost["requestedQueryCost"])
            self.stats.points_requested += float(cost["requestedQueryCost"])
        if cost.get("actualQueryCost") is not None:
            self.stats.points_actual += float(cost["actualQueryCost"])
        errors = body.get("errors") or []
        if errors:
            if _throttled(errors):
                return None
            raise ShopifyGraphQLError(errors)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopifyError("Shopify returned no data")
        return data

    def _give_up(self, reason: str) -> None:
        self.stats.failures.append(reason)
        raise ShopifyUnavailable(f"Shopify unavailable after retries: {reason}")

    async def mutate(
        self, query: str, variables: dict[str, Any], root: str, *, cost: float | None = None
    ) -> dict[str, Any]:
        """Run a mutation; raise ``ShopifyUserError`` if its payload has ``userErrors``."""
        data = await self.execute(query, variables, cost=cost)
        payload = data.get(root) or {}
        errors = payload.get("userErrors") or []
        if errors:
            raise ShopifyUserError(root, errors)
        return dict(payload)

    async def download(self, url: str, target: Path) -> Path:
        """Stream a file (a bulk operation's JSONL) to ``target``, with bounded retries."""
        for attempt in range(self.max_retries + 1):
            try:
                async with self._plain.stream("GET", url) as response:
                    if response.status_code >= 500:
                        raise httpx.HTTPStatusError(
                            "server error", request=response.request, response=response
                        )
                    response.raise_for_status()
                    with target.open("wb") as handle:
                        async for chunk in response.aiter_bytes():
                            handle.write(chunk)
                return target
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                status = getattr(getattr(exc, "response", None), "status_code", 500)
                if status < 500 or attempt >= self.max_retries:
                    raise ShopifyUnavailable(f"download failed: {exc}") from exc
                await self._backoff(attempt, f"download: {type(exc).__name__}")
        raise ShopifyUnavailable("download failed")  # pragma: no cover - loop always returns

    async def post_multipart(
        self, url: str, fields: list[tuple[str, str]], file_path: Path, mime_type: str
    ) -> httpx.Response:
        """POST a staged upload form (fields first, the file last, as the target requires)."""
        for attempt in range(self.max_retries + 1):
            try:
                with file_path.open("rb") as handle:
                    response = await self._plain.post(
                        url,
                        data=dict(fields),
                        files={"file": (file_path.name, handle, mime_type)},
                    )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise ShopifyUnavailable(f"upload failed: {exc}") from exc
                await self._backoff(attempt, f"upload: {type(exc).__name__}")
                continue
            if response.status_code >= 500 and attempt < self.max_retries:
                await self._backoff(attempt, f"upload: HTTP {response.status_code}")
                continue
            return response
        raise ShopifyUnavailable("upload failed")  # pragma: no cover


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
