"""Shopify webhooks at ``POST /webhooks/shopify``: verified, deduplicated, idempotent.

The HMAC is checked over the raw body before anything is parsed (401 otherwise). Each
delivery is recorded by ``X-Shopify-Webhook-Id`` in the same transaction as its effect,
so a redelivery is a no-op and a failed one is retried by Shopify. Topics:

- ``products/create``, ``products/update``: start an incremental sync in the background
  (coalesced: bursts of webhooks cause one more sync, not one each);
- ``products/delete``: archive the product at once (it stops being sold);
- ``orders/create``: a purchase event attributed to the creative named in the order's
  landing URL (``?rc_creative=…``) or note attributes (``reelcart_creative_id``);
- ``app/uninstalled``: record it; background syncs stop until a sync succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.http_limits import DATABASE_DOWN, RETRY_AFTER_S, JsonBodyError, parse_json
from commerce.shopify.sync import shop_state, sync_shopify_catalog
from connectors.shopify import client_from_settings, shopify_configured
from connectors.shopify.client import ShopifyClient
from connectors.shopify.webhook import verify_webhook
from connectors.storage import MediaStore
from experiments.events import record_event
from reelcart.db import Database
from reelcart.domain import EventKind
from reelcart.models import Creative, Product, ShopifyWebhookDelivery, utcnow
from reelcart.money import to_minor_units
from reelcart.settings import Settings

__all__ = ["SyncTrigger", "attribute_order", "process_delivery", "webhook_routes"]

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
MAX_MINOR = 2**63 - 1  # what the events table's BIGINT holds
_CREATIVE_PARAMS = ("rc_creative", "reelcart_creative", "creative_id")
_CREATIVE_NOTES = ("reelcart_creative_id", "rc_creative", "creative_id")


def _creative_from_order(payload: dict[str, Any]) -> str | None:
    for note in payload.get("note_attributes") or []:
        if isinstance(note, dict) and note.get("name") in _CREATIVE_NOTES and note.get("value"):
            return str(note["value"])
    for field in ("landing_site", "referring_site"):
        url = payload.get(field)
        if isinstance(url, str) and url:
            params = parse_qs(urlsplit(url).query)
            for name in (*_CREATIVE_PARAMS, "utm_content"):
                for value in params.get(name, []):
                    if name != "utm_content" or value.startswith("crv_"):
                        return value
    return None


def attribute_order(session: Session, payload: dict[str, Any]) -> str:
    """Record a purchase for an order that names a creative; returns what happened."""
    notes = {n.get("name") for n in payload.get("note_attributes") or [] if isinstance(n, dict)}
    if "reelcart_order_id" in notes:
        return "own order (attributed at checkout)"
    creative_id = _creative_from_order(payload)
    if creative_id is None:
        return "unattributed"
    if session.get(Creative, creative_id) is None:
        return f"unknown creative {creative_id[:64]}"
    currency = str(payload.get("currency") or "")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        currency = ""
    try:
        amount: int | None = to_minor_units(str(payload.get("total_price")), currency or "USD")
    except ValueError:
        amount = None
    if amount is not None and amount > MAX_MINOR:
        amount = None  # "1e400" is a number, not a price: kept as a purchase without amount
    order_gid = str(
        payload.get("admin_graphql_api_id") or f"gid://shopify/Order/{payload.get('id')}"
    )[:200]
    product_id = None
    for line in payload.get("line_items") or []:
        if isinstance(line, dict) and line.get("product_id"):
            product_id = f"gid://shopify/Product/{line['product_id']}"[:255]
            break
    occurred = None
    if isinstance(payload.get("created_at"), str):
        try:
            occurred = datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00"))
        except ValueError:
            occurred = None
    _, created = record_event(
        session,
        EventKind.PURCHASE,
        f"shopify:order:{order_gid}",
        creative_id=creative_id,
        product_id=product_id,
        subject=str(order_gid),
        amount_minor=amount,
        currency=currency or None,
        occurred_at=occurred,
        data={"source": "shopify", "order_name": str(payload.get("name") or "")[:255]},
    )
    return f"purchase attributed to {creative_id}" if created else "purchase already recorded"


def process_delivery(
    db: Database, webhook_id: str, topic: str, shop: str, payload: dict[str, Any]
) -> tuple[str, bool]:
    """Apply one delivery once; returns ``(outcome, needs_sync)``."""
    with db.session() as session:
        if session.get(ShopifyWebhookDelivery, webhook_id) is not None:
            return "duplicate delivery", False
        needs_sync = False
        if topic in ("products/create", "products/update"):
            outcome, needs_sync = "sync requested", True
        elif topic == "products/delete":
            gid = f"gid://shopify/Product/{payload.get('id')}"
            product = session.get(Product, gid)
            if product is not None and product.status != "ARCHIVED":
                product.status = "ARCHIVED"
                outcome = f"archived {gid}"
            else:
                outcome = "nothing to archive"
        elif topic == "orders/create":
            outcome = attribute_order(session, payload)
        elif topic == "app/uninstalled":
            shop_state(
                session, shop or str(payload.get("myshopify_domain") or "")
            ).uninstalled_at = utcnow()
            outcome = "uninstalled"
        else:
            outcome = "ignored topic"
        try:
            with session.begin_nested():
                session.add(
                    ShopifyWebhookDelivery(id=webhook_id, topic=topic, shop=shop, outcome=outcome)
                )
        except IntegrityError:  # a concurrent redelivery won the race; ours rolls back
            raise _Duplicate() from None
    return outcome, needs_sync


class _Duplicate(Exception):
    pass


class SyncTrigger:
    """Runs incremental syncs in the background, one at a time, coalescing requests."""

    def __init__(
        self, db: Database, store: MediaStore, client_factory: Callable[[], ShopifyClient]
    ) -> None:
        self.db, self.store, self.client_factory = db, store, client_factory
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.runs = 0

    def request(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            self._again = False
            try:
                async with self.client_factory() as client:
                    await sync_shopify_catalog(self.db, self.store, client, mode="incremental")
                self.runs += 1
            except Exception:  # logged; the next webhook or scheduled sync tries again
                log.exception("shopify: webhook-triggered sync failed")
            if not self._again:
                return

    async def wait(self) -> None:
        """Wait for the running sync (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.sleep(0.01)


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def webhook_routes(
    db: Database,
    store: MediaStore,
    settings: Settings,
    *,
    client_factory: Callable[[], ShopifyClient] | None = None,
) -> list[Route]:
    """The webhook endpoint, to mount in the app (``/webhooks/shopify``)."""
    secret = settings.shopify_api_secret.get_secret_value() if settings.shopify_api_secret else ""
    if client_factory is None and shopify_configured(settings):
        client_factory = lambda: client_from_settings(settings)  # noqa: E731
    trigger = SyncTrigger(db, store, client_factory) if client_factory else None

    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _problem(413, "payload_too_large", "webhook body too large")
        if not verify_webhook(body, request.headers.get("x-shopify-hmac-sha256"), secret):
            return _problem(401, "invalid_signature", "HMAC verification failed")
        webhook_id = request.headers.get("x-shopify-webhook-id", "").strip()
        topic = request.headers.get("x-shopify-topic", "").strip()
        if not webhook_id or not topic or len(webhook_id) > 255 or len(topic) > 64:
            return _problem(400, "bad_request", "X-Shopify-Webhook-Id and X-Shopify-Topic required")
        try:
            payload = parse_json(body, finite=False)
        except JsonBodyError as exc:
            return _problem(400, "bad_request", f"body is not acceptable JSON: {exc}")
        if not isinstance(payload, dict):
            return _problem(400, "bad_request", "body must be a JSON object")
        shop = request.headers.get("x-shopify-shop-domain", "")[:255]
        try:
            outcome, needs_sync = await asyncio.to_thread(
                process_delivery, db, webhook_id, topic, shop, payload
            )
        except _Duplicate:
            outcome, needs_sync = "duplicate delivery", False
        except DATABASE_DOWN:
            # Not recorded, so Shopify's retry delivers it again once the database is back.
            return JSONResponse(
                {"error": "service_unavailable", "message": "database unavailable; retry"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        if needs_sync and trigger is not None:
            with db.session() as session:
                uninstalled = (
                    shop_state(session, shop).uninstalled_at is not None if shop else False
                )
            if not uninstalled:
                trigger.request()
        return JSONResponse({"ok": True, "outcome": outcome})

    route = Route("/webhooks/shopify", receive, methods=["POST"])
    route.trigger = trigger  # type: ignore[attr-defined]  # reachable for tests
    return [route]
