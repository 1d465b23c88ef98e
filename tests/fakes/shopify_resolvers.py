"""Resolvers of the fake Admin GraphQL API (ariadne bindings over ``FakeShopState``)."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime
from typing import Any

from ariadne import InterfaceType, MutationType, ObjectType, QueryType, make_executable_schema
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, execute, parse, validate

from .shopify_schema import MAX_PAGE, SDL
from .shopify_state import FakeShopState, decode_cursor, encode_cursor, gid_num
from .shopify_store import STORE_SDL, store_bindables

__all__ = ["build_schema", "flatten_bulk", "search_filter"]

_TERM = re.compile(r"(\w+):(>=|<=|>|<)?(?:'([^']*)'|\"([^\"]*)\"|(\S+))")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def search_filter(query: str | None) -> Any:
    """Shopify search syntax, the part the connector uses: ``updated_at:>'…'``, ``status:``,
    ``tag:``. Unknown terms are ignored, as Shopify does."""
    terms = [
        (m.group(1), m.group(2) or "", m.group(3) or m.group(4) or m.group(5) or "")
        for m in _TERM.finditer(query or "")
    ]

    def keep(item: dict[str, Any]) -> bool:
        for name, op, value in terms:
            if name == "updated_at":
                left, right = _ts(item["updatedAt"]), _ts(value)
                ok = {
                    ">": left > right,
                    ">=": left >= right,
                    "<": left < right,
                    "<=": left <= right,
                    "": left == right,
                }[op]
                if not ok:
                    return False
            elif (name == "status" and item.get("status", "").lower() != value.lower()) or (
                name == "tag" and value not in item.get("tags", [])
            ):
                return False
        return True

    return keep


def _page(
    items: list[dict[str, Any]],
    info: GraphQLResolveInfo,
    first: int | None,
    after: str | None,
    key: Any,
) -> dict[str, Any]:
    """A Relay connection over ``items`` sorted by ``key``; cursors are keys, not offsets, so
    pages stay correct while the list changes underneath."""
    bulk = bool(info.context.get("bulk"))
    if not bulk:
        if first is None:
            raise GraphQLError("you must provide one of first or last")
        if first > MAX_PAGE or first < 0:
            raise GraphQLError(f"The value for first must be between 0 and {MAX_PAGE}.")
    ordered = sorted(items, key=key)
    if after:
        try:
            mark = decode_cursor(after)
        except ValueError as exc:
            raise GraphQLError(str(exc)) from exc
        ordered = [i for i in ordered if list(key(i)) > mark]
    page = ordered if bulk else ordered[:first]
    edges = [{"cursor": encode_cursor(list(key(i))), "node": i} for i in page]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(ordered) > len(page),
            "hasPreviousPage": bool(after),
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _user_error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


def build_schema(state: FakeShopState) -> GraphQLSchema:
    query = QueryType()
    mutation = MutationType()
    product_t = ObjectType("Product")
    video_t = ObjectType("Video")
    bulk_t = ObjectType("BulkOperation")
    by_type = InterfaceType("Node", lambda obj, *_: obj["__typename"])
    media_i = InterfaceType("Media", lambda obj, *_: obj["__typename"])

    @query.field("shop")
    def _shop(*_: Any) -> dict[str, Any]:
        return {"name": state.name, "myshopifyDomain": state.domain, "currencyCode": state.currency}

    @query.field("products")
    def _products(
        _: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str = "ID",
        **__: Any,
    ) -> dict[str, Any]:
        keep = search_filter(query)
        with state.lock:
            items = [p for p in state.products.values() if keep(p)]
        if sortKey == "UPDATED_AT":
            return _page(items, info, first, after, lambda p: (p["updatedAt"], gid_num(p["id"])))
        return _page(items, info, first, after, lambda p: (gid_num(p["id"]),))

    @query.field("productsCount")
    def _count(*_: Any, query: str | None = None) -> dict[str, Any]:
        keep = search_filter(query)
        with state.lock:
            return {
                "count": sum(1 for p in state.products.values() if keep(p)),
                "precision": "EXACT",
            }

    @query.field("product")
    def _product(*_: Any, id: str) -> dict[str, Any] | None:
        return state.products.get(id)

    @query.field("node")
    def _node(*_: Any, id: str) -> dict[str, Any] | None:
        if id in state.products:
            return state.products[id]
        if id in state.bulk_ops:
            return state.bulk_ops[id]
        if id in state.orders:
            return state.orders[id]
        found = state.find_media(id)
        return found[1] if found else None

    @query.field("bulkOperation")
    def _bulk(*_: Any, id: str) -> dict[str, Any] | None:
        return state.bulk_ops.get(id)

    @query.field("currentBulkOperation")
    def _current(*_: Any, **__: Any) -> dict[str, Any] | None:
        return list(state.bulk_ops.values())[-1] if state.bulk_ops else None

    @query.field("orders")
    def _orders(
        _: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        keep = search_filter(query)
        items = [o for o in state.orders.values() if keep(o)]
        return _page(items, info, first, after, lambda o: (gid_num(o["id"]),))

    @product_t.field("variants")
    def _variants(
        product: dict[str, Any],
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        items = list(product["variants"])
        order = {v["id"]: i for i, v in enumerate(items)}
        return _page(items, info, first, after, lambda v: (order[v["id"]],))

    @product_t.field("media")
    def _media(
        product: dict[str, Any],
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        items = list(product["media"])
        if query and "media_type:" in query:
            wanted = query.split("media_type:", 1)[1].split()[0].strip("'\"").upper()
            items = [m for m in items if m["mediaContentType"] == wanted]
        order = {m["id"]: i for i, m in enumerate(product["media"])}
        return _page(items, info, first, after, lambda m: (order[m["id"]],))

    def _video_state(video: dict[str, Any]) -> str:
        if state.clock.monotonic() < video["ready_at"]:
            return "PROCESSING"
        return "FAILED" if video["invalid"] else "READY"

    video_t.set_field("status", lambda v, *_: _video_state(v))
    video_t.set_field(
        "mediaErrors",
        lambda v, *_: (
            [{"code": "VIDEO_VALIDATION_ERROR", "details": None, "message": "Invalid video file"}]
            if _video_state(v) == "FAILED"
            else []
        ),
    )
    video_t.set_field(
        "sources",
        lambda v, *_: (
            [
                {
                    "url": f"{state.base_url}/videos/{gid_num(v['id'])}.mp4",
                    "mimeType": "video/mp4",
                    "fileSize": v["size"],
                }
            ]
            if _video_state(v) == "READY"
            else []
        ),
    )

    def _bulk_status(op: dict[str, Any]) -> str:
        if op["status"] != "RUNNING":
            return str(op["status"])
        if op.get("done") and state.clock.monotonic() >= op["ready_at"]:
            op["status"] = op["final_status"]
            op["completedAt"] = state.now()
        return str(op["status"])

    bulk_t.set_field("status", lambda op, *_: _bulk_status(op))
    for name in ("url", "objectCount", "fileSize", "errorCode", "completedAt"):
        bulk_t.set_field(
            name,
            lambda op, info, *_: (
                op.get(info.field_name)
                if _bulk_status(op) in ("COMPLETED", "FAILED")
                else ("0" if info.field_name == "objectCount" else None)
            ),
        )

    @mutation.field("bulkOperationRunQuery")
    def _run_bulk(*_: Any, query: str) -> dict[str, Any]:
        schema = info_schema[0]
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"bulkOperation": None, "userErrors": [_user_error(["query"], exc.message)]}
        problems = validate(schema, document)
        if problems:
            return {
                "bulkOperation": None,
                "userErrors": [_user_error(["query"], problems[0].message)],
            }
        with state.lock:
            if any(_bulk_status(o) == "RUNNING" for o in state.bulk_ops.values()):
                return {
                    "bulkOperation": None,
                    "userErrors": [
                        _user_error(
                            ["query"],
                            "A bulk query operation for this app and shop is already in progress.",
                            "OPERATION_IN_PROGRESS",
                        )
                    ],
                }
            op_id = state.next_id("BulkOperation")
            failing = state.fail_next_bulk
            state.fail_next_bulk = False
            op = {
                "__typename": "BulkOperation",
                "id": op_id,
                "status": "RUNNING",
                "query": query,
                "createdAt": state.now(),
                "type": "QUERY",
                "done": False,
                "ready_at": float("inf"),
                "final_status": "FAILED" if failing else "COMPLETED",
                "errorCode": "INTERNAL_SERVER_ERROR" if failing else None,
            }
            state.bulk_ops[op_id] = op
        started = state.clock.monotonic()

        def work() -> None:
            result = execute(schema, document, context_value={"bulk": True})
            lines = flatten_bulk(result.data or {})
            name = f"bulk-{gid_num(op_id)}.jsonl"
            body = "".join(line + "\n" for line in lines).encode()
            with state.lock:
                state.files[name] = body
                op.update(
                    url=None if failing else f"{state.base_url}/files/{name}",
                    objectCount=str(len(lines)),
                    fileSize=str(len(body)),
                    done=True,
                    ready_at=started + len(lines) / state.bulk_objects_per_s,
                )

        threading.Thread(target=work, daemon=True).start()
        return {"bulkOperation": op, "userErrors": []}

    @mutation.field("stagedUploadsCreate")
    def _staged(*_: Any, input: list[dict[str, Any]]) -> dict[str, Any]:
        targets, errors = [], []
        for i, item in enumerate(input):
            if item["resource"] == "VIDEO" and not item.get("fileSize"):
                errors.append(_user_error(["input", str(i), "fileSize"], "File size is required"))
                continue
            token = uuid.uuid4().hex
            with state.lock:
                state.staged[token] = {
                    "size": int(item.get("fileSize") or 0),
                    "filename": item["filename"],
                    "mime": item["mimeType"],
                    "data": None,
                }
            targets.append(
                {
                    "url": f"{state.base_url}/staged/{token}",
                    "resourceUrl": f"{state.base_url}/staged/{token}/{item['filename']}",
                    "parameters": [
                        {"name": "key", "value": f"uploads/{token}/{item['filename']}"},
                        {"name": "policy", "value": f"content-length-range:{item.get('fileSize')}"},
                        {"name": "x-goog-signature", "value": token[:16]},
                    ],
                }
            )
        return {"stagedTargets": targets, "userErrors": errors}

    @mutation.field("productUpdate")
    def _product_update(
        *_: Any, product: dict[str, Any], media: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        with state.lock:
            row = state.products.get(product["id"])
            if row is None:
                return {
                    "product": None,
                    "userErrors": [_user_error(["product", "id"], "Product does not exist")],
                }
            for i, item in enumerate(media or []):
                if item["mediaContentType"] != "VIDEO":
                    return {
                        "product": None,
                        "userErrors": [
                            _user_error(["media", str(i)], "Only VIDEO media is supported here")
                        ],
                    }
                token = item["originalSource"].split("/staged/", 1)[-1].split("/")[0]
                staged = state.staged.get(token)
                if staged is None or staged["data"] is None:
                    return {
                        "product": None,
                        "userErrors": [
                            _user_error(
                                ["media", str(i), "originalSource"], "Media source was not uploaded"
                            )
                        ],
                    }
                data = staged["data"]
                row["media"].append(
                    {
                        "__typename": "Video",
                        "id": state.next_id("Video"),
                        "alt": item.get("alt"),
                        "mediaContentType": "VIDEO",
                        "ready_at": state.clock.monotonic() + state.video_processing_s,
                        "invalid": data[4:8] != b"ftyp",
                        "size": len(data),
                    }
                )
            if product.get("title"):
                row["title"] = product["title"]
            row["updatedAt"] = state.now()
            return {"product": row, "userErrors": []}

    @mutation.field("fileDelete")
    def _file_delete(*_: Any, fileIds: list[str]) -> dict[str, Any]:
        deleted, errors = [], []
        with state.lock:
            for file_id in fileIds:
                found = state.find_media(file_id)
                if found is None:
                    errors.append(
                        _user_error(
                            ["fileIds"], f"File id {file_id} does not exist.", "FILE_DOES_NOT_EXIST"
                        )
                    )
                    continue
                found[0]["media"].remove(found[1])
                found[0]["updatedAt"] = state.now()
                deleted.append(file_id)
        return {"deletedFileIds": deleted if not errors else None, "userErrors": errors}

    @mutation.field("orderCreate")
    def _order_create(*_: Any, order: dict[str, Any], **__: Any) -> dict[str, Any]:
        with state.lock:
            variants = {v["id"] for p in state.products.values() for v in p["variants"]}
            for i, line in enumerate(order["lineItems"]):
                if line.get("variantId") and line["variantId"] not in variants:
                    return {
                        "order": None,
                        "userErrors": [
                            _user_error(
                                ["order", "lineItems", str(i), "variantId"],
                                "Variant does not exist",
                            )
                        ],
                    }
                if line["quantity"] < 1:
                    return {
                        "order": None,
                        "userErrors": [
                            _user_error(
                                ["order", "lineItems", str(i), "quantity"], "must be at least 1"
                            )
                        ],
                    }
            order_id = state.next_id("Order")
            row = {
                "__typename": "Order",
                "id": order_id,
                "name": f"#{gid_num(order_id)}",
                "tags": list(order.get("tags") or []),
                "input": order,
                "updatedAt": state.now(),
            }
            state.orders[order_id] = row
            return {"order": row, "userErrors": []}

    schema = make_executable_schema(
        [SDL, STORE_SDL],
        query,
        mutation,
        product_t,
        video_t,
        bulk_t,
        by_type,
        media_i,
        *store_bindables(state, _page),
    )
    info_schema = [schema]
    return schema


def flatten_bulk(data: dict[str, Any]) -> list[str]:
    """A bulk query's result as Shopify writes it: one JSON object per line, nested
    connections moved to their own lines with ``__parentId``."""
    import json

    lines: list[str] = []

    def nodes_of(connection: dict[str, Any]) -> list[dict[str, Any]]:
        if "nodes" in connection:
            return list(connection["nodes"])
        return [edge["node"] for edge in connection.get("edges", [])]

    def emit(node: dict[str, Any], parent: str | None) -> None:
        row: dict[str, Any] = {}
        children: list[dict[str, Any]] = []
        for key, value in node.items():
            if isinstance(value, dict) and ("nodes" in value or "edges" in value):
                children.extend(nodes_of(value))
            else:
                row[key] = value
        if parent:
            row["__parentId"] = parent
        lines.append(json.dumps(row, separators=(",", ":")))
        for child in children:
            emit(child, node.get("id"))

    for value in data.values():
        if isinstance(value, dict):
            for node in nodes_of(value):
                emit(node, None)
    return lines
