"""Shopify publishing reads the video from the media store: a render made on one worker
publishes from another machine. The store is an S3 server on loopback (moto, real HTTP),
Shopify the GraphQL fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
from pydantic import SecretStr

from commerce.shopify.publish import publish_campaign_to_shopify, publish_creative_to_shopify
from commerce.shopify.sync import sync_shopify_catalog
from connectors.shopify.client import ScaledClock, ShopifyClient
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Campaign, Creative, ShopifyCreativeMedia
from reelcart.settings import Settings
from tests.fakes.shopify_server import FakeShopify

CLOCK = ScaledClock(200)
BUCKET = "publish-media"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from scripts.stack import free_port

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3fs.S3FileSystem(endpoint_url=endpoint, key="test", secret="test").mkdir(BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_store(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaStore]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_url,
    }.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # no client made for another endpoint
    yield MediaStore(f"s3://{BUCKET}/reelcart", "http://127.0.0.1:8787")
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, video_processing_s=0.5) as fake:
        fake.state.add_product(1)
        yield fake


def _rendered_on_another_machine(db: Database, store: MediaStore, tmp_path: Path) -> bytes:
    """A creative a worker rendered and published to the store; its disk is gone."""
    video = tmp_path / "worker-a" / "crv.mp4"
    video.parent.mkdir()
    data = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40
    video.write_bytes(data)
    key = store.put_file(video, "creatives/c1/crv_s3.mp4")
    video.unlink()
    with db.session() as session:
        campaign = Campaign(name="c1", plan={})
        session.add(campaign)
        session.flush()
        session.add(
            Creative(
                id="crv_s3",
                campaign_id=campaign.id,
                product_id="gid://shopify/Product/1",
                variant_key="hook=price",
                name="ad",
                factors={},
                status="published",
                render_hash="h1",
                video_path=str(video),  # the worker's path: not on this machine
                video_key=key,
            )
        )
    return data


def _uploads(shop: FakeShopify) -> list[bytes]:
    return [s["data"] for s in shop.state.staged.values() if "data" in s]


def test_a_render_from_another_worker_publishes_through_the_store(
    db: Database, s3_store: MediaStore, shop: FakeShopify, tmp_path: Path
) -> None:
    async def go(body: object) -> object:
        async with ShopifyClient(
            shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK
        ) as client:
            return await body(client)  # type: ignore[operator]

    asyncio.run(go(lambda c: sync_shopify_catalog(db, s3_store, c)))
    data = _rendered_on_another_machine(db, s3_store, tmp_path)
    # Read from the worker's local path, publishing cannot work here.
    with pytest.raises(ValueError, match="no published video"):
        asyncio.run(go(lambda c: publish_creative_to_shopify(db, c, "crv_s3", poll_s=0.2)))

    result = asyncio.run(
        go(
            lambda c: publish_creative_to_shopify(
                db, c, "crv_s3", poll_s=0.2, store=s3_store, cache_dir=tmp_path / "cache"
            )
        )
    )
    assert result.status == "READY" and result.uploaded  # type: ignore[attr-defined]
    assert _uploads(shop) == [data]  # Shopify received the bytes stored in the bucket


def test_the_flows_entry_point_publishes_from_the_configured_store(
    db: Database, s3_store: MediaStore, shop: FakeShopify, settings: Settings, tmp_path: Path
) -> None:
    async def sync() -> None:
        async with ShopifyClient(
            shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK
        ) as client:
            await sync_shopify_catalog(db, s3_store, client)

    asyncio.run(sync())
    data = _rendered_on_another_machine(db, s3_store, tmp_path)
    configured = settings.model_copy(
        update={
            "media_url": f"s3://{BUCKET}/reelcart",
            "shopify_shop": shop.base_url,
            "shopify_access_token": SecretStr(shop.state.access_token),
        }
    )
    counts = publish_campaign_to_shopify(db, configured, "c1")
    assert counts == {"ready": 1, "failed": 0, "retired": 0}
    assert _uploads(shop) == [data]
    with db.session() as session:
        row = session.get(ShopifyCreativeMedia, "crv_s3")
        assert row is not None and row.status == "READY"
