"""``reelcart campaign``: define, run, inspect and export campaigns without Python.

Every input (the YAML file, factor names and levels, design, cap, catalog file) is checked
before anything is written, synced or rendered, so a typo never leaves planned creatives
behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from app.cli_console import console, err, flow_progress, prefect_env, prefect_hint
from generation.plan_levels import CREATIVE_LEVELS
from reelcart.domain import CampaignPlan
from reelcart.settings import get_settings

__all__ = ["campaign_app"]

_LEVELS = "; ".join(f"{f}: {', '.join(levels)}" for f, levels in CREATIVE_LEVELS.items())
_DESIGNS = (
    "full (every combination), half (the regular half fraction), pairwise (every pair of "
    "levels at least once), auto (the largest of these that fits the cap uncut)"
)
_YAML = "name: spring / factors: {hook: [title, price], cta: [shop_now, buy_in_chat]}"
campaign_app = typer.Typer(
    help=f"Define, run, inspect and export campaigns. Factors and levels: {_LEVELS}. "
    f"Designs: {_DESIGNS}.",
    no_args_is_help=True,
)
_PLAN_KEYS = {"name", "factors", "design", "max_variants"}


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]{escape(message)}[/red]", highlight=False)
    return typer.Exit(2)


def _database() -> Any:
    from reelcart.db import Database

    db = Database.from_settings(get_settings())
    db.migrate()
    return db


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(f"{path}: expected a mapping such as:\n{_YAML}")
    unknown = set(data) - _PLAN_KEYS
    if unknown:
        raise _fail(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(_PLAN_KEYS)}")
    return data


def _parse_factor(text: str) -> tuple[str, list[str]]:
    name, sep, levels = text.partition("=")
    if not sep or not name.strip() or not levels.strip():
        raise _fail(f"--factor expects name=level,level (e.g. hook=title,price), got {text!r}")
    return name.strip(), [lvl.strip() for lvl in levels.split(",") if lvl.strip()]


def build_plan(
    data: dict[str, Any], factor: list[str] | None, max_variants: int | None, design: str | None
) -> CampaignPlan:
    """A validated, covering ``CampaignPlan`` from the YAML mapping and the flags, or exit 2."""
    from pydantic import ValidationError

    from experiments.plan_coverage import coverage, covering_plan
    from generation.plan_levels import level_errors

    factors = data.get("factors") or {}
    if factor:
        factors = dict(_parse_factor(f) for f in factor)
    if not isinstance(factors, dict) or not factors:
        raise _fail("no factors: give --factor hook=title,price or a YAML file with factors")
    factors = {
        str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in factors.items()
    }
    problems = level_errors(factors)
    if problems:
        raise _fail("invalid plan:\n- " + "\n- ".join(problems))
    wanted = design or str(data.get("design", "full"))
    cap = max_variants if max_variants is not None else data.get("max_variants", 8)
    try:
        plan = CampaignPlan.model_validate(
            {
                "factors": factors,
                "max_variants": cap,
                "design": "full" if wanted == "auto" else wanted,
            }
        )
        plan.variants()
    except (ValidationError, ValueError) as exc:
        raise _fail(f"invalid plan: {exc}") from exc
    if wanted == "auto":
        chosen = covering_plan(plan)
        if chosen is None:
            raise _fail(coverage(plan).explain().replace(", or use --design auto", ""))
        return chosen
    report = coverage(plan)
    if not report.complete:
        raise _fail(report.explain())
    return plan


def _print_plan(name: str, plan: CampaignPlan) -> None:
    variants = plan.variants()
    table = Table(title=f"Campaign {name!r}: {len(variants)} variants per product ({plan.design})")
    for f in sorted(plan.factors):
        table.add_column(f)
    for v in variants:
        table.add_row(*(v[f] for f in sorted(plan.factors)))
    console.print(table)


@campaign_app.command()
def create(
    name: Annotated[
        str | None, typer.Argument(help="Campaign name (or `name:` in the file).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help=f"A YAML plan, e.g. {escape(_YAML)}")
    ] = None,
    factor: Annotated[
        list[str] | None,
        typer.Option(help=f"name=level,level (repeat). Factors and levels: {_LEVELS}."),
    ] = None,
    max_variants: Annotated[
        int | None, typer.Option(min=1, max=256, help="Cap on variants per product (8).")
    ] = None,
    design: Annotated[str | None, typer.Option(help=f"Design: {_DESIGNS}.")] = None,
    replace: Annotated[bool, typer.Option(help="Change the plan of an existing campaign.")] = False,
    challenger_cap: Annotated[
        int | None,
        typer.Option(
            min=0, help="Challenger generations in a row without a winner before the loop stops."
        ),
    ] = None,
) -> None:
    """Create a campaign from a YAML file or flags (checked; nothing is rendered yet)."""
    from sqlalchemy import select

    from experiments.campaigns import ensure_campaign, set_challenger_cap
    from reelcart.models import Campaign

    data = _read_yaml(file) if file else {}
    name = name or data.get("name")
    if not name:
        raise _fail("a campaign needs a name (argument or `name:` in the file)")
    if design is not None and design not in ("full", "half", "pairwise", "auto"):
        raise _fail(f"unknown design {design!r}: {_DESIGNS}")
    plan = build_plan(data, factor, max_variants, design)
    with _database().session() as session:
        exists = session.scalars(select(Campaign).where(Campaign.name == name)).first()
        if exists is not None and not replace and exists.plan != plan.model_dump():
            raise _fail(f"campaign {name!r} exists with another plan; add --replace to change it")
        ensure_campaign(session, name, plan)
        if challenger_cap is not None:
            set_challenger_cap(session, name, challenger_cap)
    _print_plan(name, plan)
    console.print(f"Created. Next: reelcart campaign run {name}")


@campaign_app.command()
def run(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog export file (default: the demo store).")
    ] = None,
    source: Annotated[
        str, typer.Option(help="file (an export file) or shopify (REELCART_SHOPIFY_*).")
    ] = "file",
) -> None:
    """Sync the catalog, render the campaign's plan, publish (the run-campaign flow)."""
    from sqlalchemy import select

    from connectors.catalog_file import CatalogFileError, load_catalog_file
    from reelcart.models import Campaign
    from reelcart.settings import DEMO_CATALOG

    with _database().session() as session:
        row = session.scalars(select(Campaign).where(Campaign.name == name)).first()
        stored = dict(row.plan) if row else None
    if stored is None:
        raise _fail(f"no campaign named {name!r}: create it first (reelcart campaign create)")
    plan = build_plan(stored, None, None, None)
    if source not in ("file", "shopify"):
        raise _fail(f"--source is file or shopify, not {source!r}")
    path = catalog or DEMO_CATALOG
    if source == "shopify":
        from connectors.shopify import not_configured_message, shopify_missing

        missing = shopify_missing(get_settings())
        if missing:
            raise _fail(f"{not_configured_message(missing)}; nothing run")
    if source == "file":
        try:
            load_catalog_file(path)
        except CatalogFileError as exc:
            raise _fail(f"catalog not loaded, nothing run: {exc}") from exc
    prefect_env(get_settings())
    from connectors.shopify import ShopifyError
    from flows.campaign import run_campaign

    with flow_progress():
        try:
            result = run_campaign(
                campaign=name,
                source="shopify" if source == "shopify" else "file",
                catalog_path=str(path) if source == "file" else None,
                factors=dict(plan.factors),
                max_variants=plan.max_variants,
                design=plan.design,
            )
        except (RuntimeError, ValueError, LookupError, ShopifyError) as exc:
            hint = prefect_hint(exc)
            raise _fail(
                f"campaign run failed: {str(exc)[:500]}" + (f"\n{hint}" if hint else "")
            ) from exc
    console.print(
        f"Rendered {result.get('rendered', 0)} this run. Next: reelcart campaign status {name}"
    )


