"""Publishing a creative to its Shopify product as a video, and taking it down again.

``stagedUploadsCreate`` (resource VIDEO with the exact byte size) → multipart POST to the
staged target → ``productUpdate`` with the media → poll ``Video.status`` until READY or
FAILED. Every video reelcart attaches carries a marker with the creative id in its alt
text, so a retry after a crash finds the video it already made instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import ShopifyClient, ShopifyError, ShopifyUserError

__all__ = [
    "PublishedVideo",
    "creative_videos",
    "delete_media",
    "media_marker",
    "publish_video",
    "upload_staged",
    "wait_until_processed",
]

STAGED = """
mutation ReelcartStage($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""
ATTACH = """
mutation ReelcartAttach($product: ProductUpdateInput!, $media: [CreateMediaInput!]) {
  productUpdate(product: $product, media: $media) {
    product { id media(first: 100, query: "media_type:VIDEO") { nodes { id alt status } } }
    userErrors { field message }
  }
}"""
VIDEOS = """
query ReelcartVideos($id: ID!) {
  product(id: $id) { id media(first: 100, query: "media_type:VIDEO") { nodes { id alt status } } }
}"""
STATUS = """
query ReelcartVideoStatus($id: ID!) {
  node(id: $id) { id ... on Video { status mediaErrors { code message } sources { url } } }
}"""
DELETE = """
mutation ReelcartDeleteMedia($ids: [ID!]!) {
  fileDelete(fileIds: $ids) { deletedFileIds userErrors { field message code } }
}"""


def media_marker(creative_id: str) -> str:
    """The tag in a video's alt text that ties it to a creative."""
    return f"[reelcart:{creative_id}]"


@dataclass
class PublishedVideo:
    """Where a creative's video stands on Shopify."""

    media_id: str
    status: str  # READY, FAILED, PROCESSING (timed out waiting)
    errors: list[str] = field(default_factory=list)
    uploaded: bool = False
    removed_duplicates: list[str] = field(default_factory=list)


async def creative_videos(
    client: ShopifyClient, product_id: str, creative_id: str
) -> list[dict[str, Any]]:
    """The product's videos that belong to ``creative_id``, oldest first."""
    data = await client.execute(VIDEOS, {"id": product_id})
    product = data.get("product")
    if product is None:
        raise ShopifyError(f"product {product_id} does not exist in Shopify")
    marker = media_marker(creative_id)
    return [m for m in product["media"]["nodes"] if marker in (m.get("alt") or "")]


async def upload_staged(client: ShopifyClient, path: Path, mime_type: str = "video/mp4") -> str:
    """Upload a file through a staged target; returns the ``resourceUrl`` to attach."""
    size = path.stat().st_size
    payload = await client.mutate(
        STAGED,
        {
            "input": [
                {
                    "resource": "VIDEO",
                    "filename": path.name,
                    "mimeType": mime_type,
                    "fileSize": str(size),
                    "httpMethod": "POST",
                }
            ]
        },
        "stagedUploadsCreate",
    )
    target = payload["stagedTargets"][0]
    fields = [(p["name"], p["value"]) for p in target["parameters"]]
    response = await client.post_multipart(target["url"], fields, path, mime_type)
    if response.status_code >= 300:
        raise ShopifyError(
            f"staged upload rejected (HTTP {response.status_code}): {response.text[:300]}"
        )
    return str(target["resourceUrl"])


async def wait_until_processed(
    client: ShopifyClient, media_id: str, *, poll_s: float = 2.0, timeout_s: float = 900.0
) -> PublishedVideo:
    """Poll a video until Shopify has processed it: READY, or FAILED with its errors."""
    waited = 0.0
    while True:
        node = (await client.execute(STATUS, {"id": media_id})).get("node")
        if node is None:
            raise ShopifyError(f"video {media_id} disappeared while processing")
        status = str(node.get("status"))
        if status in ("READY", "FAILED"):
            errors = [f"{e['code']}: {e['message']}" for e in node.get("mediaErrors") or []]
            return PublishedVideo(media_id, status, errors)
        if waited >= timeout_s:
            return PublishedVideo(media_id, status, [f"still {status} after {timeout_s:.0f}s"])
        await client.clock.sleep(poll_s)
        waited += poll_s


async def delete_media(client: ShopifyClient, media_ids: list[str]) -> list[str]:
    """Delete media; ids already gone count as deleted (so retiring twice is harmless)."""
    if not media_ids:
        return []
    try:
        payload = await client.mutate(DELETE, {"ids": media_ids}, "fileDelete")
    except ShopifyUserError as exc:
        missing = [e for e in exc.errors if e.get("code") == "FILE_DOES_NOT_EXIST"]
        if len(missing) != len(exc.errors):
            raise
        gone = {i for i in media_ids if any(i in str(e.get("message")) for e in missing)}
        rest = [i for i in media_ids if i not in gone]
        return [*gone, *(await delete_media(client, rest) if rest else [])]
    return list(payload.get("deletedFileIds") or [])


async def publish_video(
    client: ShopifyClient,
    product_id: str,
    creative_id: str,
    path: Path,
    *,
    alt: str,
    known_media_id: str | None = None,
    replace: bool = False,
    poll_s: float = 2.0,
    timeout_s: float = 900.0,
) -> PublishedVideo:
    """Make the product carry exactly one processed video of this creative.

    Reuses the video already there (the known id, or one found by its marker after a
    crash) unless ``replace`` (a re-render); extra or failed copies are deleted.
    """
    mine = await creative_videos(client, product_id, creative_id)
    keep: dict[str, Any] | None = None
    if not replace:
        usable = [m for m in mine if m.get("status") != "FAILED"]
        keep = next((m for m in usable if m["id"] == known_media_id), None)
        keep = keep or (usable[-1] if usable else None)
    extra = [m["id"] for m in mine if keep is None or m["id"] != keep["id"]]
    removed = await delete_media(client, extra)
    if keep is not None:
        result = await wait_until_processed(client, keep["id"], poll_s=poll_s, timeout_s=timeout_s)
        result.removed_duplicates = removed
        return result
    resource_url = await upload_staged(client, path)
    marked_alt = f"{alt} {media_marker(creative_id)}"[-512:]
    payload = await client.mutate(
        ATTACH,
        {
            "product": {"id": product_id},
            "media": [
                {"originalSource": resource_url, "mediaContentType": "VIDEO", "alt": marked_alt}
            ],
        },
        "productUpdate",
    )
    nodes = payload["product"]["media"]["nodes"]
    created = [m for m in nodes if media_marker(creative_id) in (m.get("alt") or "")]
    if not created:
        raise ShopifyError(f"Shopify did not attach the video to {product_id}")
    result = await wait_until_processed(
        client, created[-1]["id"], poll_s=poll_s, timeout_s=timeout_s
    )
    result.uploaded = True
    result.removed_duplicates = removed
    return result
