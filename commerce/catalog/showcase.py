"""Showing a product to a shopper: pick its creative and count the impression."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from experiments.allocation import choose_for_subject
from experiments.events import record_event
from reelcart.domain import CreativeStatus, EventKind
from reelcart.models import Creative, Product

__all__ = ["live_creatives", "show_creative"]


def live_creatives(session: Session, product_id: str) -> list[Creative]:
    """Published creatives of a product, across campaigns."""
    return list(
        session.scalars(
            select(Creative).where(
                Creative.product_id == product_id,
                Creative.status == CreativeStatus.PUBLISHED.value,
            )
        )
    )


def show_creative(session: Session, product: Product | str, subject: str | None) -> Creative | None:
    """Choose the creative ``subject`` sees for ``product`` (a row or an id) and record the
    impression.

    The same subject keeps its variant (sticky); an anonymous call gets a fresh subject,
    so it is counted but not remembered.
    """
    subject = subject or f"anon_{uuid.uuid4().hex}"
    product_id = product if isinstance(product, str) else product.id
    # Allocation weights from the experiment (sticky per subject, see experiments.allocation).
    creative = choose_for_subject(session, live_creatives(session, product_id), subject, product_id)
    if creative is not None:
        record_event(
            session,
            EventKind.IMPRESSION,
            # One impression per subject and creative: re-viewing is not a new exposure.
            dedupe_key=f"impression:{subject}:{creative.id}",
            creative_id=creative.id,
            product_id=product_id,
            subject=subject,
        )
    return creative