def _evaluate(name: str, sandbox: bool) -> Any:
    from experiments.evaluation import evaluate_campaign
    from experiments.sandbox import sandbox_path
    from reelcart.db import Database

    db = _database()
    if sandbox:
        path = sandbox_path(get_settings().data_dir, name)
        if not path.exists():
            raise _fail(f"no sandbox for {name!r}: run reelcart simulate --campaign {name} first")
        db = Database(f"sqlite:///{path}")
    try:
        with db.session() as session:
            return evaluate_campaign(session, name, apply=False)
    except LookupError as exc:
        raise _fail(str(exc)) from exc


@campaign_app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="One campaign (default: all).")] = None,
) -> None:
    """Campaigns with their plan and creatives by state (one: also its headlines)."""
    from experiments.campaign_index import campaign_overview
    from experiments.headlines import headlines

    with _database().session() as session:
        rows = campaign_overview(session, name)
    if name is not None and not rows:
        raise _fail(f"no campaign named {name!r}")
    # 80 columns: text folds instead of ending in "…"; the counts share one narrow column.
    table = Table(title="Campaigns")
    longest = max((len(c.name) for c in rows), default=8)
    table.add_column("campaign", overflow="fold", min_width=min(longest, 24))
    table.add_column("status", overflow="fold")
    table.add_column("factors", overflow="fold", ratio=1)
    table.add_column("design", overflow="fold")
    table.add_column("products", justify="right", no_wrap=True)
    table.add_column("creatives", no_wrap=True)
    for c in rows:
        planned = c.creatives.get("planned", 0) + c.creatives.get("rendered", 0)
        table.add_row(
            c.name,
            c.status,
            "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(c.factors.items())),
            f"{c.design}, cap {c.max_variants}",
            str(c.products),
            f"{c.live} live\n{planned} planned\n{c.creatives.get('retired', 0)} retired",
        )
    console.print(table)
    if name is not None:
        for h in headlines(_evaluate(name, False)):
            console.print(f"- {h.title} — {h.decided_by}", highlight=False)


