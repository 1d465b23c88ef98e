"""What every ``reelcart`` command prints through: the consoles, flow progress bars, and
Prefect kept quiet beside them (its state kept with reelcart's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reelcart import progress
from reelcart.settings import Settings

__all__ = ["console", "err", "flow_progress", "prefect_env", "prefect_hint"]

console = Console()
err = Console(stderr=True)


class _RichProgress:
    """The CLI's progress display for flows (see ``reelcart.progress``)."""

    LABELS: ClassVar[dict[str, str]] = {
        "frames": "Rendering frames",
        "publish": "Publishing creatives",
    }

    def __init__(self, display: Progress) -> None:
        self.display = display
        self.tasks: dict[str, TaskID] = {}

    def start(self, stage: str, total: int) -> None:
        label = self.LABELS.get(stage, stage)
        if stage in self.tasks:
            self.display.reset(self.tasks[stage], total=total)
        else:
            self.tasks[stage] = self.display.add_task(label, total=total)

    def add(self, stage: str, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.display.add_task(self.LABELS.get(stage, stage), total=total)
            return
        task = self.display.tasks[self.tasks[stage]]
        self.display.update(self.tasks[stage], total=(task.total or 0) + total)

    def advance(self, stage: str, amount: int = 1) -> None:
        if stage in self.tasks:
            self.display.advance(self.tasks[stage], amount)


@contextmanager
def flow_progress() -> Iterator[None]:
    """Rich progress bars for every stage a flow reports while the block runs."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as display:
        progress.set_sink(_RichProgress(display))
        try:
            yield
        finally:
            progress.set_sink(None)


def prefect_env(settings: Settings) -> None:
    """Keep Prefect's state with reelcart's, and quiet its console while Rich draws."""
    os.environ.setdefault("PREFECT_HOME", str((settings.data_dir / "prefect").resolve()))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded server is a subprocess that must start, migrate and answer; Prefect's
    # 20 s default runs out on a busy machine (a render beside it), so it gets longer.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL", "WARNING")


def prefect_hint(exc: BaseException) -> str | None:
    """How to fix a Prefect failure a person can fix, or None."""
    text = str(exc)
    if "ephemeral Prefect API server" in text:
        return (
            "The embedded Prefect server did not start in time (a busy machine). Run a "
            "Prefect server once and send runs to it: `make stack` (or "
            "`.venv/bin/prefect server start &`), then "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`; or give the embedded one "
            "longer: PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=300."
        )
    if "PREFECT_API_URL" in text or "Cannot connect to Prefect" in text.replace("\n", " "):
        return (
            f"No Prefect server answers at PREFECT_API_URL={os.environ.get('PREFECT_API_URL')}: "
            "start it (`make stack`) or unset PREFECT_API_URL to use the embedded one."
        )
    return None
