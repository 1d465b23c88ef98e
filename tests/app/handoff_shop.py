"""A served store with Stripe Checkout wired to the Stripe stand-in, for the handoff tests.

The app serves the checkout page and ``/webhooks/stripe``; the stand-in (localstripe with
Checkout Sessions, a hosted page and signed webhooks) is told where to deliver, with the
same signing secret the store verifies with.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.asgi import create_app
from app.mcp.http import warm_search
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.commerce.showcase_media import publish_playable_creative
from tests.fakes.stripe_server import API_KEY, LocalStripe
from tests.servers import free_port, serve_on_loopback

__all__ = ["CREATIVE", "STOCK", "TOKEN", "Shop", "served_shop"]

STOCK = 50
TOKEN = "handoff-token"
CREATIVE = "crv_handoff"


@dataclass
class Shop:
    base: str
    stripe: str
    db: Database
    settings: Settings
    store: MediaStore


@pytest.fixture(scope="module")
def served_shop(
    tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[Shop]:
    folder: Path = tmp_path_factory.mktemp("handoff")
    port = free_port()
    secret = "whsec_" + secrets.token_hex(16)
    settings = Settings.model_validate(
        {
            "data_dir": folder / "data",
            "api_token": TOKEN,
            "port": port,
            "stripe_api_key": API_KEY,
            "stripe_api_base": localstripe.url,
            "stripe_webhook_secret": secret,
        }
    )
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(folder / "media"), settings.resolved_public_base_url)
    stock_shop(db, store, folder, stock=STOCK)
    # A real, playable video: the checkout page shows the one the shopper saw.
    publish_playable_creative(db, Path(store.root), "gid://shopify/Product/1", CREATIVE)
    warm_search(db)
    # Stripe is told where the store's webhook endpoint is (one store at a time), and
    # shares its signing secret.
    httpx.post(
        f"{localstripe.url}/_config/webhooks/reelcart-handoff",
        data={"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": secret},
        timeout=10,
    ).raise_for_status()
    with serve_on_loopback(create_app(settings, db, store), port=port) as base:
        yield Shop(base, localstripe.url, db, settings, store)
    db.dispose()
