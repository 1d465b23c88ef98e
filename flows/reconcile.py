"""Flow: settle every payment whose outcome is unknown, refund unwanted charges, then send
the order webhooks and Shopify write-backs that follow. Safe to run on many workers."""

from __future__ import annotations

import httpx
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from commerce.checkout.reconcile import reconcile_payments as reconcile
from commerce.checkout.service import CheckoutService
from commerce.checkout.webhooks import deliver_due
from commerce.shopify.publish import write_back_pending
from connectors.shopify import shopify_configured
from connectors.stripe import StripePayments

from .common import database, media_store, settings

__all__ = ["reconcile_payments"]


@task(cache_policy=NO_CACHE)
def settle_payments() -> dict[str, int]:
    """One reconciliation pass (claims make concurrent runs safe)."""
    s = settings()
    service = CheckoutService(database(), s, media_store(), StripePayments.from_settings(s))
    return reconcile(service).as_dict()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def send_order_webhooks() -> int:
    with httpx.Client(timeout=10.0) as client:
        return deliver_due(database(), settings(), client)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def write_back_orders() -> int:
    return write_back_pending(database(), settings())


@flow(name="reconcile_payments")
def reconcile_payments() -> dict[str, int]:
    """Every charge ends in an order or a refund; what follows an order is sent."""
    report = settle_payments()
    report["webhooks_delivered"] = send_order_webhooks()
    if shopify_configured(settings()):
        report["shopify_orders_written"] = write_back_orders()
    return report
