"""Video publishing, staged uploads, order write-back and webhook signatures (no database)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.shopify.client import ScaledClock, ShopifyClient
from connectors.shopify.media import STAGED, creative_videos, delete_media, publish_video
from connectors.shopify.orders import OrderLine, create_shopify_order
from connectors.shopify.sanitize import product_from_node, sanitize_html
from connectors.shopify.webhook import sign_webhook, verify_webhook
from tests.fakes.shopify_server import FakeShopify
from tests.fakes.shopify_server import sign_webhook as fake_sign

CLOCK = ScaledClock(100)
PID = "gid://shopify/Product/1"


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=CLOCK, video_processing_s=3.0) as fake:
        fake.state.add_product(1)
        yield fake


def run(shop: FakeShopify, body: Any) -> Any:
    async def go() -> Any:
        async with ShopifyClient(
            shop.base_url, shop.state.access_token, "2026-10", clock=CLOCK, timeout_s=2
        ) as client:
            return await body(client)

    return asyncio.run(go())


def mp4(path: Path, valid: bool = True) -> Path:
    head = b"\x00\x00\x00\x18ftypisom" if valid else b"GIF89a-not-a-video--"
    path.write_bytes(head + bytes(range(256)) * 40)
    return path


def test_publish_is_idempotent_and_retire_removes_it(shop: FakeShopify, tmp_path: Path) -> None:
    video = mp4(tmp_path / "c.mp4")

    async def publish(client: ShopifyClient, known: str | None = None) -> Any:
        return await publish_video(
            client, PID, "crv_1", video, alt="Ad", known_media_id=known, poll_s=0.5
        )

    first = run(shop, publish)
    assert first.status == "READY" and first.uploaded
    again = run(shop, lambda c: publish(c, first.media_id))
    assert again.media_id == first.media_id and not again.uploaded
    lost = run(shop, publish)  # the stored id was lost: the marker finds the same video
    assert lost.media_id == first.media_id and not lost.uploaded
    videos = run(shop, lambda c: creative_videos(c, PID, "crv_1"))
    assert [v["id"] for v in videos] == [first.media_id]
    assert run(shop, lambda c: delete_media(c, [first.media_id])) == [first.media_id]
    assert run(shop, lambda c: delete_media(c, [first.media_id])) == [first.media_id]
    assert run(shop, lambda c: creative_videos(c, PID, "crv_1")) == []


def test_failed_processing_is_reported_and_replaced(shop: FakeShopify, tmp_path: Path) -> None:
    bad = mp4(tmp_path / "bad.mp4", valid=False)
    result = run(shop, lambda c: publish_video(c, PID, "crv_2", bad, alt="Ad", poll_s=0.5))
    assert result.status == "FAILED" and result.errors
    good = mp4(tmp_path / "good.mp4")
    fixed = run(shop, lambda c: publish_video(c, PID, "crv_2", good, alt="Ad", poll_s=0.5))
    assert fixed.status == "READY" and fixed.removed_duplicates == [result.media_id]


def test_staged_upload_rejects_a_wrong_size(shop: FakeShopify, tmp_path: Path) -> None:
    video = mp4(tmp_path / "c.mp4")

    async def upload(client: ShopifyClient) -> Any:
        staged = await client.mutate(
            STAGED,
            {
                "input": [
                    {
                        "resource": "VIDEO",
                        "filename": "c.mp4",
                        "mimeType": "video/mp4",
                        "fileSize": str(video.stat().st_size + 1),
                        "httpMethod": "POST",
                    }
                ]
            },
            "stagedUploadsCreate",
        )
        target = staged["stagedTargets"][0]
        fields = [(p["name"], p["value"]) for p in target["parameters"]]
        return await client.post_multipart(target["url"], fields, video, "video/mp4")

    response = run(shop, upload)
    assert response.status_code == 400 and "EntityTooSmall" in response.text


def test_order_write_back_happens_once(shop: FakeShopify) -> None:
    line = OrderLine("gid://shopify/ProductVariant/100", 2, 2400)

    async def create(client: ShopifyClient) -> str:
        return await create_shopify_order(
            client, reference="ord_1", lines=[line], currency="USD", creative_id="crv_9"
        )

    first, second = run(shop, create), run(shop, create)
    assert first == second and len(shop.state.orders) == 1
    order = shop.state.orders[first]
    assert "reelcart-creative:crv_9" in order["tags"]
    assert order["input"]["lineItems"][0]["priceSet"]["shopMoney"]["amount"] == "24.00"


def test_webhook_signature() -> None:
    body = b'{"id": 1}'
    assert sign_webhook(body, "s3cret") == fake_sign(body, "s3cret")
    assert verify_webhook(body, sign_webhook(body, "s3cret"), "s3cret")
    assert not verify_webhook(body + b" ", sign_webhook(body, "s3cret"), "s3cret")
    assert not verify_webhook(body, None, "s3cret")
    assert not verify_webhook(body, sign_webhook(body, ""), "")


def test_bad_input_is_sanitised_or_skipped() -> None:
    clean, notes = sanitize_html('<p onclick="x()">Hi<script>alert(1)</script></p>' + "x" * 30000)
    assert "script" not in clean and "onclick" not in clean and len(clean) <= 20000
    assert any("truncated" in n for n in notes)
    node: dict[str, Any] = {
        "id": "gid://shopify/Product/5",
        "handle": "p5",
        "title": "P5",
        "tags": [],
        "variants": {
            "nodes": [
                {"id": "v1", "title": "A", "price": None},
                {"id": "v2", "title": "B", "price": "3.999"},
            ]
        },
        "media": {"nodes": []},
    }
    skipped = product_from_node(node, "USD")
    assert skipped.product is None and any("no variant" in n for n in skipped.notes)
    node["variants"]["nodes"].append(
        {"id": "v3", "title": "C", "price": "4.00", "inventoryQuantity": -3}
    )
    node["media"]["nodes"] = [{"__typename": "MediaImage", "id": "m", "image": {"url": "ftp://x"}}]
    kept = product_from_node(node, "USD")
    assert kept.product is not None and [v.id for v in kept.product.variants] == ["v3"]
    assert kept.product.variants[0].inventory_quantity == 0 and kept.product.images == []


def test_oauth_install_with_shopify_api(shop: FakeShopify) -> None:
    import time as _time

    import shopify

    from connectors.shopify.client import ShopifyAuthError
    from connectors.shopify.oauth import exchange_code, permission_url

    secret = shop.state.api_secret
    url = permission_url(
        "fake-shop.myshopify.com", "key1", secret, "https://app/cb", "nonce", "2026-10"
    )
    assert url.startswith("https://fake-shop.myshopify.com/admin/oauth/authorize?")
    assert "state=nonce" in url and "write_products" in url
    params = {
        "code": "c0de",
        "shop": "fake-shop.myshopify.com",
        "timestamp": str(int(_time.time())),
    }
    shopify.Session.setup(api_key="key1", secret=secret)
    params["hmac"] = shopify.Session.calculate_hmac(params)
    assert exchange_code(shop.base_url, params, "key1", secret) == shop.state.access_token
    with pytest.raises(ShopifyAuthError):
        exchange_code(shop.base_url, dict(params, code="other"), "key1", secret)
