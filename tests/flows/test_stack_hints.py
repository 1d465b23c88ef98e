"""What `make stack` and the CLI tell a person about Prefect: a run command that works as
printed, a Prefect database that does not lock under a campaign, and a hint when the
embedded server does not start."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scripts.stack import ROOT, prefect_database, run_command
from tests.servers import free_port

BIN = Path(sys.executable).parent


def _without_venv_on_path() -> dict[str, str]:
    path = [p for p in os.environ.get("PATH", "").split(":") if Path(p) != BIN and "venv" not in p]
    return {**os.environ, "PATH": ":".join(path) or "/usr/bin:/bin"}


def test_the_printed_run_command_works_as_written() -> None:
    command = run_command("http://127.0.0.1:4200/api")
    assert command.startswith("PREFECT_API_URL=http://127.0.0.1:4200/api ")
    # As a person types it at the repository root, with no virtualenv activated: the
    # program resolves (ask it for its version instead of running a deployment).
    typed = command.replace("deployment run run-campaign/campaign", "version")
    done = subprocess.run(
        ["bash", "-c", typed],
        cwd=ROOT,
        env=_without_venv_on_path(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Version:" in done.stdout


def test_the_stack_puts_prefect_on_postgresql(postgres_url: str) -> None:
    admin = make_url(postgres_url)
    name = f"prefect_{uuid.uuid4().hex[:8]}"
    saved = os.environ.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
    try:
        url, which = prefect_database(admin.render_as_string(hide_password=False), name)
        assert url is not None and url.startswith("postgresql+asyncpg://")
        assert make_url(url).database == name and name in which
        again, _ = prefect_database(admin.render_as_string(hide_password=False), name)
        assert again == url  # created once, found the second time
        # No PostgreSQL answering: SQLite, and the line says why that is a poor choice.
        dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
        none, why = prefect_database(dead, name)
        assert none is None and "database is locked" in why
        assert "PREFECT_API_DATABASE_CONNECTION_URL" in why
    finally:
        if saved is not None:
            os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = saved
        engine = create_engine(
            admin.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_an_embedded_server_that_does_not_start_gets_a_hint(tmp_path: Path) -> None:
    from reelcart.db import Database
    from reelcart.models import Campaign

    db = Database(f"sqlite:///{tmp_path / 'reelcart.db'}")
    db.migrate()
    with db.session() as session:
        session.add(Campaign(name="spring", plan={"factors": {"hook": ["price", "title"]}}))
    db.dispose()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "REELCART_"))
    }
    # A startup timeout of 0 s: the embedded server is never waited for, as on a machine
    # too busy to start it within the limit.
    env |= {
        "REELCART_DATA_DIR": str(tmp_path),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [str(BIN / "reelcart"), "campaign", "run", "spring"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, said
    assert "ephemeral Prefect API server" in said and "make stack" in said, said
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in said and "Traceback" not in said
