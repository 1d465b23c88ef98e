"""The checkout core's error: an HTTP status, a ``type``, a ``code`` and a JSONPath ``param``.

Its vocabulary is ACP's (the flat ``Error`` shape, which :meth:`CheckoutError.body` renders),
because ACP was the first door; the ACP doors answer with that body as it is (REST as the
response, MCP as a JSON-RPC error's ``data``), and the UCP door maps each code to UCP's
(:func:`app.ucp.envelope.from_checkout_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

__all__ = [
    "COMPUTED_FIELDS",
    "PAYMENTS_NOT_CONFIGURED",
    "CheckoutError",
    "from_validation_error",
    "jsonpath",
    "payment_in_progress",
]


# Fields an agent may not send: the store computes them from catalog prices.
COMPUTED_FIELDS = frozenset({"totals", "unit_amount", "amount", "subtotal", "total", "price"})

# Named where a payment cannot be made because the server has no Stripe configured.
PAYMENTS_NOT_CONFIGURED = (
    "payments are not configured on this server: set REELCART_STRIPE_API_KEY (a Stripe "
    "test key), or run the local Stripe stand-in and set REELCART_STRIPE_API_BASE too "
    "(README: Buying locally)"
)


class CheckoutError(Exception):
    """A refused checkout step, with its HTTP status (and optional extra response headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        type: str = "invalid_request",
        param: str | None = None,
        headers: dict[str, str] | None = None,
        supported_versions: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.param = param
        self.headers = headers or {}
        self.supported_versions = list(supported_versions) if supported_versions else None

    def body(self) -> dict[str, Any]:
        """The JSON body in ACP's shape (schema ``Error``)."""
        body: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            body["param"] = self.param
        if self.supported_versions is not None:
            body["supported_versions"] = self.supported_versions
        return body


def jsonpath(loc: Sequence[int | str], root: str = "$") -> str:
    """RFC 9535 JSONPath of a pydantic error location, e.g. ``$.line_items[0].id``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += "['" + part.replace("'", "\\'") + "']"
    return path


def from_validation_error(exc: ValidationError, root: str = "$") -> CheckoutError:
    """The first problem of a request body as an ACP ``invalid_request``."""
    first = exc.errors(include_url=False)[0]
    # Union members add their class name to the location; keep only the request's path.
    loc = [p for p in first["loc"] if isinstance(p, int) or not p[:1].isupper()]
    kind = first["type"]
    if kind == "missing":
        return CheckoutError(
            400, "missing", f"{jsonpath(loc, root)} is required", param=jsonpath(loc, root)
        )
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "field"
        message = f"unknown field {name!r}"
        if name in COMPUTED_FIELDS:
            message = f"{name!r} is computed by the merchant from catalog prices; do not send it"
        return CheckoutError(400, "invalid", message, param=jsonpath(loc, root))
    return CheckoutError(400, "invalid", str(first["msg"]), param=jsonpath(loc, root))


def payment_in_progress(retry_after_s: int = 2) -> CheckoutError:
    """The session's payment outcome is not known yet: nothing about it may change until it is.

    A 503 (``service_unavailable``, the spec's "temporary unavailability") so that idempotency
    stores never keep it: the same request, retried, gets the real outcome once known.
    """
    return CheckoutError(
        503,
        "payment_in_progress",
        "The payment for this checkout session is still being confirmed with the payment"
        " provider; its outcome is not known yet. Retry later; the session cannot be changed,"
        " paid again or canceled until then.",
        type="service_unavailable",
        headers={"Retry-After": str(retry_after_s)},
    )
