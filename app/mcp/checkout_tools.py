"""The shoppers' compact checkout tools on ``/mcp``: cart, checkout, handoff and order.

Sized for models: a few flat arguments (variant ids and quantities, an email, an address),
answers with prices in integer minor units beside a display string, the problems still in
the way, the next step, and ``continue_url`` — the store's checkout page where the shopper
pays (through Stripe Checkout). The checkout itself is the one core every door drives
(:class:`~commerce.checkout.service.CheckoutService`); the full ACP binding, with the
spec's schemas, is served at its own endpoint (``app.acp.mcp_door``).

A failed call is a tool-execution error naming every problem at once (unknown items, a
product id where a variant is needed, stock, then the address) and what to do next.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from app.mcp.checkout_views import CheckoutView, OrderView, checkout_view, price
from app.mcp.schemas import inline_refs
from commerce.checkout.cart_check import (
    CartProblem,
    RequestedLine,
    address_problems,
    cart_problems,
)
from commerce.checkout.errors import CheckoutError
from commerce.checkout.orders import order_view
from commerce.checkout.service import CheckoutService
from commerce.checkout.session import catalog_currency
from reelcart.models import Order, utcnow

__all__ = ["SHOPPING_CHECKOUT_TOOLS", "shopping_checkout_tools"]

SHOPPING_CHECKOUT_TOOLS = (
    "create_checkout",
    "update_checkout",
    "get_checkout",
    "cancel_checkout",
    "get_order",
)


class CartItem(BaseModel):
    variant_id: str = Field(description="A variant id from get_product (not a product id).")
    quantity: int = Field(default=1, description="How many.")


class ShippingAddress(BaseModel):
    name: str = ""
    line_one: str = ""
    line_two: str | None = None
    city: str = ""
    state: str = Field(default="", description="State or province code.")
    postal_code: str = ""
    country: str = Field(default="", description="Two-letter code, e.g. US.")


def _refuse(problems: list[CartProblem], next_step: str) -> ToolError:
    lines = [f"- {p.where}: {p.problem}" for p in problems]
    return ToolError("This checkout cannot go ahead yet:\n" + "\n".join(lines) + f"\n{next_step}")


def _next_step_for(problems: list[CartProblem]) -> str:
    kinds = {p.kind for p in problems}
    if "choose_variant" in kinds:
        return "Next: ask the shopper which variant they want, then call again with its id."
    if "unknown_item" in kinds:
        return "Next: use search_products and get_product to find the variant ids for sale."
    if kinds & {"out_of_stock", "quantity"}:
        return "Next: lower the quantity or offer the shopper another variant."
    return "Next: ask the shopper for the missing address details and call again."


def _acp_address(address: ShippingAddress) -> dict[str, Any]:
    return {k: v.strip() for k, v in address.model_dump().items() if isinstance(v, str) and v}


def _from_checkout_error(error: CheckoutError) -> ToolError:
    where = (error.param or "").removeprefix("$.")
    prefix = f"{where}: " if where else ""
    if error.code == "not_cancelable":
        # A paid checkout has become an order; cancelling the checkout does not undo it.
        return ToolError(
            f"{error.message}. Next: call get_checkout to see it; a completed checkout's "
            "order stands (a return goes through the store, not this tool)."
        )
    return ToolError(f"{prefix}{error.message}")


Items = Annotated[
    list[CartItem],
    Field(description="What to buy: variant ids from get_product with quantities."),
]
CheckoutId = Annotated[str, Field(description="checkout_id from create_checkout.")]
Email = Annotated[str | None, Field(description="The shopper's email for the receipt.")]
Address = Annotated[ShippingAddress | None, Field(description="Where to ship.")]
Codes = Annotated[list[str] | None, Field(description="Discount codes; [] removes them.")]


def _write(idempotent: bool, destructive: bool = False) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


def shopping_checkout_tools(checkout: CheckoutService) -> list[Tool]:
    """The compact checkout tools bound to ``checkout``."""
    settings = checkout.settings

    def check(items: list[CartItem] | None, address: ShippingAddress | None, cid: str) -> None:
        problems: list[CartProblem] = []
        if items is not None:
            if not items:
                problems.append(CartProblem("items", "name at least one variant", "quantity"))
            with checkout.db.session() as session:
                problems += cart_problems(
                    session,
                    [RequestedLine(i.variant_id, i.quantity) for i in items],
                    checkout_id=cid,
                    max_quantity=settings.acp_max_quantity,
                    currency=catalog_currency(session) or "usd",
                    now=utcnow(),
                )
        if address is not None:
            problems += address_problems(_acp_address(address), "shipping_address")
        if problems:
            raise _refuse(problems, _next_step_for(problems))

    def body(
        items: list[CartItem] | None,
        email: str | None,
        address: ShippingAddress | None,
        codes: list[str] | None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if items is not None:
            out["line_items"] = [{"id": i.variant_id, "quantity": i.quantity} for i in items]
        if email:
            out["buyer"] = {"email": email}
        if address is not None or email:
            details: dict[str, Any] = {}
            if email:
                details["email"] = email
            if address is not None:
                details["address"] = _acp_address(address)
                details["name"] = details["address"].get("name")
            out["fulfillment_details"] = details
        if codes is not None:
            out["discounts"] = {"codes": codes}
        return out

    async def run(fn: Any) -> CheckoutView:
        try:
            return checkout_view(await anyio.to_thread.run_sync(fn))
        except CheckoutError as error:
            raise _from_checkout_error(error) from None

    async def create_checkout(
        items: Items,
        shopper_id: Annotated[
            str | None, Field(description="The shopper_id given to get_product.")
        ] = None,
        email: Email = None,
        shipping_address: Address = None,
        discount_codes: Codes = None,
    ) -> CheckoutView:
        """Start a checkout for the shopper. Returns totals, shipping options and
        continue_url: the store's page where the shopper reviews the order and pays."""

        def go() -> dict[str, Any]:
            check(items, shipping_address, "")
            request = body(items, email, shipping_address, discount_codes)
            request["currency"] = _currency()
            request["capabilities"] = {}
            if shopper_id:
                request["metadata"] = {"shopper_id": shopper_id}
            return checkout.create(request)

        return await run(go)

    def _currency() -> str:
        with checkout.db.session() as session:
            return catalog_currency(session) or "usd"

    async def update_checkout(
        checkout_id: CheckoutId,
        items: Annotated[
            list[CartItem] | None, Field(description="Replaces the items when given.")
        ] = None,
        email: Email = None,
        shipping_address: Address = None,
        shipping_option_id: Annotated[
            str | None, Field(description="One of shipping_options' ids.")
        ] = None,
        discount_codes: Codes = None,
    ) -> CheckoutView:
        """Change the items, email, address, shipping choice or discount codes of a
        checkout. Only what is given changes."""

        def go() -> dict[str, Any]:
            check(items, shipping_address, checkout_id)
            request = body(items, email, shipping_address, discount_codes)
            if shipping_option_id:
                current = checkout.retrieve(checkout_id)
                kinds = {o["id"]: o["type"] for o in current.get("fulfillment_options", [])}
                if shipping_option_id not in kinds:
                    offered = ", ".join(kinds) or "none yet: set the address first"
                    raise CheckoutError(
                        400,
                        "invalid",
                        f"unknown shipping option; offered: {offered}",
                        param="$.shipping_option_id",
                    )
                request["selected_fulfillment_options"] = [
                    {
                        "type": kinds[shipping_option_id],
                        "option_id": shipping_option_id,
                        "item_ids": [li["id"] for li in current["line_items"]],
                    }
                ]
            return checkout.update(checkout_id, request)

        return await run(go)

    async def get_checkout(checkout_id: CheckoutId) -> CheckoutView:
        """A checkout as it stands. After the shopper opened continue_url, call this to
        see when the payment went through (status completed, with the order)."""
        return await run(lambda: checkout.retrieve(checkout_id))

    async def cancel_checkout(checkout_id: CheckoutId) -> CheckoutView:
        """Cancel a checkout the shopper no longer wants, before it is paid. If the shopper
        has paid on the store's page meanwhile, the checkout is completed and stays so."""
        return await run(lambda: checkout.cancel(checkout_id, {}))

    async def get_order(
        order_id: Annotated[str, Field(description="order.order_id from a checkout.")],
    ) -> OrderView:
        """An order placed by a paid checkout: its status, items and total."""

        def load() -> OrderView:
            with checkout.db.session() as session:
                order = session.get(Order, order_id)
                if order is None:
                    raise ToolError(
                        f"order_id: no order {order_id!r}. Next: use the order.order_id "
                        "that get_checkout shows once the checkout is completed."
                    )
                acp = order_view(order, checkout.base_url)
                return OrderView(
                    order_id=order.id,
                    checkout_id=order.checkout_session_id or "",
                    status=order.status,
                    items=[
                        {"title": li["title"], "quantity": li["quantity"]["ordered"]}
                        for li in acp["line_items"]
                    ],
                    total=price(order.total_minor, order.currency),
                    refunded=(
                        price(order.refunded_minor, order.currency)
                        if order.refunded_minor
                        else None
                    ),
                    url=acp["permalink_url"],
                )

        return await anyio.to_thread.run_sync(load)

    read = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    specs: list[tuple[Any, str, ToolAnnotations]] = [
        (create_checkout, "Start checkout", _write(idempotent=False)),
        (update_checkout, "Change checkout", _write(idempotent=True)),
        (get_checkout, "Get checkout", read),
        # Cancelling ends the checkout for good; a payment landing meanwhile is refunded.
        (
            cancel_checkout,
            "Cancel checkout",
            ToolAnnotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
        ),
        (get_order, "Get order", read),
    ]
    tools = []
    for fn, title, hints in specs:
        tool = Tool.from_function(fn, title=title, annotations=hints, structured_output=True)
        tool.parameters = inline_refs(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = inline_refs(tool.fn_metadata.output_schema)
        tools.append(tool)
    return tools
