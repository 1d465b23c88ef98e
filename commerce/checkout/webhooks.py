"""Order webhooks to the agent platform: ``order_create`` / ``order_update``, signed, retried.

Events sit in the ``order_webhook_outbox`` table (written in the order's own transaction),
and are POSTed with ``Merchant-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``. A
failed delivery is retried with exponential backoff (1 s, 2 s, 4 s … capped at 5 min) up to
``MAX_ATTEMPTS``. An event is claimed before it is sent (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, a conditional UPDATE on SQLite; the claim is a lease on ``next_attempt_at``), so
several server processes on one database send each event once per delivery attempt.
:class:`WebhookDispatcher` runs deliveries on a background thread that wakes when an order
event is queued.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx

from reelcart.db import Database
from reelcart.models import OrderWebhook, utcnow
from reelcart.settings import Settings

from . import outbox

__all__ = ["MAX_ATTEMPTS", "WebhookDispatcher", "claim_due", "deliver_due", "sign", "verify"]

MAX_ATTEMPTS = 10
# Longer than one delivery (10 s timeout): a claimed event is not due again before it ends.
CLAIM_LEASE = timedelta(seconds=60)
# A batch of claims is delivered well within the lease (each POST times out after 10 s).
CLAIM_BATCH = 4


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Merchant-Signature`` header value for ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(header: str, body: bytes, secret: str, *, tolerance_s: int = 300) -> bool:
    """Check a ``Merchant-Signature`` (constant time, timestamp within ``tolerance_s``)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        supplied = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, supplied)


def claim_due(db: Database, *, limit: int = 50) -> list[str]:
    """Claim up to ``limit`` due events for this worker alone; returns their ids.

    An event waits while an earlier one of the same order is undelivered, so a platform
    never sees an order's update before its creation.
    """
    return outbox.claim_due(
        db,
        OrderWebhook,
        limit=limit,
        max_attempts=MAX_ATTEMPTS,
        lease=CLAIM_LEASE,
        in_order_of="order_id",
    )


def _send(
    db: Database, settings: Settings, client: httpx.Client, secret: str, webhook_id: str
) -> bool:
    """One delivery attempt of a claimed event; records the result. True when delivered."""
    assert settings.acp_webhook_url is not None
    with db.session() as session:
        row = session.get(OrderWebhook, webhook_id)
        if row is None:
            return False
        payload = row.payload
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Merchant-Signature": sign(secret, body, int(time.time())),
        "Request-Id": webhook_id,
        "Timestamp": utcnow().isoformat(),
    }
    error = None
    try:
        response = client.post(settings.acp_webhook_url, content=body, headers=headers)
        if response.status_code >= 300:
            error = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return outbox.record_attempt(
        db, OrderWebhook, webhook_id, error, lambda attempts: min(2 ** (attempts - 1), 300)
    )


def deliver_due(db: Database, settings: Settings, client: httpx.Client, *, limit: int = 50) -> int:
    """Claim the due, undelivered events and try each once; returns how many were delivered.

    Each event is sent once per delivery attempt however many processes deliver at once.
    """
    if not settings.acp_webhook_url or settings.acp_webhook_secret is None:
        return 0
    secret = settings.acp_webhook_secret.get_secret_value()
    return outbox.deliver_in_batches(
        lambda: claim_due(db, limit=CLAIM_BATCH),
        lambda webhook_id: _send(db, settings, client, secret, webhook_id),
        limit,
    )


class WebhookDispatcher:
    """Delivers the outbox on a daemon thread while events are pending."""

    def __init__(self, db: Database, settings: Settings, *, poll_s: float = 0.5) -> None:
        self.db = db
        self.settings = settings
        # It keeps trying across database hiccups: the events are already committed.
        self._worker = outbox.OutboxWorker(
            "acp-webhooks",
            self._deliver,
            lambda: outbox.next_due_in(db, OrderWebhook, MAX_ATTEMPTS),
            poll_s=poll_s,
        )

    def _deliver(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            deliver_due(self.db, self.settings, client)

    def kick(self) -> None:
        """An event was queued: deliver soon (starts the worker if needed)."""
        if self.settings.acp_webhook_url:
            self._worker.kick()
