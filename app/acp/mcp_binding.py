"""The ACP MCP binding (``mcp-binding.md``): the five checkout tools, plus ``get_order``.

Each tool takes ``{meta, id, payload}``: ``meta`` carries what REST sends as headers
(``api_version`` required, ``idempotency_key`` optional but honoured exactly as in REST),
``payload`` is the REST request body. Tools advertise the binding's full input and output
schemas (bundled from the spec, ``acp_tool_schemas``) and inputs are validated against them
as the binding requires. Results are the same ``CheckoutSession`` objects; ACP errors are
JSON-RPC errors with code -32000 and the ACP ``Error`` in ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

import anyio
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import ToolAnnotations
from pydantic import Field

from app.acp.envelope import as_acp_error, check_key, check_version, run_once
from app.acp.tool_schemas import tool_schemas
from app.idempotency import IdempotencyStore, fingerprint
from commerce.checkout.attribution import ATTRIBUTION_PROVIDER
from commerce.checkout.errors import COMPUTED_FIELDS, CheckoutError, jsonpath
from commerce.checkout.service import CheckoutService

__all__ = ["ACP_ERROR_CODE", "CHECKOUT_TOOL_NAMES", "checkout_tools"]

ACP_ERROR_CODE = -32000
CHECKOUT_TOOL_NAMES = (
    "create_checkout_session",
    "get_checkout_session",
    "update_checkout_session",
    "complete_checkout_session",
    "cancel_checkout_session",
    "get_order",
)

Meta = Annotated[dict[str, Any], Field(description="Protocol metadata (api_version, ...).")]
SessionId = Annotated[str, Field(min_length=1, max_length=255, description="Checkout session id.")]
Payload = Annotated[dict[str, Any], Field(description="The ACP REST request body.")]

_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)

_GUIDE = {
    "create_checkout_session": (
        " line_items take variant ids from get_product (one entry per unit); capabilities "
        "is required; put the shopper's id in payload.metadata.shopper_id so the purchase is "
        "attributed to the video they saw (or send payload.affiliate_attribution with "
        f'provider "{ATTRIBUTION_PROVIDER}", sub_id the shopper id and creative_id the video '
        "shown). Totals are computed by the store."
    ),
    "complete_checkout_session": (
        ' payment_data.handler_id is "card_tokenized"; instrument is {"type": "card", '
        '"credential": {"type": "spt", "token": <a delegated token: spt_… from the '
        "platform, or vt_… from this store's delegate_payment in test mode>}}. Without "
        "one, give the buyer the session's continue_url: they pay on the store's page and "
        "the session becomes completed (poll get_checkout_session)."
    ),
    "cancel_checkout_session": (
        " Held stock is released; a completed session is not cancelable (its order stands)."
    ),
}


class SchemaTool(Tool):
    """A tool whose output schema is declared (the binding's), not derived from a type."""

    declared_output_schema: dict[str, Any]

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.declared_output_schema


def _acp_error(error: CheckoutError) -> MCPError:
    return MCPError(code=ACP_ERROR_CODE, message=error.message, data=error.body())


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(tool_schemas()[name]["input_schema"])


def _validate(name: str, arguments: dict[str, Any]) -> None:
    """Raise the ACP ``invalid_request`` an agent can fix, naming the offending field.

    Paths inside ``payload`` are JSONPaths into the REST body (what ACP's ``param`` means);
    others start at the tool arguments (``$.meta.api_version``).
    """
    error = best_match(_validator(name).iter_errors(arguments))
    if error is None:
        return
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
            message = f"unknown field {extra[0]!r}"
            if extra[0] in COMPUTED_FIELDS:
                message = (
                    f"{extra[0]!r} is computed by the merchant from catalog prices; do not send it"
                )
    elif error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        if missing:
            path.append(missing[0])
            message = f"{missing[0]!r} is required"
    where = jsonpath(path[1:]) if path[:1] == ["payload"] else jsonpath(path)
    code = "missing" if error.validator == "required" else "invalid"
    raise CheckoutError(400, code, f"{where}: {message}", param=where)


def _schema_tool(
    fn: Callable[..., Any], name: str, title: str, annotations: ToolAnnotations
) -> Tool:
    schemas = tool_schemas()[name]
    base = Tool.from_function(
        fn,
        name=name,
        title=title,
        description=schemas["description"] + _GUIDE.get(name, ""),
        annotations=annotations,
        structured_output=True,
    )
    return SchemaTool.model_validate(
        {
            **{field: getattr(base, field) for field in Tool.model_fields},
            "parameters": schemas["input_schema"],
            "declared_output_schema": schemas["output_schema"],
        }
    )


def checkout_tools(checkout: CheckoutService) -> list[Tool]:
    """The ACP checkout tools and ``get_order``, bound to ``checkout``."""
    idempotency = IdempotencyStore(checkout.db)

    async def call(
        name: str,
        arguments: dict[str, Any],
        scope: str,
        run: Callable[[str | None], dict[str, Any]],
        *,
        reenter: bool = False,
    ) -> dict[str, Any]:
        """``run`` gets the request's idempotency key (``None`` without one)."""
        try:
            meta, body = arguments["meta"], arguments.get("payload")
            check_version(meta.get("api_version"), "meta.api_version", "$.meta.api_version")
            _validate(name, arguments)
            key = meta.get("idempotency_key") if name != "get_checkout_session" else None
            if not key:
                return await anyio.to_thread.run_sync(run, None)
            checked = check_key(str(key), "meta.idempotency_key")
            answer = await run_once(
                idempotency,
                f"mcp {scope}",
                checked,
                fingerprint(body),
                lambda: (200, run(checked)),
                reenter=reenter,
            )
            answer.raise_error()
            return dict(answer.body)
        except Exception as exc:
            raise _acp_error(as_acp_error(exc, name)) from None

    async def create_checkout_session(meta: Meta, payload: Payload) -> dict[str, Any]:
        args = {"meta": meta, "payload": payload}
        return await call(
            "create_checkout_session", args, "create", lambda _: checkout.create(payload)
        )

    async def get_checkout_session(meta: Meta, id: SessionId) -> dict[str, Any]:
        args = {"meta": meta, "id": id}
        return await call("get_checkout_session", args, "get", lambda _: checkout.retrieve(id))

    async def update_checkout_session(
        meta: Meta, id: SessionId, payload: Payload
    ) -> dict[str, Any]:
        args = {"meta": meta, "id": id, "payload": payload}
        return await call(
            "update_checkout_session", args, f"update {id}", lambda _: checkout.update(id, payload)
        )

    async def complete_checkout_session(
        meta: Meta, id: SessionId, payload: Payload
    ) -> dict[str, Any]:
        args = {"meta": meta, "id": id, "payload": payload}
        return await call(
            "complete_checkout_session",
            args,
            f"complete {id}",
            # As over REST: the agent's key names its request; re-sent after a crash it is
            # answered with what its charge became; one still marked in flight runs again
            # (it settles the payment with Stripe, never sends a second one).
            lambda key: checkout.complete(id, payload, request_key=key),
            reenter=True,
        )

    async def cancel_checkout_session(
        meta: Meta, id: SessionId, payload: Payload | None = None
    ) -> dict[str, Any]:
        body = payload or {}
        args = {"meta": meta, "id": id} | ({"payload": payload} if payload is not None else {})
        return await call(
            "cancel_checkout_session", args, f"cancel {id}", lambda _: checkout.cancel(id, body)
        )

    async def get_order(
        order_id: Annotated[
            str, Field(min_length=1, max_length=64, description="Order id (order.id).")
        ],
    ) -> dict[str, Any]:
        """An order created by a completed checkout (ACP ``Order``): status, line items,
        totals and fulfillment. Order ids come from complete_checkout_session's result."""

        try:
            return await anyio.to_thread.run_sync(checkout.order, order_id)
        except Exception as exc:
            raise _acp_error(as_acp_error(exc, "get_order")) from None

    order_tool = Tool.from_function(
        get_order, name="get_order", title="Get order", annotations=_READ, structured_output=True
    )
    order_schema = tool_schemas()["complete_checkout_session"]["output_schema"]["$defs"]
    order_tool = SchemaTool.model_validate(
        {
            **{field: getattr(order_tool, field) for field in Tool.model_fields},
            "declared_output_schema": {**order_schema["Order"], "$defs": order_schema},
        }
    )
    return [
        _schema_tool(create_checkout_session, "create_checkout_session", "Create checkout", _WRITE),
        _schema_tool(get_checkout_session, "get_checkout_session", "Get checkout", _READ),
        _schema_tool(update_checkout_session, "update_checkout_session", "Update checkout", _WRITE),
        _schema_tool(
            complete_checkout_session,
            "complete_checkout_session",
            "Complete checkout (pay)",
            # Charges the shopper through the payment processor: an outside system.
            ToolAnnotations(
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=False,
                open_world_hint=True,
            ),
        ),
        _schema_tool(
            cancel_checkout_session,
            "cancel_checkout_session",
            "Cancel checkout",
            # Cancelling ends the session for good (a payment landing meanwhile is refunded).
            ToolAnnotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
        ),
        order_tool,
    ]
