"""A decisive campaign-wide result acts: losers retire everywhere, challengers are recorded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from commerce.catalog.store import sync_snapshot
from connectors.catalog_file import load_catalog_file
from connectors.storage import MediaStore
from experiments.campaigns import creative_id_for
from experiments.evaluation import evaluate_campaign
from reelcart.db import Database
from reelcart.models import Campaign, Creative, ExperimentDecision
from tests.experiments.conftest import add_traffic
from tests.factories import make_product, write_catalog

PRODUCTS = ("gid://shopify/Product/1", "gid://shopify/Product/2", "gid://shopify/Product/3")
TRIED = ("shop_now", "buy_in_chat")  # the plan also has see_options, never rendered yet


def _campaign(db: Database, store: MediaStore, tmp_path: Path) -> dict[tuple[str, str, str], str]:
    products = [make_product(i + 1, title=f"Item {i + 1}") for i in range(len(PRODUCTS))]
    ids = {}
    with db.session() as s:
        sync_snapshot(s, load_catalog_file(write_catalog(tmp_path, products)), store)
        plan = {"hook": ["title", "price"], "cta": ["shop_now", "buy_in_chat", "see_options"]}
        row = Campaign(name="fall", plan={"factors": plan, "max_variants": 4})
        s.add(row)
        s.flush()
        for product_id in PRODUCTS:
            for hook in ("title", "price"):
                for cta in TRIED:
                    key = f"cta={cta};hook={hook}"
                    cid = creative_id_for(row.id, product_id, key)
                    s.add(
                        Creative(
                            id=cid,
                            campaign_id=row.id,
                            product_id=product_id,
                            variant_key=key,
                            name=f"{product_id[-1]}__{hook}__{cta}",
                            factors={"hook": hook, "cta": cta},
                            status="published",
                        )
                    )
                    ids[(product_id, hook, cta)] = cid
    return ids


def test_a_decisive_hook_retires_title_everywhere_and_asks_for_challengers(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    ids = _campaign(db, store, tmp_path)
    for (product_id, hook, cta), cid in ids.items():
        # price converts 12%, title 6%; buy_in_chat a little better than shop_now.
        rate = (0.12 if hook == "price" else 0.06) + (0.01 if cta == "buy_in_chat" else 0.0)
        add_traffic(db, cid, product_id, 400, round(400 * rate))
    with db.session() as s:
        report = evaluate_campaign(s, "fall", apply=True)
    effects = {e.factor: e for e in report.factors}
    assert effects["hook"].winner == "price" and effects["cta"].status != "winner"
    retired = {r.creative_id for r in report.next_steps.retire}
    assert retired == {cid for (p, hook, c), cid in ids.items() if hook == "title"}
    with db.session() as s:
        statuses = dict(s.execute(select(Creative.id, Creative.status)).tuples().all())
        decisions = s.scalars(
            select(ExperimentDecision).where(ExperimentDecision.kind == "challengers")
        ).all()
    assert all(statuses[cid] == "retired" for cid in retired)
    assert all(statuses[cid] == "published" for cid in set(ids.values()) - retired)
    # Per product: the winning hook with the CTA it never had; nothing with hook=title.
    assert sorted(d.product_id for d in decisions) == sorted(PRODUCTS)
    for d in decisions:
        assert d.detail["variants"] == [{"hook": "price", "cta": "see_options"}]
        assert d.detail["remix_of"]["hook"] == "price" and d.detail["scope"] == "campaign"
        assert d.creative_id in {ids[(d.product_id, "price", cta)] for cta in TRIED}
    with db.session() as s:  # the next evaluation records nothing again
        again = evaluate_campaign(s, "fall", apply=True)
        assert len(s.scalars(select(ExperimentDecision)).all()) == len(retired) + 4
    assert again.next_steps.retire == []
