"""A campaign on the store's own catalog, run as a merchant runs it: the ``campaign``
deployment with ``source="shopify"`` on the session's real stack, against the Shopify
GraphQL fake. The render is made on a ``gpu`` worker and put on Shopify by the parent's
worker, which has no copy of it: the video travels through the S3 media store.
"""

from __future__ import annotations

import time

import pytest
import s3fs
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from reelcart.models import Campaign, Creative, Product, RenderClaim, ShopifyCreativeMedia

from .stack_fixture import BUCKET, Stack

pytestmark = pytest.mark.xdist_group("prefect-stack")


def test_a_shopify_campaign_on_a_target_renders_and_lands_on_shopify(stack: Stack) -> None:
    shop = stack.shop
    for n in (41, 42):
        shop.state.add_product(n, variants=1, images=1, price="30.00")
    target = "gid://shopify/Product/41"
    parameters = {
        "campaign": "from-shopify",
        "source": "shopify",
        "factors": {"hook": ["price"]},
        "max_variants": 1,
        "target": {"ids": [target]},
    }
    began = time.monotonic()
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        run = run_deployment(
            "run-campaign/campaign", parameters=parameters, timeout=180, poll_interval=1
        )
    print(f"shopify campaign of 1 product: {time.monotonic() - began:.1f} s")
    assert isinstance(run, FlowRun)
    assert run.state is not None and run.state.is_completed(), run.state

    db = stack.database()
    with db.session() as session:
        products = {
            p.id: (p.source, p.status)
            for p in session.scalars(select(Product).where(Product.source == "shopify"))
        }
        rows = session.execute(
            select(Creative, RenderClaim)
            .join(Campaign)
            .join(RenderClaim, RenderClaim.creative_id == Creative.id)
            .where(Campaign.name == "from-shopify")
        ).all()
        media = session.get(ShopifyCreativeMedia, rows[0][0].id) if rows else None
        session.expunge_all()
    db.dispose()
    # The whole store was synced; only the target got a creative.
    assert {products[p] for p in (target, "gid://shopify/Product/42")} == {("shopify", "ACTIVE")}
    assert [(c.product_id, c.status, r.status) for c, r in rows] == [(target, "published", "done")]
    creative, claim = rows[0]
    assert claim.worker in {"w1", "w2", "w3"}
    # Shopify carries one processed video of it: the very bytes in the bucket, uploaded by
    # the parent's worker, which never rendered anything itself.
    assert not (stack.data_dir("parent") / "renders").exists()
    stored = s3fs.S3FileSystem(endpoint_url=stack.s3_endpoint).cat_file(
        f"{BUCKET}/reelcart/{creative.video_key}"
    )
    uploads = [s["data"] for s in shop.state.staged.values() if "data" in s]
    assert uploads == [stored]
    videos = [m for m in shop.state.products[target]["media"] if m["__typename"] == "Video"]
    assert [(v["size"], v["invalid"]) for v in videos] == [(len(stored), False)]
    assert media is not None and media.status == "READY"
