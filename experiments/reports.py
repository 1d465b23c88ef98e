"""The campaign report as HTML (the app's report page) and as Prefect artifacts.

Everything here formats a ``CampaignReport``; nothing computes. Text from the database
(names, titles, factor levels) is HTML-escaped: creative names come from product handles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from reelcart.money import format_money

from .campaign_index import CampaignOverview
from .evaluation import ArmReport, CampaignReport, ProductExperiment
from .exports import factor_rows
from .headlines import chance_text, headlines, next_step_lines
from .metrics import METRICS

__all__ = [
    "markdown_summary",
    "render_html",
    "render_index",
    "simulation_notice",
    "table_rows",
]

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
table{border-collapse:collapse;margin:8px 0 24px;background:#fff}
th,td{border:1px solid #ddd;padding:6px 8px;font-size:13px;text-align:right;vertical-align:middle}
th{background:#eef2f7} td.name{text-align:left} img.poster{height:72px;border-radius:4px}
.winner{background:#e8f5e9} .retired{color:#999} .warn{background:#fff3e0;padding:8px;
border-left:4px solid #ef6c00} .ok{color:#2e7d32} .bad{color:#c62828;font-weight:bold}
small{color:#666} section{margin:8px 0 24px} .headline{background:#fff;border:1px solid #ddd;
border-left:6px solid #1565c0;padding:4px 16px;margin:8px 0;max-width:1000px}
.headline.winner{border-left-color:#2e7d32} .headline.collecting{border-left-color:#9e9e9e}
.headline h3{margin:8px 0 4px} .headline p{margin:4px 0}
"""


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _maybe_pct(x: float | None) -> str:
    return "" if x is None else chance_text(x)


def _p(p: float | None) -> str:
    return "" if p is None else f"{p:.3g}"


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
        return f"Winner: <b>{escape(winner.name)}</b> — {escape(exp.winner_reason)}"
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
            "sequential p vs leader",
            "next traffic share",
        )
    )
    rows = []
    winner_id = exp.winner.creative_id if exp.winner else None
    for arm in exp.arms:
        p_vs = exp.p_vs_leader(arm.creative_id)
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
        # The lift only: the p-value that decides is the sequential one against the leader.
        lift = f"{comparison.lift * 100:+.1f}%" if comparison else "baseline"
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
            f"<td>{'leader' if arm.creative_id == exp.leader_id else _p(p_vs)}</td>",
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
        f"<h3>{escape(exp.product_title)}</h3>"
        f"<p>{_verdict_text(exp)}. Sample ratio: <span class='{srm_cls}'>{srm_word}</span> "
        f"(p = {exp.srm_p:.3g}); allocation: {escape(exp.method)}.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<img alt="chart for {escape(exp.product_title)}" '
        f'src="{escape(chart_base)}product-{index}.png">'
        f"{challengers}"
    )


def _headlines_html(report: CampaignReport) -> str:
    cards = []
    for h in headlines(report):
        verdict = {"winner": "Decided", "running": "Not decided yet"}.get(h.status, "Collecting")
        details = "".join(
            f'<p class="{cls}">{escape(text)}</p>'
            for cls, text in (("effect", h.effect), ("sure", h.sure))
            if text
        )
        cards.append(
            f'<div class="headline {escape(h.status)}" data-factor="{escape(h.factor)}" '
            f'data-status="{escape(h.status)}"><h3>{escape(h.title)}</h3>{details}'
            f'<p class="verdict"><b>{verdict}</b> — {escape(h.decided_by)}</p></div>'
        )
    if not cards:
        cards.append("<p>No factor has two levels with shoppers yet.</p>")
    steps = "".join(f"<li>{escape(line)}</li>" for line in next_step_lines(report))
    return (
        f'<section id="answer"><h2>The answer, across all products</h2>{"".join(cards)}'
        f'</section><section id="next"><h2>What happens next</h2><ul>{steps}</ul></section>'
    )


