"""A Shopify-faithful Admin GraphQL server for tests and benchmarks, on loopback.

What it reproduces: the access-token header (a fixed legacy token, or tokens issued by the
client credentials grant at ``/admin/oauth/access_token`` that expire), query cost
(requested before running, actual after, the difference refunded), a leaky bucket per app
and store with a
configurable restore rate, ``THROTTLED`` errors returned as HTTP 200, the 1,000-point
single-query limit, 250-item page limits with key-based cursors, Bulk Operations with a
JSONL result file (``__parentId`` on child rows), staged uploads that reject a file of
another size than declared, video media that go PROCESSING → READY (or FAILED for a file
that is not an MP4), signed webhook deliveries, and injected faults (5xx, 429 with
``Retry-After``, timeouts, forced throttling).

    with FakeShopify(restore_rate=100) as shop:
        shop.state.add_product(1)
        client = ShopifyClient(shop.base_url, shop.state.access_token, "2026-10")
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from graphql import GraphQLError, execute, parse, validate
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.shopify.client import Clock, SystemClock
from tests.servers import serve_on_loopback

from .shopify_resolvers import build_schema
from .shopify_schema import MAX_QUERY_COST, actual_cost, requested_cost
from .shopify_state import FakeShopState

__all__ = ["FakeShopify", "build_app", "sign_webhook"]


def sign_webhook(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _errors(errors: list[dict[str, Any]], cost: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"errors": errors}
    if cost:
        body["extensions"] = {"cost": cost}
    return JSONResponse(body)


def build_app(state: FakeShopState) -> Starlette:
    schema = build_schema(state)

    async def graphql(request: Request) -> Response:
        fault = state.take_fault()
        if fault is not None:
            if fault.kind == "status":
                return JSONResponse({"errors": "Internal error"}, status_code=fault.status)
            if fault.kind == "429":
                return JSONResponse(
                    {"errors": "Exceeded 2 calls per second for api client."},
                    status_code=429,
                    headers={"Retry-After": f"{fault.retry_after_s:.3f}"},
                )
            if fault.kind == "timeout":
                await asyncio.sleep(fault.delay_s)
                return JSONResponse({"errors": "too late"}, status_code=504)
        if not state.token_valid(request.headers.get("x-shopify-access-token", "")):
            return JSONResponse(
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
                status_code=401,
            )
        try:
            payload = json.loads(await request.body())
            source = payload["query"]
            variables = payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": "Bad Request"}, status_code=400)
        try:
            document = parse(source)
        except GraphQLError as exc:
            return _errors([exc.formatted])
        problems = validate(schema, document)
        if problems:
            return _errors([p.formatted for p in problems])
        with state.lock:
            requested = requested_cost(schema, document, variables)
            now = state.clock.monotonic()
            state.ledger.requests += 1
            state.ledger.first_at = state.ledger.first_at if state.ledger.first_at else now
            state.ledger.last_at = now
            if requested > MAX_QUERY_COST:
                return _errors(
                    [
                        {
                            "message": f"Query cost is {requested}, which exceeds the single query "
                            f"max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": MAX_QUERY_COST,
                            },
                        }
                    ],
                    {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": state.bucket.status(),
                    },
                )
            if (fault is not None and fault.kind == "throttled") or not state.bucket.take(
                requested
            ):
                state.ledger.throttled += 1
                return _errors(
                    [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": state.bucket.status(),
                    },
                )
            result = execute(schema, document, variable_values=variables, context_value={})
            actual = actual_cost(schema, document, variables, result.data)
            charged = min(actual, requested)
            state.bucket.refund(requested - charged)
            state.ledger.points_charged += charged
            body: dict[str, Any] = {"data": result.data}
            if result.errors:
                body["errors"] = [e.formatted for e in result.errors]
            body["extensions"] = {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": charged,
                    "throttleStatus": state.bucket.status(),
                }
            }
        return JSONResponse(body)

    async def staged_upload(request: Request) -> Response:
        token = request.path_params["token"]
        staged = state.staged.get(token)
        if staged is None:
            return Response(
                "<Error><Code>NoSuchUpload</Code></Error>", 404, media_type="application/xml"
            )
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or form.get("key") != f"uploads/{token}/" + str(
            staged["filename"]
        ):
            return Response(
                "<Error><Code>InvalidArgument</Code><Message>key and file are "
                "required</Message></Error>",
                400,
                media_type="application/xml",
            )
        data = await upload.read()
        if len(data) != staged["size"]:
            code = "EntityTooLarge" if len(data) > staged["size"] else "EntityTooSmall"
            return Response(
                f"<Error><Code>{code}</Code><Message>Your proposed upload is "
                f"{'larger' if code == 'EntityTooLarge' else 'smaller'} than the declared "
                f"size.</Message></Error>",
                400,
                media_type="application/xml",
            )
        with state.lock:
            staged["data"] = data
        return Response(status_code=201)

    async def files(request: Request) -> Response:
        body = state.files.get(request.path_params["name"])
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type="application/jsonl")

    async def cdn(request: Request) -> Response:
        name = request.path_params["name"]
        if name in state.broken_images:
            return Response("not found", status_code=404)
        shade = int(hashlib.sha256(name.encode()).hexdigest()[:2], 16)
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (shade, 90, 255 - shade)).save(buffer, "PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    async def oauth_token(request: Request) -> Response:
        # Form-encoded as the docs show it, or JSON as Shopify's own Node library sends it.
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                form: dict[str, Any] = dict(json.loads(await request.body()))
            except (ValueError, TypeError):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
        else:
            form = dict(await request.form())
        grant = form.get("grant_type")
        if grant == "client_credentials":
            # The client credentials grant (RFC 6749 4.4) of a Dev Dashboard app installed
            # here: the client ID and secret buy a token that expires, with no refresh token.
            known = hmac.compare_digest(
                str(form.get("client_id", "")).encode(), state.client_id.encode()
            ) and hmac.compare_digest(
                str(form.get("client_secret", "")).encode(), state.api_secret.encode()
            )
            if not known:
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed",
                    },
                    status_code=400,
                )
            return JSONResponse(
                {
                    "access_token": state.issue_token(),
                    "scope": "read_products,write_products,write_files,read_orders,write_orders",
                    "expires_in": int(state.token_lifetime_s),
                }
            )
        if grant not in (None, "authorization_code"):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_secret") != state.api_secret or not form.get("code"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return JSONResponse({"access_token": state.access_token, "scope": "read_products"})

    return Starlette(
        routes=[
            Route("/admin/api/{version}/graphql.json", graphql, methods=["POST"]),
            Route("/admin/oauth/access_token", oauth_token, methods=["POST"]),
            Route("/staged/{token}", staged_upload, methods=["POST"]),
            Route("/files/{name}", files),
            Route("/cdn/{name}", cdn),
        ]
    )


class FakeShopify:
    """The fake store on a loopback port; ``state`` is shared with the running server."""

    def __init__(self, *, clock: Clock | None = None, **options: Any) -> None:
        self.state = FakeShopState(clock=clock or SystemClock(), **options)
        self.base_url = ""
        self._serving: Any = None

    def __enter__(self) -> FakeShopify:
        self._serving = self._serve()
        self.base_url = self._serving.__enter__()
        self.state.base_url = self.base_url
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(*exc)

    @contextmanager
    def _serve(self) -> Iterator[str]:
        with serve_on_loopback(build_app(self.state)) as url:
            yield url

    def deliver_webhook(
        self,
        url: str,
        topic: str,
        payload: dict[str, Any],
        *,
        webhook_id: str | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        """POST a webhook the way Shopify does: raw JSON body, HMAC and delivery headers."""
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_webhook(body, secret or self.state.api_secret),
            "X-Shopify-Shop-Domain": self.state.domain,
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.state.now(),
        }
        return httpx.post(url, content=body, headers=headers, timeout=10)
