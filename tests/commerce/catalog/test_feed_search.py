"""Feed push to a loopback receiver (validated against schema.feed.json); semantic search."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commerce.catalog.embeddings import Encoder
from commerce.catalog.feed import build_feed_products, publish_feed, write_full_feed
from commerce.catalog.search import SemanticIndex, search_products
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Campaign, Creative
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_settings, require_spec, validate
from tests.factories import make_product, write_catalog
from tests.servers import serve_on_loopback

FEED = "schema.feed.json"


def _shop(db: Database, store: MediaStore, folder: Path) -> None:
    products = [
        make_product(1, title="Stoneware Mug", price="24.00", tags=["kitchen"]),
        make_product(2, title="Insulated Water Bottle", price="32.50", stock=0),
        make_product(3, title="Merino Beanie", price="45.00", tags=["winter", "hat"]),
        make_product(4, title="Over-Ear Headphones", price="129.00"),
    ]
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(folder, products)), store)
        campaign = Campaign(name="c", plan={})
        session.add(campaign)
        session.flush()
        session.add(
            Creative(
                id="crv_1",
                campaign_id=campaign.id,
                product_id="gid://shopify/Product/1",
                variant_key="hook=a",
                name="a",
                factors={},
                status="published",
                video_key="creatives/c/crv_1.mp4",
                poster_key="creatives/c/crv_1.jpg",
                width=1080,
                height=1920,
            )
        )


def test_feed_push_validates_against_the_schema(
    db: Database, store: MediaStore, settings: Settings, tmp_path: Path
) -> None:
    # The receiver validates inside its handler, where a missing spec could only be a 500.
    require_spec()
    _shop(db, store, tmp_path)
    received: list[dict] = []

    async def create(request: Request) -> Response:
        assert request.headers["authorization"] == "Bearer feed-token"
        body = await request.json()
        validate("CreateFeedRequest", body, FEED)
        return JSONResponse({"id": "feed_1", "target_country": body["target_country"]}, 201)

    async def upsert(request: Request) -> Response:
        body = await request.json()
        validate("UpsertProductsRequest", body, FEED)
        received.append(body)
        return JSONResponse({"id": request.path_params["id"], "accepted": True})

    receiver = Starlette(
        routes=[
            Route("/feeds", create, methods=["POST"]),
            Route("/feeds/{id}/products", upsert, methods=["PATCH"]),
        ]
    )
    with serve_on_loopback(receiver) as url:
        feed_settings = acp_settings(settings, None, acp_feed_url=url, acp_feed_token="feed-token")
        result = publish_feed(db, store, feed_settings)
    assert result == {"id": "feed_1", "accepted": True}
    products = {p["id"]: p for p in received[0]["products"]}
    assert len(products) == 4
    mug = products["gid://shopify/Product/1"]
    assert mug["media"][0]["type"] == "video" and mug["media"][0]["url"].endswith("crv_1.mp4")
    assert mug["variants"][0]["price"] == {"amount": 2400, "currency": "USD"}
    assert products["gid://shopify/Product/2"]["variants"][0]["availability"]["available"] is False
    assert publish_feed(db, store, settings) is None  # not configured: nothing sent

    with db.session() as session:
        full = build_feed_products(session, store, feed_settings)
    folder = write_full_feed(tmp_path / "feed", "feed_1", full, feed_settings)
    validate("FeedMetadata", json.loads((folder / "metadata.json").read_text()), FEED)
    for line in (folder / "products.jsonl").read_text().splitlines():
        validate("Product", json.loads(line), FEED)


def test_semantic_search_with_filters_and_keyword_fallback(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _shop(db, store, tmp_path)
    with db.session() as session:
        titles = [p.title for p in search_products(session, "coffee cup")]
        assert titles[0] == "Stoneware Mug"  # no shared word: found by meaning
        beanie = search_products(session, "warm hat for winter")
        assert beanie[0].title == "Merino Beanie"
        music = search_products(session, "listen to music", min_price_minor=10000)
        assert [p.title for p in music] == ["Over-Ear Headphones"]
        assert search_products(session, "listen to music", max_price_minor=5000)[:1] != music
        stocked = search_products(session, "water bottle", in_stock_only=True)
        assert "Insulated Water Bottle" not in [p.title for p in stocked]
        no_model = Encoder()
        no_model._failed = True  # the model cannot load: keyword search answers
        offline = SemanticIndex(no_model)
        assert [p.title for p in search_products(session, "mug", index=offline)] == [
            "Stoneware Mug"
        ]
        assert search_products(session, "coffee cup", index=offline) == []


def test_serving_search_never_waits_for_the_model(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    import time

    _shop(db, store, tmp_path)
    index = SemanticIndex(Encoder())  # a process whose model has not loaded yet
    with db.session() as session:
        assert search_products(session, "coffee cup", index=index, wait=False) == []  # keywords
    deadline = time.monotonic() + 120
    while not index.encoder.loaded and time.monotonic() < deadline:
        time.sleep(0.05)
    with db.session() as session:
        found = search_products(session, "coffee cup", index=index, wait=False)
    assert found[0].title == "Stoneware Mug"
    assert index.encoder.texts == 1  # the query only: the catalog was embedded at sync


def test_repeated_queries_are_embedded_once(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    _shop(db, store, tmp_path)
    encoder = Encoder()
    encoder._model = Encoder.shared().load()
    index = SemanticIndex(encoder)
    with db.session() as session:
        first = [p.title for p in search_products(session, "coffee cup", index=index)]
        again = [p.title for p in search_products(session, "  Coffee   CUP ", index=index)]
        cheap = [
            p.title for p in search_products(session, "coffee cup", index=index, max_price_minor=1)
        ]
    assert first == again and first[0] == "Stoneware Mug"
    assert cheap == []  # the price filter applies to the in-memory matrix too
    assert (encoder.calls, encoder.texts) == (1, 1)
