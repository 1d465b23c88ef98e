"""One Prefect test harness for the few flow tests (it takes seconds to start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows import common
from reelcart.settings import get_settings

# The real-server stack, started once per session for every test module that asks for it.
from .stack_fixture import stack

__all__ = ["flow_env", "prefect_harness", "stack"]


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def flow_env(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Environment for running flows: a private data dir and tiny, fast videos."""
    data_dir = tmp_path / "data"
    for name, value in {
        "REELCART_DATA_DIR": str(data_dir),
        "REELCART_DATABASE_URL": f"sqlite:///{data_dir / 'reelcart.db'}",
        "REELCART_VIDEO_WIDTH": "144",
        "REELCART_VIDEO_HEIGHT": "256",
        "REELCART_VIDEO_FPS": "8",
        "REELCART_SHOT_SECONDS": "0.5",
        "REELCART_END_CARD_SECONDS": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    common.clear_caches()
    yield data_dir
    get_settings.cache_clear()
    common.clear_caches()
