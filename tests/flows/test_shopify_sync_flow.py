"""The Prefect path of a Shopify sync fails at once on what waiting cannot fix: missing
settings and a shop that does not answer are never retried (30 s apart, twice)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.shopify import ShopifyNotConfigured, ShopifyUnreachable
from flows.catalog import sync_catalog
from flows.common import clear_caches
from reelcart.settings import get_settings
from tests.servers import free_port

pytestmark = pytest.mark.xdist_group("prefect")


def test_settings_mistakes_are_not_retried(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOP", "ACCESS_TOKEN", "API_KEY", "API_SECRET"):
        monkeypatch.delenv(f"REELCART_SHOPIFY_{name}", raising=False)
    started = time.monotonic()
    with pytest.raises(ShopifyNotConfigured, match="REELCART_SHOPIFY_SHOP"):
        sync_catalog(source="shopify")
    monkeypatch.setenv("REELCART_SHOPIFY_SHOP", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("REELCART_SHOPIFY_ACCESS_TOKEN", "shpat_x")
    get_settings.cache_clear()
    clear_caches()
    with pytest.raises(ShopifyUnreachable, match=r"127\.0\.0\.1"):
        sync_catalog(source="shopify")
    assert time.monotonic() - started < 25  # one retry alone would wait 30 s
