"""Catalog sync from Shopify at the throttle limit: paced client vs a naive one vs bulk.

    .venv/bin/python bench/catalog_sync.py                 # 1,000 products (~1 min)
    .venv/bin/python bench/catalog_sync.py --products 10000 --store   # the full run

Against the fake Admin API on loopback (3 variants and 2 images per product, a leaky
bucket restoring 100 points/s, 2,000 points deep, the 1,000-point query limit):

1. **paced**: ``ShopifyClient`` reading ``throttleStatus`` and waiting before each page;
2. **naive** (the baseline): the same pages sent as fast as possible, backing off
   exponentially on ``THROTTLED`` from ``--naive-backoff`` seconds (1 s, 2 s, 4 s…, the
   usual retry loop of a client without pacing);
3. **bulk**: one ``bulkOperationRunQuery``, polled, its JSONL downloaded and parsed.

Shopify time runs ``--time-scale`` times faster than the wall clock (client and fake share
the clock), so figures are in *Shopify seconds*: what a real store at that restore rate
would give. Local CPU (the fake executing GraphQL, building the bulk file) is counted in
Shopify seconds too, which only makes the bulk path look slower than it would be. Storing
into the database is measured separately, in real seconds (``--store`` to include it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commerce.shopify.sync import sync_shopify_catalog
from connectors.shopify.catalog import bulk_products, product_pages
from connectors.shopify.client import ScaledClock, ShopifyClient
from connectors.storage import MediaStore
from reelcart.db import Database
from tests.fakes.shopify_server import FakeShopify


def make_shop(args: argparse.Namespace, clock: ScaledClock) -> FakeShopify:
    shop = FakeShopify(
        clock=clock,
        restore_rate=args.restore_rate,
        maximum=args.restore_rate * 20,
        bulk_objects_per_s=args.bulk_objects_per_s,
    )
    shop.__enter__()
    for n in range(1, args.products + 1):
        shop.state.add_product(n, variants=args.variants, images=args.images)
    return shop


async def fetch(
    shop: FakeShopify, clock: ScaledClock, mode: str, naive_backoff: float
) -> dict[str, Any]:
    async with ShopifyClient(
        shop.base_url,
        shop.state.access_token,
        "2026-10",
        clock=clock,
        pace=mode != "naive",
        backoff_base_s=naive_backoff,
        timeout_s=30,
    ) as client:
        start = clock.monotonic()
        if mode == "bulk":
            result = await bulk_products(client, "USD", poll_s=1.0)
            count, skipped = len(result.products), len(result.skipped)
        else:
            count = skipped = 0
            async for page in product_pages(client, "USD"):
                count += len(page.products)
                skipped += len(page.skipped)
        elapsed = clock.monotonic() - start
        stats = client.stats
    ledger, bucket = shop.state.ledger, shop.state.bucket
    budget = bucket.maximum + bucket.restore_rate * elapsed
    return {
        "mode": mode,
        "products": count,
        "seconds": elapsed,
        "rate": count / elapsed,
        "budget_share": ledger.points_charged / budget,
        "throttled": stats.throttled,
        "failures": len(stats.failures) + skipped,
        "requests": stats.requests,
    }


def store_run(args: argparse.Namespace) -> tuple[int, float]:
    """Full sync into SQLite + media store (images downloaded), in real seconds."""
    clock = ScaledClock(10_000)  # the bucket out of the way: this measures the storing side
    shop = make_shop(args, clock)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            db.migrate()
            store = MediaStore(f"{tmp}/media", "http://127.0.0.1")

            async def go() -> Any:
                async with ShopifyClient(
                    shop.base_url, shop.state.access_token, "2026-10", clock=clock
                ) as client:
                    return await sync_shopify_catalog(db, store, client, mode="full")

            start = time.perf_counter()
            outcome = asyncio.run(go())
            return outcome.created, time.perf_counter() - start
    finally:
        shop.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--restore-rate", type=float, default=100.0)
    parser.add_argument("--bulk-objects-per-s", type=float, default=1000.0)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument(
        "--naive-backoff",
        type=float,
        default=1.0,
        help="the baseline's first backoff on THROTTLED (doubling, with jitter), seconds",
    )
    parser.add_argument("--store", action="store_true", help="also time storing into SQLite")
    args = parser.parse_args()

    print(
        f"{args.products} products × {args.variants} variants × {args.images} images, "
        f"restore {args.restore_rate:.0f} points/s, time scale {args.time_scale:.0f}×"
    )
    results = {}
    for mode in ("paced", "naive", "bulk"):
        clock = ScaledClock(args.time_scale)
        shop = make_shop(args, clock)
        try:
            real = time.perf_counter()
            results[mode] = asyncio.run(fetch(shop, clock, mode, args.naive_backoff))
            results[mode]["real"] = time.perf_counter() - real
        finally:
            shop.__exit__(None, None, None)
        r = results[mode]
        print(
            f"  {mode:6s} {r['products']:6d} products in {r['seconds']:8.1f} Shopify-s "
            f"({r['real']:5.1f} s real): {r['rate']:7.1f} products/s, "
            f"budget used {r['budget_share']:6.1%}, THROTTLED {r['throttled']:3d}, "
            f"failures {r['failures']}, requests {r['requests']}"
        )
    paced, naive, bulk = results["paced"], results["naive"], results["bulk"]
    print(
        f"paced vs naive (baseline): {paced['rate'] / naive['rate']:.2f}× products/s, "
        f"{naive['requests'] / paced['requests']:.2f}× fewer requests, "
        f"{naive['throttled']} vs {paced['throttled']} THROTTLED"
    )
    print(f"bulk vs paginated: bulk takes {bulk['seconds'] / paced['seconds']:.2f}× the time")
    ok = paced["budget_share"] >= 0.9 and paced["failures"] == 0 and paced["throttled"] == 0
    print(f"goal (≥90% of budget, 0 failures): {'met' if ok else 'NOT met'}")
    if args.store:
        created, seconds = store_run(args)
        print(
            f"storing: {created} products into SQLite in {seconds:.1f} s real "
            f"({created / seconds:.0f} products/s, images fetched and deduplicated)"
        )


if __name__ == "__main__":
    main()
