"""The ``reelcart`` command line: a composition root (wires every package; nothing imports it)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli_console import console, err, flow_progress, prefect_env, prefect_hint
from reelcart.settings import DEMO_CATALOG, Settings, get_settings

app = typer.Typer(
    name="reelcart",
    help="Product video ads from a Shopify catalog, sold to AI agents over MCP.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _data_dir_note() -> None:
    """Say where local state will go the first time a command is about to create it."""
    data_dir = get_settings().data_dir
    if not data_dir.exists():
        err.print(
            f"reelcart: keeping local data in {data_dir.resolve()} (new; set "
            "REELCART_DATA_DIR to choose another place)",
            highlight=False,
            markup=False,
        )


@app.command()
def sync(
    file: Annotated[
        Path, typer.Option("--file", "-f", help="Catalog export (JSON/JSONL).")
    ] = DEMO_CATALOG,
    source: Annotated[
        str,
        typer.Option(help="file (--file, an export) or shopify (the store REELCART_SHOPIFY_*)."),
    ] = "file",
) -> None:
    """Load the catalog into the app database: from an export file, or from a Shopify store."""
    from commerce.catalog.store import sync_snapshot
    from commerce.store.sync import apply_store_file
    from connectors.catalog_file import CatalogFileError, load_catalog_file
    from connectors.storage import MediaStore
    from reelcart.db import Database

    settings = get_settings()
    if source == "shopify":
        _sync_shopify(settings)
        return
    if source != "file":
        err.print(f"[red]--source is file or shopify, not {source!r}[/red]", highlight=False)
        raise typer.Exit(2)
    try:
        snapshot = load_catalog_file(file)
    except CatalogFileError as exc:
        err.print(f"[red]Catalog not loaded, nothing written:[/red] {exc}")
        raise typer.Exit(2) from exc
    db = Database.from_settings(settings)
    db.migrate()
    try:
        with db.session() as session:
            report = sync_snapshot(session, snapshot, MediaStore.from_settings(settings))
            apply_store_file(session, file, "file")  # discount codes, shipping, customers
    except OSError as exc:  # an image refused or unreachable (connectors.safe_fetch)
        err.print(f"[red]Catalog not loaded, nothing written:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(
        f"Synced [bold]{len(snapshot.products)}[/bold] products from {file}: "
        f"{len(report.created)} new, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.archived)} archived; "
        f"{len(report.embedded)} embedded for search."
    )


def _sync_shopify(settings: Settings) -> None:
    """The store's catalog, discount codes and customers over the Admin API (no Prefect)."""
    from rich.markup import escape

    from commerce.shopify.sync import run_shopify_sync
    from connectors.shopify import ShopifyError, not_configured_message, shopify_missing
    from connectors.storage import MediaStore
    from reelcart.db import Database

    missing = shopify_missing(settings)
    if missing:
        err.print(f"[red]{escape(not_configured_message(missing))}[/red]", highlight=False)
        raise typer.Exit(2)
    db = Database.from_settings(settings)
    db.migrate()
    try:
        with err.status(f"Syncing {settings.shopify_shop} …"):
            counts = run_shopify_sync(db, MediaStore.from_settings(settings), settings)
    except ShopifyError as exc:
        err.print(f"[red]Shopify sync failed:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    console.print(
        f"Synced {settings.shopify_shop}: "
        + ", ".join(f"{count} {name}" for name, count in counts.items()),
        highlight=False,
    )


@app.command()
def demo(
    campaign: Annotated[str, typer.Option(help="Campaign name.")] = "demo",
    catalog: Annotated[Path, typer.Option(help="Catalog export file.")] = DEMO_CATALOG,
    max_variants: Annotated[int, typer.Option(min=1, help="Variants per product.")] = 8,
) -> None:
    """Run a whole campaign on the demo store: sync, render, publish, report."""
    settings = get_settings()
    prefect_env(settings)
    from flows.campaign import run_campaign

    started = time.perf_counter()
    try:
        with flow_progress():
            result = run_campaign(
                campaign=campaign, catalog_path=str(catalog), max_variants=max_variants
            )
    except RuntimeError as exc:
        hint = prefect_hint(exc)
        if hint is None:
            raise
        err.print(f"The demo did not run: {str(exc)[:300]}\n{hint}", highlight=False, markup=False)
        raise typer.Exit(2) from exc
    _print_campaign(settings, campaign, result, time.perf_counter() - started)