@campaign_app.command()
def report(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON export.")] = False,
    sandbox: Annotated[bool, typer.Option(help="The simulator's sandbox copy.")] = False,
) -> None:
    """The answer first: per-factor headlines, what happens next, then each product."""
    from experiments.exports import report_json
    from experiments.headlines import headlines, next_step_lines

    result = _evaluate(name, sandbox)
    if as_json:
        sys.stdout.write(json.dumps(report_json(result), indent=2) + "\n")
        return
    console.print(f"[bold]Campaign {name}{' (sandbox)' if sandbox else ''}: the answer[/bold]")
    for h in headlines(result):
        console.print(f"[bold]{h.title}[/bold] — {h.decided_by}", highlight=False)
        for text in (h.effect, h.sure):
            if text:
                console.print(f"    {text}", highlight=False)
    console.print("[bold]What happens next[/bold]")
    for line in next_step_lines(result):
        console.print(f"- {line}", highlight=False)
    console.print("[bold]Per product[/bold]")
    for exp in result.products:
        winner = f"winner {exp.winner.name}" if exp.winner else exp.verdict.status
        why = exp.winner_reason if exp.winner else exp.verdict.reason
        console.print(f"- {exp.product_title}: {winner} — {why}", highlight=False)
    for w in result.warnings:
        err.print(f"[yellow]{w}[/yellow]")


@campaign_app.command()
def export(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    what: Annotated[str, typer.Option(help="creatives or factors (CSV).")] = "creatives",
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    sandbox: Annotated[bool, typer.Option(help="The simulator's sandbox copy.")] = False,
) -> None:
    """Per-creative or per-factor metrics as CSV, or everything as JSON."""
    from experiments.exports import (
        CREATIVE_COLUMNS,
        FACTOR_COLUMNS,
        creative_rows,
        factor_rows,
        report_json,
        to_csv,
    )

    if fmt not in ("csv", "json") or what not in ("creatives", "factors"):
        raise _fail("--format is csv or json; --what is creatives or factors")
    result = _evaluate(name, sandbox)
    if fmt == "json":
        text = json.dumps(report_json(result), indent=2) + "\n"
    elif what == "creatives":
        text = to_csv(creative_rows(result), CREATIVE_COLUMNS)
    else:
        text = to_csv(factor_rows(result), FACTOR_COLUMNS)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}")
