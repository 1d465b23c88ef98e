"""The campaign report as HTML (the app's report page) and as Prefect artifacts.

Everything here formats a ``CampaignReport``; nothing computes. Text from the database
(names, titles, factor levels) is HTML-escaped: creative names come from product handles.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from reelcart.money import format_money

from .evaluation import ArmReport, CampaignReport, ProductExperiment
from .metrics import METRICS

__all__ = ["markdown_summary", "render_html", "table_rows"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
table{border-collapse:collapse;margin:8px 0 24px;background:#fff}
th,td{border:1px solid #ddd;padding:6px 8px;font-size:13px;text-align:right;vertical-align:middle}
th{background:#eef2f7} td.name{text-align:left} img.poster{height:72px;border-radius:4px}
.winner{background:#e8f5e9} .retired{color:#999} .warn{background:#fff3e0;padding:8px;
border-left:4px solid #ef6c00} .ok{color:#2e7d32} .bad{color:#c62828;font-weight:bold}
small{color:#666}
"""


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _money(x: float, currency: str | None) -> str:
    return format_money(round(x), currency) if currency else f"{x:.0f}"


def _value(arm: ArmReport, metric: str, currency: str | None) -> str:
    if arm.metrics.units < 2:
        return "—"  # no interval worth showing without data
    lo, hi = arm.intervals[metric]
    if metric in ("revenue_per_unit", "aov"):
        return (
            f"{escape(_money(arm.values[metric], currency))}"
            f"<br><small>{escape(_money(lo, currency))} – {escape(_money(hi, currency))}</small>"
        )
    return f"{_pct(arm.values[metric])}<br><small>{_pct(lo)} – {_pct(hi)}</small>"


def _verdict_text(exp: ProductExperiment) -> str:
    winner = exp.winner
    if winner is not None:
        return f"Winner: <b>{escape(winner.name)}</b> — {escape(exp.verdict.reason)}"
    return escape(f"{exp.verdict.status}: {exp.verdict.reason}")


def _product_html(
    exp: ProductExperiment,
    index: int,
    currency: str | None,
    media_url: Callable[[str], str],
    chart_base: str,
) -> str:
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in (
            "",
            "creative",
            "status",
            "shoppers shown",
            *METRICS.values(),
            "lift vs first (conversion)",
            "chance to be best",
            "expected loss",
            "next traffic share",
        )
    )
    rows = []
    winner_id = exp.winner.creative_id if exp.winner else None
    for arm in exp.arms:
        cls = (
            "winner"
            if arm.creative_id == winner_id
            else ("retired" if arm.status == "retired" else "")
        )
        poster = (
            f'<img class="poster" alt="poster" src="{escape(media_url(arm.poster_key))}">'
            if arm.poster_key
            else ""
        )
        comparison = arm.vs_baseline.get("conversion")
        lift = (
            f"{comparison.lift * 100:+.1f}%<br>"
            f"<small>p<sub>adj</sub> = {comparison.p_adjusted:.3g}</small>"
            if comparison
            else "baseline"
        )
        cells = [
            poster,
            f'<td class="name">{escape(arm.name)}<br><small>'
            + escape(", ".join(f"{k}={v}" for k, v in sorted(arm.factors.items())))
            + "</small></td>",
            f"<td>{escape(arm.status)}</td>",
            f"<td>{arm.metrics.units}</td>",
            *(f"<td>{_value(arm, m, currency)}</td>" for m in METRICS),
            f"<td>{lift}</td>",
            f"<td>{_pct(arm.chance_best)}</td>",
            f"<td>{_pct(arm.expected_loss)}</td>",
            f"<td>{_pct(arm.weight)}</td>",
        ]
        cells[0] = f"<td>{poster}</td>"
        rows.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>")
    srm_cls, srm_word = ("ok", "OK") if exp.srm_ok else ("bad", "MISMATCH")
    challengers = ""
    if exp.challengers:
        items = "".join(
            "<li>" + escape(", ".join(f"{k}={v}" for k, v in sorted(c.items()))) + "</li>"
            for c in exp.challengers
        )
        challengers = f"<p>Suggested challengers (remixes of the winner):</p><ul>{items}</ul>"
    return (
        f"<h2>{escape(exp.product_title)}</h2>"
        f"<p>{_verdict_text(exp)}. Sample ratio: <span class='{srm_cls}'>{srm_word}</span> "
        f"(p = {exp.srm_p:.3g}); allocation: {escape(exp.method)}.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<img alt="chart for {escape(exp.product_title)}" '
        f'src="{escape(chart_base)}product-{index}.png">'
        f"{challengers}"
    )


