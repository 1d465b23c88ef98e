"""Discount codes from Shopify Admin GraphQL (``codeDiscountNodes``).

Only ``DiscountCodeBasic`` maps onto a store discount code: a percentage
(``DiscountPercentage.percentage``, a fraction: 0.1 is 10 %) or a fixed amount
(``DiscountAmount.amount``) off all items or off listed products, with an optional
minimum subtotal, an active window, a usage limit and ``combinesWith.orderDiscounts``
deciding whether it stacks. Buy-X-get-Y, free-shipping and app discounts are skipped
(logged), as are codes with a minimum quantity (a rule the pricing core does not have) and
codes of a discount with more than one code beyond the first page (each code of a
discount becomes its own row, sharing the discount's terms).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.store_data import DiscountData
from reelcart.money import to_minor_units

from .client import ShopifyClient

__all__ = ["DISCOUNTS_PAGE", "discounts_from_node", "fetch_discount_codes"]

log = logging.getLogger(__name__)

PAGE_SIZE = 10  # × (codes + products) keeps a page under the 1,000-point cost cap
CODES_FIRST = 10
PRODUCTS_FIRST = 50

DISCOUNTS_PAGE = f"""
query ReelcartDiscountCodes($first: Int!, $after: String) {{
  codeDiscountNodes(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      codeDiscount {{
        __typename
        ... on DiscountCodeBasic {{
          title status startsAt endsAt usageLimit asyncUsageCount
          combinesWith {{ orderDiscounts productDiscounts shippingDiscounts }}
          codes(first: {CODES_FIRST}) {{ nodes {{ code }} }}
          minimumRequirement {{
            __typename
            ... on DiscountMinimumSubtotal {{
              greaterThanOrEqualToSubtotal {{ amount currencyCode }}
            }}
            ... on DiscountMinimumQuantity {{ greaterThanOrEqualToQuantity }}
          }}
          customerGets {{
            value {{
              __typename
              ... on DiscountPercentage {{ percentage }}
              ... on DiscountAmount {{ amount {{ amount currencyCode }} appliesOnEachItem }}
            }}
            items {{
              __typename
              ... on AllDiscountItems {{ allItems }}
              ... on DiscountProducts {{ products(first: {PRODUCTS_FIRST}) {{ nodes {{ id }} }} }}
            }}
          }}
        }}
      }}
    }}
  }}
}}"""


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _money(money: dict[str, Any]) -> int:
    return to_minor_units(str(money["amount"]), str(money["currencyCode"]))


def discounts_from_node(node: dict[str, Any]) -> list[DiscountData]:
    """The store discount codes one ``DiscountCodeNode`` stands for (none if unsupported)."""
    discount = node.get("codeDiscount") or {}
    kind = discount.get("__typename")
    if kind != "DiscountCodeBasic":
        log.info("shopify discount %s skipped: %s is not supported", node.get("id"), kind)
        return []
    gets = discount.get("customerGets") or {}
    value = gets.get("value") or {}
    items = gets.get("items") or {}
    minimum = discount.get("minimumRequirement") or {}
    if minimum.get("__typename") == "DiscountMinimumQuantity":
        log.info("shopify discount %s skipped: minimum quantity", node.get("id"))
        return []
    terms: dict[str, Any] = {
        "title": discount.get("title") or "",
        "stackable": bool((discount.get("combinesWith") or {}).get("orderDiscounts")),
        "starts_at": _when(discount.get("startsAt")),
        "ends_at": _when(discount.get("endsAt")),
        "usage_limit": discount.get("usageLimit"),
        "times_used": int(discount.get("asyncUsageCount") or 0),
        # Shopify computes EXPIRED/SCHEDULED from the window; only ACTIVE codes are usable,
        # and the window is kept too so a code that expires between syncs stops working.
        "active": discount.get("status") in ("ACTIVE", "SCHEDULED"),
    }
    if minimum.get("__typename") == "DiscountMinimumSubtotal":
        terms["min_subtotal_minor"] = _money(minimum["greaterThanOrEqualToSubtotal"])
    if items.get("__typename") == "DiscountProducts":
        terms["product_ids"] = [p["id"] for p in items["products"]["nodes"]]
    elif items.get("__typename") != "AllDiscountItems":
        log.info("shopify discount %s skipped: items %s", node.get("id"), items.get("__typename"))
        return []
    try:
        if value.get("__typename") == "DiscountPercentage":
            terms["kind"] = "percentage"
            terms["percentage"] = Decimal(str(value["percentage"])) * 100
        elif value.get("__typename") == "DiscountAmount" and not value.get("appliesOnEachItem"):
            terms["kind"] = "fixed_amount"
            terms["amount_minor"] = _money(value["amount"])
        else:
            log.info("shopify discount %s skipped: value %s", node.get("id"), value)
            return []
    except (InvalidOperation, ValueError, KeyError) as exc:
        log.warning("shopify discount %s skipped: %s", node.get("id"), exc)
        return []
    codes = [c["code"] for c in (discount.get("codes") or {}).get("nodes", [])]
    out = []
    for index, code in enumerate(codes):
        key = node["id"] if index == 0 else f"{node['id']}#{code}"
        out.append(DiscountData(id=key, code=code, **terms))
    return out


async def fetch_discount_codes(client: ShopifyClient) -> list[DiscountData]:
    """Every supported discount code of the shop, page by page."""
    found: list[DiscountData] = []
    seen: set[str] = set()
    after: str | None = None
    while True:
        data = await client.execute(DISCOUNTS_PAGE, {"first": PAGE_SIZE, "after": after})
        page = data["codeDiscountNodes"]
        for node in page["nodes"]:
            for discount in discounts_from_node(node):
                if discount.code.upper() in seen:  # Shopify keeps codes unique; be safe
                    continue
                seen.add(discount.code.upper())
                found.append(discount)
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
