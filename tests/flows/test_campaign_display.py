"""What a person watching a campaign run sees: progress counts that are true, and Prefect
artifacts that lead with the useful cards (one quality column, a full-size link that opens)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from sqlalchemy import select
from starlette.testclient import TestClient

from app.asgi import create_app
from flows.campaign import run_campaign
from flows.common import database
from reelcart import progress
from reelcart.models import Creative
from reelcart.settings import get_settings
from tests.factories import make_product, write_catalog

from .artifacts import artifact, artifact_rows

pytestmark = pytest.mark.xdist_group("prefect")


class _Recorder:
    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.done: Counter[str] = Counter()
        self.starts: list[tuple[str, int]] = []

    def start(self, stage: str, total: int) -> None:
        self.starts.append((stage, total))
        self.totals[stage], self.done[stage] = total, 0

    def add(self, stage: str, total: int) -> None:
        self.totals[stage] += total

    def advance(self, stage: str, amount: int = 1) -> None:
        self.done[stage] += amount


async def _artifact_keys() -> list[str]:
    async with get_client() as client:
        return [a.key or "" for a in await client.read_artifacts()]


def test_progress_is_true_and_artifacts_lead_with_the_useful_cards(
    flow_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = write_catalog(tmp_path / "store", [make_product(1), make_product(2)])
    seen = _Recorder()
    progress.set_sink(seen)
    try:
        # One child run per product: each child's frames add to one true total.
        result = run_campaign(
            campaign="shown", catalog_path=str(catalog), max_variants=1, batch_size=1
        )
    finally:
        progress.set_sink(None)
    assert len(result["children"]) == 2 and result["rendered"] == 2
    with database().session() as session:
        creatives = list(session.scalars(select(Creative)))
        manifests = [c.manifest for c in creatives]
        # Files a person can tell apart: named by the creative (product handle, factors).
        assert all(c.video_key.endswith(f"/{c.name}.mp4") for c in creatives if c.video_key)
    frames = sum(int(m["frame_count"]) for m in manifests)
    assert seen.totals["frames"] == frames == seen.done["frames"], seen
    assert ("publish", 0) not in seen.starts  # no "Publishing 0/0"

    import asyncio

    keys = asyncio.run(_artifact_keys())
    assert not [k for k in keys if k.startswith("qa-")], keys  # no card per creative
    rows = artifact_rows("shown-creatives")
    assert len(rows) == 2 and {r["quality"] for r in rows} == {"passed"}
    summary = str(artifact("shown-summary").data)
    assert "Quality gate: all 2 passed." in summary
    link = re.search(r"Full size[^\[]*\[(?P<text>[^\]]+)\]\((?P<href>[^)]+)\)", summary)
    assert link is not None, summary
    href = urlparse(link["href"])
    assert href.scheme == "http" and href.netloc and link["text"] == link["href"]
    # The link opens: the app serves that path (publicly, as the UI's new tab asks it).
    monkeypatch.setenv("REELCART_API_TOKEN", "test-token")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as http:
        sheet = http.get(href.path)
    assert sheet.status_code == 200 and sheet.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert Artifact.get("shown-run") is not None