def _factor_table(report: CampaignReport) -> str:
    rows = []
    for row in factor_rows(report):
        decided = ""
        if row["leader"]:
            decided = "leader"
        elif row["decisive"]:
            decided = "loses: retire"
        elif row["p_holm"] is not None:
            decided = "open"
        vs = ""
        if row["odds_ratio_low"] is not None:
            hi = row["odds_ratio_high"]
            vs = (
                f"{_pct(row['leader_rate'])} vs {_pct(row['vs_leader_rate'])}<br><small>odds "
                f"ratio {row['odds_ratio_leader']:.2f} ({row['odds_ratio_low']:.2f}–"
                f"{'∞' if hi is None else f'{hi:.2f}'})</small>"
            )
        rows.append(
            f'<tr><td class="name">{escape(row["factor"])} = {escape(row["level"])}</td>'
            f"<td>{row['creatives']}</td><td>{row['shoppers']}</td><td>{row['buyers']}</td>"
            f"<td>{_pct(row['conversion'])}</td><td>{vs}</td>"
            f"<td>{_maybe_pct(row['chance_leader_better'])}</td><td>{_p(row['p_holm'])}</td><td>{decided}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "level",
            "creatives",
            "shoppers shown",
            "buyers",
            "conversion (all its creatives)",
            "leader vs this level (same products)",
            "chance leader is better",
            "always-valid p (Holm)",
            "verdict",
        )
    )
    return (
        f'<table id="factors"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def simulation_notice(assumptions: Mapping[str, Any]) -> str:
    """What a simulation assumed, said as plainly as its result (``experiments.sandbox``)."""
    rates = assumptions.get("rates") or {}
    default = float(assumptions.get("default_rate", 0.0))
    shoppers = assumptions.get("shoppers", "?")
    head = f"Simulated, not live data: {shoppers} simulated shoppers (reelcart simulate). "
    if not rates:
        return head + (
            f"Every creative converted at the same assumed {default:.0%}, so any difference "
            "below is chance and a declared winner would be a false positive."
        )
    told = "; ".join(
        f"{factor} = {level} at {rate:.0%}"
        for factor, levels in sorted(rates.items())
        for level, rate in sorted(levels.items())
    )
    return head + (
        f"They bought at the rates the simulator was given ({told}; anything else at "
        f"{default:.0%}): what sells best here is that assumption played back, not a finding."
    )


def render_html(
    report: CampaignReport,
    media_url: Callable[[str], str],
    chart_base: str = "charts/",
    notice: str | None = None,
) -> str:
    """The report page: the answer, what happens next, then the detail per factor and product.

    Chart images are linked under ``chart_base`` (``…/charts/``) and the exports beside it;
    ``notice`` heads the page (a simulation says what it assumed).
    """
    warnings = "".join(f'<p class="warn">{escape(w)}</p>' for w in report.warnings)
    if notice:
        warnings = f'<p class="warn" id="simulated">{escape(notice)}</p>' + warnings
    products = "".join(
        _product_html(p, i, report.currency, media_url, chart_base)
        for i, p in enumerate(report.products)
    )
    base = escape(chart_base.removesuffix("charts/"))
    index = escape(chart_base.removesuffix("charts/").rstrip("/").rsplit("/", 1)[0] or "../")
    title = f"Campaign {report.campaign}" + (" (simulated)" if notice else "")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><link rel='icon' href='data:,'>"
        f"<style>{_CSS}</style></head><body>"
        f'<p><a id="index" href="{index}">All campaigns</a></p>'
        f"<h1>{escape(title)}</h1><p><small>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC."
        " Factor effects pool the products as blocks (Mantel–Haenszel); verdicts use "
        "always-valid sequential tests, Holm-adjusted, so hourly re-evaluation does not "
        "inflate false winners. Intervals are the verdicts' own.</small></p>"
        f"{warnings}{_headlines_html(report)}"
        f'<p class="exports">Download: <a id="export-json" href="{base}export.json" download>'
        f'JSON</a> · <a id="export-creatives" href="{base}creatives.csv" download>creatives '
        f'CSV</a> · <a id="export-factors" href="{base}factors.csv" download>factors CSV</a></p>'
        f"<h2>Factor levels</h2>{_factor_table(report)}"
        f'<img alt="factor effects chart" src="{escape(chart_base)}factors.png">'
        "<h2>Per product</h2><p><small>Per-product verdicts need every criterion: enough "
        "shoppers, chance to be best, expected loss and the sequential test (its p against "
        "the leader is in the table; Holm-adjusted per product).</small></p>"
        f"{products or '<p>No published creatives yet.</p>'}"
        "</body></html>"
    )


