"""UCP's one envelope: version negotiation, the ``UCP-Agent`` header, errors, idempotency.

Every UCP door (REST and the MCP binding) goes through here, so each rule is written once:

- ``UCP-Agent: profile="…"`` names the platform (RFC 8941; a ``version`` parameter may
  declare its protocol version, else the version is read from the profile itself). A
  version other than the one this business implements is ``version_unsupported`` (422).
- Errors are one exception, :class:`UcpError`: a transport error (4xx/5xx) carries
  ``code``/``content`` as the spec's REST examples do, plus the ``ucp`` error metadata and
  a ``messages`` entry; a business failure that establishes no resource is answered
  in-band (200, ``ucp.status: "error"``) with :func:`error_response`.
- Idempotency: the ACP store's durable keys, scoped to the platform profile, method and
  path; a key reused with another body is 409 ``idempotency_conflict`` (UCP), a key still
  being processed 409 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.acp.envelope import run_once as acp_run_once
from app.idempotency import IdempotencyStore, fingerprint
from commerce.checkout.errors import CheckoutError

__all__ = [
    "CAPABILITY_SPECS",
    "UCP_VERSION",
    "Agent",
    "UcpError",
    "check_version",
    "error_message",
    "error_response",
    "from_checkout_error",
    "intersect",
    "narrow",
    "parse_agent",
    "response_meta",
    "run_once",
]

UCP_VERSION = "2026-04-08"
SPEC_BASE = f"https://ucp.dev/{UCP_VERSION}"

# name -> (spec page, schema path, extends): what discovery and responses declare.
CAPABILITY_SPECS: dict[str, tuple[str, str, str | None]] = {
    "dev.ucp.shopping.checkout": ("checkout", "shopping/checkout.json", None),
    "dev.ucp.shopping.fulfillment": (
        "fulfillment",
        "shopping/fulfillment.json",
        "dev.ucp.shopping.checkout",
    ),
    "dev.ucp.shopping.discount": (
        "discount",
        "shopping/discount.json",
        "dev.ucp.shopping.checkout",
    ),
    "dev.ucp.shopping.buyer_consent": (
        "buyer-consent",
        "shopping/buyer_consent.json",
        "dev.ucp.shopping.checkout",
    ),
    "dev.ucp.shopping.order": ("order", "shopping/order.json", None),
    "dev.ucp.shopping.cart": ("cart", "shopping/cart.json", None),
    "dev.ucp.shopping.catalog.search": ("catalog/search", "shopping/catalog_search.json", None),
    "dev.ucp.shopping.catalog.lookup": ("catalog/lookup", "shopping/catalog_lookup.json", None),
}


class UcpError(Exception):
    """A UCP error with its HTTP status (``severity`` as in ``message_error.json``)."""

    def __init__(
        self,
        status: int,
        code: str,
        content: str,
        *,
        severity: str = "unrecoverable",
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(content)
        self.status = status
        self.code = code
        self.content = content
        self.severity = severity
        self.path = path
        self.headers = headers or {}

    def message(self) -> dict[str, Any]:
        return error_message(self.code, self.content, severity=self.severity, path=self.path)

    def body(self) -> dict[str, Any]:
        """The REST error body: the spec's ``code``/``content`` and the error metadata."""
        return {
            "ucp": {"version": UCP_VERSION, "status": "error"},
            "code": self.code,
            "content": self.content,
            "messages": [self.message()],
        }


def error_message(
    code: str, content: str, *, severity: str = "recoverable", path: str | None = None
) -> dict[str, Any]:
    """A ``message_error.json`` entry."""
    message: dict[str, Any] = {
        "type": "error",
        "code": code,
        "content": content,
        "severity": severity,
    }
    if path:
        message["path"] = path
    return message


def error_response(error: UcpError) -> dict[str, Any]:
    """``error_response.json``: no resource could be established (answered with 200)."""
    return {"ucp": {"version": UCP_VERSION, "status": "error"}, "messages": [error.message()]}


# ACP core codes that mean the same thing in UCP under another name or status.
_ACP_CODES: dict[str, tuple[int, str]] = {
    "session_not_found": (404, "not_found"),
    "order_not_found": (404, "not_found"),
    "invalid_item_id": (400, "not_found"),
    "idempotency_conflict": (409, "idempotency_conflict"),
    "idempotency_in_flight": (409, "idempotency_in_flight"),
    "payment_declined": (402, "payment_declined"),
    "authentication_required": (402, "requires_escalation"),
    "invalid_state": (409, "invalid_state"),
    "not_cancelable": (409, "invalid_state"),
}


