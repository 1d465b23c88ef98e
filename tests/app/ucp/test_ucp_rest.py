"""UCP over REST, on real sockets: signatures both ways, the platform profile under the fetch
guards, version negotiation from the profile, the simulation route only when configured,
signed order webhooks, and attribution to the video the catalog showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.ucp.signatures import verify_request
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event, Order, OrderWebhook, UcpWebhook, utcnow
from reelcart.models.base import as_utc
from reelcart.settings import Settings
from tests.commerce.acp_helpers import MUG, localstripe, stock_shop
from tests.commerce.payment_checks import wait_for
from tests.factories import add_published_creatives
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ucp_helpers import (
    Platform,
    client,
    complete_body,
    create_body,
    platform_on_loopback,
    signed_get,
    ucp_app,
    ucp_settings,
)

__all__ = ["localstripe"]

pytestmark = pytest.mark.xdist_group("ucp-rest")


def test_signed_requests_are_verified_against_the_platform_profile(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    url = f"{base}/checkout-sessions"
    with client(base) as http:
        raw, headers = platform.signed("POST", url, create_body())
        created = http.post(url, content=raw, headers=headers)
        assert created.status_code == 201, created.text
        # The body changed after signing: the digest no longer matches.
        raw, headers = platform.signed("POST", url, create_body())
        tampered = http.post(
            url, content=raw.replace(b'"quantity": 1', b'"quantity": 2'), headers=headers
        )
        assert tampered.status_code == 400 and tampered.json()["code"] == "digest_mismatch"
        # A signature over another request (another path) does not verify.
        raw, headers = platform.signed("POST", f"{base}/elsewhere", create_body())
        forged = http.post(url, content=raw, headers=headers)
        assert forged.status_code == 401 and forged.json()["code"] == "signature_invalid"
        # A key the profile does not publish.
        raw, headers = platform.signed("POST", url, create_body())
        headers["Signature-Input"] = headers["Signature-Input"].replace("platform-1", "other")
        unknown = http.post(url, content=raw, headers=headers)
        assert unknown.status_code == 401 and unknown.json()["code"] == "key_not_found"


def test_version_comes_from_the_profile_when_the_header_has_none(
    sqlite_db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    stock_shop(sqlite_db, store, tmp_path)
    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, None, port))
    with (
        platform_on_loopback(version="2099-01-01") as platform,
        serve_on_loopback(app, port) as base,
        client(base) as http,
    ):
        refused = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        assert refused.status_code == 422 and refused.json()["code"] == "version_unsupported"
        declared = platform.headers(
            **{"UCP-Agent": f'profile="{platform.profile}"; version="2026-04-08"'}
        )
        assert (
            http.post("/checkout-sessions", json=create_body(), headers=declared).status_code == 201
        )


@pytest.mark.parametrize(
    ("profile", "status", "code"),
    [
        ("http://192.168.7.7/profile.json", 400, "invalid_profile_url"),  # http, not allow-listed
        # overview.md: "malformed, missing, or unresolvable" is invalid_profile_url (400)
        ("https://10.1.2.3/profile.json", 400, "invalid_profile_url"),  # a private address
        ("https://no-such-host.invalid/profile.json", 400, "invalid_profile_url"),
        ("https://[::1/profile.json", 400, "invalid_profile_url"),  # not a URL
        ("ftp://example.com/profile.json", 400, "invalid_profile_url"),
    ],
)
def test_profiles_are_fetched_only_under_the_guards(
    sqlite_db: Database, store: MediaStore, settings: Settings, profile: str, status: int, code: str
) -> None:
    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, None, port))
    with serve_on_loopback(app, port) as base, client(base) as http:
        answer = http.post(
            "/checkout-sessions", json=create_body(), headers={"UCP-Agent": f'profile="{profile}"'}
        )
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text


def test_simulation_route_exists_only_with_a_secret(
    sqlite_db: Database, store: MediaStore, settings: Settings
) -> None:
    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, None, port))
    with serve_on_loopback(app, port) as base, client(base) as http:
        assert http.post("/testing/simulate-shipping/ord_x").status_code == 404
        assert http.get("/.well-known/ucp").status_code == 200


def _discovery_keys(http: Any) -> list[dict[str, Any]]:
    return list(http.get("/.well-known/ucp").json()["signing_keys"])


def test_order_webhooks_are_signed_with_the_published_key(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, db = served
    with client(base) as http:
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        assert created.json()["status"] == "ready_for_complete", created.text
        checkout_id = created.json()["id"]
        done = http.post(
            f"/checkout-sessions/{checkout_id}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
        order_id = done.json()["order"]["id"]
        wrong = http.post(
            f"/testing/simulate-shipping/{order_id}", headers={"Simulation-Secret": "nope"}
        )
        assert wrong.status_code == 403
        shipped = http.post(
            f"/testing/simulate-shipping/{order_id}", headers={"Simulation-Secret": "s3cret"}
        )
        assert shipped.status_code == 200
        keys = _discovery_keys(http)
    events = platform.wait_for(2)
    assert [h["x-event-type"] for h, _ in events] == ["order_placed", "order_shipped"]
    for headers, body in events:
        assert body["id"] == order_id and body["checkout_id"] == checkout_id
        raw = next(b for h, b in platform.events if h["webhook-id"] == headers["webhook-id"])
        verify_request(
            method="POST",
            authority=headers["host"],
            path="/webhooks/orders",
            query="",
            headers=headers,
            body=raw,
            keys=keys,
        )
        assert headers["ucp-agent"] == f'profile="{base}/.well-known/ucp"'
    with db.session() as session:
        assert (
            session.scalars(select(Order)).one().total_minor == done.json()["totals"][-1]["amount"]
        )
        # The UCP platform hears of its order by UCP webhooks; nothing is queued for ACP's.
        assert session.scalars(select(OrderWebhook)).all() == []


def test_a_declined_card_is_402_and_nothing_is_sold(served: tuple[str, Platform, Database]) -> None:
    base, platform, db = served
    with client(base) as http:
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        declined = http.post(
            f"/checkout-sessions/{created.json()['id']}/complete",
            json=complete_body("fail_token"),
            headers=platform.headers(),
        )
        assert declined.status_code == 402, declined.text
    with db.session() as session:
        assert session.scalars(select(Order)).all() == []


def test_purchase_is_attributed_to_the_video_the_catalog_showed(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, db = served
    product_id = "gid://shopify/Product/1"
    add_published_creatives(db, product_id, {"crv_a": "a"})
    with client(base) as http:
        looked = http.post(
            "/catalog/lookup",
            json={"ids": [MUG], "attribution": {"shopper_id": "shopper-7"}},
            headers=platform.headers(),
        )
        assert looked.status_code == 200, looked.text
        media = looked.json()["products"][0]["media"]
        assert media[0]["type"] == "video" and media[0]["url"].endswith("crv_a.mp4")
        body = {**create_body(), "attribution": {"shopper_id": "shopper-7"}}
        created = http.post("/checkout-sessions", json=body, headers=platform.headers())
        done = http.post(
            f"/checkout-sessions/{created.json()['id']}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        assert done.status_code == 200, done.text
        order = signed_get(http, platform, f"/orders/{done.json()['order']['id']}")
        assert order.json()["attribution"] == {"shopper_id": "shopper-7"}
    with db.session() as session:
        assert session.scalars(select(Order)).one().creative_id == "crv_a"
        purchase = session.scalars(select(Event).where(Event.kind == "purchase")).one()
        assert (purchase.creative_id, purchase.subject) == ("crv_a", "shopper-7")


def test_a_refused_webhook_is_retried_from_the_outbox(
    sqlite_db: Database,
    store: MediaStore,
    settings: Settings,
    tmp_path: Path,
    localstripe: LocalStripe,
) -> None:
    stock_shop(sqlite_db, store, tmp_path)
    port = free_port()
    app = ucp_app(sqlite_db, store, ucp_settings(settings, localstripe.url, port))

    def row() -> UcpWebhook:
        with sqlite_db.session() as session:
            return session.scalars(select(UcpWebhook)).one()

    with platform_on_loopback() as platform, serve_on_loopback(app, port) as base:
        platform.refuse = 1
        with client(base) as http:
            created = http.post(
                "/checkout-sessions", json=create_body(), headers=platform.headers()
            )
            done = http.post(
                f"/checkout-sessions/{created.json()['id']}/complete",
                json=complete_body(),
                headers=platform.headers(),
            )
            assert done.status_code == 200, done.text
        wait_for(lambda: row().last_error is not None, 10)
        refused = row()
        assert refused.attempts == 1 and refused.delivered_at is None
        assert refused.last_error == "HTTP 503 from /webhooks/orders"
        # The retry is due five minutes later; let that time pass.
        assert 290 < (as_utc(refused.next_attempt_at) - utcnow()).total_seconds() <= 300
        with sqlite_db.session() as session:
            session.execute(update(UcpWebhook).values(next_attempt_at=utcnow()))
        app.state.ucp.dispatcher.kick()
        events = platform.wait_for(1)
        assert len(events) == 1 and events[0][0]["webhook-id"] == platform.refused[0] == refused.id
        wait_for(lambda: row().delivered_at is not None, 10)  # recorded after the platform's 200
        assert row().attempts == 2


def test_a_signing_platform_must_sign_for_its_orders(
    served: tuple[str, Platform, Database],
) -> None:
    base, platform, _ = served
    with client(base) as http:
        created = http.post("/checkout-sessions", json=create_body(), headers=platform.headers())
        done = http.post(
            f"/checkout-sessions/{created.json()['id']}/complete",
            json=complete_body(),
            headers=platform.headers(),
        )
        path = f"/orders/{done.json()['order']['id']}"
        unsigned = http.get(path, headers=platform.headers())
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"
        assert signed_get(http, platform, path).status_code == 200
        other = http.get(path, headers={"UCP-Agent": f'profile="{platform.base}/other.json"'})
        assert other.status_code in (404, 424)  # not this platform's order (or no profile)


def test_an_unknown_item_is_named_by_its_line(served: tuple[str, Platform, Database]) -> None:
    """The one line-item resolver refuses the first item the catalog does not sell, and the
    UCP door names that line in UCP's words (the ACP door's wording is tested with ACP)."""
    base, platform, _ = served
    body = create_body()
    body["line_items"].append({"item": {"id": "no-such-item"}, "quantity": 1})
    with client(base) as http:
        refused = http.post("/checkout-sessions", json=body, headers=platform.headers())
    # A business outcome, in band: UCP's error response with the message naming the line.
    assert refused.status_code == 200 and refused.json()["ucp"]["status"] == "error"
    [message] = refused.json()["messages"]
    assert (message["code"], message["path"]) == ("not_found", "$.line_items[1]")
    assert "no-such-item" in message["content"]
