"""The Admin GraphQL schema subset the connector uses, and Shopify's query cost rules.

Cost, as Shopify documents it: scalars and enums cost 0, an object (or union) 1, a connection
``2 + first × (cost of one node)``, a mutation field 10. The *requested* cost is computed
from the query before running it (and must not exceed 1,000); the *actual* cost counts
what came back, and the difference is refunded to the bucket.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)

__all__ = ["MAX_PAGE", "MAX_QUERY_COST", "SDL", "actual_cost", "requested_cost"]

MAX_PAGE = 250
MAX_QUERY_COST = 1000
MUTATION_COST = 10

SDL = """
scalar DateTime
scalar Decimal
scalar UnsignedInt64

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}
type Count { count: Int! precision: String! }
type UserError { field: [String!] message: String! code: String }

type Shop { name: String! myshopifyDomain: String! currencyCode: String! }

enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum ProductSortKeys { ID UPDATED_AT TITLE CREATED_AT }
enum MediaStatus { UPLOADED PROCESSING READY FAILED }
enum MediaContentType { IMAGE VIDEO EXTERNAL_VIDEO MODEL_3D }
enum BulkOperationStatus { CREATED RUNNING COMPLETED FAILED CANCELING CANCELED EXPIRED }
enum BulkOperationType { QUERY MUTATION }
enum StagedUploadTargetGenerateUploadResource { VIDEO IMAGE FILE MODEL_3D }
enum StagedUploadHttpMethodType { POST PUT }

type SelectedOption { name: String! value: String! }
type ProductOption { id: ID! name: String! values: [String!]! }
type Image { url: String! altText: String width: Int height: Int }
type MediaError { code: String! details: String message: String! }
type VideoSource { url: String! mimeType: String! fileSize: Int }

interface Media {
  id: ID! alt: String mediaContentType: MediaContentType! status: MediaStatus!
  mediaErrors: [MediaError!]!
}
type MediaImage implements Node & Media {
  id: ID! alt: String mediaContentType: MediaContentType! status: MediaStatus!
  mediaErrors: [MediaError!]! image: Image
}
type Video implements Node & Media {
  id: ID! alt: String mediaContentType: MediaContentType! status: MediaStatus!
  mediaErrors: [MediaError!]! sources: [VideoSource!]!
}
type MediaEdge { cursor: String! node: Media! }
type MediaConnection { nodes: [Media!]! edges: [MediaEdge!]! pageInfo: PageInfo! }

type ProductVariant implements Node {
  id: ID! title: String! sku: String price: Decimal compareAtPrice: Decimal
  inventoryQuantity: Int availableForSale: Boolean! selectedOptions: [SelectedOption!]!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  nodes: [ProductVariant!]! edges: [ProductVariantEdge!]! pageInfo: PageInfo!
}

type Product implements Node {
  id: ID! handle: String! title: String! descriptionHtml: String! vendor: String!
  productType: String! tags: [String!]! status: ProductStatus!
  createdAt: DateTime! updatedAt: DateTime!
  options: [ProductOption!]!
  variants(first: Int, after: String): ProductVariantConnection!
  media(first: Int, after: String, query: String): MediaConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { nodes: [Product!]! edges: [ProductEdge!]! pageInfo: PageInfo! }

type BulkOperation implements Node {
  id: ID! status: BulkOperationStatus! errorCode: String objectCount: UnsignedInt64!
  fileSize: UnsignedInt64 url: String partialDataUrl: String query: String!
  createdAt: DateTime! completedAt: DateTime type: BulkOperationType!
}

type Order implements Node { id: ID! name: String! tags: [String!]! }
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { nodes: [Order!]! edges: [OrderEdge!]! pageInfo: PageInfo! }

type Query {
  shop: Shop!
  products(first: Int, last: Int, after: String, before: String, query: String,
           sortKey: ProductSortKeys, reverse: Boolean): ProductConnection!
  productsCount(query: String): Count
  product(id: ID!): Product
  node(id: ID!): Node
  bulkOperation(id: ID!): BulkOperation
  currentBulkOperation(type: BulkOperationType): BulkOperation
  orders(first: Int, after: String, query: String): OrderConnection!
}

input StagedUploadInput {
  resource: StagedUploadTargetGenerateUploadResource! filename: String! mimeType: String!
  fileSize: UnsignedInt64 httpMethod: StagedUploadHttpMethodType
}
type StagedUploadParameter { name: String! value: String! }
type StagedMediaUploadTarget {
  url: String resourceUrl: String parameters: [StagedUploadParameter!]!
}
type StagedUploadsCreatePayload {
  stagedTargets: [StagedMediaUploadTarget!] userErrors: [UserError!]!
}

input CreateMediaInput { originalSource: String! mediaContentType: MediaContentType! alt: String }
input ProductUpdateInput { id: ID! title: String }
type ProductUpdatePayload { product: Product userErrors: [UserError!]! }
type FileDeletePayload { deletedFileIds: [ID!] userErrors: [UserError!]! }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [UserError!]! }

input MoneyInput { amount: Decimal! currencyCode: String! }
input MoneyBagInput { shopMoney: MoneyInput! }
input OrderCreateLineItemInput {
  variantId: ID quantity: Int! priceSet: MoneyBagInput title: String
}
input AttributeInput { key: String! value: String! }
input OrderCreateOrderInput {
  lineItems: [OrderCreateLineItemInput!]! currency: String email: String tags: [String!]
  customAttributes: [AttributeInput!] financialStatus: String note: String
}
input OrderCreateOptionsInput { sendReceipt: Boolean inventoryBehaviour: String }
type OrderCreatePayload { order: Order userErrors: [UserError!]! }

