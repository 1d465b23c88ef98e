"""The buyer's order page: ``GET /order-status/{page_token}``, what ``order.permalink_url``
names in ACP and UCP answers ("the authoritative reference for the full order
experience", UCP ``order.md``).

The buyer has no account here and no bearer token, so the URL itself is the credential:
the order's random page token (192 bits, see ``reelcart.models.Order``), which opens that
one order and no other. The page is HTML, not cached, not indexed, and sends no referrer;
an unknown token is a plain 404 page. It shows what was sold and charged (the order) and,
for a UCP order, its fulfillment expectations and events.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from reelcart.db import Database
from reelcart.models import Order, UcpOrder

__all__ = ["ORDER_PAGE_PATH", "order_page_routes"]

ORDER_PAGE_PATH = "/order-status/{page_token}"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
_STATUS = {
    "confirmed": "Confirmed: we are preparing your order.",
    "shipped": "Shipped.",
    "fulfilled": "Delivered.",
    "canceled": "Canceled: the payment was refunded.",
}


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:,.2f} {currency.upper()}"


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;"
        "padding:0 1rem}table{width:100%;border-collapse:collapse}"
        "td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}</style>"
        f"</head><body>{body}</body></html>"
    )


def render_order(order: Order, record: UcpOrder | None) -> str:
    """The page of one order (every value escaped)."""
    label = order.id.removeprefix("ord_")[:12].upper()
    rows = "".join(
        f"<tr><td>{escape(str(line.get('name', '')))}</td>"
        f"<td>{int(line.get('quantity', 0))}</td>"
        f"<td>{_money(int(line.get('unit_amount', 0)), order.currency)}</td></tr>"
        for line in order.line_items
    )
    totals = "".join(
        f"<tr><th>{escape(str(t.get('display_text') or t.get('type', '')))}</th>"
        f"<td></td><td>{_money(int(t.get('amount', 0)), order.currency)}</td></tr>"
        for t in order.totals
    )
    if order.refunded_minor:
        totals += (
            f"<tr><th>Refunded</th><td></td>"
            f"<td>{_money(order.refunded_minor, order.currency)}</td></tr>"
        )
    parts = [
        f"<h1>Order {escape(label)}</h1>",
        f"<p id='status'>{escape(_STATUS.get(order.status, order.status))}</p>",
        f"<p>Placed {escape(order.created_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        "<table><tr><th>Item</th><th>Qty</th><th>Price</th></tr>",
        rows,
        totals,
        "</table>",
    ]
    fulfillment: dict[str, Any] = (record.fulfillment if record else None) or {}
    events = fulfillment.get("events") or []
    expected = fulfillment.get("expectations") or []
    if expected or events:
        parts.append("<h2>Delivery</h2><ul>")
        for expectation in expected:
            where = expectation.get("destination") or {}
            place = ", ".join(
                str(where[k]) for k in ("address_locality", "address_country") if where.get(k)
            )
            what = expectation.get("description") or "Shipping"
            parts.append(f"<li>{escape(str(what))} to {escape(place)}</li>")
        for event in events:
            line = f"{event.get('type', '')} {event.get('occurred_at', '')}"
            if event.get("tracking_url"):
                line += f" (tracking: {event['tracking_url']})"
            parts.append(f"<li>{escape(line)}</li>")
        parts.append("</ul>")
    return _page(f"Order {label}", "".join(parts))


def order_page_routes(db: Database) -> list[Route]:
    """``GET /order-status/{page_token}`` (no sign-in: the token is the credential)."""

    def load(token: str) -> str | None:
        with db.session() as session:
            order = session.scalar(select(Order).where(Order.page_token == token))
            if order is None:
                return None
            return render_order(order, session.get(UcpOrder, order.id))

    async def page(request: Request) -> Response:
        token = request.path_params["page_token"]
        html = await run_in_threadpool(load, token) if 16 <= len(token) <= 64 else None
        if html is None:
            missing = _page("Order not found", "<h1>Order not found</h1>")
            return HTMLResponse(missing, status_code=404, headers=_HEADERS)
        return HTMLResponse(html, headers=_HEADERS)

    return [Route(ORDER_PAGE_PATH, page, methods=["GET"])]
