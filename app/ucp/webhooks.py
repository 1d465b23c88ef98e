"""Delivering UCP order webhooks from the outbox: claimed, signed, retried.

The outbox pattern of the ACP webhooks (claims in :mod:`commerce.checkout.outbox`): a row is written
in the transaction of the change it reports, sent at once after that commits, and claimed
before every attempt (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on
SQLite; the claim is a lease on ``next_attempt_at``), so several workers send it once per
attempt. A never-tried event goes ahead of retries (a failing receiver's backlog does not
delay fresh news) but never ahead of an undelivered earlier event of the same order (a
platform gets ``order_placed`` before ``order_shipped``). Each event goes to the
``webhook_url`` of the order capability in the platform's profile (fetched under the fetch
guards), as the UCP order with ``X-Event-Type`` and the Standard Webhooks ids, signed per
RFC 9421 with the business key published in ``/.well-known/ucp``.

Retries follow the Standard Webhooks schedule from its 5-minute step (5 min, 30 min, 2 h,
5 h, 10 h, 10 h): the order is a current-state snapshot, so nothing is lost by waiting,
and a retry seconds later would replay an old event into a receiver that was down a
moment ago (as the conformance suite's per-test receivers are) as if it were fresh.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from commerce.checkout import outbox
from connectors.safe_fetch import FetchError
from reelcart.db import Database
from reelcart.models import UcpWebhook
from reelcart.models.base import as_utc

from .envelope import UcpError
from .profiles import ProfileCache, guarded_request, order_webhook_url
from .signatures import SigningKey, sign_request

__all__ = ["MAX_ATTEMPTS", "UcpWebhookDispatcher", "claim_due", "deliver_due"]

log = logging.getLogger(__name__)
# Delay before each retry, in seconds; after the last one, give up.
RETRY_DELAYS = (300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_LEASE = timedelta(seconds=60)


def claim_due(db: Database, *, limit: int = 4, only: str | None = None) -> list[str]:
    """Claim up to ``limit`` due events (or just the event ``only``) for this worker alone."""
    return outbox.claim_due(
        db,
        UcpWebhook,
        limit=limit,
        max_attempts=MAX_ATTEMPTS,
        lease=CLAIM_LEASE,
        only=only,
        fresh_first=True,
        in_order_of="order_id",
    )


def _send(
    db: Database, profiles: ProfileCache, key: SigningKey, business_profile: str, webhook_id: str
) -> bool:
    with db.session() as session:
        row = session.get(UcpWebhook, webhook_id)
        if row is None:
            return False
        payload, event, profile_url = row.payload, row.event_type, row.platform_profile
        created = as_utc(row.created_at)
    body = json.dumps(payload, separators=(",", ":")).encode()
    error = None
    try:
        url = order_webhook_url(profiles.get(profile_url))
        if url is None:
            raise UcpError(424, "profile_unreachable", "the platform profile names no webhook_url")
        parts = urlsplit(url)
        headers = {
            "Content-Type": "application/json",
            "UCP-Agent": f'profile="{business_profile}"',
            "Idempotency-Key": webhook_id,
            "Request-Id": webhook_id,
            "X-Event-Type": event,
            "Webhook-Id": webhook_id,
            "Webhook-Timestamp": str(int(created.timestamp())),
        }
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers.update(sign_request(key, "POST", parts.netloc, parts.path, body, headers))
        response = guarded_request(
            "POST", url, profiles.policy, content=body, headers=headers, bounds=profiles.bounds
        )
        if response.status_code >= 300:
            error = f"HTTP {response.status_code} from {path}"
    except (UcpError, FetchError, httpx.HTTPError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return outbox.record_attempt(
        db,
        UcpWebhook,
        webhook_id,
        error,
        lambda attempts: RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1],
    )


def deliver_due(
    db: Database, profiles: ProfileCache, key: SigningKey, business_profile: str, *, limit: int = 50
) -> int:
    """Claim due events a few at a time and try each once; how many were delivered."""
    return outbox.deliver_in_batches(
        lambda: claim_due(db),
        lambda webhook_id: _send(db, profiles, key, business_profile, webhook_id),
        limit,
    )


class UcpWebhookDispatcher:
    """Delivers the UCP outbox: a fresh event at once on a small pool (a slow receiver
    never holds up another's news), retries on a daemon thread while any are pending."""

    def __init__(
        self,
        db: Database,
        profiles: ProfileCache,
        key: SigningKey,
        business_profile: str,
        *,
        poll_s: float = 0.5,
    ) -> None:
        self.db = db
        self.profiles = profiles
        self.key = key
        self.business_profile = business_profile
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ucp-webhook-send")
        # After a few failed passes in a row (the database away) it stops; the next event's
        # kick starts it again.
        self._worker = outbox.OutboxWorker(
            "ucp-webhooks",
            lambda: deliver_due(db, profiles, key, business_profile),
            lambda: outbox.next_due_in(db, UcpWebhook, MAX_ATTEMPTS),
            poll_s=poll_s,
            give_up_after=5,
        )

    def send_now(self, webhook_id: str) -> None:
        """First delivery attempt of a just-committed event (its retries follow if it fails)."""
        self._pool.submit(self._send_one, webhook_id)

    def _send_one(self, webhook_id: str) -> None:
        try:
            # Not claimable while an earlier event of its order is undelivered: the loop
            # (kicked below) sends it once that one is through.
            if claim_due(self.db, only=webhook_id):
                _send(self.db, self.profiles, self.key, self.business_profile, webhook_id)
        except Exception:  # the retry loop picks it up
            log.exception("UCP webhook %s: first delivery failed", webhook_id)
        self.kick()

    def kick(self) -> None:
        """An event was queued: deliver soon (starts the worker if needed)."""
        self._worker.kick()