def _simulated_html(simulated: Mapping[str, tuple[int, str]]) -> str:
    if not simulated:
        return ""
    rows = "".join(
        f'<tr><td class="name"><a href="sandbox/{quote(name, safe="")}">{escape(name)}</a></td>'
        f"<td>{shoppers}</td><td class='name'>{escape(verdict)}</td></tr>"
        for name, (shoppers, verdict) in sorted(simulated.items())
    )
    return (
        "<h2>Simulations</h2><p><small>Sandbox copies shopped by <code>reelcart simulate</code>"
        "; their shoppers and their answers are simulated, never the live campaign's.</small>"
        "</p><table id='simulations'><thead><tr><th>campaign (sandbox)</th><th>simulated "
        f"shoppers</th><th>the simulation's answer</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
    )


def render_index(
    campaigns: Sequence[CampaignOverview],
    verdicts: dict[str, str],
    simulated: Mapping[str, tuple[int, str]] | None = None,
) -> str:
    """The campaigns index: plan, creatives by state, and each campaign's headline verdicts;
    then the simulations (``simulated``: name -> shoppers, answer) under their own heading."""
    rows = "".join(
        f'<tr><td class="name"><a href="campaigns/{quote(c.name, safe="")}">{escape(c.name)}</a>'
        f"</td><td>{escape(c.status)}</td><td class='name'>"
        + escape("; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(c.factors.items())))
        + f"</td><td>{escape(c.design)} (cap {c.max_variants})</td><td>{c.products}</td>"
        f"<td>{c.live}</td><td>{c.creatives.get('retired', 0)}</td>"
        f"<td class='name'>{escape(verdicts.get(c.name, ''))}</td></tr>"
        for c in campaigns
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "campaign",
            "status",
            "factors",
            "design",
            "products",
            "live",
            "retired",
            "the answer so far",
        )
    )
    body = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        if campaigns
        else "<p>No campaigns yet: <code>reelcart campaign create</code>.</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Campaigns</title>"
        f"<link rel='icon' href='data:,'><style>{_CSS}</style></head><body>"
        f"<h1>Campaigns</h1>{body}{_simulated_html(simulated or {})}</body></html>"
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
    """The headline per factor, what happens next, then one line per product."""
    lines = [f"## Campaign `{report.campaign}`", ""]
    lines += [f"> ⚠️ {w}" for w in report.warnings]
    lines += ["### The answer, across all products", ""]
    for h in headlines(report):
        lines.append(f"- **{h.title}** — {h.decided_by}")
        lines += [f"  - {text}" for text in (h.effect, h.sure) if text]
    if not report.factors:
        lines.append("- No factor has two levels with shoppers yet.")
    lines += ["", "### What happens next", ""]
    lines += [f"- {line}" for line in next_step_lines(report)]
    lines += ["", "### Per product", ""]
    for exp in report.products:
        srm = "OK" if exp.srm_ok else "**MISMATCH**"
        winner = exp.winner
        verdict = f"winner **{winner.name}**" if winner else exp.verdict.status
        why = exp.winner_reason if winner else exp.verdict.reason
        lines.append(
            f"- **{exp.product_title}**: {verdict} — {why}; SRM {srm} "
            f"(p = {exp.srm_p:.3g}); allocation {exp.method}"
        )
    if page_url:
        lines += ["", f"Full report with charts: {page_url}"]
    return "\n".join(lines) + "\n"
