"""A child that cannot render is named in the parent's result, and the run fails loudly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import flows.generate
from flows.campaign import run_campaign
from flows.common import database
from reelcart.models import Creative, RenderClaim
from tests.factories import make_product, write_catalog

from .artifacts import artifact_rows

pytestmark = pytest.mark.xdist_group("prefect")


def test_a_failed_child_is_named_and_fails_the_campaign(
    flow_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = write_catalog(tmp_path / "store", [make_product(1), make_product(2)])
    real = flows.generate.render_job

    def broken_for_product_2(job: Any, *args: Any, **kwargs: Any) -> Any:
        if job.product_id.endswith("/2"):  # a fault injected into one product's renders
            raise OSError("disk full")
        return real(job, *args, **kwargs)

    monkeypatch.setattr(flows.generate, "render_job", broken_for_product_2)
    state = run_campaign(
        campaign="faulty", catalog_path=str(catalog), max_variants=1, return_state=True
    )
    assert state.is_failed()
    message = str(state.message)
    assert "1 of 2 child runs failed" in message and "gid://shopify/Product/2" in message
    assert "product-2__" in message  # the creative that failed, by name
    rows = {r["products"]: r for r in artifact_rows("faulty-children")}
    assert rows["gid://shopify/Product/1"]["rendered"] == 1
    assert rows["gid://shopify/Product/2"]["state"] == "FAILED"
    with database().session() as session:
        claims = dict(
            session.execute(
                select(Creative.product_id, RenderClaim.status).join(
                    RenderClaim, RenderClaim.creative_id == Creative.id
                )
            ).all()
        )
    assert claims == {"gid://shopify/Product/1": "done", "gid://shopify/Product/2": "failed"}
    # Fixed, a re-run renders only what failed.
    monkeypatch.setattr(flows.generate, "render_job", real)
    again = run_campaign(campaign="faulty", catalog_path=str(catalog), max_variants=1)
    assert again["rendered"] == 1
