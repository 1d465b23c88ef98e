"""Benchmark: evaluate a campaign's metrics by SQL aggregation vs loading events into pandas.

Same database, same run: N events across 24 creatives (impressions, clicks, purchases),
then (a) ``experiments.metrics.creative_metrics`` — GROUP BY in the database — and
(b) ``pandas.read_sql`` of the events and the same per-unit/per-creative groupby in pandas.
Both must agree; the ratio is printed.

    .venv/bin/python bench/evaluate.py                 # 200k events (quick)
    .venv/bin/python bench/evaluate.py --events 1000000
    .venv/bin/python bench/evaluate.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from experiments.metrics import creative_metrics
from reelcart.db import Database
from reelcart.models import Campaign, Creative, Event, Product

CREATIVES = 24


def populate(db: Database, events: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    ids = [f"crv_bench_{i:02d}" for i in range(CREATIVES)]
    with db.session() as s:
        s.add(
            Product(id="p_bench", handle="bench", title="Bench", currency="USD", content_hash="x")
        )
        s.add(Campaign(id="cmp_bench", name="bench", plan={}))
        s.flush()
        for i, cid in enumerate(ids):
            s.add(
                Creative(
                    id=cid,
                    campaign_id="cmp_bench",
                    product_id="p_bench",
                    variant_key=f"v={i}",
                    name=cid,
                    factors={"v": str(i)},
                    status="published",
                )
            )
    # ~80% impressions, 15% clicks, 5% purchases; a unit is a shopper of one creative.
    shoppers = int(events * 0.8)
    creative_of = rng.integers(0, CREATIVES, shoppers)
    rows = []
    n = 0
    for u in range(shoppers):
        cid = ids[creative_of[u]]
        rows.append(
            {
                "id": f"e{n}",
                "kind": "impression",
                "dedupe_key": f"i{u}",
                "creative_id": cid,
                "product_id": "p_bench",
                "subject": f"s{u}",
                "data": {},
                "amount_minor": None,
                "currency": None,
            }
        )
        n += 1
    extra = events - shoppers
    who = rng.integers(0, shoppers, extra)
    for j in range(extra):
        u = int(who[j])
        cid = ids[creative_of[u]]
        if j % 4 == 0:
            row = {
                "kind": "purchase",
                "amount_minor": int(rng.integers(500, 9000)),
                "currency": "USD",
            }
        else:
            row = {"kind": "click", "amount_minor": None, "currency": None}
        rows.append(
            {
                "id": f"e{n}",
                "dedupe_key": f"x{j}",
                "creative_id": cid,
                "product_id": "p_bench",
                "subject": f"s{u}",
                "data": {},
                **row,
            }
        )
        n += 1
    now = time.time()
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 50_000):
            conn.execute(insert(Event), rows[start : start + 50_000])
    print(f"inserted {len(rows):,} events in {time.time() - now:.1f}s")
    return ids


def pandas_metrics(db: Database, ids: list[str]) -> dict[str, tuple[int, int, float]]:
    import pandas as pd

    with db.engine.connect() as conn:
        df = pd.read_sql(
            select(Event.creative_id, Event.subject, Event.kind, Event.amount_minor).where(
                Event.creative_id.in_(ids)
            ),
            conn,
        )
    df["purchase"] = (df["kind"] == "purchase").astype("int64")
    df["revenue"] = df["amount_minor"].fillna(0).where(df["kind"] == "purchase", 0)
    unit = df.groupby(["creative_id", "subject"], sort=False).agg(
        purchases=("purchase", "sum"), revenue=("revenue", "sum")
    )
    unit["buyer"] = (unit["purchases"] > 0).astype("int64")
    per = unit.groupby(level=0).agg(
        units=("buyer", "size"), buyers=("buyer", "sum"), revenue=("revenue", "sum")
    )
    return {cid: (int(r.units), int(r.buyers), float(r.revenue)) for cid, r in per.iterrows()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty scratch database")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.migrate()
        ids = populate(db, args.events)
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE events"))
        sql_times, pd_times = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with db.session() as s:
                sql = creative_metrics(s, ids, "USD")
            sql_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            frame = pandas_metrics(db, ids)
            pd_times.append(time.perf_counter() - t)
        for cid in ids:
            m = sql[cid]
            assert (m.units, m.buyers, m.revenue) == frame[cid], cid
        if args.postgres:
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE events, creatives, campaigns, products CASCADE"))
        db.dispose()
    best_sql, best_pd = min(sql_times), min(pd_times)
    print(
        f"backend: {'postgresql' if args.postgres else 'sqlite'}; events: {args.events:,}; "
        f"creatives: {CREATIVES}"
    )
    print(f"SQL aggregation (creative_metrics): {best_sql:.3f}s (best of {args.repeat})")
    print(f"pandas read_sql + groupby:          {best_pd:.3f}s (best of {args.repeat})")
    print(f"ratio pandas / SQL: {best_pd / best_sql:.1f}x  (results identical)")


if __name__ == "__main__":
    main()