def _print_campaign(
    settings: Settings, campaign: str, result: dict[str, object], seconds: float
) -> None:
    from connectors.storage import MediaStore
    from experiments.campaigns import campaign_creatives
    from reelcart.db import Database

    db = Database.from_settings(settings)
    store = MediaStore.from_settings(settings)
    # Files are named by creative (product handle and factors): the table shows the
    # names, the folder is said once below, and 80 columns hold it.
    table = Table(title=f"Campaign {campaign!r}: live creatives")
    table.add_column("creative (video: <creative>.mp4)", overflow="fold", ratio=1)
    table.add_column("length", justify="right", no_wrap=True)
    folders = set()
    with db.session() as session:
        creatives = campaign_creatives(session, campaign)
        for c in creatives:
            table.add_row(c.name, f"{c.duration_s or 0:.1f}s")
            if c.video_key:
                folders.add(os.path.relpath(Path(store.local_path(c.video_key) or "").parent))
    console.print(table)
    media = Path(settings.resolved_media_url)
    console.print(
        f"[bold]Done in {seconds:.1f}s[/bold]: {result.get('rendered', 0)} rendered this run, "
        f"{len(creatives)} live."
    )
    home = os.environ["PREFECT_HOME"]
    lines = [
        f"Videos and posters: {', '.join(sorted(folders)) or media / 'creatives'}",
        f"Contact sheet:      {result.get('contact_sheet')}",
        f"Prefect artifacts:  `make ui`, then http://127.0.0.1:4200/artifacts "
        f"(or PREFECT_HOME={home} .venv/bin/prefect artifact ls)",
        "Serve to agents:    REELCART_API_TOKEN=... .venv/bin/reelcart serve  (MCP at /mcp)",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8787).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (one per core).")
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve MCP over streamable HTTP at /mcp and published media at /media."""
    import uvicorn

    from app.asgi import configure_logging, create_app
    from app.proxies import proxy_options
    from reelcart.db import Database

    configure_logging()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = get_settings().model_copy(update=overrides)
    if settings.api_token is None and settings.oauth_issuer is None:
        err.print(
            "[red]Neither REELCART_API_TOKEN nor REELCART_OAUTH_ISSUER is set.[/red] The MCP "
            "endpoint needs a bearer token (development) or an OAuth authorization server; "
            "generate a token with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
        raise typer.Exit(2)
    Database.from_settings(settings).migrate()
    console.print(f"reelcart serving on http://{settings.host}:{settings.port} (MCP at /mcp)")
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=access_log,
            **proxy_options(settings),
        )
        return
    # Each worker builds its app from the environment: the options given here go with it.
    for name, value in overrides.items():
        os.environ[f"REELCART_{name.upper()}"] = str(value)
    uvicorn.run(
        "app.asgi:app_from_environment",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=access_log,
        **proxy_options(settings),
    )


@app.command()
def mcp() -> None:
    """Run the MCP server over stdio (for desktop assistants that launch it).

    The same tools as /mcp, checkout included. Unless REELCART_PUBLIC_BASE_URL names a
    running server, the app is also served on a free loopback port, so the video, poster
    and captions links in tool results (and the MCP App) work.
    """
    import socket
    import threading

    import uvicorn

    from app.asgi import create_app
    from app.mcp.http import warm_search
    from app.mcp.server import build_mcp_server
    from app.proxies import proxy_options
    from commerce.checkout.factory import build_checkout_service
    from connectors.storage import MediaStore
    from reelcart.db import Database

    settings = get_settings()
    db = Database.from_settings(settings)
    db.migrate()
    media: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    if settings.public_base_url is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        settings = settings.model_copy(
            update={"port": port, "public_base_url": f"http://127.0.0.1:{port}"}
        )
        config = uvicorn.Config(
            create_app(settings, db),
            log_level="warning",
            lifespan="on",
            **proxy_options(settings),
        )
        media = uvicorn.Server(config)
        thread = threading.Thread(target=media.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
    store = MediaStore.from_settings(settings)
    server = build_mcp_server(db, store, checkout=build_checkout_service(db, store, settings))
    warm_search(db)  # before the first request: the first search is answered by meaning
    try:
        server.run("stdio")
    finally:
        if media is not None and thread is not None:
            media.should_exit = True
            thread.join(timeout=10)


@app.command()
def products(
    query: Annotated[str, typer.Argument(help="Search words; empty lists all.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the synced catalog as an agent would (the MCP server's search)."""
    from commerce.catalog.product_views import product_summary
    from commerce.catalog.search import search_products
    from connectors.storage import MediaStore
    from reelcart.db import Database

    settings = get_settings()
    db = Database.from_settings(settings)
    db.migrate()
    store = MediaStore.from_settings(settings)
    with db.session() as session:
        found = [product_summary(p, store) for p in search_products(session, query, limit=50)]
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump() for p in found], indent=2) + "\n")
        return
    table = Table(title=f"{len(found)} products")
    for column in ("id", "title", "from", "in stock"):
        table.add_column(column)
    for p in found:
        table.add_row(p.id, p.title, p.price_from.display, "yes" if p.in_stock else "no")
    console.print(table)


