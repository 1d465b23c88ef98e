"""The ACP MCP binding's tool schemas, bundled for serving.

The binding's OpenRPC document points into ``schema.agentic_checkout.json`` with relative
``$ref``s and says implementers MUST resolve and bundle them before serving tool schemas.
``bundle`` does that once, from the spec folder, into ``acp_mcp_tools.json`` beside this
module (shipped with the package, so a server never needs the spec checkout); a test keeps
the bundled file equal to what the spec produces. Each tool carries one example call that
this store accepts (the spec's own MCP examples use ids of another store, and its
``complete`` example leaves out the instrument's ``type`` and ``credential``).

Regenerate with ``python -m app.acp.tool_schemas SPEC_DIR``.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["BUNDLE_PATH", "EXAMPLES", "ToolSchemas", "bundle", "tool_schemas"]

BUNDLE_PATH = Path(__file__).with_name("acp_mcp_tools.json")
_SCHEMA_FILE = "../json-schema/schema.agentic_checkout.json"
_META_REF = "#/components/schemas/meta"

ToolSchemas = dict[str, Any]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _rewrite(node: Any) -> Any:
    """Point every reference at the bundle's own ``$defs``; one ``type`` per schema.

    A ``type`` array becomes ``anyOf`` branches of one type each (the same set of values:
    the node's other keywords still apply to every branch), because hosts that map tool
    schemas onto a single-type dialect (Gemini's function declarations) reject the array.
    """
    if isinstance(node, dict):
        out = {k: _rewrite(v) for k, v in node.items()}
        if isinstance(out.get("type"), list):
            branches = [{"type": kind} for kind in out.pop("type")]
            if "anyOf" in out:  # both must hold
                out["allOf"] = [*out.get("allOf", []), {"anyOf": branches}]
            else:
                out["anyOf"] = branches
        ref = out.get("$ref")
        if isinstance(ref, str):
            if ref == _META_REF:
                out["$ref"] = "#/$defs/meta"
            elif ref.startswith(_SCHEMA_FILE):
                out["$ref"] = ref.removeprefix(_SCHEMA_FILE)
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _closure(roots: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The ``$defs`` reachable from ``roots`` (which may be referenced themselves)."""
    wanted: dict[str, Any] = {}
    pending = list(_refs(roots))
    while pending:
        ref = pending.pop()
        name = ref.rsplit("/", 1)[-1]
        if name in wanted:
            continue
        wanted[name] = defs[name]
        pending.extend(_refs(defs[name]))
    return dict(sorted(wanted.items()))


_META = {"api_version": "2026-04-17", "idempotency_key": "9f1c2e4a-create-1"}
_SESSION = "cs_0123456789abcdef"
EXAMPLES: dict[str, dict[str, Any]] = {
    "create_checkout_session": {
        "meta": _META,
        "payload": {
            "currency": "usd",
            "line_items": [{"id": "gid://shopify/ProductVariant/11"}],
            "capabilities": {"interventions": {"supported": ["3ds"]}},
            "fulfillment_details": {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "address": {
                    "name": "Ada Lovelace",
                    "line_one": "1 Chat Road",
                    "city": "San Francisco",
                    "state": "CA",
                    "country": "US",
                    "postal_code": "94131",
                },
            },
            "metadata": {"shopper_id": "conversation-42"},
        },
    },
    "get_checkout_session": {"meta": {"api_version": "2026-04-17"}, "id": _SESSION},
    "update_checkout_session": {
        "meta": {"api_version": "2026-04-17", "idempotency_key": "9f1c2e4a-update-1"},
        "id": _SESSION,
        # The 2026-04-17 Item has no quantity: each entry is one unit.
        "payload": {
            "line_items": [
                {"id": "gid://shopify/ProductVariant/11"},
                {"id": "gid://shopify/ProductVariant/11"},
            ]
        },
    },
    "complete_checkout_session": {
        "meta": {"api_version": "2026-04-17", "idempotency_key": "9f1c2e4a-complete-1"},
        "id": _SESSION,
        "payload": {
            "payment_data": {
                "handler_id": "card_tokenized",
                "instrument": {
                    "type": "card",
                    "credential": {"type": "spt", "token": "vt_01J8Z3WXYZ9ABC"},
                },
            }
        },
    },
    "cancel_checkout_session": {"meta": {"api_version": "2026-04-17"}, "id": _SESSION},
}


def bundle(spec_dir: Path) -> dict[str, ToolSchemas]:
    """Input and output schema (``$ref``s resolved into ``$defs``) for each checkout tool."""
    openrpc = json.loads((spec_dir / "openrpc" / "openrpc.agentic_checkout.json").read_text())
    domain = json.loads((spec_dir / "json-schema" / "schema.agentic_checkout.json").read_text())
    defs = _rewrite({**domain["$defs"], "meta": openrpc["components"]["schemas"]["meta"]})
    tools: dict[str, ToolSchemas] = {}
    for method in openrpc["methods"]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in method["params"]:
            schema = _rewrite(param["schema"])
            if "description" in param:
                schema = {**schema, "description": param["description"]}
            properties[param["name"]] = schema
            if param.get("required"):
                required.append(param["name"])
        input_schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
        }
        input_schema["examples"] = [EXAMPLES[method["name"]]]
        input_schema["$defs"] = _closure(input_schema, defs)
        # MCP wants an object at an output schema's root: inline the result's own schema.
        result_name = _rewrite(method["result"]["schema"])["$ref"].rsplit("/", 1)[-1]
        output_schema = {
            "type": "object",
            **defs[result_name],
            "description": method["result"]["description"],
        }
        output_schema["$defs"] = _closure(output_schema, defs)
        tools[method["name"]] = {
            "description": method.get("description") or method.get("summary", ""),
            "input_schema": input_schema,
            "output_schema": output_schema,
        }
    return tools


@cache
def tool_schemas() -> dict[str, ToolSchemas]:
    """The bundled schemas shipped with the package."""
    loaded: dict[str, ToolSchemas] = json.loads(BUNDLE_PATH.read_text())
    return loaded


if __name__ == "__main__":
    text = json.dumps(bundle(Path(sys.argv[1])), sort_keys=True, separators=(",", ":"))
    BUNDLE_PATH.write_text(text + "\n")
    print(f"wrote {BUNDLE_PATH}")
