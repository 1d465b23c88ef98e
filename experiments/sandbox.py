"""A sandbox copy of one campaign, for simulated shoppers.

Simulated purchases must never reach the live campaign's statistics: they would move real
traffic, retire real creatives and put invented buyers on the marketer's report. So the
simulator runs on its own database holding a copy of the campaign (its products, their
variants and images, the campaign and its creatives) and none of its evidence: events,
allocations and decisions start empty. The live database is only read.

Beside each sandbox lies what the simulation assumed (``<name>.json``: the true conversion
rates its shoppers bought at, how many shoppers, the seed), so a report on the sandbox can
say that its "winner" is the simulator's assumption played back, not a finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select

from reelcart.db import Database
from reelcart.models import Campaign, Creative, Product, ProductImage, ProductVariant

__all__ = [
    "read_assumptions",
    "sandbox_copy",
    "sandbox_names",
    "sandbox_path",
    "write_assumptions",
]


def sandbox_path(data_dir: Path, campaign: str) -> Path:
    """Where ``campaign``'s sandbox lives (one per campaign, replaced by each simulation)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in campaign) or "campaign"
    return data_dir / "sandbox" / f"{safe}.db"


def _copy(rows: list[dict[str, Any]], table: Table, target: Database) -> None:
    if rows:
        with target.session() as session:
            session.execute(table.insert(), rows)


def sandbox_copy(live: Database, campaign: str, path: Path) -> Database:
    """A fresh SQLite database at ``path`` with a copy of ``campaign`` and no evidence."""
    with live.session() as session:
        row = session.scalars(select(Campaign).where(Campaign.name == campaign)).first()
        if row is None:
            raise LookupError(f"no campaign named {campaign!r}")
        tables: list[tuple[Table, list[dict[str, Any]]]] = []
        creatives = Creative.__table__
        picked = session.execute(select(creatives).where(creatives.c.campaign_id == row.id))
        creative_rows = [dict(r) for r in picked.mappings()]
        product_ids = sorted({r["product_id"] for r in creative_rows})
        for model in (Product, ProductVariant, ProductImage):
            table = model.__table__
            key = table.c.id if model is Product else table.c.product_id
            found = session.execute(select(table).where(key.in_(product_ids))).mappings()
            tables.append((table, [dict(r) for r in found]))  # type: ignore[arg-type]
        campaign_table = Campaign.__table__
        own = session.execute(select(campaign_table).where(campaign_table.c.id == row.id))
        tables.append((campaign_table, [dict(r) for r in own.mappings()]))  # type: ignore[arg-type]
        tables.append((creatives, creative_rows))  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
    for leftover in (path, *stale, _assumptions_path(path)):
        leftover.unlink(missing_ok=True)
    sandbox = Database(f"sqlite:///{path}")
    sandbox.migrate()
    for table, rows in tables:
        _copy(rows, table, sandbox)
    return sandbox


def _assumptions_path(path: Path) -> Path:
    return path.with_suffix(".json")


def write_assumptions(path: Path, assumptions: dict[str, Any]) -> None:
    """Record what the simulation in the sandbox at ``path`` assumed."""
    _assumptions_path(path).write_text(json.dumps(assumptions, indent=2, sort_keys=True))


def read_assumptions(path: Path) -> dict[str, Any]:
    """What the simulation assumed (empty when none was recorded or it is unreadable)."""
    try:
        data = json.loads(_assumptions_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sandbox_names(data_dir: Path) -> list[str]:
    """Campaign names with a sandbox in ``data_dir`` (from the recorded assumptions)."""
    names = []
    for sidecar in sorted((data_dir / "sandbox").glob("*.json")):
        name = read_assumptions(sidecar.with_suffix(".db")).get("campaign")
        if isinstance(name, str) and sidecar.with_suffix(".db").exists():
            names.append(name)
    return names
