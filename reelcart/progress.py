"""A seam for progress reporting: flows announce work, whoever runs them may display it.

The CLI installs a Rich display; anywhere else (a Prefect worker, tests) the default sink
does nothing. Tasks run in threads of the same process, so one process-wide sink serves.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["ProgressSink", "add", "advance", "set_sink", "start"]


class ProgressSink(Protocol):
    def start(self, stage: str, total: int) -> None: ...

    def add(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, amount: int = 1) -> None: ...


class _NullSink:
    def start(self, stage: str, total: int) -> None:
        pass

    def add(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, amount: int = 1) -> None:
        pass


_lock = threading.Lock()
_sink: ProgressSink = _NullSink()


def set_sink(sink: ProgressSink | None) -> None:
    """Install ``sink`` for this process (``None`` restores the silent default)."""
    global _sink
    with _lock:
        _sink = sink or _NullSink()


def start(stage: str, total: int) -> None:
    """Announce a stage of ``total`` units (a new call resets the stage)."""
    _sink.start(stage, total)


def add(stage: str, total: int) -> None:
    """Announce ``total`` more units of ``stage`` (started when new): each of several
    parts of one job (a campaign's child runs) adds its own, so the total is the job's."""
    _sink.add(stage, total)


def advance(stage: str, amount: int = 1) -> None:
    """Report ``amount`` units of ``stage`` done."""
    _sink.advance(stage, amount)
