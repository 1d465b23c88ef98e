"""Stripe Checkout for the Stripe stand-in: sessions, the hosted payment page, signed webhooks.

What Stripe does, on loopback:

- ``POST /v1/checkout/sessions`` (``mode=payment``, ``line_items`` with ``price_data``,
  ``success_url``, ``cancel_url``, ``metadata``, ``client_reference_id``, ``expires_at``,
  ``payment_intent_data[metadata]``) answers a ``checkout.session`` whose ``url`` is the
  hosted payment page; ``GET /v1/checkout/sessions/{id}`` retrieves it (an open session past
  ``expires_at`` reads ``expired``); ``POST /v1/checkout/sessions/{id}/expire`` expires an
  open one and refuses any other, as Stripe does.
- The hosted page ``/c/pay/{id}`` takes a card (the test card by default); paying creates a
  PaymentMethod and a confirmed PaymentIntent in localstripe (so it can be refunded through
  the API), marks the session ``complete`` / ``paid`` and redirects to ``success_url`` with
  ``{CHECKOUT_SESSION_ID}`` filled in. A session that is not open is not paid again.
- ``checkout.session.completed`` is delivered to every webhook endpoint registered with
  localstripe's ``/_config/webhooks/{id}`` (url, secret), signed as Stripe signs:
  ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">``.

Faults for tests, set with ``POST /_config/checkout_delivery`` (``mode``): ``before`` (the
default: delivered before the page redirects), ``after`` (delivered after the redirect,
once ``delay_s`` has passed), ``twice`` (delivered twice), ``drop`` (never delivered).
Every delivery tried is recorded (``GET /_config/checkout_deliveries``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import secrets
import time
from typing import Any

__all__ = ["add_checkout_sessions"]

_PREFIX = "shim_checkout:"
_DELIVERY = "shim_checkout_delivery"
_DELIVERIES = "shim_checkout_deliveries"
TEST_CARD = "4242424242424242"


def _lines(raw: Any) -> list[dict[str, Any]]:
    """Form-encoded ``line_items[0][…]`` arrive as a dict keyed by index."""
    if isinstance(raw, dict):
        return [raw[k] for k in sorted(raw, key=lambda k: int(k))]
    return list(raw or [])


def add_checkout_sessions(app: Any, store: Any, server: Any, resources: Any) -> None:
    """Add Checkout Sessions, the hosted page and their webhooks to localstripe's ``app``."""
    from aiohttp import ClientSession, ClientTimeout, web
    from localstripe import webhooks

    pending: set[asyncio.Future[None]] = set()

    def error(status: int, message: str, param: str = "") -> web.Response:
        body = {"error": {"type": "invalid_request_error", "message": message, "param": param}}
        return web.json_response(body, status=status)

    def load(session_id: str) -> dict[str, Any] | None:
        found = store.get(_PREFIX + session_id)
        if found is not None and found["status"] == "open" and found["expires_at"] <= time.time():
            found = dict(found, status="expired")
            store[_PREFIX + session_id] = found
        return found

    async def create(request: web.Request) -> web.Response:
        if server.get_api_key(request) is None:
            return error(401, "Invalid API Key provided")
        data = dict(await server.get_post_data(request) or {})
        if data.get("mode") != "payment":
            return error(400, "Only mode=payment is supported here.", "mode")
        if not data.get("success_url"):
            return error(400, "Missing required param: success_url.", "success_url")
        lines = _lines(data.get("line_items"))
        if not lines:
            return error(400, "Missing required param: line_items.", "line_items")
        amount, currency = 0, None
        for index, line in enumerate(lines):
            price = line.get("price_data") or {}
            try:
                unit, quantity = int(price["unit_amount"]), int(line.get("quantity", 1))
            except (KeyError, TypeError, ValueError):
                return error(400, "Invalid line item.", f"line_items[{index}]")
            if unit < 0 or quantity < 1 or not (price.get("product_data") or {}).get("name"):
                return error(400, "Invalid line item.", f"line_items[{index}]")
            amount += unit * quantity
            currency = str(price.get("currency", "")).lower()
        now = int(time.time())
        expires_at = int(data.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600:
            return error(400, "expires_at must be 30 minutes to 24 hours out.", "expires_at")
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": currency,
            "created": now,
            "expires_at": expires_at,
            "client_reference_id": data.get("client_reference_id"),
            "metadata": dict(data.get("metadata") or {}),
            "payment_intent": None,
            "success_url": data["success_url"],
            "cancel_url": data.get("cancel_url"),
            "url": f"http://{request.host}/c/pay/{session_id}",
            "_payment_intent_metadata": dict(
                (data.get("payment_intent_data") or {}).get("metadata") or {}
            ),
            "_lines": [
                {
                    "name": line["price_data"]["product_data"]["name"],
                    "amount": int(line["price_data"]["unit_amount"]),
                    "quantity": int(line.get("quantity", 1)),
                }
                for line in lines
            ],
        }
        store[_PREFIX + session_id] = session
        return server.json_response(_public(session))

    async def retrieve(request: web.Request) -> web.Response:
        if server.get_api_key(request) is None:
            return error(401, "Invalid API Key provided")
        session = load(request.match_info["id"])
        if session is None:
            return error(404, f"No such checkout.session: '{request.match_info['id']}'", "id")
        return server.json_response(_public(session))

    async def expire(request: web.Request) -> web.Response:
        if server.get_api_key(request) is None:
            return error(401, "Invalid API Key provided")
        session = load(request.match_info["id"])
        if session is None:
            return error(404, f"No such checkout.session: '{request.match_info['id']}'", "id")
        if session["status"] != "open":
            return error(
                400, "Only Checkout Sessions with a status of 'open' can be expired.", "session"
            )
        session = dict(session, status="expired")
        store[_PREFIX + session["id"]] = session
        return server.json_response(_public(session))

    async def page(request: web.Request) -> web.Response:
        session = load(request.match_info["id"])
        if session is None:
            raise web.HTTPNotFound()
        return web.Response(text=_page(session), content_type="text/html")

    async def deliver(event: dict[str, Any]) -> None:
        payload = json.dumps(event, indent=2, sort_keys=True).encode()
        stamp = int(time.time())
        for endpoint in list(webhooks._webhooks.values()):
            if endpoint.events is not None and event["type"] not in endpoint.events:
                continue
            mac = hmac.new(endpoint.secret.encode(), b"%d.%s" % (stamp, payload), hashlib.sha256)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}",
            }
            status = 0
            try:
                async with (
                    ClientSession(timeout=ClientTimeout(total=10)) as http,
                    http.post(endpoint.url, data=payload, headers=headers) as response,
                ):
                    status = response.status
            except Exception:  # a refused connection counts as a failed delivery
                status = 0
            store[_DELIVERIES] = [
                *store.get(_DELIVERIES, []),
                {"event": event["id"], "type": event["type"], "status": status},
            ]

    async def pay(request: web.Request) -> web.Response:
        session = load(request.match_info["id"])
        if session is None:
            raise web.HTTPNotFound()
        if session["status"] != "open":
            return web.Response(text=_page(session), content_type="text/html", status=409)
        form = await request.post()
        number = str(form.get("card") or TEST_CARD).replace(" ", "")
        try:
            method = resources.PaymentMethod._api_create(
                type="card",
                card={"number": number, "exp_month": "12", "exp_year": "2035", "cvc": "123"},
            )
            intent = resources.PaymentIntent._api_create(
                amount=session["amount_total"],
                currency=session["currency"],
                payment_method=method.id,
                confirm=True,
                metadata={**session["_payment_intent_metadata"], "checkout_session": session["id"]},
            )
        except Exception as exc:  # a declined card: the page says so, the session stays open
            return web.Response(
                text=_page(session, f"Your card was declined ({exc})."),
                content_type="text/html",
                status=402,
            )
        # The page may have been opened twice: only the first payment completes the session.
        current = load(session["id"])
        if current is None or current["status"] != "open":
            return web.Response(text=_page(current or session), content_type="text/html")
        paid = dict(current, status="complete", payment_status="paid", payment_intent=intent.id)
        store[_PREFIX + session["id"]] = paid
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "api_version": "2026-01-28",
            "livemode": False,
            "data": {"object": _public(paid)},
        }
        mode = store.get(_DELIVERY, {"mode": "before"})
        if mode["mode"] in ("before", "twice"):
            await deliver(event)
            if mode["mode"] == "twice":
                await deliver(event)
        elif mode["mode"] == "after":

            async def later() -> None:
                await asyncio.sleep(float(mode.get("delay_s", 0.5)))
                await deliver(event)

            # Kept until sent, so the pending delivery is not collected mid-flight.
            pending.add(task := asyncio.ensure_future(later()))
            task.add_done_callback(pending.discard)
        target = paid["success_url"].replace("{CHECKOUT_SESSION_ID}", paid["id"])
        raise web.HTTPSeeOther(target)

    async def set_delivery(request: web.Request) -> web.Response:
        data = dict(await server.get_post_data(request) or {})
        if data.get("mode") not in ("before", "after", "twice", "drop"):
            return error(400, "mode is before, after, twice or drop", "mode")
        store[_DELIVERY] = {"mode": data["mode"], "delay_s": float(data.get("delay_s", 0.5))}
        return web.json_response(store[_DELIVERY])

    async def deliveries(_: web.Request) -> web.Response:
        return web.json_response(store.get(_DELIVERIES, []))

    @web.middleware
    async def hosted_page(request: web.Request, handler: Any) -> web.StreamResponse:
        # The hosted page is the buyer's, opened by its URL: no API key, as on Stripe.
        if request.path.startswith("/c/pay/") and request.method in ("GET", "POST"):
            return await (page if request.method == "GET" else pay)(request)
        return await handler(request)

    app.middlewares.insert(0, hosted_page)
    app.router.add_post("/v1/checkout/sessions", create)
    app.router.add_get("/v1/checkout/sessions/{id}", retrieve)
    app.router.add_post("/v1/checkout/sessions/{id}/expire", expire)
    app.router.add_get("/c/pay/{id}", page)
    app.router.add_post("/c/pay/{id}", pay)
    app.router.add_post("/_config/checkout_delivery", set_delivery)
    app.router.add_get("/_config/checkout_deliveries", deliveries)


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


def _page(session: dict[str, Any], problem: str | None = None) -> str:
    amount = session["amount_total"] / 100
    rows = "".join(
        f"<li>{html.escape(line['name'])}"
        + (f" × {line['quantity']}" if line["quantity"] > 1 else "")
        + "</li>"
        for line in session["_lines"]
    )
    if session["status"] == "open":
        body = (
            f'<form method="post"><label>Card number <input id="card" name="card" '
            f'value="{TEST_CARD}"></label><button id="pay" type="submit">'
            f"Pay {session['currency'].upper()} {amount:.2f}</button></form>"
        )
    elif session["status"] == "complete":
        body = '<p id="state">This payment is complete.</p>'
    else:
        body = '<p id="state">This checkout session has expired.</p>'
    note = f'<p id="problem">{html.escape(problem)}</p>' if problem else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Stripe Checkout (test)</title>"
        "<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto}</style></head>"
        f"<body><h1>Pay {html.escape(str(session['metadata'].get('store', 'the store')))}</h1>"
        f"<ul>{rows}</ul><p>Total {session['currency'].upper()} {amount:.2f}</p>"
        f"{note}{body}</body></html>"
    )
