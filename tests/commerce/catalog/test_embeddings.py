"""Catalog embeddings: computed at sync for new or changed products only, stored, and read
(never computed) by serving processes; what a process keeps in memory never hides a catalog
or stock change made elsewhere."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from sqlalchemy import select, update

from commerce.catalog.embeddings import Encoder, from_bytes
from commerce.catalog.search import SemanticIndex, search_products
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product, ProductEmbedding, ProductVariant
from reelcart.settings import Settings
from tests.factories import make_product, write_catalog
from tests.servers import serve_on_loopback

MUG = "gid://shopify/Product/1"
BEANIE = "gid://shopify/Product/2"


def _products(beanie_title: str = "Merino Beanie") -> list[dict[str, object]]:
    return [
        make_product(1, title="Stoneware Mug", tags=["kitchen"]),
        make_product(2, title=beanie_title, tags=["winter", "hat"], price="45.00"),
        make_product(3, title="Over-Ear Headphones", price="129.00"),
    ]


def _sync(db: Database, store: MediaStore, folder: Path, products: list[dict[str, object]]):
    with db.session() as session:
        return sync_snapshot(session, load_catalog_file(write_catalog(folder, products)), store)


def _stored(db: Database) -> dict[str, tuple[str, bytes, object]]:
    with db.session() as session:
        rows = session.scalars(select(ProductEmbedding))
        return {r.product_id: (r.content_hash, r.vector, r.embedded_at) for r in rows}


def test_sync_embeds_only_new_or_changed_products(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    first = _sync(db, store, tmp_path, _products())
    assert sorted(first.embedded) == sorted([MUG, BEANIE, "gid://shopify/Product/3"])
    before = _stored(db)
    assert all(from_bytes(vector).shape == (384,) for _, vector, _ in before.values())

    again = _sync(db, store, tmp_path, _products())
    assert again.embedded == [] and _stored(db) == before

    cheaper = _products()
    cheaper[1]["variants"][0]["price"] = "39.00"  # type: ignore[index]
    repriced = _sync(db, store, tmp_path, cheaper)
    assert repriced.updated == [BEANIE] and repriced.embedded == []  # same text: vector kept
    assert _stored(db)[BEANIE][1:] == before[BEANIE][1:]
    changed = _sync(db, store, tmp_path, _products("Alpaca Wool Beanie"))
    assert changed.embedded == [BEANIE]
    after = _stored(db)
    assert after[MUG] == before[MUG]  # untouched row: same hash, vector and time
    assert after[BEANIE][0] != before[BEANIE][0] and after[BEANIE][1] != before[BEANIE][1]
    with db.session() as session:
        beanie = session.get(Product, BEANIE)
        assert beanie is not None and beanie.content_hash == after[BEANIE][0]


def test_products_synced_without_the_model_are_found_by_words_then_embedded(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    with db.session() as session:
        snapshot = load_catalog_file(write_catalog(tmp_path, _products()))
        assert sync_snapshot(session, snapshot, store, embed=False).embedded == []
    index = SemanticIndex(recheck_s=0.0)
    with db.session() as session:
        assert [p.id for p in search_products(session, "beanie", index=index)] == [BEANIE]
        assert search_products(session, "coffee cup", index=index) == []  # no vectors yet
    report = _sync(db, store, tmp_path, _products())  # the next sync fills them in
    assert len(report.embedded) == 3 and not report.changed
    with db.session() as session:
        assert search_products(session, "coffee cup", index=index)[0].id == MUG


def test_a_new_process_reads_vectors_and_embeds_only_queries(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _sync(db, store, tmp_path, _products())
    encoder = Encoder()  # what a freshly started process has
    index = SemanticIndex(encoder)
    with db.session() as session:
        assert index.warm(session) == "semantic"
        # warm: the model, the stored vectors and one query ("warm up"); no product
        assert encoder.by_purpose == {"query": 1}
        assert search_products(session, "coffee cup", index=index)[0].id == MUG
        assert search_products(session, "warm hat for winter", index=index)[0].id == BEANIE
    assert encoder.by_purpose == {"query": 3}


def test_changes_from_another_process_are_seen(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _sync(db, store, tmp_path, _products())
    index = SemanticIndex(recheck_s=3.0)  # trusts its ranking data for three seconds
    with db.session() as session:
        assert [p.id for p in search_products(session, "beanie", index=index)] == [BEANIE]
    # Another process sells the last beanie: stock is read fresh, never from memory.
    with db.session() as session:
        session.execute(update(ProductVariant).values(inventory_quantity=0))
        session.execute(update(Product).where(Product.id == BEANIE).values(status="ARCHIVED"))
    with db.session() as session:
        assert search_products(session, "beanie", index=index, in_stock_only=True) == []
        # ...and archives it: the answer is read fresh even while the index still ranks it.
        assert BEANIE in index.snapshot(session).ids
        assert search_products(session, "beanie", index=index) == []
    time.sleep(3.1)
    with db.session() as session:
        assert BEANIE not in index.snapshot(session).ids  # the index reloaded


def _rpc(method: str, params: Mapping[str, object]) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": method, "method": method, "params": params}


def test_server_start_embeds_nothing_and_serves_by_meaning_at_once(
    settings: Settings, tmp_path: Path
) -> None:
    from app.asgi import create_app  # the door is the one part here above the core

    db = Database(settings.resolved_database_url)
    db.migrate()
    store = MediaStore.from_settings(settings)
    _sync(db, store, tmp_path / "catalog", _products())
    encoder = Encoder.shared()
    catalog_texts = encoder.by_purpose.get("catalog", 0)
    headers = {
        "Authorization": "Bearer test-token",
        "Accept": "application/json, text/event-stream",
    }
    with serve_on_loopback(create_app(settings, db, store)) as url, httpx.Client() as client:
        assert client.get(f"{url}/healthz").json()["search"] == "semantic"
        assert encoder.by_purpose.get("catalog", 0) == catalog_texts  # start-up embeds none
        init = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        }
        started = client.post(f"{url}/mcp", json=_rpc("initialize", init), headers=headers)
        headers["Mcp-Session-Id"] = started.headers.get("mcp-session-id", "")
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        client.post(f"{url}/mcp", json=note, headers=headers)
        call = {"name": "search_products", "arguments": {"query": "a gift for tea time"}}
        reply = client.post(f"{url}/mcp", json=_rpc("tools/call", call), headers=headers)
    assert reply.status_code == 200, reply.text
    assert "Stoneware Mug" in reply.text
    assert encoder.by_purpose.get("catalog", 0) == catalog_texts
    db.dispose()