# --- experiments: simulated shoppers through the real MCP server ---
@app.command()
def simulate(
    shoppers: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Shoppers to simulate.")
    ] = 1000,
    campaign: Annotated[str, typer.Option(help="Campaign whose creatives are shown.")] = "demo",
    rate: Annotated[
        list[str] | None,
        typer.Option(
            help="True conversion per factor level, e.g. hook=price:0.12 (repeat). Without "
            "it every creative converts alike (--default-rate): no real difference to find."
        ),
    ] = None,
    default_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Conversion of a level --rate does not name.")
    ] = 0.08,
    evaluate_every: Annotated[int, typer.Option(min=10, help="Re-evaluate every N.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Drive simulated shopper agents through the MCP server; allocation adapts as they buy.

    They shop a sandbox copy of the campaign (data dir ``sandbox/``), never the live one:
    the live campaign's statistics, traffic and report stay untouched. The web report shows
    the sandbox at /reports/sandbox/CAMPAIGN, headed by what the simulation assumed.
    """
    import anyio
    from rich.markup import escape
    from rich.progress import Progress

    from app.mcp.server import build_mcp_server
    from app.simulator import parse_rate, run_shoppers
    from commerce.publishing import factor_label
    from connectors.storage import MediaStore
    from experiments.reports import simulation_notice
    from experiments.sandbox import sandbox_copy, sandbox_path, write_assumptions
    from reelcart.db import Database

    settings = get_settings()
    rates: dict[str, dict[str, float]] = {}
    try:
        for text in rate or []:
            factor, level, value = parse_rate(text)
            rates.setdefault(factor, {})[level] = value
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    live = Database.from_settings(settings)
    live.migrate()
    path = sandbox_path(settings.data_dir, campaign)
    try:
        db = sandbox_copy(live, campaign, path)
    except LookupError as exc:
        err.print(f"[red]{exc}.[/red] Run `reelcart demo --campaign {campaign}` first.")
        raise typer.Exit(2) from exc
    assumptions = {
        "campaign": campaign,
        "shoppers": shoppers,
        "rates": rates,
        "default_rate": default_rate,
        "seed": seed,
    }
    write_assumptions(path, assumptions)
    notice = simulation_notice(assumptions)
    console.print(notice, highlight=False, markup=False)
    server = build_mcp_server(db, MediaStore.from_settings(settings))
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("Simulated shoppers", total=shoppers)
        try:
            run = anyio.run(
                lambda: run_shoppers(
                    db,
                    server,
                    campaign,
                    shoppers,
                    rates,
                    seed=seed,
                    evaluate_every=evaluate_every,
                    default_rate=default_rate,
                    on_shopper=lambda done: bar.update(task, completed=done),
                )
            )
        except LookupError as exc:
            err.print(f"[red]{exc}.[/red] Run `reelcart demo --campaign {campaign}` first.")
            raise typer.Exit(2) from exc
    # 80 columns: a product's rows under its title, each creative by its factors (its
    # name is the product's handle plus those factors), numbers in narrow columns.
    table = Table(title=f"{shoppers} simulated shoppers, campaign {campaign!r}")
    table.add_column("creative (factors)", overflow="fold", ratio=1)
    for column in ("status", "shown", "buyers", "conv.", "weight"):
        table.add_column(column, justify="right", no_wrap=column != "status")
    report = run.report
    for exp in report.products if report else []:
        table.add_row(f"[bold]{escape(exp.product_title)}[/bold]", end_section=False)
        for arm in exp.arms:
            winner = exp.winner and exp.winner.creative_id == arm.creative_id
            table.add_row(
                "  " + escape(factor_label(arm.factors)),
                "WINNER" if winner else arm.status,
                str(arm.metrics.units),
                str(arm.metrics.buyers),
                f"{arm.values['conversion']:.1%}",
                f"{arm.weight:.0%}",
                end_section=arm is exp.arms[-1],
            )
    console.print(table)
    for warning in report.warnings if report else []:
        err.print(f"[yellow]{warning}[/yellow]")
    base = settings.resolved_public_base_url
    console.print(
        f"Simulated in a sandbox copy ({path}); the live campaign is untouched.\n"
        f"Report in the browser: {base}/reports/sandbox/{campaign} (with `reelcart serve`)\n"
        f"In the terminal:       reelcart campaign report {campaign} --sandbox",
        soft_wrap=True,
        highlight=False,
    )


def _register_campaign_commands() -> None:
    from app.cli_campaign import campaign_app

    app.add_typer(campaign_app, name="campaign")


_register_campaign_commands()
# --- end experiments ---

if __name__ == "__main__":
    app()
