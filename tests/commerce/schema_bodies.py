"""Deterministic, schema-valid request bodies from a JSON Schema bundle.

A small walker over the ACP JSON Schemas: for one definition it builds the body with every
optional property present (``full``) or only the required ones (``minimal``). Leaves take
the schema's own ``example`` when it is valid for them, else a value made from the
keyword that constrains them (``const``, ``enum``, ``format``, ``pattern``, bounds). The
first ``oneOf`` / ``anyOf`` branch that yields a valid value is taken. Every body is
checked with ``jsonschema`` before it is handed out, so a generator bug fails loudly
instead of testing the server with an invalid request.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["Mode", "SchemaBodies"]

Mode = Literal["full", "minimal"]

# The handful of patterns the ACP bundles use, each with a value that matches it.
_PATTERN_VALUES = {
    r"^[a-z]{3}$": "usd",
    r"^[0-9]{4}$": "4242",
    r"^\d{4}-\d{2}-\d{2}$": "2026-05-01",
    r"^[a-z][a-z0-9_-]*(@\d{4}-\d{2}-\d{2})?$|^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_-]*)+"
    r"(@\d{4}-\d{2}-\d{2})?$": "discount",
    r"^\$\.[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9_]*)*$": "$.line_items",
}


class SchemaBodies:
    """Bodies for the definitions of one bundle (``{"$defs": {...}}``)."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = bundle["$defs"]
        self.future = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
        self.rotation = 0

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator({**schema, "$defs": self.defs}, format_checker=FormatChecker())

    def check(self, definition: str, instance: Any) -> None:
        """Raise unless ``instance`` is a valid ``definition``."""
        self.validator({"$ref": f"#/$defs/{definition}"}).validate(instance)

    def body(self, definition: str, mode: Mode, rotation: int = 0) -> Any:
        """A valid ``definition`` with all optional properties, or only the required ones.

        ``rotation`` picks the n-th value of every ``enum`` and the n-th branch of every
        ``oneOf`` / ``anyOf`` (modulo their length): rotations 0 to :meth:`rotations` - 1
        together use every value and branch at least once.
        """
        self.rotation = rotation
        value = self._value(self.defs[definition], mode, depth=0)
        self.check(definition, value)
        return value

    def rotations(self, definition: str) -> int:
        """How many rotations it takes to use every enum value and branch of ``definition``."""
        most, seen, todo = 1, set(), [self.defs[definition]]
        while todo:
            node = todo.pop()
            if isinstance(node, dict):
                if "$ref" in node:
                    name = node["$ref"].rsplit("/", 1)[-1]
                    if name not in seen:
                        seen.add(name)
                        todo.append(self.defs[name])
                for key in ("enum", "oneOf", "anyOf"):
                    if isinstance(node.get(key), list):
                        most = max(most, len(node[key]))
                todo.extend(node.values())
            elif isinstance(node, list):
                todo.extend(node)
        return most

    # -- the walk ---------------------------------------------------------------------
    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _valid(self, schema: dict[str, Any], value: Any) -> bool:
        return bool(self.validator(schema).is_valid(value))

    def _value(self, schema: dict[str, Any], mode: Mode, depth: int) -> Any:
        schema = self._resolve(schema)
        if depth > 12:
            raise RecursionError("schema nests deeper than any request body should")
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.setdefault("type", part.get("type"))
            return self._value(merged, mode, depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                base = {k: v for k, v in schema.items() if k != key}
                start = self.rotation % len(schema[key])
                for branch in [*schema[key][start:], *schema[key][:start]]:
                    branch = self._resolve(branch)
                    if "type" not in branch and "properties" in base:
                        # A branch that only adds constraints to the object around it.
                        branch = {
                            **base,
                            "properties": {**base["properties"], **branch.get("properties", {})},
                            "required": [*base.get("required", []), *branch.get("required", [])],
                        }
                    candidate = self._value(branch, mode, depth + 1)
                    if self._valid(schema, candidate):
                        return candidate
                raise ValueError(f"no {key} branch of {schema} yields a valid value")
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(schema["enum"][self.rotation % len(schema["enum"])])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = kind[0]
        if kind == "object" or "properties" in schema:
            return self._object(schema, mode, depth)
        if kind == "array":
            item = self._value(schema.get("items", {"type": "string"}), mode, depth + 1)
            count = max(int(schema.get("minItems", 0)), 1 if mode == "full" else 0)
            return [copy.deepcopy(item) for _ in range(count)]
        example = schema.get("example", (schema.get("examples") or [None])[0])
        if example is not None and self._valid(schema, example):
            return copy.deepcopy(example)
        return self._leaf(schema, kind)

    def _object(self, schema: dict[str, Any], mode: Mode, depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        names = list(properties) if mode == "full" else [n for n in properties if n in required]
        result = {name: self._value(properties[name], mode, depth + 1) for name in names}
        extra = schema.get("additionalProperties")
        if not properties and mode == "full" and extra is not False:
            # A map: one entry of the value type (any JSON value where it is not typed).
            sub = extra if isinstance(extra, dict) else {"type": "string"}
            result["key"] = self._value(sub, mode, depth + 1)
        return result

    def _leaf(self, schema: dict[str, Any], kind: Any) -> Any:
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return max(float(schema.get("minimum", 1)), 1.0)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        fmt = schema.get("format")
        if fmt == "date-time":
            return self.future.isoformat().replace("+00:00", "Z")
        if fmt == "email":
            return "ada@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/reelcart"
        if "pattern" in schema:
            value = _PATTERN_VALUES.get(schema["pattern"])
            if value is None:
                raise ValueError(f"no value known for pattern {schema['pattern']!r}")
            return value
        low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 12))
        return ("value" * 4)[: max(low, min(high, 5))]
