"""ACP REST (``openapi.agentic_checkout.yaml`` 2026-04-17) as Starlette routes.

Every route but discovery needs ``Authorization: Bearer`` (constant-time check against
``settings.api_token``) and a supported ``API-Version``; every POST needs an
``Idempotency-Key`` (see :mod:`app.idempotency`). ``Request-Id`` and
``Idempotency-Key`` are echoed. Errors use the flat ACP ``Error`` shape; an unexpected
failure is a 500 ``processing_error`` without internals. Bad input never reaches the core:
bodies are bounded (413), JSON is depth-limited and free of NULs and lone surrogates (400),
path ids are bounded; a lost database is a 503 ``service_unavailable`` with ``Retry-After``.
Business calls run in a thread pool so the event loop keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.acp.envelope import (
    SUPPORTED_VERSIONS,
    Narrow,
    as_acp_error,
    check_key,
    check_version,
    run_once,
)
from app.acp.mcp_server import ACP_MCP_PATH
from app.http_auth import bearer_matches
from app.http_limits import JsonBodyError, bad_string, parse_json, read_body, request_echo
from app.idempotency import IdempotencyStore, fingerprint
from commerce.checkout.delegate import delegate_payment, delegate_payment_enabled
from commerce.checkout.errors import CheckoutError
from commerce.checkout.factory import build_checkout_service
from commerce.checkout.orders import OrderHook
from commerce.checkout.service import API_VERSION, CheckoutService
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings

__all__ = ["SUPPORTED_VERSIONS", "acp_routes", "discovery_document"]

Handler = Callable[[Request, Any], Any]


def discovery_document(settings: Settings, currency: str | None = None) -> dict[str, Any]:
    """``/.well-known/acp.json`` (RFC discovery): where and what this seller serves."""
    services = ["checkout", "orders"]
    if delegate_payment_enabled(settings):
        services.append("delegate_payment")
    capabilities: dict[str, Any] = {"services": services, "intervention_types": ["3ds"]}
    if currency:
        capabilities["supported_currencies"] = [currency.lower()]
    return {
        "protocol": {
            "name": "acp",
            "version": API_VERSION,
            "supported_versions": SUPPORTED_VERSIONS,
            "documentation_url": "https://agenticcommerce.dev",
        },
        "api_base_url": settings.resolved_public_base_url,
        "transports": ["rest", "mcp"],
        # Where each transport is served, in the shape the RFC's future work sketches
        # (clients ignore fields they do not know): the MCP binding has its own endpoint.
        "transport_endpoints": [
            {"type": "rest", "url": settings.resolved_public_base_url},
            {"type": "mcp", "url": f"{settings.resolved_public_base_url}{ACP_MCP_PATH}"},
        ],
        "capabilities": capabilities,
    }


def _error_response(error: CheckoutError, echo: dict[str, str]) -> JSONResponse:
    """The OpenAPI documents' ``Error``, which allows no other field: a version error's
    ``supported_versions`` (the JSON Schema bundle's, kept by the MCP binding) stays out;
    the message names the versions and ``/.well-known/acp.json`` lists them."""
    body = {k: v for k, v in error.body().items() if k != "supported_versions"}
    return JSONResponse(body, status_code=error.status, headers={**echo, **error.headers})


class _Api:
    """REST's side of the envelope: auth and headers in, JSON responses and echoes out."""

    def __init__(self, settings: Settings, idempotency: IdempotencyStore) -> None:
        token = settings.api_token.get_secret_value() if settings.api_token else None
        self._token = token.encode() if token else None
        self.idempotency = idempotency
        self.max_body = settings.max_request_bytes

    def _authorised(self, request: Request) -> bool:
        return bearer_matches(request.headers.get("authorization", ""), self._token)

    def route(
        self,
        path: str,
        method: str,
        handler: Handler,
        *,
        idempotent_scope: str,
        narrow: Narrow | None = None,
        reenter: bool = False,
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            echo = request_echo(request)
            try:
                if not self._authorised(request):
                    raise CheckoutError(
                        401,
                        "unauthorized",
                        "a valid bearer token is required",
                        headers={"WWW-Authenticate": 'Bearer realm="reelcart"'},
                    )
                check_version(request.headers.get("api-version"), "API-Version")
                _check_path_params(request)
                if method == "GET":
                    body = await run_in_threadpool(handler, request, None)
                    return JSONResponse(body, headers=echo)
                return await self._post(
                    request, handler, idempotent_scope, echo, narrow, reenter=reenter
                )
            except Exception as exc:
                error = as_acp_error(exc, f"{method} {path}")
                return _error_response(narrow(error) if narrow else error, echo)

        return Route(path, endpoint, methods=[method])

    async def _post(
        self,
        request: Request,
        handler: Handler,
        scope_name: str,
        echo: dict[str, str],
        narrow: Narrow | None = None,
        *,
        reenter: bool = False,
    ) -> Response:
        key = request.headers.get("idempotency-key")
        if not key:
            raise CheckoutError(
                400, "idempotency_key_required", "Idempotency-Key header is required"
            )
        echo["Idempotency-Key"] = check_key(key)
        raw = await read_body(request, self.max_body)
        try:
            body = parse_json(raw) if raw.strip() else None
        except JsonBodyError as exc:
            raise CheckoutError(400, exc.code, str(exc), param=exc.param) from None
        scope = f"bearer {scope_name}{request.url.path}"
        digest = fingerprint(body) if body is not None else fingerprint(raw.decode("latin-1"))
        answer = await run_once(
            self.idempotency,
            scope,
            key,
            digest,
            lambda: handler(request, body),
            narrow,
            reenter=reenter,
        )
        return JSONResponse(
            answer.body, status_code=answer.status, headers={**echo, **answer.headers}
        )


_MAX_ID = 255


def _check_path_params(request: Request) -> None:
    """Ids in the path are bounded and storable: never a database error further in."""
    for value in request.path_params.values():
        text = str(value)
        problem = bad_string(text) or (
            f"is longer than {_MAX_ID} characters" if len(text) > _MAX_ID else None
        )
        if problem:
            raise CheckoutError(400, "invalid", f"the id in the path {problem}", param="$.id")


def acp_routes(
    db: Database,
    store: MediaStore,
    settings: Settings,
    *,
    service: CheckoutService | None = None,
    order_hooks: Sequence[OrderHook] = (),
) -> list[BaseRoute]:
    """The ACP REST routes, discovery and the (test-mode) delegate payment endpoint."""
    checkout = service or build_checkout_service(db, store, settings, order_hooks=order_hooks)
    api = _Api(settings, IdempotencyStore(db))

    def cid(request: Request) -> str:
        return str(request.path_params["checkout_session_id"])

    def get_order(request: Request, _: Any) -> dict[str, Any]:
        return checkout.order(str(request.path_params["order_id"]))

    async def discovery(_: Request) -> Response:
        currency = await run_in_threadpool(_shop_currency, db)
        return JSONResponse(
            discovery_document(settings, currency), headers={"Cache-Control": "public, max-age=300"}
        )

    base = "/checkout_sessions"
    return _one_route_per_path(
        [
            Route("/.well-known/acp.json", discovery, methods=["GET"]),
            api.route(
                base, "POST", lambda r, b: (201, checkout.create(b)), idempotent_scope="POST "
            ),
            api.route(
                base + "/{checkout_session_id}",
                "GET",
                lambda r, b: checkout.retrieve(cid(r)),
                idempotent_scope="",
            ),
            api.route(
                base + "/{checkout_session_id}",
                "POST",
                lambda r, b: (200, checkout.update(cid(r), b)),
                idempotent_scope="POST ",
            ),
            api.route(
                base + "/{checkout_session_id}/complete",
                "POST",
                # The agent's key names its request: re-sent after a crash, it is answered
                # with what its charge became; one still marked in flight runs again (it
                # settles the payment with Stripe, never sends a second one).
                lambda r, b: (
                    200,
                    checkout.complete(cid(r), b, request_key=r.headers.get("idempotency-key")),
                ),
                idempotent_scope="POST ",
                reenter=True,
            ),
            api.route(
                base + "/{checkout_session_id}/cancel",
                "POST",
                lambda r, b: (200, checkout.cancel(cid(r), b)),
                idempotent_scope="POST ",
            ),
            api.route("/orders/{order_id}", "GET", get_order, idempotent_scope=""),
            api.route(
                "/agentic_commerce/delegate_payment",
                "POST",
                lambda r, b: (
                    201,
                    delegate_payment(
                        db, settings, checkout.payments, b, r.headers.get("idempotency-key", "")
                    ),
                ),
                idempotent_scope="POST ",
                narrow=_delegate_error,
            ),
        ]
    )


# Every method reaches a merged route, which answers the ones the path lacks itself.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _one_route_per_path(routes: list[Route]) -> list[BaseRoute]:
    """Paths served with several methods become one route, so that a 405 names them all.

    Starlette answers a method no route takes from the first route whose path matches,
    whose ``Allow`` would list only that route's methods (GET without POST).
    """
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route)
    merged: list[BaseRoute] = []
    for path, group in by_path.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        endpoints = {m: r.endpoint for r in group for m in (r.methods or ())}
        allow = ", ".join(sorted(endpoints))

        async def endpoint(
            request: Request, endpoints: dict[str, Any] = endpoints, allow: str = allow
        ) -> Response:
            chosen = endpoints.get(request.method)
            if chosen is None:
                error = CheckoutError(
                    405,
                    "method_not_allowed",
                    f"{request.method} is not allowed here; use one of {allow}",
                    headers={"Allow": allow},
                )
                return _error_response(error, request_echo(request))
            response: Response = await chosen(request)
            return response

        merged.append(Route(path, endpoint, methods=_ANY_METHOD))
    return merged


# The delegate payment ``Error`` schema allows only these codes (RFC §4.2).
_DELEGATE_CODES = frozenset(
    {
        "invalid_card",
        "duplicate_request",
        "idempotency_conflict",
        "too_many_requests",
        "idempotency_key_required",
        "idempotency_in_flight",
    }
)


def _delegate_error(error: CheckoutError) -> CheckoutError:
    """A 400 in the delegate endpoint's narrower code set: a malformed request is
    ``invalid_card`` there (the RFC's "Missing/malformed field" example)."""
    if error.status != 400 or error.code in _DELEGATE_CODES or error.supported_versions:
        return error
    return CheckoutError(
        400, "invalid_card", error.message, param=error.param, headers=error.headers
    )


def _shop_currency(db: Database) -> str | None:
    from commerce.checkout.session import catalog_currency

    with db.session() as session:
        return catalog_currency(session)
