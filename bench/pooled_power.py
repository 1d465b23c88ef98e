"""Benchmark: shoppers needed to find a true factor effect, pooled across products vs per product.

Same simulated shoppers, same looks, same decision rule (``DecisionRule`` defaults): a
campaign of ``--products`` products whose baseline conversion differs (spread evenly over
``--base``), each with a ``hook=price`` and a ``hook=title`` creative; price multiplies the
odds of buying by ``--odds``. Shoppers arrive at random products and see either creative
(even split, as before any re-weighting). Every ``--look`` shoppers both analyses run:

- pooled: ``experiments.factor_effects`` (Mantel–Haenszel, products as blocks,
  always-valid test, Holm) — the shoppers when it first declares ``price`` the winner;
- per product: ``experiments.decisions.decide`` on each product alone — the shoppers when
  the first product, half of them, and all of them have declared their winner.

It prints the median over seeds and the ratio per product / pooled, then the pooled rule's
false-winner rate with no true effect (equal rates) at the full sample, as a check that the
speed is not bought with false verdicts.

    .venv/bin/python bench/pooled_power.py                   # 9 products, odds x1.5, 20 seeds
    .venv/bin/python bench/pooled_power.py --odds 2.0 --seeds 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.decisions import DecisionRule, decide
from experiments.factor_effects import ArmCounts, factor_effects
from experiments.samples import ProportionStat

LEVELS = ("price", "title")


def _rates(products: int, base: tuple[float, float], odds: float) -> np.ndarray:
    """rates[product, level]: title at the product's baseline, price at ``odds`` times its odds."""
    title = np.linspace(base[0], base[1], products)
    price = odds * title / (1 - title + odds * title)
    return np.column_stack([price, title])


def _arms(units: np.ndarray, buyers: np.ndarray) -> list[ArmCounts]:
    return [
        ArmCounts(f"p{p}", {"hook": LEVELS[j]}, int(units[p, j]), int(buyers[p, j]))
        for p in range(units.shape[0])
        for j in range(2)
    ]


def run_seed(
    rates: np.ndarray, shoppers: int, look: int, rule: DecisionRule, seed: int
) -> dict[str, float | None]:
    """Shoppers at first verdict for each analysis (None: not within ``shoppers``)."""
    rng = np.random.default_rng(seed)
    products = rates.shape[0]
    units = np.zeros((products, 2), dtype=np.int64)
    buyers = np.zeros((products, 2), dtype=np.int64)
    found: dict[str, float | None] = {"pooled": None, "first": None, "half": None, "all": None}
    wrong = {"pooled": False, "per_product": False}
    decided: set[int] = set()
    seen = 0
    while seen < shoppers:
        served = rng.multinomial(look, np.full(products * 2, 1 / (products * 2))).reshape(
            products, 2
        )
        units += served
        buyers += rng.binomial(served, rates)
        seen += look
        if found["pooled"] is None:
            (hook,) = factor_effects(_arms(units, buyers), rule)
            if hook.status == "winner":
                found["pooled"] = seen
                wrong["pooled"] = hook.winner != "price"
        for p in range(products):
            if p in decided:
                continue
            stats = [ProportionStat(int(units[p, j]), float(buyers[p, j])) for j in range(2)]
            verdict = decide(stats, rule, seed=seen)
            if verdict.status == "winner":
                decided.add(p)
                wrong["per_product"] |= verdict.winner != 0
        for key, need in (("first", 1), ("half", (products + 1) // 2), ("all", products)):
            if found[key] is None and len(decided) >= need:
                found[key] = seen
        if found["pooled"] is not None and found["all"] is not None:
            break
    return {
        **found,
        "wrong_pooled": float(wrong["pooled"]),
        "wrong_pp": float(wrong["per_product"]),
    }


def _median(values: list[float | None], cap: int) -> str:
    got = [v for v in values if v is not None]
    if len(got) < len(values) / 2:
        return f"> {cap:,}"
    # Seeds that never decided count as the cap: the median stays honest (a lower bound).
    return f"{statistics.median([v if v is not None else cap for v in values]):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=9)
    parser.add_argument("--base", type=float, nargs=2, default=(0.04, 0.10))
    parser.add_argument("--odds", type=float, default=1.5)
    parser.add_argument("--shoppers", type=int, default=60_000)
    parser.add_argument("--look", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    # Fewer Monte Carlo draws per look keep the per-product side quick; same rule for both.
    rule = DecisionRule(draws=4000)
    rates = _rates(args.products, tuple(args.base), args.odds)
    print(
        f"{args.products} products, title {args.base[0]:.0%}–{args.base[1]:.0%}, price odds "
        f"x{args.odds} (price {rates[0, 0]:.1%}–{rates[-1, 0]:.1%}); a look every {args.look} "
        f"shoppers, up to {args.shoppers:,}; {args.seeds} seeds"
    )
    started = time.perf_counter()
    runs = [run_seed(rates, args.shoppers, args.look, rule, s) for s in range(args.seeds)]
    elapsed = time.perf_counter() - started
    rows = [
        ("pooled across products (Mantel–Haenszel)", "pooled"),
        ("per product: first product decided", "first"),
        ("per product: half the products decided", "half"),
        ("per product: every product decided", "all"),
    ]
    print(f"\n{'analysis':<44}{'median shoppers':>16}{'decided':>10}")
    for label, key in rows:
        values = [r[key] for r in runs]
        decided = sum(v is not None for v in values)
        print(f"{label:<44}{_median(values, args.shoppers):>16}{decided:>7}/{args.seeds}")
    pooled = [r["pooled"] or args.shoppers for r in runs]
    for label, key in rows[1:]:
        ratio = statistics.median(
            [(r[key] or args.shoppers) / p for r, p in zip(runs, pooled, strict=True)]
        )
        # Seeds whose products never all decided count at the cap: then a lower bound.
        bound = "≥ " if sum(r[key] is None for r in runs) >= len(runs) / 2 else ""
        print(f"ratio {label.removeprefix('per product: ')} / pooled: {bound}x{ratio:.1f}")
    print(
        f"wrong winners: pooled {sum(r['wrong_pooled'] for r in runs):.0f}, "
        f"per product {sum(r['wrong_pp'] for r in runs):.0f} (of {args.seeds} seeds)"
    )
    null = _rates(args.products, tuple(args.base), 1.0)
    false = 0
    for s in range(args.seeds):
        r = run_seed(null, args.shoppers, args.look, rule, 10_000 + s)
        false += r["pooled"] is not None
    print(
        f"no true effect: pooled declared a winner in {false}/{args.seeds} seeds "
        f"(always-valid at alpha {rule.alpha}, looking every {args.look} shoppers)"
    )
    print(f"({elapsed:.1f}s for the effect runs)")


if __name__ == "__main__":
    main()
