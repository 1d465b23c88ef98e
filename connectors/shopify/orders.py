"""Writing an agent's order back to Shopify, exactly once.

``orderCreate`` has no idempotency key, so the order carries a tag naming reelcart's
order id; before creating, the client looks for an order with that tag. A retry after a
crash (the order was created but its id never stored) finds it instead of duplicating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reelcart.money import currency_exponent

from .client import ShopifyClient

__all__ = ["OrderLine", "create_shopify_order", "order_tag"]

FIND = """
query ReelcartFindOrder($query: String!) {
  orders(first: 1, query: $query) { nodes { id name tags } }
}"""
CREATE = """
mutation ReelcartOrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name tags }
    userErrors { field message }
  }
}"""


def order_tag(reference: str) -> str:
    """The tag that makes ``orderCreate`` idempotent for reelcart order ``reference``."""
    return f"reelcart-order:{reference}"


@dataclass(frozen=True)
class OrderLine:
    """One line of an order: a Shopify variant, how many, at what unit price (minor units)."""

    variant_id: str
    quantity: int
    unit_price_minor: int
    title: str | None = None


def _amount(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent(currency)))


async def create_shopify_order(
    client: ShopifyClient,
    *,
    reference: str,
    lines: list[OrderLine],
    currency: str,
    creative_id: str | None = None,
    email: str | None = None,
) -> str:
    """Create (or find, on a retry) the Shopify order for reelcart order ``reference``.

    The order is tagged with the creative id and carries ``reelcart_order_id`` as a note
    attribute, so the ``orders/create`` webhook knows reelcart already attributed it.
    Returns the Shopify order gid.
    """
    if not lines:
        raise ValueError("an order needs at least one line")
    tag = order_tag(reference)
    found = (await client.execute(FIND, {"query": f"tag:'{tag}'"}))["orders"]["nodes"]
    if found:
        return str(found[0]["id"])
    tags = ["reelcart", tag] + ([f"reelcart-creative:{creative_id}"] if creative_id else [])
    attributes = [{"key": "reelcart_order_id", "value": reference}]
    if creative_id:
        attributes.append({"key": "reelcart_creative_id", "value": creative_id})
    order = {
        "currency": currency,
        "email": email,
        "tags": tags,
        "customAttributes": attributes,
        "financialStatus": "PAID",
        "lineItems": [
            {
                "variantId": line.variant_id,
                "quantity": line.quantity,
                "priceSet": {
                    "shopMoney": {
                        "amount": _amount(line.unit_price_minor, currency),
                        "currencyCode": currency,
                    }
                },
            }
            for line in lines
        ],
    }
    payload = await client.mutate(
        CREATE,
        {
            "order": order,
            "options": {"sendReceipt": False, "inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
        },
        "orderCreate",
    )
    return str(payload["order"]["id"])
