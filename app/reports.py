"""HTTP routes of the experiments: the campaign report page and the tracking endpoints.

- ``GET /reports/campaigns`` the index of campaigns; ``GET /reports/campaigns/{name}`` the
  report (HTML), with ``charts/product-{i}.png``, ``charts/factors.png`` and the exports
  ``export.json``, ``creatives.csv``, ``factors.csv`` beside it. Behind the bearer token:
  campaign results are the merchant's business data (a browser signs in at ``/login``).
- ``GET /reports/sandbox/{name}`` (and its charts and exports) the same report over the
  sandbox ``reelcart simulate`` shopped (``experiments.sandbox``), headed by what the
  simulation assumed; the index lists the sandboxes under the live campaigns.
- ``POST /events`` event ingestion (bearer token): ``{"events": [TrackedEvent, ...]}``;
  each event is answered ``created``, ``duplicate`` or ``rejected`` with a reason.
- ``GET /t/click/{creative_id}?s=<shopper>&e=<expiry>&sig=<hmac>`` click-through: counts
  the click and redirects to the product page with UTM parameters (``utm_content`` =
  creative id, also ``rc_creative`` for the Shopify order's landing-site attribution). The
  target is built server-side from the creative, never taken from the query: no open
  redirect.
- ``GET /t/pixel/{creative_id}.gif?s=…&e=…&sig=…`` a 1×1 impression pixel for feeds.

Pixel and redirect are public by nature (they sit in feeds and ads), so they count a hit
only when its link was signed by the app (``experiments.tracking.tracking_links``), and only
one impression/click per shopper and creative; any other hit is served but never counted.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from experiments.campaign_index import campaign_overview
from experiments.charts import factor_chart, product_chart
from experiments.evaluation import CampaignReport, evaluate_campaign
from experiments.exports import (
    CREATIVE_COLUMNS,
    FACTOR_COLUMNS,
    creative_rows,
    factor_rows,
    report_json,
    to_csv,
)
from experiments.headlines import headlines
from experiments.reports import render_html, render_index, simulation_notice
from experiments.sandbox import read_assumptions, sandbox_names, sandbox_path
from experiments.tracking import (
    EventRejected,
    TrackedEvent,
    ingest_event,
    record_click,
    record_exposure,
    verified_shopper,
)
from reelcart.db import Database
from reelcart.models import Campaign, Creative, Product
from reelcart.settings import Settings
from reelcart.signing import settings_key
from reelcart.storable import bad_string

if TYPE_CHECKING:
    from connectors.storage import MediaStore

__all__ = ["report_routes"]

_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"cache-control": "no-store"}
_CACHE_SECONDS = 30.0


class _Batch(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=500)


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def report_routes(
    db: Database,
    store: MediaStore,
    settings: Settings,
    auth: Callable[[ASGIApp], ASGIApp] | None = None,
) -> list[Route]:
    """The routes; ``auth(app) -> app`` wraps the protected ones (the app's BearerAuth)."""

    def guard(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
        app = request_response(endpoint)
        return auth(app) if auth else app

    cache: dict[tuple[str, str, float], tuple[float, CampaignReport]] = {}

    def _sandbox_report(name: str) -> CampaignReport:
        path = sandbox_path(settings.data_dir, name)
        if bad_string(name) or not path.exists():
            raise LookupError(f"no simulation of {name!r}: run `reelcart simulate --campaign`")
        sandbox = Database(f"sqlite:///{path}")
        try:
            with sandbox.session() as session:
                return evaluate_campaign(session, name, apply=False)
        finally:
            sandbox.dispose()

    def _report(name: str, sandbox: bool = False) -> CampaignReport:
        # A new simulation replaces the sandbox file: its mtime keys the cache.
        path = sandbox_path(settings.data_dir, name)
        stamp = path.stat().st_mtime if sandbox and path.exists() else 0.0
        key = ("sandbox" if sandbox else "live", name, stamp)
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1]
        if sandbox:
            report = _sandbox_report(name)
        else:
            with db.session() as session:
                report = evaluate_campaign(session, name, apply=False)
        cache[key] = (time.monotonic(), report)
        return report

    def _sandboxed(request: Request) -> bool:
        return request.url.path.startswith("/reports/sandbox/")

    async def report_page(request: Request) -> Response:
        name, sandbox = request.path_params["name"], _sandboxed(request)
        try:
            report = await asyncio.to_thread(_report, name, sandbox)
        except LookupError as exc:
            return _error(404, "not_found", str(exc))
        chart_base = request.url.path.rstrip("/") + "/charts/"
        notice = (
            simulation_notice(read_assumptions(sandbox_path(settings.data_dir, name)))
            if sandbox
            else None
        )
        return HTMLResponse(render_html(report, store.url_for, chart_base, notice=notice))

    def _index() -> str:
        with db.session() as session:
            campaigns = campaign_overview(session)
        verdicts = {}
        for c in campaigns:
            try:
                report = _report(c.name)
            except LookupError:
                continue
            verdicts[c.name] = "; ".join(h.title for h in headlines(report))
        simulated = {}
        for name in sandbox_names(settings.data_dir):
            try:
                report = _report(name, sandbox=True)
            except LookupError:
                continue
            shoppers = sum(a.metrics.units for p in report.products for a in p.arms)
            simulated[name] = (shoppers, "; ".join(h.title for h in headlines(report)))
        return render_index(campaigns, verdicts, simulated)

    async def index_page(request: Request) -> Response:
        return HTMLResponse(await asyncio.to_thread(_index))

    async def export(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            report = await asyncio.to_thread(_report, name, _sandboxed(request))
        except LookupError as exc:
            return _error(404, "not_found", str(exc))
        which = request.path_params["which"]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "campaign"
        disposition = {"content-disposition": f'attachment; filename="{slug}-{which}"'}
        if which == "export.json":
            return JSONResponse(report_json(report), headers=disposition)
        if which == "creatives.csv":
            body = to_csv(creative_rows(report), CREATIVE_COLUMNS)
        elif which == "factors.csv":
            body = to_csv(factor_rows(report), FACTOR_COLUMNS)
        else:
            return _error(404, "not_found", "exports: export.json, creatives.csv, factors.csv")
        return Response(body, media_type="text/csv; charset=utf-8", headers=disposition)

    async def chart(request: Request) -> Response:
        try:
            report = await asyncio.to_thread(
                _report, request.path_params["name"], _sandboxed(request)
            )
        except LookupError as exc:
            return _error(404, "not_found", str(exc))
        which = request.path_params["chart"]
        if which == "factors":
            png = await asyncio.to_thread(factor_chart, report)
        else:
            index = which.removeprefix("product-")
            if not index.isdigit() or int(index) >= len(report.products):
                return _error(404, "not_found", "no such chart")
            png = await asyncio.to_thread(product_chart, report.products[int(index)])
        return Response(png, media_type="image/png", headers={"cache-control": "max-age=30"})

    async def ingest(request: Request) -> Response:
        try:
            batch = _Batch.model_validate_json(await request.body())
        except ValidationError as exc:
            details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            return _error(
                400,
                "invalid_request",
                'body must be {"events": [...]} with 1 to 500 events',
                details=details,
            )
        results = []
        for raw in batch.events:
            try:
                event = TrackedEvent.model_validate(raw)
            except ValidationError as exc:
                results.append(
                    {
                        "event_id": raw.get("event_id"),
                        "status": "rejected",
                        "reason": "; ".join(e["msg"] for e in exc.errors()),
                    }
                )
                continue
            try:
                with db.session() as session:
                    _, created = ingest_event(session, event, source="api")
            except EventRejected as exc:
                results.append(
                    {"event_id": event.event_id, "status": "rejected", "reason": str(exc)}
                )
                continue
            results.append(
                {"event_id": event.event_id, "status": "created" if created else "duplicate"}
            )
        return JSONResponse({"results": results})

    tracking_key = settings_key(settings, "tracking")

    def _creative(creative_id: str) -> tuple[Creative, str] | None:
        if bad_string(creative_id) or len(creative_id) > 255:
            return None  # cannot name a creative (and PostgreSQL refuses a NUL)
        with db.session() as session:
            creative = session.get(Creative, creative_id)
            if creative is None or creative.status != "published":
                return None
            campaign = session.get(Campaign, creative.campaign_id)
            session.expunge(creative)
            return creative, campaign.name if campaign else ""

    async def click(request: Request) -> Response:
        found = _creative(request.path_params["creative_id"])
        if found is None:
            return _error(404, "not_found", "no such live creative")
        creative, campaign = found
        shopper = verified_shopper(tracking_key, creative.id, request.query_params)
        with db.session() as session:
            if shopper is not None:
                record_click(session, creative, shopper, source="redirect")
            product = session.get(Product, creative.product_id)
        utm = urlencode(
            {
                "utm_source": "reelcart",
                "utm_medium": "video",
                "utm_campaign": campaign,
                "utm_content": creative.id,
                "rc_creative": creative.id,
            }
        )
        if settings.shopify_shop and product is not None:
            target = f"https://{settings.shopify_shop}/products/{product.handle}?{utm}"
        elif creative.video_key:
            target = f"{store.url_for(creative.video_key)}?{utm}"
        else:
            return _error(404, "not_found", "creative has no landing page")
        return RedirectResponse(target, status_code=302, headers=_NO_STORE)

    async def pixel(request: Request) -> Response:
        found = _creative(request.path_params["creative_id"])
        shopper = found and verified_shopper(tracking_key, found[0].id, request.query_params)
        if found is not None and shopper:
            with db.session() as session:
                record_exposure(session, found[0], shopper, source="pixel")
        # Always a GIF: a broken image in a feed helps nobody; unknown ids count nothing.
        return Response(_GIF, media_type="image/gif", headers=_NO_STORE)

    return [
        Route("/reports/campaigns", guard(index_page)),
        Route("/reports/campaigns/{name}", guard(report_page)),
        Route("/reports/campaigns/{name}/{which:str}", guard(export)),
        Route("/reports/campaigns/{name}/charts/{chart}.png", guard(chart)),
        Route("/reports/sandbox", guard(index_page)),
        Route("/reports/sandbox/{name}", guard(report_page)),
        Route("/reports/sandbox/{name}/{which:str}", guard(export)),
        Route("/reports/sandbox/{name}/charts/{chart}.png", guard(chart)),
        Route("/events", guard(ingest), methods=["POST"]),
        Route("/t/click/{creative_id}", click, methods=["GET"]),
        Route("/t/pixel/{creative_id}.gif", pixel, methods=["GET"]),
    ]