def from_checkout_error(error: CheckoutError) -> UcpError:
    """The checkout core's error (ACP's vocabulary) in UCP's terms."""
    status, code = _ACP_CODES.get(error.code, (error.status, error.code))
    return UcpError(status, code, error.message, headers=error.headers)


@dataclass(frozen=True)
class Agent:
    """What the platform declared about itself in ``UCP-Agent``."""

    profile: str | None
    version: str | None


def _split(text: str, separators: str) -> list[str]:
    """Split outside double quotes (RFC 8941 strings may hold the separators)."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char in separators and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_agent(header: str | None) -> Agent:
    """``profile="https://…"; version="2026-04-08"`` (members or parameters alike)."""
    if not header:
        return Agent(None, None)
    fields: dict[str, str] = {}
    for member in _split(header, ",;"):
        key, sep, value = member.partition("=")
        if sep:
            fields.setdefault(key.strip().lower(), _unquote(value))
    return Agent(fields.get("profile") or None, fields.get("version") or None)


def check_version(version: str | None) -> None:
    """The platform's protocol version must be the one this business implements."""
    if version is not None and version != UCP_VERSION:
        raise UcpError(
            422,
            "version_unsupported",
            f"Protocol version {version} is not supported. This business implements"
            f" version {UCP_VERSION}.",
        )


def _declared_versions(entries: Any) -> set[str]:
    """The versions a platform declares for one capability (an array of entities)."""
    listed = entries if isinstance(entries, list) else [entries]
    return {str(e["version"]) for e in listed if isinstance(e, dict) and "version" in e}


def intersect(profile: dict[str, Any]) -> frozenset[str]:
    """The capabilities active for this platform (``overview.md``, Intersection Algorithm):
    each business capability the platform also declares at a mutual version (this business
    implements one version of each), then extensions none of whose parents survived are
    pruned, repeatedly. A profile that declares no capabilities gets none."""
    declared = profile["ucp"].get("capabilities")
    declared = declared if isinstance(declared, dict) else {}
    active = {
        name
        for name in CAPABILITY_SPECS
        if UCP_VERSION in _declared_versions(declared.get(name) or [])
    }
    pruned = True
    while pruned:
        pruned = False
        for name in list(active):
            parent = CAPABILITY_SPECS[name][2]
            if parent is not None and parent not in active:
                active.discard(name)
                pruned = True
    return frozenset(active)


def narrow(body: Any, active: frozenset[str] | None) -> Any:
    """An answer whose ``ucp.capabilities`` lists only what was negotiated (``active``;
    None when no profile was read, e.g. an error before negotiation)."""
    if active is None or not isinstance(body, dict):
        return body
    meta = body.get("ucp")
    if not isinstance(meta, dict) or not isinstance(meta.get("capabilities"), dict):
        return body
    kept = {k: v for k, v in meta["capabilities"].items() if k in active}
    return {**body, "ucp": {**meta, "capabilities": kept}}


def response_meta(
    capabilities: list[str], payment_handlers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``ucp`` object of a response: the negotiated version and active capabilities."""
    meta: dict[str, Any] = {
        "version": UCP_VERSION,
        "status": "success",
        "capabilities": {name: [{"version": UCP_VERSION}] for name in capabilities},
    }
    if payment_handlers is not None:
        meta["payment_handlers"] = payment_handlers
    return meta


async def run_once(
    store: IdempotencyStore, scope: str, key: str, body: Any, call: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run ``call`` at most once per idempotency key: the same body again gets the stored
    answer (``replayed`` True), another body ``idempotency_conflict``. UCP errors are
    answers like any other (stored; 5xx released so the retry runs afresh)."""

    def answered() -> tuple[int, Any]:
        try:
            return call()
        except CheckoutError as error:
            converted = from_checkout_error(error)
            return converted.status, converted.body()
        except UcpError as error:
            return error.status, error.body()

    try:
        answer = await acp_run_once(store, scope, key, fingerprint(body), answered)
    except CheckoutError as error:
        raise from_checkout_error(error) from None
    if answer.status >= 500:
        raise UcpError(answer.status, str(answer.body.get("code")), str(answer.body.get("content")))
    return answer.status, answer.body, answer.replayed
