"""Sizes bounded in and out (real sockets): a catalog's huge product description is cut
at sync to what a store keeps, and an anonymous catalog search answers with a bounded
description, not megabytes per product."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce.catalog.product_text import MAX_DESCRIPTION_HTML, MAX_DESCRIPTION_SHOWN
from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Product
from tests.app.ucp.conftest import served, sqlite_db
from tests.app.ucp.ucp_helpers import Platform, client
from tests.commerce.acp_helpers import localstripe
from tests.factories import make_product, write_catalog

__all__ = ["localstripe", "served", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")

HUGE = 5 * 1024 * 1024


def test_a_huge_description_is_bounded_at_sync_and_in_answers(
    served: tuple[str, Platform, Database], store: MediaStore, tmp_path: Path
) -> None:
    base, platform, db = served
    product = make_product(7, title="Giant Lamp", stock=3)
    product["descriptionHtml"] = "<p>" + "lamp " * (HUGE // 5) + "</p>"
    with db.session() as session:
        sync_snapshot(session, load_catalog_file(write_catalog(tmp_path / "big", [product])), store)
    with db.session() as session:
        stored = session.get(Product, "gid://shopify/Product/7")
        assert stored is not None and len(stored.description_html) <= MAX_DESCRIPTION_HTML
    with client(base) as http:
        found = http.post(
            "/catalog/search", json={"query": "giant lamp"}, headers=platform.headers()
        )
        assert found.status_code == 200, found.text[:500]
        assert len(found.content) < MAX_DESCRIPTION_SHOWN + 20_000
        looked = http.post(
            "/catalog/product",
            json={"id": "gid://shopify/Product/7"},
            headers=platform.headers(),
        )
        assert looked.status_code == 200, looked.text[:500]
        assert len(looked.content) < MAX_DESCRIPTION_SHOWN + 20_000
