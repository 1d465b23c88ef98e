"""ACP affiliate attribution: a purchase is recorded against the video the shopper was shown.

An agent that carries ``affiliate_attribution`` with this store's provider names the
shopper (``sub_id``) and the video it showed (``creative_id``); the purchase event is
attributed to that video when the server's impressions confirm this shopper was shown it,
to the last one shown otherwise, and another provider's attribution is not interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from commerce.checkout.attribution import ATTRIBUTION_PROVIDER
from connectors.storage import MediaStore
from experiments.tracking import record_exposure
from reelcart.db import Database
from reelcart.models import Creative, Event, utcnow
from reelcart.settings import Settings
from tests.commerce.acp_helpers import (
    acp_app,
    acp_settings,
    complete_body,
    create_body,
    delegate,
    headers,
    localstripe,
    stock_shop,
    validate,
)
from tests.factories import add_published_creatives
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe"]

MUG_PRODUCT = "gid://shopify/Product/1"
FIRST, LAST, NEVER = "cr_first", "cr_last", "cr_never"


@pytest.fixture
def client(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[TestClient]:
    stock_shop(db, store, tmp_path, stock=50)
    add_published_creatives(db, MUG_PRODUCT, {FIRST: "a", LAST: "b", NEVER: "c"})
    with db.session() as session:
        for creative_id in (FIRST, LAST):
            creative = session.get(Creative, creative_id)
            assert creative is not None
            record_exposure(session, creative, "alice", "mcp")
        # alice saw FIRST a minute before LAST: LAST is the one "last shown".
        session.execute(
            update(Event)
            .where(Event.creative_id == FIRST)
            .values(occurred_at=utcnow() - timedelta(minutes=1))
        )
    with TestClient(acp_app(db, store, acp_settings(settings, localstripe.url))) as test_client:
        yield test_client


def _affiliate(
    creative_id: str, provider: str = ATTRIBUTION_PROVIDER, **more: Any
) -> dict[str, Any]:
    return {
        "provider": provider,
        "publisher_id": "agent-platform",
        "sub_id": "alice",
        "creative_id": creative_id,
        **more,
    }


def _buy(client: TestClient, create_extra: dict[str, Any], complete_extra: dict[str, Any]) -> str:
    body = create_body() | create_extra
    validate("CheckoutSessionCreateRequest", body)
    session = client.post("/checkout_sessions", json=body, headers=headers()).json()
    assert session["status"] == "ready_for_payment", session
    complete = complete_body(delegate(cast(httpx.Client, client), session)) | complete_extra
    validate("CheckoutSessionCompleteRequest", complete)
    done = client.post(
        f"/checkout_sessions/{session['id']}/complete", json=complete, headers=headers()
    )
    assert done.status_code == 200, done.text
    return str(done.json()["order"]["id"])


def _purchase(db: Database, order_id: str) -> Event:
    with db.session() as session:
        events = session.scalars(select(Event).where(Event.kind == "purchase")).all()
        found = [e for e in events if (e.data or {}).get("order_id") == order_id]
        assert len(found) == 1
        session.expunge(found[0])
        return found[0]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_quoted_creative_the_shopper_saw_gets_the_purchase(
    client: TestClient, db: Database
) -> None:
    order = _buy(client, {"affiliate_attribution": _affiliate(FIRST, touchpoint="first")}, {})
    purchase = _purchase(db, order)
    assert (purchase.subject, purchase.creative_id) == ("alice", FIRST)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_last_touch_at_completion_decides_and_unseen_videos_do_not_count(
    client: TestClient, db: Database
) -> None:
    # First touch quotes FIRST, the completion (last touch) quotes LAST: LAST wins.
    order = _buy(
        client,
        {"affiliate_attribution": _affiliate(FIRST, touchpoint="first")},
        {"affiliate_attribution": _affiliate(LAST, touchpoint="last")},
    )
    assert _purchase(db, order).creative_id == LAST
    # A video alice was never shown is not credited: the last one she saw is.
    order = _buy(client, {"affiliate_attribution": _affiliate(NEVER)}, {})
    assert _purchase(db, order).creative_id == LAST


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_another_providers_attribution_is_not_read_as_ours(
    client: TestClient, db: Database
) -> None:
    order = _buy(client, {"affiliate_attribution": _affiliate(FIRST, provider="impact.com")}, {})
    purchase = _purchase(db, order)
    assert (purchase.subject, purchase.creative_id) == (None, None)
