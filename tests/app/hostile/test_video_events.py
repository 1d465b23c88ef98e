"""Views and clicks count only what the server showed: ``record_video_event`` with a
made-up shopper id (or a creative that shopper was never shown) counts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy import func, select

from app.mcp.server import build_mcp_server
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Event
from tests.commerce.acp_helpers import stock_shop
from tests.commerce.showcase_media import publish_playable_creative

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _events(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


async def test_made_up_shoppers_count_no_views_or_clicks(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    stock_shop(db, store, tmp_path)
    creative = publish_playable_creative(db, Path(store.root), "gid://shopify/Product/1")
    async with Client(build_mcp_server(db, store)) as client:
        before = _events(db)
        for n in range(20):
            event = {"creative_id": creative, "shopper_id": f"made-up-{n}"}
            for kind in ("view", "click"):
                answer = await client.call_tool("record_video_event", {"kind": kind, **event})
                assert answer.is_error
        assert _events(db) == before
        shown = (
            await client.call_tool("get_product", {"product_id": "product-1"})
        ).structured_content
        event = {"creative_id": creative, "shopper_id": shown["shopper_id"]}
        click = await client.call_tool("record_video_event", {"kind": "click", **event})
        assert click.structured_content["recorded"] is True
    assert _events(db) == before + 2  # the impression get_product recorded, and the click
