"""Customers with their addresses from Shopify Admin GraphQL (``customers``).

A customer is a known buyer only with an e-mail address (``defaultEmailAddress``, the
field that replaced ``email`` in 2025-04); one without is skipped. Each address keeps its
``MailingAddress`` id, which becomes the destination id a checkout shows for it. An
address without a country code cannot be priced for shipping and is skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from connectors.store_data import AddressData, CustomerData

from .client import ShopifyClient

__all__ = ["CUSTOMERS_PAGE", "customer_from_node", "fetch_customers"]

log = logging.getLogger(__name__)

PAGE_SIZE = 50
ADDRESSES_FIRST = 10

CUSTOMERS_PAGE = f"""
query ReelcartCustomers($first: Int!, $after: String) {{
  customers(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id firstName lastName
      defaultEmailAddress {{ emailAddress }}
      defaultPhoneNumber {{ phoneNumber }}
      addressesV2(first: {ADDRESSES_FIRST}) {{
        nodes {{
          id firstName lastName address1 address2 city provinceCode zip countryCodeV2 phone
        }}
      }}
    }}
  }}
}}"""


def _address(node: dict[str, Any]) -> AddressData | None:
    if not node.get("countryCodeV2"):
        return None
    name = " ".join(p for p in (node.get("firstName"), node.get("lastName")) if p) or None
    return AddressData(
        id=node["id"],
        street_address=node.get("address1") or "",
        extended_address=node.get("address2") or None,
        locality=node.get("city") or "",
        region=node.get("provinceCode") or "",
        postal_code=node.get("zip") or "",
        country=node["countryCodeV2"],
        full_name=name,
        phone=node.get("phone") or None,
    )


def customer_from_node(node: dict[str, Any]) -> CustomerData | None:
    """A known buyer from one ``Customer`` node; None without a usable e-mail."""
    email = (node.get("defaultEmailAddress") or {}).get("emailAddress")
    if not email:
        return None
    addresses = [
        a for a in (_address(n) for n in (node.get("addressesV2") or {}).get("nodes", [])) if a
    ]
    try:
        return CustomerData(
            id=node["id"],
            email=email,
            first_name=node.get("firstName") or "",
            last_name=node.get("lastName") or "",
            phone=(node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            addresses=addresses,
        )
    except ValidationError as exc:
        log.warning("shopify customer %s skipped: %s", node.get("id"), exc.errors()[0]["msg"])
        return None


async def fetch_customers(client: ShopifyClient) -> list[CustomerData]:
    """Every customer of the shop with an e-mail address, page by page."""
    found: list[CustomerData] = []
    emails: set[str] = set()
    after: str | None = None
    while True:
        data = await client.execute(CUSTOMERS_PAGE, {"first": PAGE_SIZE, "after": after})
        page = data["customers"]
        for node in page["nodes"]:
            customer = customer_from_node(node)
            if customer is not None and customer.email not in emails:
                emails.add(customer.email)
                found.append(customer)
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
