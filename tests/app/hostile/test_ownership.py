"""Every checkout and order answers only to the party that created it, across protocols
(real sockets): two UCP platforms and one ACP client interleave on one store; each
reaches only its own resources (another's is not found, not translated), and at the end
every succeeded charge in the Stripe stand-in's own records has exactly one order or one
refund."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reelcart.db import Database
from tests.app.ucp.conftest import served, sqlite_db
from tests.app.ucp.ucp_helpers import (
    Platform,
    client,
    complete_body,
    create_body,
    platform_on_loopback,
    signed_get,
)
from tests.commerce.acp_helpers import complete_body as acp_complete_body
from tests.commerce.acp_helpers import create_body as acp_create_body
from tests.commerce.acp_helpers import delegate, localstripe
from tests.commerce.acp_helpers import headers as acp_headers
from tests.commerce.payment_checks import assert_money_invariant
from tests.fakes.stripe_server import LocalStripe

__all__ = ["localstripe", "served", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")


def _ucp(http: httpx.Client, platform: Platform, method: str, path: str, body: Any = None):
    return http.request(method, path, json=body, headers=platform.headers())


def _refused(answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 404, answer.text
    body = answer.json()
    assert body.get("code") == code, body


def test_each_party_reaches_only_its_own_checkouts_and_orders(
    served: tuple[str, Platform, Database], localstripe: LocalStripe
) -> None:
    base, a, db = served
    with platform_on_loopback() as b, client(base) as http:
        # A's checkout, completed into an order; B's and the ACP client's, open.
        made = _ucp(http, a, "POST", "/checkout-sessions", create_body())
        assert made.status_code == 201, made.text
        a_checkout = made.json()["id"]
        paid = _ucp(http, a, "POST", f"/checkout-sessions/{a_checkout}/complete", complete_body())
        assert paid.json()["status"] == "completed", paid.text
        a_order = paid.json()["order"]["id"]
        b_checkout = _ucp(http, b, "POST", "/checkout-sessions", create_body()).json()["id"]
        acp = http.post("/checkout_sessions", json=acp_create_body(), headers=acp_headers())
        assert acp.status_code == 201, acp.text
        acp_checkout = acp.json()["id"]

        # Platform B on A's checkout: not found, whatever it tries.
        for method, path, body in [
            ("GET", f"/checkout-sessions/{a_checkout}", None),
            ("PUT", f"/checkout-sessions/{a_checkout}", create_body(quantity=2)),
            ("POST", f"/checkout-sessions/{a_checkout}/cancel", None),
            ("POST", f"/checkout-sessions/{a_checkout}/complete", complete_body()),
        ]:
            _refused(_ucp(http, b, method, path, body), "not_found")
        # B on A's order, and A on the ACP client's checkout.
        _refused(signed_get(http, b, f"/orders/{a_order}"), "not_found")
        _refused(_ucp(http, a, "GET", f"/checkout-sessions/{acp_checkout}"), "not_found")

        # The ACP door on the UCP platforms' resources: not found, nothing refunded.
        for path in (a_checkout, b_checkout):
            _refused(
                http.get(f"/checkout_sessions/{path}", headers=acp_headers(None)),
                "session_not_found",
            )
            _refused(
                http.post(f"/checkout_sessions/{path}/cancel", json={}, headers=acp_headers()),
                "session_not_found",
            )
            _refused(
                http.post(f"/checkout_sessions/{path}", json={}, headers=acp_headers()),
                "session_not_found",
            )
        _refused(http.get(f"/orders/{a_order}", headers=acp_headers(None)), "order_not_found")

        # Each party still has its own, unchanged.
        assert _ucp(http, a, "GET", f"/checkout-sessions/{a_checkout}").json()["status"] == (
            "completed"
        )
        assert signed_get(http, a, f"/orders/{a_order}").status_code == 200
        b_view = _ucp(http, b, "GET", f"/checkout-sessions/{b_checkout}").json()
        assert b_view["status"] == "ready_for_complete"
        token = delegate(http, acp.json())
        done = http.post(
            f"/checkout_sessions/{acp_checkout}/complete",
            json=acp_complete_body(token),
            headers=acp_headers(),
        )
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
        acp_order = done.json()["order"]["id"]
        assert http.get(f"/orders/{acp_order}", headers=acp_headers(None)).status_code == 200
        _refused(signed_get(http, a, f"/orders/{acp_order}"), "not_found")

    counts = assert_money_invariant(
        db, localstripe.url, {a_checkout, b_checkout, acp_checkout}, initial_stock=5
    )
    assert counts["orders"] == 2 and counts["refunded"] == 0
