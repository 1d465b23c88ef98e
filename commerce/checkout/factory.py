"""The checkout core as every composition root builds it: Stripe and the order webhooks
from settings. The ASGI app, the CLI, the UCP door and the tests all start here."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.storage import MediaStore
from connectors.stripe import StripePayments
from reelcart.db import Database
from reelcart.settings import Settings

from .orders import OrderHook
from .service import CheckoutService
from .webhooks import WebhookDispatcher

__all__ = ["build_checkout_service"]


def build_checkout_service(
    db: Database,
    store: MediaStore,
    settings: Settings,
    *,
    payments: StripePayments | None = None,
    order_hooks: Sequence[OrderHook] = (),
) -> CheckoutService:
    """The checkout core with Stripe from settings and the order-webhook dispatcher."""
    payments = payments or StripePayments.from_settings(settings)
    dispatcher = WebhookDispatcher(db, settings)
    return CheckoutService(
        db, settings, store, payments, order_hooks=order_hooks, on_order_event=dispatcher.kick
    )
