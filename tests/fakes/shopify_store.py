"""The fake Admin GraphQL API's discounts and customers, shaped as Shopify's schema has them.

``codeDiscountNodes`` returns ``DiscountCodeNode``s whose ``codeDiscount`` is the union
``DiscountCode`` (``DiscountCodeBasic`` with a ``DiscountPercentage`` — a fraction, 0.1
for 10 % — or a ``DiscountAmount``; ``DiscountCodeFreeShipping`` exists so a client sees
kinds it must skip). ``customers`` returns ``Customer``s with ``defaultEmailAddress`` and
their ``MailingAddress``es as the ``addressesV2`` connection (and the older ``addresses``
list). ``CountryCode`` is a string here, an enum at Shopify: both serialize as "US".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ariadne import ObjectType, UnionType
from graphql import GraphQLResolveInfo

from .shopify_state import FakeShopState, gid_num

__all__ = ["STORE_SDL", "add_customer", "add_discount_code", "store_bindables"]

STORE_SDL = """
enum DiscountStatus { ACTIVE EXPIRED SCHEDULED }
type MoneyV2 { amount: Decimal! currencyCode: String! }
type DiscountCombinesWith {
  orderDiscounts: Boolean! productDiscounts: Boolean! shippingDiscounts: Boolean!
}
type DiscountRedeemCode { id: ID! code: String! asyncUsageCount: Int! }
type DiscountRedeemCodeConnection { nodes: [DiscountRedeemCode!]! pageInfo: PageInfo! }
type DiscountPercentage { percentage: Float! }
type DiscountAmount { amount: MoneyV2! appliesOnEachItem: Boolean! }
union DiscountCustomerGetsValue = DiscountPercentage | DiscountAmount
type AllDiscountItems { allItems: Boolean! }
type DiscountProducts { products(first: Int, after: String): ProductConnection! }
union DiscountItems = AllDiscountItems | DiscountProducts
type DiscountCustomerGets {
  value: DiscountCustomerGetsValue! items: DiscountItems! appliesOnOneTimePurchase: Boolean!
}
type DiscountMinimumSubtotal { greaterThanOrEqualToSubtotal: MoneyV2! }
type DiscountMinimumQuantity { greaterThanOrEqualToQuantity: UnsignedInt64! }
union DiscountMinimumRequirement = DiscountMinimumQuantity | DiscountMinimumSubtotal
type DiscountCodeBasic {
  title: String! status: DiscountStatus! startsAt: DateTime! endsAt: DateTime
  usageLimit: Int asyncUsageCount: Int! combinesWith: DiscountCombinesWith!
  codes(first: Int, after: String): DiscountRedeemCodeConnection!
  minimumRequirement: DiscountMinimumRequirement customerGets: DiscountCustomerGets!
}
type DiscountCodeFreeShipping {
  title: String! status: DiscountStatus! startsAt: DateTime! endsAt: DateTime
  codes(first: Int, after: String): DiscountRedeemCodeConnection!
}
union DiscountCode = DiscountCodeBasic | DiscountCodeFreeShipping
type DiscountCodeNode implements Node { id: ID! codeDiscount: DiscountCode! }
type DiscountCodeNodeConnection { nodes: [DiscountCodeNode!]! pageInfo: PageInfo! }

type CustomerEmailAddress { emailAddress: String }
type CustomerPhoneNumber { phoneNumber: String! }
type MailingAddress implements Node {
  id: ID! address1: String address2: String city: String province: String
  provinceCode: String zip: String country: String countryCodeV2: String
  firstName: String lastName: String name: String phone: String
}
type MailingAddressConnection { nodes: [MailingAddress!]! pageInfo: PageInfo! }
type Customer implements Node {
  id: ID! firstName: String lastName: String displayName: String!
  defaultEmailAddress: CustomerEmailAddress defaultPhoneNumber: CustomerPhoneNumber
  defaultAddress: MailingAddress addresses(first: Int): [MailingAddress!]!
  addressesV2(first: Int, after: String): MailingAddressConnection!
}
type CustomerConnection { nodes: [Customer!]! pageInfo: PageInfo! }