def render_html(
    report: CampaignReport, media_url: Callable[[str], str], chart_base: str = "charts/"
) -> str:
    """The report page; chart images are linked under ``chart_base`` (``…/charts/``)."""
    warnings = "".join(f'<p class="warn">{escape(w)}</p>' for w in report.warnings)
    products = "".join(
        _product_html(p, i, report.currency, media_url, chart_base)
        for i, p in enumerate(report.products)
    )
    factor_rows = "".join(
        f'<tr><td class="name">{escape(f.factor)} = {escape(f.level)}</td><td>{f.units}</td>'
        f"<td>{_pct(f.value)}<br><small>{_pct(f.ci[0])} – {_pct(f.ci[1])}</small></td>"
        f"<td>{'' if f.lift is None else f'{f.lift * 100:+.1f}%'}</td>"
        f"<td>{'' if f.p_adjusted is None else f'{f.p_adjusted:.3g}'}</td>"
        f"<td>{_pct(f.chance_best)}</td></tr>"
        for f in report.factors
    )
    title = f"Campaign {report.campaign}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><link rel='icon' href='data:,'>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p><small>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC. "
        "Intervals are 95% credible intervals; p-values are always-valid sequential tests, "
        "Holm-adjusted per product (Benjamini–Hochberg for factor levels).</small></p>"
        f"{warnings}{products or '<p>No published creatives yet.</p>'}"
        "<h2>Factor levels (pooled over the creatives that share them)</h2>"
        "<table><thead><tr><th>level</th><th>shoppers shown</th><th>conversion</th>"
        "<th>lift vs first level</th><th>p (BH)</th><th>chance to be best</th></tr></thead>"
        f"<tbody>{factor_rows}</tbody></table>"
        f'<img alt="factor levels chart" src="{escape(chart_base)}factors.png">'
        "</body></html>"
    )


def table_rows(report: CampaignReport) -> list[dict[str, str]]:
    """One row per creative, for a Prefect table artifact."""
    rows = []
    for exp in report.products:
        winner_id = exp.winner.creative_id if exp.winner else None
        for arm in exp.arms:
            lo, hi = arm.intervals["conversion"]
            rows.append(
                {
                    "product": exp.product_title,
                    "creative": arm.name,
                    "status": "winner" if arm.creative_id == winner_id else arm.status,
                    "shown": str(arm.metrics.units),
                    "conversion": f"{_pct(arm.values['conversion'])} [{_pct(lo)}, {_pct(hi)}]",
                    "ctr": _pct(arm.values["ctr"]),
                    "revenue_per_shown": _money(arm.values["revenue_per_unit"], report.currency),
                    "aov": _money(arm.values["aov"], report.currency),
                    "chance_best": _pct(arm.chance_best),
                    "weight": _pct(arm.weight),
                }
            )
    return rows


def markdown_summary(report: CampaignReport, page_url: str | None = None) -> str:
    """A short markdown summary: verdict and SRM per product, warnings first."""
    lines = [f"## Campaign `{report.campaign}`", ""]
    lines += [f"> ⚠️ {w}" for w in report.warnings]
    for exp in report.products:
        srm = "OK" if exp.srm_ok else "**MISMATCH**"
        winner = exp.winner
        verdict = f"winner **{winner.name}**" if winner else exp.verdict.status
        lines.append(
            f"- **{exp.product_title}**: {verdict} — {exp.verdict.reason}; SRM {srm} "
            f"(p = {exp.srm_p:.3g}); allocation {exp.method}"
        )
    if page_url:
        lines += ["", f"Full report with charts: {page_url}"]
    return "\n".join(lines) + "\n"
