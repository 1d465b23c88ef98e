"""The shoppable video inside the chat: an MCP App (``io.modelcontextprotocol/ui``).

``get_product`` links the ``ui://`` showcase page; a host that negotiated Apps renders it
with the tool's result, plays the allocated creative (poster, captions, its own aspect) and
offers the variants with their catalog prices. Everything the page does goes through the
host bridge as tool calls: ``record_video_event`` (a view or click of that creative),
``create_checkout`` and, where the host pays, ``pay_checkout``. ``delegate_test_payment``
stands in for the wallet a host with payments would hand over; it exists only in test mode
(a Stripe emulator or a test-mode key), where the REST Delegate Payment API does too.
Without it the Buy button opens the checkout's ``continue_url``, the store's own page. The
app tools are visible to the app only, and listed only to hosts that negotiated MCP Apps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Literal
from urllib.parse import urlsplit

import anyio
from mcp.server.apps import Apps, ResourceCsp
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from commerce.checkout.delegate import delegate_payment, delegate_payment_enabled
from commerce.checkout.errors import CheckoutError
from commerce.checkout.payments import total_minor
from commerce.checkout.service import CheckoutService
from experiments.tracking import find_exposure, record_click, record_exposure
from reelcart.db import Database
from reelcart.models import CheckoutSession, Creative, utcnow

__all__ = ["APP_ONLY_TOOLS", "APP_SOURCE", "APP_URI", "app_html", "register_app"]

# Tools only the App calls (``_meta.ui.visibility == ["app"]``).
APP_ONLY_TOOLS = ("record_video_event", "delegate_test_payment", "pay_checkout")

APP_URI = "ui://reelcart/showcase.html"
APP_SOURCE = "mcp-app"
# A test card: delegate_test_payment exists only against a Stripe emulator or test key.
_TEST_CARD = "4242424242424242"


def app_html() -> str:
    return files("app.mcp").joinpath("assets/showcase_app.html").read_text(encoding="utf-8")


class VideoEvent(BaseModel):
    kind: Literal["view", "click"]
    creative_id: str
    recorded: bool = Field(description="False when this shopper's event was already counted.")


class TestPaymentToken(BaseModel):
    token: str = Field(description="A vt_… delegated token for this session's total.")
    expires_at: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def register_app(
    apps: Apps, db: Database, media_base_url: str, checkout: CheckoutService | None
) -> None:
    """Add the showcase page and the tools it calls to ``apps``."""
    apps.add_html_resource(
        APP_URI,
        app_html(),
        name="showcase",
        title="Product video with Buy button",
        description="Plays the product's showcase video; Buy checks out through tool calls.",
        # The page loads the video, poster and captions from the media origin only.
        csp=ResourceCsp(resource_domains=[_origin(media_base_url)]),
        prefers_border=True,
    )

    @apps.tool(
        resource_uri=APP_URI,
        visibility=["app"],
        name="record_video_event",
        title="Record a video view or click",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,  # one view and one click per shopper and creative
            open_world_hint=False,
        ),
    )
    def record_video_event(
        kind: Annotated[Literal["view", "click"], Field(description="view: played; click: Buy.")],
        creative_id: Annotated[str, Field(min_length=1, max_length=64)],
        shopper_id: Annotated[str, Field(min_length=1, max_length=128)],
    ) -> VideoEvent:
        """Count a view (the video played) or a click (Buy pressed) of the creative shown."""
        with db.session() as session:
            creative = session.get(Creative, creative_id)
            if creative is None:
                raise ToolError(f"No creative {creative_id!r}; use get_product's creative_id.")
            # Only what the server showed is counted: a made-up shopper id never was, so it
            # cannot add views or clicks (get_product records the showing).
            shown = find_exposure(
                session, shopper_id, creative.product_id, utcnow(), creative_id=creative.id
            )
            if shown is None:
                raise ToolError(
                    f"Creative {creative_id!r} was not shown to shopper {shopper_id[:64]!r}; "
                    "use the shopper_id and creative_id get_product returned."
                )
            record = record_exposure if kind == "view" else record_click
            _, created = record(session, creative, shopper_id, APP_SOURCE)
        return VideoEvent(kind=kind, creative_id=creative_id, recorded=created)

    if checkout is None or not delegate_payment_enabled(checkout.settings):
        return

    @apps.tool(
        resource_uri=APP_URI,
        visibility=["app"],
        name="delegate_test_payment",
        title="Test-mode payment token",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    async def delegate_test_payment(
        checkout_session_id: Annotated[str, Field(min_length=1, max_length=255)],
    ) -> TestPaymentToken:
        """A delegated test-card token limited to this session's total (test mode only)."""

        def issue() -> TestPaymentToken:
            with db.session() as session:
                cs = session.get(CheckoutSession, checkout_session_id)
                if cs is None:
                    raise ToolError(f"No checkout session {checkout_session_id!r}")
                total = total_minor(cs)
                currency = cs.currency
            expires = datetime.now(UTC) + timedelta(minutes=15)
            body = {
                "payment_method": {
                    "type": "card",
                    "card_number_type": "fpan",
                    "number": _TEST_CARD,
                    "exp_month": "12",
                    "exp_year": str(expires.year + 3),
                    "cvc": "123",
                },
                "allowance": {
                    "reason": "one_time",
                    "max_amount": total,
                    "currency": currency.lower(),
                    "checkout_session_id": checkout_session_id,
                    "merchant_id": "reelcart",
                    "expires_at": expires.isoformat(),
                },
                "risk_signals": [],
                "metadata": {"source": APP_SOURCE},
            }
            try:
                issued = delegate_payment(
                    db, checkout.settings, checkout.payments, body, f"app-{checkout_session_id}"
                )
            except CheckoutError as error:
                raise ToolError(f"{error.code}: {error.message}") from None
            return TestPaymentToken(token=issued["id"], expires_at=expires.isoformat())

        return await anyio.to_thread.run_sync(issue)

    @apps.tool(
        resource_uri=APP_URI,
        visibility=["app"],
        name="pay_checkout",
        title="Pay with a delegated token",
        # Charges the card through Stripe: an outside system.
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    async def pay_checkout(
        checkout_id: Annotated[str, Field(min_length=1, max_length=255)],
        token: Annotated[str, Field(min_length=1, max_length=255)],
    ) -> dict[str, str]:
        """Pay a ready checkout with a delegated payment token (vt_… or spt_…)."""
        body = {
            "payment_data": {
                "handler_id": "card_tokenized",
                "instrument": {"type": "card", "credential": {"type": "spt", "token": token}},
            }
        }
        try:
            view = await anyio.to_thread.run_sync(checkout.complete, checkout_id, body)
        except CheckoutError as error:
            raise ToolError(f"{error.code}: {error.message}") from None
        order = view.get("order") or {}
        return {"status": view["status"], "order_id": str(order.get("id", ""))}
