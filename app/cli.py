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

from app.cli_console import console, err, flow_progress, prefect_env
from reelcart.settings import DEMO_CATALOG, Settings, get_settings

app = typer.Typer(
    name="reelcart",
    help="Product video ads from a Shopify catalog, sold to AI agents over MCP.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def sync(
    file: Annotated[
        Path, typer.Option("--file", "-f", help="Catalog export (JSON/JSONL).")
    ] = DEMO_CATALOG,
) -> None:
    """Load a catalog file in Shopify's product shape into the app database."""
    from commerce.catalog.store import sync_snapshot
    from commerce.store.sync import apply_store_file
    from connectors.catalog_file import CatalogFileError, load_catalog_file
    from connectors.storage import MediaStore
    from reelcart.db import Database

    settings = get_settings()
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
    with flow_progress():
        result = run_campaign(
            campaign=campaign, catalog_path=str(catalog), max_variants=max_variants
        )
    _print_campaign(settings, campaign, result, time.perf_counter() - started)


def _print_campaign(
    settings: Settings, campaign: str, result: dict[str, object], seconds: float
) -> None:
    from commerce.publishing import factor_label
    from connectors.storage import MediaStore
    from experiments.campaigns import campaign_creatives
    from reelcart.db import Database

    db = Database.from_settings(settings)
    store = MediaStore.from_settings(settings)
    table = Table(title=f"Campaign {campaign!r}: live creatives")
    for column in ("creative", "factors", "duration", "video file"):
        table.add_column(column)
    with db.session() as session:
        creatives = campaign_creatives(session, campaign)
        for c in creatives:
            table.add_row(
                c.name,
                factor_label(c.factors),
                f"{c.duration_s or 0:.1f}s",
                os.path.relpath(store.local_path(c.video_key) or "") if c.video_key else "",
            )
    console.print(table)
    media = Path(settings.resolved_media_url)
    console.print(
        f"[bold]Done in {seconds:.1f}s[/bold]: {result.get('rendered', 0)} rendered this run, "
        f"{len(creatives)} live."
    )
    home = os.environ["PREFECT_HOME"]
    lines = [
        f"Videos and posters: {media / 'creatives'}",
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
        typer.Option(help="True conversion per factor level, e.g. hook=price:0.12 (repeat)."),
    ] = None,
    evaluate_every: Annotated[int, typer.Option(min=10, help="Re-evaluate every N.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Drive simulated shopper agents through the MCP server; allocation adapts as they buy.

    They shop a sandbox copy of the campaign (data dir ``sandbox/``), never the live one:
    the live campaign's statistics, traffic and report stay untouched.
    """
    import anyio

    from app.mcp.server import build_mcp_server
    from app.simulator import parse_rate, run_shoppers
    from connectors.storage import MediaStore
    from experiments.sandbox import sandbox_copy, sandbox_path
    from reelcart.db import Database
    from reelcart.models import Campaign

    settings = get_settings()
    live = Database.from_settings(settings)
    live.migrate()
    try:
        db = sandbox_copy(live, campaign, sandbox_path(settings.data_dir, campaign))
    except LookupError as exc:
        err.print(f"[red]{exc}.[/red] Run `reelcart demo --campaign {campaign}` first.")
        raise typer.Exit(2) from exc
    rates: dict[str, dict[str, float]] = {}
    try:
        for text in rate or []:
            factor, level, value = parse_rate(text)
            rates.setdefault(factor, {})[level] = value
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not rates:
        # Demo default: the first level of the plan's first factor converts at 12%, others 8%.
        with db.session() as session:
            row = session.query(Campaign).filter_by(name=campaign).first()
            factors = (row.plan or {}).get("factors", {}) if row else {}
        if factors:
            name = sorted(factors)[0]
            rates = {name: {lvl: (0.12 if i == 0 else 0.08) for i, lvl in enumerate(factors[name])}}
    server = build_mcp_server(db, MediaStore.from_settings(settings))
    try:
        run = anyio.run(
            lambda: run_shoppers(
                db, server, campaign, shoppers, rates, seed=seed, evaluate_every=evaluate_every
            )
        )
    except LookupError as exc:
        err.print(f"[red]{exc}.[/red] Run `reelcart demo --campaign {campaign}` first.")
        raise typer.Exit(2) from exc
    console.print(f"True rates: {rates or 'default 8% everywhere'}")
    table = Table(title=f"{shoppers} simulated shoppers, campaign {campaign!r}")
    for column in ("product", "creative", "status", "shown", "buyers", "conversion", "weight"):
        table.add_column(column)
    report = run.report
    for exp in report.products if report else []:
        for arm in exp.arms:
            status = (
                "WINNER" if exp.winner and exp.winner.creative_id == arm.creative_id else arm.status
            )
            table.add_row(
                exp.product_title,
                arm.name,
                status,
                str(arm.metrics.units),
                str(arm.metrics.buyers),
                f"{arm.values['conversion']:.1%}",
                f"{arm.weight:.0%}",
            )
    console.print(table)
    for warning in report.warnings if report else []:
        err.print(f"[yellow]{warning}[/yellow]")
    console.print(
        f"Simulated in a sandbox copy ({sandbox_path(settings.data_dir, campaign)}); the live "
        f"campaign is untouched. Its report: reelcart campaign report {campaign} --sandbox"
    )


def _register_campaign_commands() -> None:
    from app.cli_campaign import campaign_app

    app.add_typer(campaign_app, name="campaign")


_register_campaign_commands()
# --- end experiments ---

if __name__ == "__main__":
    app()
