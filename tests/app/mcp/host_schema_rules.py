"""JSON Schema constructs that strict host dialects reject in a tool's schemas.

Hosts map MCP tool schemas onto their model provider's function-calling dialect: Gemini's
function declarations take an OpenAPI 3.0 subset (one ``type`` per schema, no boolean
schemas, no remote references), OpenAI's strict mode likewise needs object schemas. The
rules follow the MCP Inspector CLI's ``--strict`` schema-portability lint
(``@modelcontextprotocol/inspector`` 2.12: ``type-union``, ``boolean-schema``,
``remote-ref``), read from its published source, plus type names outside JSON Schema's
seven.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["host_schema_problems"]

_TYPES = {"null", "boolean", "object", "array", "number", "string", "integer"}
# Keywords whose value maps names to subschemas, is a list of them, or is one.
_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_ONE = (
    "items",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "propertyNames",
    "contentSchema",
)
# Where a bare boolean is a keyword value, not a schema (``additionalProperties: false``).
_BOOLEAN_OK = {"additionalProperties", "unevaluatedProperties", "unevaluatedItems", "items"}


def _children(node: dict[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    for key in _MAPS:
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                yield key, f"{path}/{key}/{name}", sub
    for key in _LISTS:
        if isinstance(node.get(key), list):
            for i, sub in enumerate(node[key]):
                yield key, f"{path}/{key}/{i}", sub
    for key in _ONE:
        if key in node:
            yield key, f"{path}/{key}", node[key]


def host_schema_problems(schema: Any, path: str = "#", keyword: str | None = None) -> list[str]:
    """Every construct in ``schema`` a strict host dialect rejects, as ``path: problem``."""
    if isinstance(schema, bool):
        if keyword in _BOOLEAN_OK:
            return []
        return [f"{path}: bare boolean schema {schema}"]
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, list):
        problems.append(f"{path}: type array {kind} (use anyOf with one type each)")
    elif kind is not None and kind not in _TYPES:
        problems.append(f"{path}: unknown type {kind!r}")
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref and not ref.startswith("#"):
        problems.append(f"{path}: remote $ref {ref}")
    for key, child_path, child in _children(schema, path):
        problems += host_schema_problems(child, child_path, key)
    return problems
