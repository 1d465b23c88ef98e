"""The whole loop as Prefect runs it: sync, generate, publish, report — and a second run."""

from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, select

from flows.campaign import run_campaign
from flows.common import database
from generation.encode import probe_video
from reelcart.models import Creative, Shot
from tests.factories import make_product, write_catalog

from .artifacts import artifact, artifact_rows

pytestmark = pytest.mark.xdist_group("prefect")


def test_run_campaign_end_to_end_and_again(flow_env: Path, tmp_path: Path) -> None:
    catalog = write_catalog(
        tmp_path / "store",
        [make_product(1, price="24.00", images=2), make_product(2, price="9.99")],
    )
    first = run_campaign(campaign="launch", catalog_path=str(catalog), max_variants=4)
    assert first["rendered"] == 4  # 2 products x hook {title, price}
    with database().session() as session:
        creatives = session.scalars(select(Creative).order_by(Creative.name)).all()
        assert [c.status for c in creatives] == ["published"] * 4
        assert {tuple(c.factors.items()) for c in creatives} == {
            (("hook", "title"),),
            (("hook", "price"),),
        }
        # Variants of a product share footage: 3 product photos -> 3 distinct shots.
        assert session.scalar(select(func.count()).select_from(Shot)) == 3
        files = {c.id: (c.video_key, c.poster_key, c.manifest) for c in creatives}
    media = flow_env / "media"
    for video_key, poster_key, manifest in files.values():
        assert video_key is not None and poster_key is not None
        info = probe_video(media / video_key)
        assert (info.width, info.height, info.codec, info.pix_fmt) == (144, 256, "h264", "yuv420p")
        assert info.faststart
        assert info.duration_s == pytest.approx(manifest["duration_s"], abs=0.15)
        assert (media / poster_key).is_file()
        # Captions and the animated preview are published beside the video.
        published = manifest["published"]
        assert set(published) == {"vtt", "srt", "preview"}
        assert (media / published["vtt"]).read_text().startswith("WEBVTT")
        assert (media / published["preview"]).stat().st_size > 0
    assert {files[c][2]["price_text"] for c in files} == {"$24.00", "$9.99"}
    assert Path(str(first["contact_sheet"])).is_file()

    assert artifact("launch-creatives").type == "table"
    assert sorted(row["creative"] for row in artifact_rows("launch-creatives")) == sorted(
        c.name for c in creatives
    )
    assert Artifact.get("launch-summary") is not None
    assert Artifact.get("catalog-sync") is not None

    mtimes = {p: p.stat().st_mtime_ns for p in media.rglob("*.mp4")}
    second = run_campaign(campaign="launch", catalog_path=str(catalog), max_variants=4)
    assert second["rendered"] == 0
    assert second["catalog"] == {"created": 0, "updated": 0, "unchanged": 2, "archived": 0}
    assert {p: p.stat().st_mtime_ns for p in media.rglob("*.mp4")} == mtimes
    with database().session() as session:
        assert session.scalar(select(func.count()).select_from(Creative)) == 4
        assert session.scalar(select(func.count()).select_from(Shot)) == 3