type Mutation {
  bulkOperationRunQuery(query: String!): BulkOperationRunQueryPayload
  stagedUploadsCreate(input: [StagedUploadInput!]!): StagedUploadsCreatePayload
  productUpdate(product: ProductUpdateInput!, media: [CreateMediaInput!]): ProductUpdatePayload
  fileDelete(fileIds: [ID!]!): FileDeletePayload
  orderCreate(order: OrderCreateOrderInput!, options: OrderCreateOptionsInput): OrderCreatePayload
}
"""


def _is_connection(named: GraphQLNamedType) -> bool:
    return named.name.endswith("Connection")


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType
    ) -> list[tuple[FieldNode, GraphQLNamedType]]:
        """Fields of a selection set with the type each applies to (fragments flattened)."""
        out: list[tuple[FieldNode, GraphQLNamedType]] = []
        if selection_set is None:
            return out
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = self.schema.get_type(cond.name.value) if cond else parent
                out.extend(self._fields(sel.selection_set, target or parent))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments[sel.name.value]
                target = self.schema.get_type(frag.type_condition.name.value)
                out.extend(self._fields(frag.selection_set, target or parent))
        return out

    def _arg(self, node: FieldNode, name: str) -> Any:
        for arg in node.arguments:
            if arg.name.value == name:
                return value_from_ast_untyped(arg.value, self.variables)
        return None

    def requested(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        total = 0
        for node, owner in self._fields(selection_set, parent):
            if node.name.value.startswith("__"):
                continue
            if not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                continue
            definition = owner.fields.get(node.name.value)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if _is_connection(named):
                size = self._arg(node, "first") or self._arg(node, "last") or 0
                node_cost = self._connection_node_cost(node, named)
                total += 2 + int(size) * node_cost
            elif isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                total += 1 + self.requested(node.selection_set, named)
        return total

    def _connection_node_cost(self, node: FieldNode, connection: GraphQLNamedType) -> int:
        assert isinstance(connection, GraphQLObjectType)
        item = get_named_type(connection.fields["nodes"].type)
        cost = 0
        for sub, _ in self._fields(node.selection_set, connection):
            if sub.name.value == "nodes":
                cost = max(cost, 1 + self.requested(sub.selection_set, item))
            elif sub.name.value == "edges":
                for inner, _ in self._fields(sub.selection_set, item):
                    if inner.name.value == "node":
                        cost = max(cost, 1 + self.requested(inner.selection_set, item))
        return cost

    def actual(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, value: Any
    ) -> int:
        if not isinstance(value, dict):
            return 0
        total = 0
        for node, owner in self._fields(selection_set, parent):
            name = node.alias.value if node.alias else node.name.value
            if name not in value or not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                continue
            definition = owner.fields.get(node.name.value)
            if definition is None or value[name] is None:
                continue
            named = get_named_type(definition.type)
            sub = value[name]
            if _is_connection(named) and isinstance(named, GraphQLObjectType):
                item = get_named_type(named.fields["nodes"].type)
                total += 2
                for part, _ in self._fields(node.selection_set, named):
                    key = part.alias.value if part.alias else part.name.value
                    for entry in sub.get(key) or []:
                        if part.name.value == "nodes":
                            total += 1 + self.actual(part.selection_set, item, entry)
                        elif part.name.value == "edges":
                            for inner, _ in self._fields(part.selection_set, item):
                                if inner.name.value == "node":
                                    ikey = inner.alias.value if inner.alias else "node"
                                    total += 1 + self.actual(
                                        inner.selection_set, item, entry.get(ikey)
                                    )
            elif isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                if isinstance(get_nullable_type(definition.type), GraphQLList):
                    items = sub if isinstance(sub, list) else []
                    total += 1 + max(
                        (self.actual(node.selection_set, named, i) for i in items), default=0
                    )
                else:
                    total += 1 + self.actual(node.selection_set, named, sub)
        return total


def _operation(document: Any) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return ops[0], fragments


def requested_cost(schema: GraphQLSchema, document: Any, variables: dict[str, Any]) -> int:
    """The cost Shopify reserves before running ``document``."""
    op, fragments = _operation(document)
    walker = _Walker(schema, fragments, variables)
    if op.operation.value == "mutation":
        root = schema.mutation_type
        assert root is not None
        fields = walker._fields(op.selection_set, root)
        return sum(
            MUTATION_COST
            + walker.requested(f.selection_set, get_named_type(root.fields[f.name.value].type))
            for f, _ in fields
            if f.name.value in root.fields
        )
    assert schema.query_type is not None
    return walker.requested(op.selection_set, schema.query_type)


def actual_cost(
    schema: GraphQLSchema, document: Any, variables: dict[str, Any], data: dict[str, Any] | None
) -> int:
    """The cost of what the query actually returned (what the bucket is finally charged)."""
    op, fragments = _operation(document)
    walker = _Walker(schema, fragments, variables)
    if op.operation.value == "mutation":
        root = schema.mutation_type
        assert root is not None
        total = 0
        for f, _ in walker._fields(op.selection_set, root):
            key = f.alias.value if f.alias else f.name.value
            named = get_named_type(root.fields[f.name.value].type)
            total += MUTATION_COST + walker.actual(f.selection_set, named, (data or {}).get(key))
        return total
    assert schema.query_type is not None
    return walker.actual(op.selection_set, schema.query_type, data or {})
