"""PNG charts of a campaign report (matplotlib, headless Agg backend)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on servers and workers
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from .evaluation import CampaignReport, ProductExperiment

__all__ = ["factor_chart", "product_chart"]

_WIN, _LIVE, _OFF = "#2e7d32", "#1565c0", "#9e9e9e"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _label(name: str, factors: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(factors.items())) or name


def product_chart(experiment: ProductExperiment) -> bytes:
    """Conversion with its 95% interval, and chance to be best / next weight, per creative."""
    arms = experiment.arms
    winner = experiment.winner
    labels = [_label(a.name, a.factors) for a in arms]
    colors = [
        _WIN
        if winner is not None and a.creative_id == winner.creative_id
        else (_LIVE if a.status == "published" else _OFF)
        for a in arms
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.6 * len(arms) + 1.6), sharey=True)
    ys = list(range(len(arms)))
    values = [a.values["conversion"] * 100 for a in arms]
    lows = [
        max(v - a.intervals["conversion"][0] * 100, 0) for a, v in zip(arms, values, strict=True)
    ]
    highs = [
        max(a.intervals["conversion"][1] * 100 - v, 0) for a, v in zip(arms, values, strict=True)
    ]
    left.barh(ys, values, xerr=[lows, highs], color=colors, capsize=4)
    left.set_yticks(ys, labels)
    left.set_xlabel("conversion % (95% interval)")
    left.invert_yaxis()
    right.barh(
        [y - 0.2 for y in ys],
        [a.chance_best * 100 for a in arms],
        0.4,
        color=colors,
        label="chance to be best",
    )
    right.barh(
        [y + 0.2 for y in ys],
        [a.weight * 100 for a in arms],
        0.4,
        color="#ffb300",
        label="next traffic share",
    )
    right.set_xlim(0, 100)
    right.set_xlabel("%")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(experiment.product_title)
    return _png(fig)


def factor_chart(report: CampaignReport) -> bytes:
    """Each factor's leader against every other level: the pooled odds ratio and interval.

    The interval is the one the verdict uses, so a bar whose interval clears 1 is exactly
    a decisive comparison (green); the others are still open (blue).
    """
    rows = [(f, c) for f in report.factors for c in f.comparisons if c.eligible]
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(rows), 1) + 1.5))
    if rows:
        ys = list(range(len(rows)))
        values = [c.mh.odds_ratio for _, c in rows]
        err = [
            [max(v - c.ci[0], 0) for (_, c), v in zip(rows, values, strict=True)],
            [max(min(c.ci[1], 1e6) - v, 0) for (_, c), v in zip(rows, values, strict=True)],
        ]
        for y, (_, c), v, lo, hi in zip(ys, rows, values, err[0], err[1], strict=True):
            color = _WIN if c.decisive else _LIVE
            ax.errorbar([v], [y], xerr=[[lo], [hi]], fmt="o", color=color, capsize=4)
        ax.axvline(1.0, color=_OFF, linestyle="--")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.set_yticks(ys, [f"{f.factor}: {f.leader} vs {c.level}" for f, c in rows])
        ax.invert_yaxis()
    ax.set_xlabel("odds ratio of buying, pooled across products (always-valid interval)")
    ax.set_title(f"Campaign {report.campaign}: factor effects")
    return _png(fig)
