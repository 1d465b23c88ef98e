"""At start-up the reconciler makes its pass, then runs what the composition root registered
beside it (the Shopify order write-backs a crash left, where Shopify is configured)."""

from __future__ import annotations

import threading

import pytest

import commerce.checkout.reconcile as reconcile
from commerce.checkout.service import CheckoutService
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings


def test_catch_up_steps_run_after_each_start_up_pass(
    db: Database, store: MediaStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    caught_up = threading.Event()
    real = reconcile.reconcile_payments

    def reconciled(service: CheckoutService, **kwargs: int) -> reconcile.ReconcileReport:
        seen.append("pass")
        return real(service, **kwargs)

    def write_back() -> None:
        seen.append("write-back")
        caught_up.set()

    monkeypatch.setattr(reconcile, "reconcile_payments", reconciled)
    service = CheckoutService(db, settings, store, None)
    reconcile.reconcile_in_background(service, catch_up=[write_back])
    assert caught_up.wait(30), "the registered catch-up step never ran"
    assert seen[:2] == ["pass", "write-back"]