extend type Query {
  codeDiscountNodes(first: Int, after: String, query: String, reverse: Boolean):
    DiscountCodeNodeConnection!
  customers(first: Int, after: String, query: String, reverse: Boolean): CustomerConnection!
}
"""


def add_discount_code(
    state: FakeShopState,
    code: str,
    *,
    percentage: float | None = None,
    amount: str | None = None,
    title: str | None = None,
    combines_with_order: bool = False,
    min_subtotal: str | None = None,
    product_ids: list[str] | None = None,
    status: str = "ACTIVE",
    ends_at: str | None = None,
    usage_limit: int | None = None,
    kind: str = "DiscountCodeBasic",
) -> str:
    """A code discount as the merchant would create it in the admin; returns its node id."""
    with state.lock:
        node_id = state.next_id("DiscountCodeNode")
        value: dict[str, Any] = (
            {"__typename": "DiscountPercentage", "percentage": percentage}
            if percentage is not None
            else {
                "__typename": "DiscountAmount",
                "amount": {"amount": amount, "currencyCode": state.currency},
                "appliesOnEachItem": False,
            }
        )
        items: dict[str, Any] = (
            {"__typename": "AllDiscountItems", "allItems": True}
            if product_ids is None
            else {"__typename": "DiscountProducts", "productIds": list(product_ids)}
        )
        discount: dict[str, Any] = {
            "__typename": kind,
            "title": title or code,
            "status": status,
            "startsAt": state.now(),
            "endsAt": ends_at,
            "usageLimit": usage_limit,
            "asyncUsageCount": 0,
            "combinesWith": {
                "orderDiscounts": combines_with_order,
                "productDiscounts": False,
                "shippingDiscounts": False,
            },
            "codes": [{"id": state.next_id("DiscountRedeemCode"), "code": code}],
            "minimumRequirement": (
                {
                    "__typename": "DiscountMinimumSubtotal",
                    "greaterThanOrEqualToSubtotal": {
                        "amount": min_subtotal,
                        "currencyCode": state.currency,
                    },
                }
                if min_subtotal
                else None
            ),
            "customerGets": {"value": value, "items": items, "appliesOnOneTimePurchase": True},
        }
        state.discounts[node_id] = {
            "__typename": "DiscountCodeNode",
            "id": node_id,
            "codeDiscount": discount,
        }
        return node_id


def add_customer(
    state: FakeShopState,
    email: str | None,
    *,
    first_name: str = "",
    last_name: str = "",
    addresses: Sequence[dict[str, Any]] = (),
) -> str:
    """A customer with ``MailingAddress``es (address1, city, provinceCode, zip, countryCodeV2)."""
    with state.lock:
        customer_id = state.next_id("Customer")
        rows = [
            {
                "__typename": "MailingAddress",
                "id": state.next_id("MailingAddress"),
                "firstName": first_name,
                "lastName": last_name,
                **a,
            }
            for a in addresses
        ]
        state.customers[customer_id] = {
            "__typename": "Customer",
            "id": customer_id,
            "firstName": first_name,
            "lastName": last_name,
            "displayName": f"{first_name} {last_name}".strip() or (email or ""),
            "defaultEmailAddress": {"emailAddress": email} if email else None,
            "defaultPhoneNumber": None,
            "addressList": rows,
        }
        return customer_id


def _by_typename(obj: dict[str, Any], *_: Any) -> str:
    return str(obj["__typename"])


def store_bindables(state: FakeShopState, page: Any) -> list[Any]:
    """Ariadne bindables for the schema above; ``page`` is the fake's connection pager."""
    query = ObjectType("Query")
    code_basic = ObjectType("DiscountCodeBasic")
    code_free = ObjectType("DiscountCodeFreeShipping")
    products_t = ObjectType("DiscountProducts")
    customer_t = ObjectType("Customer")

    @query.field("codeDiscountNodes")
    def _discounts(
        _: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        **__: Any,
    ) -> dict[str, Any]:
        with state.lock:
            items = list(state.discounts.values())
        return page(items, info, first, after, lambda d: (gid_num(d["id"]),))

    @query.field("customers")
    def _customers(
        _: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        **__: Any,
    ) -> dict[str, Any]:
        with state.lock:
            items = list(state.customers.values())
        return page(items, info, first, after, lambda c: (gid_num(c["id"]),))

    def _codes(
        discount: dict[str, Any], info: GraphQLResolveInfo, first: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        codes = [{**c, "asyncUsageCount": discount["asyncUsageCount"]} for c in discount["codes"]]
        return page(codes, info, first, kw.get("after"), lambda c: (gid_num(c["id"]),))

    code_basic.set_field("codes", _codes)
    code_free.set_field("codes", _codes)

    @products_t.field("products")
    def _products(
        items: dict[str, Any], info: GraphQLResolveInfo, first: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        with state.lock:
            found = [state.products[p] for p in items["productIds"] if p in state.products]
        return page(found, info, first, kw.get("after"), lambda p: (gid_num(p["id"]),))

    @customer_t.field("addressesV2")
    def _addresses_v2(
        customer: dict[str, Any], info: GraphQLResolveInfo, first: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        rows = customer["addressList"]
        return page(rows, info, first, kw.get("after"), lambda a: (gid_num(a["id"]),))

    @customer_t.field("addresses")
    def _addresses(customer: dict[str, Any], *_: Any, first: int | None = None) -> list[Any]:
        rows: list[Any] = customer["addressList"]
        return rows if first is None else rows[:first]

    @customer_t.field("defaultAddress")
    def _default(customer: dict[str, Any], *_: Any) -> dict[str, Any] | None:
        rows = customer["addressList"]
        return rows[0] if rows else None

    unions = [
        UnionType(name, _by_typename)
        for name in (
            "DiscountCode",
            "DiscountCustomerGetsValue",
            "DiscountItems",
            "DiscountMinimumRequirement",
        )
    ]
    return [query, code_basic, code_free, products_t, customer_t, *unions]
