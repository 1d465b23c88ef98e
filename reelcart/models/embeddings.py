"""Stored sentence embeddings of the catalog, so serving processes never compute them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

__all__ = ["ProductEmbedding"]


class ProductEmbedding(Base):
    """One product's search vector, valid for the product version whose hash it records.

    Written at catalog sync. A row whose ``content_hash`` differs from the product's is
    checked by the next sync: when the embedded text is unchanged (a price or stock change)
    only the hash moves on; otherwise (or for another ``model``) the vector is recomputed.
    """

    __tablename__ = "product_embeddings"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    dim: Mapped[int] = mapped_column(Integer)
    # Little-endian float32, L2-normalised: portable between SQLite and PostgreSQL and read
    # back with one numpy call.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The lower-cased text that was embedded; search also matches query words against it.
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    embedded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
