"""What the shoppers' checkout tools answer: compact views of a checkout and an order.

Money is integer minor units beside a display string (:class:`Price`); the view of a
checkout names what still stands in the way of paying and the next step, and carries
``continue_url``, the store's page where the shopper pays.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from commerce.catalog.product_views import Price
from reelcart.money import format_money

__all__ = ["CheckoutView", "OrderView", "checkout_view", "price"]


class CheckoutLine(BaseModel):
    variant_id: str
    title: str
    quantity: int
    unit_price: Price
    total: Price


class ShippingOption(BaseModel):
    id: str
    title: str
    price: Price


class OrderRef(BaseModel):
    order_id: str
    status: str
    url: str


class CheckoutView(BaseModel):
    checkout_id: str
    status: str = Field(
        description="not_ready_for_payment, ready_for_payment, complete_in_progress, "
        "completed, canceled or expired."
    )
    items: list[CheckoutLine]
    shipping_options: list[ShippingOption]
    shipping_option_id: str | None
    discount_codes: list[str]
    totals: dict[str, Price] = Field(description="subtotal, discount, shipping, tax, total.")
    problems: list[str] = Field(description="What still stands in the way of paying.")
    continue_url: str = Field(description="The store's checkout page: the shopper pays there.")
    order: OrderRef | None
    next_step: str


class OrderView(BaseModel):
    order_id: str
    checkout_id: str
    status: str
    items: list[dict[str, Any]]
    total: Price
    refunded: Price | None
    url: str


def price(amount: int, currency: str) -> Price:
    return Price(amount=amount, currency=currency.upper(), display=format_money(amount, currency))


_TOTAL_NAMES = {
    "subtotal": "subtotal",
    "items_discount": "discount",
    "fulfillment": "shipping",
    "tax": "tax",
    "total": "total",
}


def _next_step(view: dict[str, Any], problems: list[str]) -> str:
    status = view["status"]
    if status == "completed":
        return "Paid. Tell the shopper the order is placed; get_order shows it."
    if status in ("canceled", "expired"):
        return f"This checkout is {status}; start a new one with create_checkout."
    if status == "complete_in_progress":
        return "The payment is being confirmed; call get_checkout again in a few seconds."
    if problems:
        return "Fix the problems with update_checkout (ask the shopper where needed)."
    return (
        "Give the shopper continue_url to review and pay on the store's page; then call "
        "get_checkout until status is completed."
    )


def checkout_view(view: dict[str, Any]) -> CheckoutView:
    """The compact view of an ACP ``CheckoutSession``."""
    currency = view["currency"]
    totals: dict[str, Price] = {}
    for total in view["totals"]:
        name = _TOTAL_NAMES.get(total["type"])
        if name:
            previous = totals[name].amount if name in totals else 0
            totals[name] = price(previous + int(total["amount"]), currency)
    problems = [m["content"] for m in view.get("messages", []) if m.get("type") == "error"]
    selected = view.get("selected_fulfillment_options") or []
    order = view.get("order")
    return CheckoutView(
        checkout_id=view["id"],
        status=view["status"],
        items=[
            CheckoutLine(
                variant_id=line["variant_id"],
                title=line["name"],
                quantity=line["quantity"],
                unit_price=price(line["unit_amount"], currency),
                total=price(
                    next(t["amount"] for t in line["totals"] if t["type"] == "total"), currency
                ),
            )
            for line in view["line_items"]
        ],
        shipping_options=[
            ShippingOption(
                id=o["id"],
                title=o.get("description") or o["title"],
                price=price(o["totals"][0]["amount"], currency),
            )
            for o in view.get("fulfillment_options", [])
        ],
        shipping_option_id=selected[0]["option_id"] if selected else None,
        discount_codes=list((view.get("discounts") or {}).get("codes") or []),
        totals=totals,
        problems=problems,
        continue_url=view["continue_url"],
        order=(
            OrderRef(order_id=order["id"], status=order["status"], url=order["permalink_url"])
            if order
            else None
        ),
        next_step=_next_step(view, problems),
    )
