"""What every fetched profile must be: the discovery profile schema's ``base``
(``discovery/profile_schema.json#/$defs/base`` of UCP 2026-04-08), checked by hand so the
server needs no schema engine at run time.

``base`` is the part both profile kinds share: a ``ucp`` object with a date ``version``;
its registries (``services``, ``capabilities``, ``payment_handlers``) keyed by reverse-domain
names, each an array of entities with a date ``version`` (services with a ``transport``,
handlers with an ``id``); ``signing_keys`` JWKs with ``kid`` and ``kty``. The fuller
platform schema (which also requires ``services`` and ``payment_handlers``) is not
enforced: the official conformance suite's own platform profile, and the samples'
platform's, declare neither.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["profile_problem"]

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REVERSE_DNS = re.compile(r"^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_]*)+$")
_TRANSPORTS = {"rest", "mcp", "a2a", "embedded"}
_JWK_TEXT = ("kid", "kty", "crv", "x", "y", "n", "e", "alg")


def _entity_problem(entry: Any, where: str) -> str | None:
    """``ucp.json#/$defs/entity``: an object with a date ``version`` (and typed extras)."""
    if not isinstance(entry, dict):
        return f"{where} is not an object"
    version = entry.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        return f"{where}.version is not a YYYY-MM-DD version"
    for text in ("spec", "schema", "id"):
        if text in entry and not isinstance(entry[text], str):
            return f"{where}.{text} is not a string"
    if "config" in entry and not isinstance(entry["config"], dict):
        return f"{where}.config is not an object"
    return None


def _capability_problem(entry: dict[str, Any], where: str) -> str | None:
    extends = entry.get("extends")
    if extends is None:
        return None
    parents = [extends] if isinstance(extends, str) else extends
    if not isinstance(parents, list) or not parents:
        return f"{where}.extends is not a capability name or a list of them"
    if not all(isinstance(p, str) and _REVERSE_DNS.match(p) for p in parents):
        return f"{where}.extends names a capability that is not a reverse-domain name"
    return None


def _service_problem(entry: dict[str, Any], where: str) -> str | None:
    if entry.get("transport") not in _TRANSPORTS:
        return f"{where}.transport is not one of {sorted(_TRANSPORTS)}"
    if "endpoint" in entry and not isinstance(entry["endpoint"], str):
        return f"{where}.endpoint is not a string"
    return None


def _handler_problem(entry: dict[str, Any], where: str) -> str | None:
    if not isinstance(entry.get("id"), str):
        return f"{where}.id is required"
    instruments = entry.get("available_instruments")
    if instruments is not None and (not isinstance(instruments, list) or not instruments):
        return f"{where}.available_instruments is not a non-empty array"
    return None


_REGISTRIES = {
    "services": _service_problem,
    "capabilities": _capability_problem,
    "payment_handlers": _handler_problem,
}


def _registry_problem(registry: Any, name: str) -> str | None:
    if not isinstance(registry, dict):
        return f"ucp.{name} is not an object"
    for key, entries in registry.items():
        where = f"ucp.{name}[{key!r}]"
        if not _REVERSE_DNS.match(key):
            return f"{where}: the key is not a reverse-domain name"
        if not isinstance(entries, list):
            return f"{where} is not an array"
        for index, entry in enumerate(entries):
            problem = _entity_problem(entry, f"{where}[{index}]") or _REGISTRIES[name](
                entry, f"{where}[{index}]"
            )
            if problem:
                return problem
    return None


def _key_problem(key: Any, where: str) -> str | None:
    if not isinstance(key, dict):
        return f"{where} is not an object"
    for field in ("kid", "kty"):
        if field not in key:
            return f"{where}.{field} is required"
    for field in _JWK_TEXT:
        if field in key and not isinstance(key[field], str):
            return f"{where}.{field} is not a string"
    if "use" in key and key["use"] not in ("sig", "enc"):
        return f"{where}.use is not sig or enc"
    return None


def profile_problem(profile: Any) -> str | None:
    """Why ``profile`` is not a UCP discovery profile (the schema's ``base``), or None."""
    if not isinstance(profile, dict):
        return "the profile is not a JSON object"
    ucp = profile.get("ucp")
    if not isinstance(ucp, dict):
        return "the profile has no ucp object"
    version = ucp.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        return "ucp.version is not a YYYY-MM-DD version"
    if "status" in ucp and ucp["status"] not in ("success", "error"):
        return "ucp.status is not success or error"
    for name in _REGISTRIES:
        if name in ucp and (problem := _registry_problem(ucp[name], name)):
            return problem
    keys = profile.get("signing_keys")
    if keys is not None:
        if not isinstance(keys, list):
            return "signing_keys is not an array"
        for index, key in enumerate(keys):
            if problem := _key_problem(key, f"signing_keys[{index}]"):
                return problem
    return None
