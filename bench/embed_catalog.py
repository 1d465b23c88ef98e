"""Benchmark: embedding the catalog at sync, once.

Syncs N products into a fresh database and times the embedding pass (products/s), then shows
what later syncs cost: an unchanged catalog embeds nothing, a price change keeps the
vectors, and only products whose text changed are embedded again. Last, a fresh index (a
new server process) reads the stored vectors and answers by meaning, embedding nothing but
the query.

    .venv/bin/python -m bench.embed_catalog --products 10000
    .venv/bin/python -m bench.embed_catalog --products 2000 --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.checkout import bench_catalog
from commerce.catalog.embeddings import Encoder, embed_catalog
from commerce.catalog.search import SemanticIndex, search_products
from commerce.catalog.store import sync_snapshot
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CatalogSnapshot


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _changed(snapshot: CatalogSnapshot, every: int, *, title: bool) -> CatalogSnapshot:
    data = snapshot.model_dump(mode="json", by_alias=True)
    for i, product in enumerate(data["products"]):
        if i % every == 0:
            if title:
                product["title"] += " (new edition)"
            else:
                product["variants"][0]["price"] = "1.00"
    return CatalogSnapshot.model_validate(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = Database(args.database_url or f"sqlite:///{root / 'embed.db'}")
        db.migrate()
        store = MediaStore(str(root / "media"), "http://127.0.0.1")
        snapshot = bench_catalog(args.products)
        with db.session() as session:
            sync_snapshot(session, snapshot, store, embed=False)
        Encoder.shared().load()
        import torch

        threads = torch.get_num_threads()
        wait = os.environ.get("OMP_WAIT_POLICY")
        print(
            f"{args.products} products, {os.cpu_count()} cores, torch threads {threads}, "
            f"OMP_WAIT_POLICY={wait}; before: {_load()}"
        )
        started = time.perf_counter()
        with db.session() as session:
            report = embed_catalog(session)
        seconds = time.perf_counter() - started
        print(
            f"  first sync: embedded {len(report.embedded)} in {seconds:.1f}s "
            f"= {len(report.embedded) / seconds:.0f} products/s ({_load()})"
        )
        for label, changed in (
            ("unchanged re-sync", snapshot),
            ("1% repriced", _changed(snapshot, 100, title=False)),
            ("1% retitled", _changed(snapshot, 100, title=True)),
        ):
            started = time.perf_counter()
            with db.session() as session:
                result = sync_snapshot(session, changed, store)
            print(
                f"  {label}: {len(result.updated)} updated, {len(result.embedded)} embedded "
                f"in {time.perf_counter() - started:.1f}s"
            )
        encoder = Encoder()
        encoder._model = Encoder.shared().load()  # a new process, its model loaded
        index = SemanticIndex(encoder)
        started = time.perf_counter()
        with db.session() as session:
            index.snapshot(session)
            loaded = time.perf_counter() - started
            found = search_products(session, "something to keep my tea hot", index=index)
        print(
            f"  new process: read {args.products} vectors in {loaded:.2f}s, embedded "
            f"{encoder.by_purpose} (the query only); first hit {found[0].title!r}"
        )
        db.dispose()


if __name__ == "__main__":
    main()
