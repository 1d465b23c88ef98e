"""A UCP checkout completed just before a crash still gets its UCP order record and its
``order_placed`` webhook: both commit in the order's own transaction, and the outbox
delivers the event on the next start. The crash is the after-commit hook never running
(the app is built without it), the next start the dispatcher's start-up sweep."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette

from app.ucp.parts import build_ucp
from app.ucp.rest import ucp_routes
from commerce.checkout.factory import build_checkout_service
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import UcpOrder, UcpWebhook
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ucp_helpers import client, complete_body, create_body, platform_on_loopback, ucp_settings


def test_order_placed_survives_a_crash_right_after_the_commit(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    stock_shop(sqlite_db, store, tmp_path, stock=5)
    port = free_port()
    configured = ucp_settings(settings, localstripe.url, port)
    service = build_checkout_service(sqlite_db, store, configured)
    parts = build_ucp(service)  # no after-commit order hook: the process dies right there
    app = Starlette(routes=ucp_routes(parts))
    with platform_on_loopback() as platform, serve_on_loopback(app, port) as base:
        with client(base) as http:
            created = http.post(
                "/checkout-sessions", json=create_body(), headers=platform.headers()
            )
            assert created.status_code == 201, created.text
            done = http.post(
                f"/checkout-sessions/{created.json()['id']}/complete",
                json=complete_body(),
                headers=platform.headers(),
            )
            assert done.status_code == 200, done.text
        order_id = done.json()["order"]["id"]
        with sqlite_db.session() as session:
            assert session.get(UcpOrder, order_id) is not None
            queued = session.scalars(
                select(UcpWebhook.event_type).where(UcpWebhook.order_id == order_id)
            ).all()
        assert queued == ["order_placed"]
        # The next start: the dispatcher sweeps what is undelivered.
        parts.dispatcher.kick()
        events = platform.wait_for(1)
        assert [h["x-event-type"] for h, _ in events] == ["order_placed"]
        assert events[0][1]["id"] == order_id
