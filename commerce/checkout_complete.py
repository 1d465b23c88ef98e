"""Completing (and refunding) a checkout session: the part that moves money.

The Stripe call happens between two short transactions, never while rows are locked:

1. lock the session, check it can be paid and which credential pays, mark it
   ``complete_in_progress`` with a lease, and keep its stock held through the payment;
2. confirm a PaymentIntent with a key derived from the session (a retry reuses it);
3. lock again and record the outcome: the order (stock committed, events, webhook) — or
   the session back to ``ready_for_payment`` with the reason.

If Stripe is unreachable the session returns to ``ready_for_payment`` untouched and the
agent gets ``service_unavailable``; the same request succeeds once Stripe is back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from connectors.stripe import ChargeResult, PaymentDeclined, PaymentError, PaymentUnavailable
from reelcart.models import (
    CheckoutSession,
    DelegatedPaymentToken,
    InventoryReservation,
    Order,
    utcnow,
)

from . import checkout_inventory as inventory
from .checkout_errors import AcpError
from .checkout_orders import (
    OrderPlaced,
    create_order,
    enqueue_order_event,
    order_view,
    run_order_hooks,
)
from .checkout_payments import aware, plan_payment
from .checkout_requests import CompleteRequest
from .checkout_session import session_view

if TYPE_CHECKING:
    from .checkout import CheckoutService

__all__ = ["complete_session", "refund_session"]

PAYMENT_LEASE = timedelta(seconds=60)
# Stock stays held at least this long once payment starts, whatever the session TTL.
PAYMENT_WINDOW = timedelta(minutes=10)
_AUTH_OK = ("authenticated", "attempt_acknowledged", "informational")


def _unavailable() -> AcpError:
    return AcpError(
        503,
        "payment_provider_unavailable",
        "The payment provider is unavailable; nothing was charged. Retry the same request.",
        type="service_unavailable",
        headers={"Retry-After": "5"},
    )


def _declined_message(content: str) -> dict[str, Any]:
    return {
        "type": "error",
        "code": "payment_declined",
        "severity": "high",
        "resolution": "requires_buyer_input",
        "param": "$.payment_data",
        "content_type": "plain",
        "content": content,
    }


def _prepare(
    service: CheckoutService, checkout_id: str, request: CompleteRequest
) -> tuple[Any, str | None]:
    """Transaction 1: validate and take the payment lease. Returns (plan, existing PI)."""
    from .checkout import _require_not_in_progress

    now = utcnow()
    with service._tx() as session:
        cs = service._load(session, checkout_id, now)
        _require_not_in_progress(cs, now)
        if cs.status == "completed":
            raise AcpError(400, "invalid_state", "the session is already completed")
        if cs.status in ("canceled", "expired"):
            raise AcpError(400, "invalid_state", f"the session is {cs.status}")
        pending = (cs.payment or {}).get("payment_intent")
        if cs.status == "authentication_required":
            if request.authentication_result is None:
                raise AcpError(
                    400,
                    "requires_3ds",
                    "This checkout session requires issuer authentication. The request must"
                    " include 'authentication_result' as provided by the issuer"
                    " authentication flow.",
                    param="$.authentication_result",
                )
        elif cs.status != "ready_for_payment":
            first = next((m for m in cs.messages if m.get("type") == "error"), None)
            code = (
                first["code"]
                if first and first["code"] == "out_of_stock"
                else "not_ready_for_payment"
            )
            raise AcpError(
                400,
                code,
                first["content"] if first else "the session is not ready for payment",
                param=first.get("param") if first else None,
            )
        if request.buyer is not None:
            cs.buyer = request.buyer.model_dump(exclude_none=True)
        plan = plan_payment(session, cs, request, service.settings, now)
        if service.payments is None:
            raise AcpError(
                503,
                "payments_not_configured",
                "payments are not configured",
                type="service_unavailable",
            )
        hold_until = max(aware(cs.expires_at) if cs.expires_at else now, now + PAYMENT_WINDOW)
        cs.expires_at = hold_until
        for hold in session.query(InventoryReservation).filter_by(
            checkout_session_id=cs.id, state="held"
        ):
            hold.expires_at = hold_until
        cs.payment = {
            **(cs.payment or {}),
            "previous_status": cs.status,
            "token": plan.token,
            "stripe_idempotency_key": plan.stripe_idempotency_key,
            "lease_until": (now + PAYMENT_LEASE).isoformat(),
        }
        cs.status = "complete_in_progress"
        return plan, pending if cs.payment.get(
            "previous_status"
        ) == "authentication_required" else None


def _restore(
    service: CheckoutService,
    checkout_id: str,
    status: str,
    message: dict[str, Any] | None = None,
    **payment: Any,
) -> None:
    with service._tx() as session:
        cs = service._load(session, checkout_id, utcnow())
        if cs.status != "complete_in_progress":
            return
        cs.status = status
        cs.payment = {**(cs.payment or {}), **payment, "lease_until": None}
        if message is not None:
            cs.messages = [m for m in cs.messages if m.get("code") != message["code"]] + [message]


def complete_session(service: CheckoutService, checkout_id: str, body: Any) -> dict[str, Any]:
    """``POST /checkout_sessions/{id}/complete``."""
    from .checkout import parse

    request = parse(CompleteRequest, body)
    plan, pending = _prepare(service, checkout_id, request)
    assert service.payments is not None
    currency = None
    try:
        if pending is not None:
            # After 3-D Secure: the buyer authenticated with the issuer; see where the
            # PaymentIntent stands rather than charging again.
            auth = request.authentication_result
            if auth is None or auth.outcome not in _AUTH_OK:
                _restore(
                    service,
                    checkout_id,
                    "ready_for_payment",
                    _declined_message("Card authentication failed."),
                    payment_intent=None,
                )
                raise AcpError(
                    402,
                    "payment_declined",
                    "card authentication failed",
                    param="$.authentication_result",
                )
            result: ChargeResult = service.payments.retrieve(pending)
        else:
            with service._tx() as session:
                cs = session.get(CheckoutSession, checkout_id)
                assert cs is not None
                amount = int(next(t["amount"] for t in cs.totals if t["type"] == "total"))
                currency = cs.currency
            result = service.payments.charge(
                amount=amount,
                currency=currency,
                idempotency_key=plan.stripe_idempotency_key,
                payment_method=plan.payment_method,
                shared_payment_token=plan.shared_payment_token,
                metadata={"checkout_session_id": checkout_id},
            )
    except PaymentUnavailable:
        _restore(
            service, checkout_id, "authentication_required" if pending else "ready_for_payment"
        )
        raise _unavailable() from None
    except PaymentDeclined as exc:
        _restore(
            service,
            checkout_id,
            "ready_for_payment",
            _declined_message(f"Your payment was declined ({exc.code})."),
            payment_intent=None,
        )
        raise AcpError(
            402,
            "payment_declined",
            f"the payment was declined ({exc.code})",
            param="$.payment_data",
        ) from None
    except PaymentError as exc:
        _restore(
            service, checkout_id, "authentication_required" if pending else "ready_for_payment"
        )
        raise AcpError(
            502,
            "payment_failed",
            f"the payment provider refused the request: {exc}",
            type="processing_error",
        ) from None
    if result.status == "requires_action":
        _restore(
            service, checkout_id, "authentication_required", payment_intent=result.payment_intent_id
        )
        raise AcpError(
            402,
            "authentication_required",
            "The card issuer requires 3-D Secure authentication; authenticate the buyer and "
            "complete again with authentication_result.",
            param="$.authentication_result",
        )
    if not result.succeeded:
        _restore(
            service,
            checkout_id,
            "ready_for_payment",
            _declined_message("Your payment was not completed."),
            payment_intent=None,
        )
        raise AcpError(
            402, "payment_declined", f"the payment ended {result.status}", param="$.payment_data"
        )
    return _finish(service, checkout_id, plan.token, result)


def _finish(
    service: CheckoutService, checkout_id: str, token: str, result: ChargeResult
) -> dict[str, Any]:
    """Transaction 2: the sale — stock committed, order, events, webhook in the outbox."""
    now = utcnow()
    with service._tx() as session:
        cs = session.get(CheckoutSession, checkout_id, with_for_update=True, populate_existing=True)
        assert cs is not None
        order = session.query(Order).filter_by(checkout_session_id=cs.id).one_or_none()
        if order is None:
            inventory.commit_holds(session, cs.id)
            order = create_order(session, cs, result.payment_intent_id)
            vault = session.get(DelegatedPaymentToken, token)
            if vault is not None:
                vault.used_at = now
            enqueue_order_event(session, order, "order_create", service.base_url)
        cs.status = "completed"
        cs.completed_at = now
        cs.messages = []
        cs.payment = {
            **(cs.payment or {}),
            "payment_intent": result.payment_intent_id,
            "lease_until": None,
        }
        view = session_view(cs, service.settings, order_view(order, service.base_url))
        placed = OrderPlaced(
            order_id=order.id,
            checkout_session_id=cs.id,
            currency=order.currency,
            total_minor=order.total_minor,
            line_items=list(order.line_items),
            buyer=dict(cs.buyer),
            fulfillment_details=dict(cs.fulfillment),
            payment_reference=result.payment_intent_id,
        )
    _after_order(service, placed)
    return view


def _after_order(service: CheckoutService, placed: OrderPlaced) -> None:
    external = run_order_hooks(service.order_hooks, placed)
    if external and placed.kind == "created":
        with service.db.session() as session:
            order = session.get(Order, placed.order_id)
            if order is not None and not order.external_order_id:
                order.external_order_id = external
    if service.on_order_event is not None:
        service.on_order_event()


def refund_session(
    service: CheckoutService, checkout_id: str, payment_intent: str | None, intent_trace: Any
) -> dict[str, Any]:
    """Cancel a paid session: refund in full, restock, order ``canceled``, ``order_update``."""
    if payment_intent is None or service.payments is None:
        raise AcpError(405, "not_cancelable", "the session was not paid through Stripe")
    try:
        refund_id = service.payments.refund(
            payment_intent, idempotency_key=f"reelcart:{checkout_id}:refund"
        )
    except PaymentUnavailable:
        raise _unavailable() from None
    except PaymentError as exc:
        raise AcpError(
            502, "refund_failed", f"the refund failed: {exc}", type="processing_error"
        ) from None
    with service._tx() as session:
        cs = service._load(session, checkout_id, utcnow())
        order = session.query(Order).filter_by(checkout_session_id=cs.id).one()
        if cs.status == "completed":
            inventory.restock(session, cs.id)
            cs.status = "canceled"
            cs.extra = {**cs.extra, "intent_trace": intent_trace}
            cs.payment = {**(cs.payment or {}), "refund": refund_id}
            order.status = "canceled"
            order.refunded_minor = order.total_minor
            enqueue_order_event(session, order, "order_update", service.base_url)
        view = session_view(cs, service.settings, order_view(order, service.base_url))
        placed = OrderPlaced(
            order_id=order.id,
            checkout_session_id=cs.id,
            currency=order.currency,
            total_minor=order.total_minor,
            line_items=list(order.line_items),
            payment_reference=refund_id,
            kind="canceled",
        )
    _after_order(service, placed)
    return view
