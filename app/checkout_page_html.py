"""The checkout page's HTML: server-rendered, no script needed (but in an embedded
session), every value escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from commerce.checkout.handoff import PAYABLE_ON_PAGE
from reelcart.money import format_money

__all__ = ["render_checkout"]

_STYLE = """
:root{color-scheme:light dark}
body{font-family:system-ui,sans-serif;max-width:40rem;margin:1.5rem auto;padding:0 1rem;
background:Canvas;color:CanvasText}
video{width:100%;max-height:22rem;background:#000;border-radius:8px}
table{width:100%;border-collapse:collapse}td{padding:.3rem 0}td.r{text-align:right}
fieldset{border:1px solid #ddd;border-radius:8px;margin:1rem 0}label{display:block;margin:.3rem 0}
input{padding:.3rem}.problem{color:light-dark(#a00,#f77)}.ok{color:light-dark(#070,#6d6)}
button{font-size:1.05rem;padding:.5rem 1.2rem;border-radius:6px}#pay{background:#635bff;color:#fff}
"""
_ADDRESS = (
    ("name", "Full name"),
    ("line_one", "Address"),
    ("line_two", "Apartment, suite"),
    ("city", "City"),
    ("state", "State / province"),
    ("postal_code", "Postal code"),
    ("country", "Country (2 letters)"),
)


def _money(amount: int, currency: str) -> str:
    return escape(format_money(int(amount), currency))


def _line_total(line: dict[str, Any]) -> int:
    return int(next(t["amount"] for t in line["totals"] if t["type"] == "total"))


def render_checkout(
    view: dict[str, Any],
    video: dict[str, Any],
    *,
    error: str | None = None,
    notice: str | None = None,
    query: str = "",
    color_scheme: str | None = None,
    embedded: str = "",
) -> str:
    """The page for an ACP checkout view, with the creative's video when there is one.

    ``query`` is kept on the forms' actions (an embedded session's ``ec_*`` parameters),
    ``color_scheme`` forces light or dark (else the buyer's system preference), and
    ``embedded`` is markup added at the end of the body (the embedded session's script).
    """
    cid, currency, status = escape(view["id"]), view["currency"], view["status"]
    scheme = f" style='color-scheme:{escape(color_scheme)}'" if color_scheme else ""
    action = f"/checkout/{cid}"
    parts = [
        f"<!doctype html><html lang='en'{scheme}><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Checkout</title><style>{_STYLE}</style></head>",
        f"<body data-status='{escape(status)}'><h1>Your order</h1>",
    ]
    if video:
        captions = (
            f"<track kind='captions' src='{escape(video['captions_url'])}' default>"
            if video.get("captions_url")
            else ""
        )
        parts.append(
            f"<video id='video' data-creative='{escape(video['creative_id'])}' controls muted "
            f"playsinline poster='{escape(video['poster_url'])}' "
            f"src='{escape(video['video_url'])}'>{captions}</video>"
        )
    if notice:
        parts.append(f"<p class='ok' id='notice'>{escape(notice)}</p>")
    if error:
        parts.append(f"<p class='problem' id='error'>{escape(error)}</p>")
    problems = [m["content"] for m in view.get("messages", []) if m.get("type") == "error"]
    for problem in problems:
        parts.append(f"<p class='problem'>{escape(problem)}</p>")
    order = view.get("order")
    if status == "completed" and order:
        parts.append(
            f"<p class='ok' id='order' data-order='{escape(order['id'])}'>Paid. Order "
            f"{escape(order.get('order_number', order['id']))} is placed.</p>"
        )
    open_ = status in ("not_ready_for_payment", "ready_for_payment")
    if status in ("canceled", "expired"):
        parts.append(f"<p class='problem' id='closed'>This checkout is {escape(status)}.</p>")
    parts.append(f"<form method='post' action='{action}{escape(query)}'><table>")
    for index, line in enumerate(view.get("line_items", [])):
        options = ", ".join(f"{o['name']}: {o['value']}" for o in line.get("variant_options", []))
        quantity = (
            f"<input name='quantity_{index}' type='number' min='0' max='99' size='3' "
            f"value='{int(line['quantity'])}' aria-label='Quantity'>"
            if open_
            else str(int(line["quantity"]))
        )
        parts.append(
            f"<tr class='line'><td>{escape(line['name'])}<br><small>{escape(options)}</small>"
            f"</td><td>{_money(line['unit_amount'], currency)} × {quantity}</td>"
            f"<td class='r'>{_money(_line_total(line), currency)}</td></tr>"
        )
    parts.append("</table>")
    if open_:
        details = view.get("fulfillment_details") or {}
        address = details.get("address") or {}
        email = (view.get("buyer") or {}).get("email") or details.get("email") or ""
        parts.append("<fieldset><legend>Contact and shipping</legend>")
        parts.append(
            f"<label>Email <input name='email' type='email' value='{escape(email)}'></label>"
        )
        for field, label in _ADDRESS:
            value = escape(str(address.get(field) or ""))
            parts.append(f"<label>{label} <input name='{field}' value='{value}'></label>")
        selected = {s["option_id"] for s in view.get("selected_fulfillment_options", [])}
        for option in view.get("fulfillment_options", []):
            checked = " checked" if option["id"] in selected else ""
            parts.append(
                f"<label><input type='radio' name='shipping_option' value='{escape(option['id'])}'"
                f"{checked}> {escape(option.get('description') or option['title'])}</label>"
            )
        codes = ", ".join((view.get("discounts") or {}).get("codes") or [])
        parts.append(
            "</fieldset><label>Discount code <input name='discount_code'></label>"
            + (f"<p>Codes: {escape(codes)}</p>" if codes else "")
            + "<button id='update' type='submit'>Update</button>"
        )
    parts.append("</form><table id='totals'>")
    for total in view.get("totals", []):
        parts.append(
            f"<tr data-total='{escape(total['type'])}'><td>{escape(total['display_text'])}</td>"
            f"<td class='r'>{_money(total['amount'], currency)}</td></tr>"
        )
    parts.append("</table>")
    if status in PAYABLE_ON_PAGE:
        parts.append(
            f"<form method='post' action='{action}/pay{escape(query)}'>"
            "<button id='pay' type='submit'>Pay with card</button></form>"
        )
    parts.append(f"{embedded}</body></html>")
    return "".join(parts)
