"""What the UCP door tests share: a platform on loopback (its profile, signing key and webhook
inbox), the app with UCP beside ACP over one checkout core, and request bodies."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.acp.rest import acp_routes
from app.order_page import order_page_routes
from app.ucp.envelope import UCP_VERSION
from app.ucp.mcp_binding import ucp_mcp_door
from app.ucp.parts import build_ucp
from app.ucp.rest import ucp_routes
from app.ucp.signatures import SigningKey, sign_request
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import MUG
from tests.servers import serve_on_loopback

__all__ = ["ADDRESS", "Platform", "create_body", "platform_on_loopback", "ucp_app"]

ADDRESS = {
    "id": "home",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_address": "1 Main St",
    "address_locality": "Springfield",
    "address_region": "IL",
    "postal_code": "62704",
    "address_country": "US",
}


def create_body(
    item: str = MUG, quantity: int = 1, option: str | None = "standard"
) -> dict[str, Any]:
    group: dict[str, Any] = {"id": "g1"}
    if option:
        group["selected_option_id"] = option
    return {
        "currency": "USD",
        "line_items": [{"item": {"id": item}, "quantity": quantity}],
        "fulfillment": {
            "methods": [
                {
                    "type": "shipping",
                    "destinations": [ADDRESS],
                    "selected_destination_id": "home",
                    "groups": [group],
                }
            ]
        },
    }


class Platform:
    """A UCP platform: a profile with its signing key and order webhook URL, and an inbox."""

    def __init__(self, version: str = UCP_VERSION) -> None:
        self.key = SigningKey(ec.generate_private_key(ec.SECP256R1()), "platform-1")
        self.version = version
        self.events: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        self.base = ""
        # Answer this many webhook deliveries with 503 first (a platform having a bad minute).
        self.refuse = 0
        self.refused: list[str] = []

    @property
    def profile(self) -> str:
        return f"{self.base}/profile.json"

    def app(self) -> Starlette:
        async def profile(_: Request) -> Response:
            return JSONResponse(
                {
                    "ucp": {
                        "version": self.version,
                        "capabilities": {
                            "dev.ucp.shopping.order": [
                                {
                                    "version": UCP_VERSION,
                                    "config": {"webhook_url": f"{self.base}/webhooks/orders"},
                                }
                            ]
                        },
                    },
                    "signing_keys": [self.key.jwk()],
                },
                headers={"Cache-Control": "public, max-age=60"},
            )

        async def webhook(request: Request) -> Response:
            body = await request.body()
            if self.refuse > 0:
                self.refuse -= 1
                self.refused.append(request.headers["webhook-id"])
                return JSONResponse({"error": "busy"}, status_code=503)
            with self.arrived:
                self.events.append((dict(request.headers), body))
                self.arrived.notify_all()
            return JSONResponse({"ok": True})

        return Starlette(
            routes=[
                Route("/profile.json", profile),
                Route("/webhooks/orders", webhook, methods=["POST"]),
            ]
        )

    def wait_for(self, count: int, timeout_s: float = 10) -> list[tuple[dict[str, str], Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events) >= count, timeout=timeout_s)
            return [(h, json.loads(b)) for h, b in self.events]

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "UCP-Agent": f'profile="{self.profile}"',
            "Idempotency-Key": str(uuid.uuid4()),
            "Request-Id": str(uuid.uuid4()),
            **extra,
        }

    def signed(
        self, method: str, url: str, body: Any, **extra: str
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and the headers of a request signed with this platform's key."""
        raw = json.dumps(body).encode() if body is not None else b""
        headers = {**self.headers(**extra), "Content-Type": "application/json"}
        parts = urlsplit(url)
        headers.update(sign_request(self.key, method, parts.netloc, parts.path, raw, headers))
        return raw, headers


def signed_get(http: httpx.Client, platform: Platform, path: str) -> httpx.Response:
    """A GET signed with the platform's key (its orders need one: it publishes keys)."""
    url = f"{http.base_url}".rstrip("/") + path
    _, headers = platform.signed("GET", url, None)
    headers.pop("Content-Type", None)
    return http.get(path, headers=headers)


@contextmanager
def platform_on_loopback(version: str = UCP_VERSION) -> Iterator[Platform]:
    platform = Platform(version)
    with serve_on_loopback(platform.app()) as base:
        platform.base = base
        yield platform


def ucp_settings(
    settings: Settings, stripe_url: str | None, port: int, **overrides: Any
) -> Settings:
    """Settings for a UCP server on ``port`` (Stripe stand-in, loopback profiles allowed)."""
    from tests.commerce.acp_helpers import acp_settings

    return acp_settings(
        settings,
        stripe_url,
        public_base_url=f"http://127.0.0.1:{port}",
        fetch_allow_hosts="127.0.0.1",
        **overrides,
    )


def ucp_app(db: Database, store: MediaStore, settings: Settings) -> Starlette:
    """UCP REST and its MCP binding beside ACP REST, over one checkout core."""
    service = build_checkout_service(db, store, settings)
    parts = build_ucp(service)
    service.order_hooks.append(parts.order_hook())
    mcp = ucp_mcp_door(parts, parts.catalog, host="127.0.0.1")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.running():
            yield

    app = Starlette(
        routes=[
            *ucp_routes(parts),
            *mcp.routes,
            *acp_routes(db, store, settings, service=service),
            *order_page_routes(db),
        ],
        lifespan=lifespan,
    )
    app.state.ucp = parts  # tests reach the webhook dispatcher through it
    return app


def total(view: dict[str, Any]) -> int:
    return int(next(t["amount"] for t in view["totals"] if t["type"] == "total"))


def complete_body(token: str = "success_token") -> dict[str, Any]:
    return {
        "payment": {
            "instruments": [
                {
                    "id": "instr_1",
                    "handler_id": "stripe_card",
                    "type": "card",
                    "credential": {"type": "token", "token": token},
                }
            ]
        }
    }


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60)
