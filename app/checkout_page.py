"""The buyer's checkout page (every checkout's ``continue_url``) and Stripe's webhook.

``GET /checkout/{id}``: the cart as the store priced it (the video the shopper saw,
variant, quantity, address and shipping choice, discount code, totals from the one pricing
core); its form changes the checkout through the same core every protocol uses, and Pay
opens a Stripe Checkout Session (:mod:`commerce.checkout.handoff`). Stripe sends the buyer
back to the page, which asks Stripe where the payment stands. Loaded with ``ec_version`` by a
host the store trusts, the page speaks UCP's Embedded Checkout Protocol
(:mod:`app.checkout_page_embedded`); ``Accept: application/json`` on Pay answers Stripe's
URL for its script; otherwise the page may not be framed.

``POST /webhooks/stripe``: ``checkout.session.completed`` / ``.expired``, verified with the
SDK (``stripe.Webhook.construct_event``, the endpoint's ``whsec_…`` secret) over the raw body.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.checkout_page_embedded import ec_query, embedded_markup, frame_headers
from app.checkout_page_html import render_checkout
from app.ucp.checkout import UcpCheckout
from app.ucp.embedded import EmbeddedSession, embedded_session
from app.ucp.envelope import UcpError
from commerce.catalog.product_views import creative_view
from commerce.checkout.errors import CheckoutError
from commerce.checkout.handoff import settle_hosted, start_hosted_payment
from commerce.checkout.handoff_link import CHECKOUT_PAGE_PREFIX, continue_url
from commerce.checkout.orders import attributed_creative
from commerce.checkout.service import CheckoutService
from connectors.stripe import HostedCheckout
from reelcart.models import CheckoutSession, Creative

__all__ = ["checkout_page_routes"]

log = logging.getLogger(__name__)
_ADDRESS = ("name", "line_one", "line_two", "city", "state", "postal_code", "country")
_MAX_FORM_BYTES = 16 * 1024


def _video(service: CheckoutService, checkout_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """The creative this shopper was shown for the first product (if any), as a view."""
    if not view.get("line_items"):
        return {}
    with service.db.session() as session:
        cs = session.get(CheckoutSession, checkout_id)
        subject = cs.subject if cs is not None else None
        found = attributed_creative(session, subject, view["line_items"][0]["product_id"])
        creative = session.get(Creative, found) if found else None
        if creative is None or not creative.video_key or not creative.poster_key:
            return {}
        return creative_view(creative, service.store).model_dump()


def _update_body(form: dict[str, str], view: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as the core's update request."""
    body: dict[str, Any] = {}
    lines = []
    for index, line in enumerate(view.get("line_items", [])):
        raw = form.get(f"quantity_{index}", str(line["quantity"])).strip()
        quantity = int(raw) if raw.isdigit() else line["quantity"]
        if quantity > 0:
            lines.append({"id": line["item"]["id"], "quantity": quantity})
    if lines:
        body["line_items"] = lines
    address = {k: form.get(k, "").strip() for k in _ADDRESS if form.get(k, "").strip()}
    email = form.get("email", "").strip()
    if address or email:
        details: dict[str, Any] = {}
        if address:
            details["address"] = address
            details["name"] = address.get("name")
        if email:
            details["email"] = email
            body["buyer"] = {"email": email}
        body["fulfillment_details"] = {k: v for k, v in details.items() if v}
    option = form.get("shipping_option", "")
    offered = {o["id"]: o["type"] for o in view.get("fulfillment_options", [])}
    if option in offered:
        body["selected_fulfillment_options"] = [
            {
                "type": offered[option],
                "option_id": option,
                "item_ids": [li["id"] for li in view.get("line_items", [])],
            }
        ]
    code = form.get("discount_code", "").strip()
    current = list((view.get("discounts") or {}).get("codes") or [])
    if code and code not in current:
        body["discounts"] = {"codes": [*current, code][:5]}
    return body


