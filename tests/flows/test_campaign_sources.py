"""Campaigns on the store's own catalog: Shopify as the source, targets, and file syncs that
archive only what their own store delivered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.shopify.client import ScaledClock
from flows import common
from flows.campaign import run_campaign
from flows.common import database
from reelcart.models import Campaign, Creative, Product
from reelcart.settings import get_settings
from tests.factories import make_product, write_catalog
from tests.fakes.shopify_server import FakeShopify

from .artifacts import artifact_rows

pytestmark = pytest.mark.xdist_group("prefect")


@pytest.fixture
def shop(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShopify]:
    with FakeShopify(clock=ScaledClock(200), restore_rate=100, video_processing_s=0.2) as fake:
        monkeypatch.setenv("REELCART_SHOPIFY_SHOP", fake.base_url)
        monkeypatch.setenv("REELCART_SHOPIFY_ACCESS_TOKEN", fake.state.access_token)
        get_settings.cache_clear()
        common.clear_caches()
        yield fake


def _shop_file(folder: Path, shop: str, numbers: list[int], tags: list[str] | None = None) -> Path:
    path = write_catalog(folder, [make_product(n, tags=tags) for n in numbers])
    data = json.loads(path.read_text())
    data["shop"]["name"] = shop
    path.write_text(json.dumps(data))
    return path


def _state() -> dict[str, tuple[str, str, list[str]]]:
    """Each product: status, source, and its creatives' statuses by campaign."""
    with database().session() as session:
        out = {}
        for p in session.scalars(select(Product)).all():
            statuses = session.execute(
                select(Campaign.name, Creative.status)
                .join(Campaign)
                .where(Creative.product_id == p.id)
                .order_by(Campaign.name)
            ).all()
            out[p.id] = (p.status, p.source, [f"{c}:{s}" for c, s in statuses])
        return out


def test_shopify_campaign_on_a_target_and_file_syncs_that_leave_it_alone(
    shop: FakeShopify, tmp_path: Path
) -> None:
    for n in (1, 2, 3):
        shop.state.add_product(n, variants=1, images=1)
    ids = [f"gid://shopify/Product/{n}" for n in (1, 2)]
    result = run_campaign(
        campaign="shopify-spring", source="shopify", max_variants=1, target={"ids": ids}
    )
    assert result["rendered"] == 2
    state = _state()
    assert {pid: s[:2] for pid, s in state.items()} == {
        f"gid://shopify/Product/{n}": ("ACTIVE", "shopify") for n in (1, 2, 3)
    }
    # Only the targeted products got creatives; the third is untouched.
    assert [state[pid][2] for pid in ids] == [["shopify-spring:published"]] * 2
    assert state["gid://shopify/Product/3"][2] == []
    children = artifact_rows("shopify-spring-children")
    assert sorted(r["products"] for r in children) == sorted(ids)
    assert all(r["rendered"] == 1 and r["failed"] == "" for r in children)

    # Another store's export file: a campaign on its "sale" products only.
    other = _shop_file(tmp_path / "other", "Other Shop", [50, 51], tags=["sale"])
    run_campaign(
        campaign="other-sale",
        catalog_path=str(other),
        max_variants=1,
        target={"tags": ["SALE"]},
    )
    # A later export of that store lacks product 51: only that product is archived.
    later = _shop_file(tmp_path / "other", "Other Shop", [50], tags=["sale"])
    result = run_campaign(
        campaign="other-sale", catalog_path=str(later), max_variants=1, target={"tags": ["sale"]}
    )
    assert result["catalog"]["archived"] == 1  # type: ignore[index]
    assert result["rendered"] == 0  # product 50's creative exists: nothing is re-rendered
    state = _state()
    assert state["gid://shopify/Product/51"][:2] == ("ARCHIVED", "file:other-shop")
    assert state["gid://shopify/Product/51"][2] == ["other-sale:retired"]
    assert state["gid://shopify/Product/50"] == (
        "ACTIVE",
        "file:other-shop",
        ["other-sale:published"],
    )
    for pid in ids:  # the Shopify campaign's ads are untouched by both file syncs
        assert state[pid] == ("ACTIVE", "shopify", ["shopify-spring:published"])
