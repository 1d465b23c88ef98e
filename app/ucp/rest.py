"""UCP over REST: discovery at ``/.well-known/ucp``, checkout sessions, orders, the catalog
(search, lookup, product), and the test-only shipping simulation.

The REST endpoint is the server's public base URL, so ``/checkout-sessions`` sits beside
ACP's ``/checkout_sessions``; ``/orders/{id}`` is shared by both protocols and answered by
UCP when the request names a UCP platform (``UCP-Agent``), by ACP otherwise.
``/testing/simulate-shipping/{order_id}`` exists only when
``REELCART_UCP_SIMULATION_SECRET`` is set (it is for conformance runs, never production).
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.idempotency import IdempotencyStore
from reelcart.settings import Settings

from .door import Call, UcpDoor, UcpRoute
from .embedded import discovery_service
from .envelope import CAPABILITY_SPECS, SPEC_BASE, UCP_VERSION, UcpError
from .mcp_binding import UCP_MCP_PATH
from .parts import UcpParts
from .payments import payment_handlers
from .signatures import SigningKey

__all__ = ["discovery_document", "ucp_routes"]


def discovery_document(settings: Settings, key: SigningKey) -> dict[str, Any]:
    """The business profile: services, capabilities, payment handlers, signing keys."""
    base = settings.resolved_public_base_url

    def service(transport: str, endpoint: str, schema: str) -> dict[str, Any]:
        return {
            "version": UCP_VERSION,
            "spec": f"{SPEC_BASE}/specification/overview",
            "transport": transport,
            "endpoint": endpoint,
            "schema": f"{SPEC_BASE}/services/shopping/{schema}",
        }

    capabilities: dict[str, Any] = {}
    for name, (page, schema, extends) in CAPABILITY_SPECS.items():
        entry: dict[str, Any] = {
            "version": UCP_VERSION,
            "spec": f"{SPEC_BASE}/specification/{page}",
            "schema": f"{SPEC_BASE}/schemas/{schema}",
        }
        if extends:
            entry["extends"] = extends
        capabilities[name] = [entry]
    services = {
        "dev.ucp.shopping": [
            service("rest", base, "rest.openapi.json"),
            service("mcp", f"{base}{UCP_MCP_PATH}", "mcp.openrpc.json"),
        ]
    }
    embedded = discovery_service(settings)
    if embedded is not None:  # only when some host may frame the checkout page
        services["dev.ucp.shopping"].append(embedded)
    handlers = payment_handlers(settings)
    return {
        "ucp": {
            "version": UCP_VERSION,
            "services": services,
            "capabilities": capabilities,
            "payment_handlers": handlers,
        },
        "signing_keys": [key.jwk()],
        # Also where platforms written for the flat (pre-``ucp`` wrapper) profile read them,
        # e.g. the UCP samples' endpoint-resolving client; the profile schema allows it.
        "services": services,
        "payment_handlers": handlers,
    }


def _simulation(parts: UcpParts, secret: str) -> Route:
    async def simulate(request: Request) -> Response:
        supplied = request.headers.get("simulation-secret", "")
        if not hmac.compare_digest(supplied.encode(), secret.encode()):
            error = UcpError(403, "forbidden", "a valid Simulation-Secret header is required")
            return JSONResponse(error.body(), status_code=403)
        order_id = request.path_params["order_id"][:255]
        try:
            view = await run_in_threadpool(parts.orders.simulate_shipping, order_id)
        except UcpError as error:
            return JSONResponse(error.body(), status_code=error.status)
        return JSONResponse(view)

    return Route("/testing/simulate-shipping/{order_id}", simulate, methods=["POST"])


def ucp_routes(parts: UcpParts) -> list[BaseRoute]:
    """Discovery, the checkout and order routes, and (when configured) the simulation."""
    settings = parts.settings
    door = UcpDoor(
        IdempotencyStore(parts.checkout.db),
        parts.profiles,
        parts.key,
        max_body=settings.max_request_bytes,
    )
    checkout, orders, catalog, carts = parts.checkout, parts.orders, parts.catalog, parts.carts

    async def discovery(_: Request) -> Response:
        return JSONResponse(
            discovery_document(settings, parts.key),
            headers={"Cache-Control": "public, max-age=300"},
        )

    def cid(call: Call) -> str:
        return call.params["checkout_id"]

    base = "/checkout-sessions"
    routes: list[BaseRoute] = [
        Route("/.well-known/ucp", discovery, methods=["GET"]),
        door.route(
            base,
            "POST",
            lambda c: checkout.create(carts.checkout_request(c.body, c.profile), c.profile),
            mutating=True,
        ),
        # The cart capability: an estimate to build up before a checkout is made of it.
        door.route("/carts", "POST", lambda c: carts.create(c.body, c.profile), mutating=True),
        door.route(
            "/carts/{cart_id}",
            "GET",
            lambda c: (200, carts.get(c.params["cart_id"], c.profile)),
            mutating=False,
        ),
        door.route(
            "/carts/{cart_id}",
            "PUT",
            lambda c: (200, carts.update(c.params["cart_id"], c.body, c.profile)),
            mutating=True,
        ),
        door.route(
            "/carts/{cart_id}/cancel",
            "POST",
            lambda c: (200, carts.cancel(c.params["cart_id"], c.profile)),
            mutating=True,
        ),
        door.route(
            base + "/{checkout_id}",
            "GET",
            lambda c: (200, checkout.get(cid(c), c.profile)),
            mutating=False,
        ),
        door.route(
            base + "/{checkout_id}",
            "PUT",
            lambda c: (200, checkout.update(cid(c), c.body, c.profile)),
            mutating=True,
        ),
        door.route(
            base + "/{checkout_id}/complete",
            "POST",
            lambda c: (200, checkout.complete(cid(c), c.body, c.profile)),
            mutating=True,
        ),
        door.route(
            base + "/{checkout_id}/cancel",
            "POST",
            lambda c: (200, checkout.cancel(cid(c), c.profile)),
            mutating=True,
        ),
        door.route(
            "/orders/{order_id}",
            "GET",
            lambda c: (200, orders.get(c.params["order_id"], c.profile, signed=c.signed)),
            mutating=False,
            route_class=UcpRoute,
        ),
        door.route(
            "/orders/{order_id}",
            "PUT",
            lambda c: (
                200,
                orders.update(c.params["order_id"], c.body, c.profile, signed=c.signed),
            ),
            mutating=True,
            route_class=UcpRoute,
        ),
        door.route(
            "/catalog/search", "POST", lambda c: (200, catalog.search(c.body)), mutating=False
        ),
        door.route(
            "/catalog/lookup", "POST", lambda c: (200, catalog.lookup(c.body)), mutating=False
        ),
        door.route(
            "/catalog/product",
            "POST",
            lambda c: (200, catalog.product(c.body)),
            mutating=False,
        ),
    ]
    if settings.ucp_simulation_secret is not None:
        routes.append(_simulation(parts, settings.ucp_simulation_secret.get_secret_value()))
    return routes
