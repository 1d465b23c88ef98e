"""The UCP parts both doors share (REST and the MCP binding), built once over the checkout
core: the checkout capability, orders, the catalog, the signing key, profiles, the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commerce.checkout.service import CheckoutService
from connectors.safe_fetch import FetchPolicy
from reelcart.settings import Settings

from .carts import CartDesk
from .catalog import Catalog
from .checkout import UcpCheckout
from .orders import OrderDesk, ucp_order_hook, ucp_order_recorder
from .outbound import FetchBounds
from .profiles import ProfileCache
from .signatures import SigningKey
from .webhooks import UcpWebhookDispatcher

__all__ = ["UcpParts", "build_ucp"]


@dataclass
class UcpParts:
    """What the UCP doors share: the checkout capability, orders, keys, profiles, outbox."""

    checkout: UcpCheckout
    carts: CartDesk
    orders: OrderDesk
    catalog: Catalog
    key: SigningKey
    profiles: ProfileCache
    dispatcher: UcpWebhookDispatcher
    settings: Settings

    def order_hook(self) -> Any:
        """Register with the checkout core: sends a new order's ``order_placed`` at once
        (the record and the event were written with the order, see :func:`build_ucp`)."""
        return ucp_order_hook(self.checkout.db, self.dispatcher.send_now)


def build_ucp(service: CheckoutService) -> UcpParts:
    """The UCP parts over the checkout core ``service``."""
    settings = service.settings
    key_path = settings.ucp_signing_key_path or settings.data_dir / "ucp" / "signing_key.pem"
    key = SigningKey.load_or_create(key_path)
    profiles = ProfileCache(
        FetchPolicy.from_settings(settings),
        FetchBounds(deadline_s=settings.ucp_profile_deadline_s),
        settings.ucp_profile_overrides,
    )
    business = f"{settings.resolved_public_base_url}/.well-known/ucp"
    dispatcher = UcpWebhookDispatcher(service.db, profiles, key, business)
    # A UCP checkout's order record and order_placed commit with the order itself.
    service.order_recorders.append(ucp_order_recorder(settings))
    return UcpParts(
        checkout=UcpCheckout(service),
        carts=CartDesk(service.db, settings),
        orders=OrderDesk(service.db, settings, dispatcher.send_now, profiles),
        catalog=Catalog(service.db, service.store),
        key=key,
        profiles=profiles,
        dispatcher=dispatcher,
        settings=settings,
    )