def checkout_page_routes(service: CheckoutService) -> list[Route]:
    """The checkout page, its form and Pay, and ``POST /webhooks/stripe``."""
    base = service.base_url
    ucp = UcpCheckout(service)

    def ucp_view(checkout_id: str) -> dict[str, Any] | None:
        try:
            return ucp.buyer_view(checkout_id)
        except UcpError:  # not a UCP checkout: no embedded session for it
            return None

    async def embedded(request: Request, checkout_id: str) -> EmbeddedSession | None:
        if "ec_version" not in request.query_params:
            return None
        view = await run_in_threadpool(ucp_view, checkout_id)
        page_url = continue_url(base, checkout_id)
        return embedded_session(request.query_params, service.settings, view, page_url)

    async def respond(
        request: Request,
        view: dict[str, Any],
        *,
        error: str | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        checkout_id = view["id"]
        session = await embedded(request, checkout_id)
        video = await run_in_threadpool(_video, service, checkout_id, view)
        html = render_checkout(
            view,
            video,
            error=error,
            notice=notice,
            query=ec_query(request.query_params) if session else "",
            color_scheme=session.color_scheme if session else None,
            embedded=embedded_markup(session) if session and session.hosts else "",
        )
        return HTMLResponse(html, status, headers=frame_headers(session))

    # The page is the buyer's, whichever party (ACP agent, UCP platform, shopping tools)
    # made the checkout: the unguessable id in continue_url is the key it handed over.
    async def load(checkout_id: str) -> dict[str, Any] | None:
        try:
            return await run_in_threadpool(service.retrieve, checkout_id, None)
        except CheckoutError as error:
            if error.status == 404:
                return None
            raise

    def not_found() -> Response:
        return HTMLResponse("<!doctype html><h1>No such checkout</h1>", status_code=404)

    async def page(request: Request) -> Response:
        checkout_id = request.path_params["id"]
        view = await load(checkout_id)
        if view is None:
            return not_found()
        notice = None
        if request.query_params.get("paid"):  # back from Stripe: say what the store knows
            notice = (
                "Payment received, thank you."
                if view["status"] == "completed"
                else "Your payment is being confirmed; reload this page in a moment."
            )
        return await respond(request, view, notice=notice)

    async def change(request: Request) -> Response:
        checkout_id = request.path_params["id"]
        view = await load(checkout_id)
        if view is None:
            return not_found()
        if int(request.headers.get("content-length") or 0) > _MAX_FORM_BYTES:
            return HTMLResponse("form too large", status_code=413)
        form = {k: str(v)[:500] for k, v in (await request.form()).items()}
        try:
            await run_in_threadpool(service.update, checkout_id, _update_body(form, view), None)
        except CheckoutError as error:
            return await respond(request, view, error=error.message, status=400)
        page_url = continue_url(base, checkout_id) + ec_query(request.query_params)
        return RedirectResponse(page_url, status_code=303)

    async def pay(request: Request) -> Response:
        checkout_id = request.path_params["id"]
        view = await load(checkout_id)
        if view is None:
            return not_found()
        page_url = continue_url(base, checkout_id)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            started = await run_in_threadpool(
                lambda: start_hosted_payment(
                    service,
                    checkout_id,
                    success_url=f"{page_url}?paid=1&session_id={{CHECKOUT_SESSION_ID}}",
                    cancel_url=page_url,
                )
            )
        except CheckoutError as error:
            status = error.status if error.status >= 500 else 400
            if wants_json:
                return JSONResponse({"error": error.message}, status)
            return await respond(request, view, error=error.message, status=status)
        if wants_json:  # the embedded page opens Stripe's page itself (or asks its host to)
            return JSONResponse({"url": started.url})
        return RedirectResponse(started.url, status_code=303)

    async def webhook(request: Request) -> Response:
        secret = service.settings.stripe_webhook_secret
        if secret is None:
            return JSONResponse({"error": "stripe webhooks are not configured"}, 503)
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature", ""), secret.get_secret_value()
            )
        except (ValueError, stripe.SignatureVerificationError):
            return JSONResponse({"error": "invalid signature or payload"}, 400)
        if event["type"] in ("checkout.session.completed", "checkout.session.expired"):
            hosted = HostedCheckout.of(event["data"]["object"])
            state = await run_in_threadpool(settle_hosted, service, hosted)
            log.info("stripe %s settled a payment page: %s", event["type"], state)
        return JSONResponse({"received": True})

    prefix = CHECKOUT_PAGE_PREFIX
    return [
        Route(prefix + "/{id}", page, methods=["GET"]),
        Route(prefix + "/{id}", change, methods=["POST"]),
        Route(prefix + "/{id}/pay", pay, methods=["POST"]),
        Route("/webhooks/stripe", webhook, methods=["POST"]),
    ]
