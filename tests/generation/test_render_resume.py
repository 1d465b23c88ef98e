"""A render run killed with SIGKILL resumes: finished creatives are kept, leftovers cleaned.

A real child process renders one creative, starts a second and kills itself (SIGKILL, so
no cleanup code runs) a few frames into it. The next run in this process must skip the
finished one, whatever the database knows, and leave no ``.part`` file behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import generation.jobs
from generation.brand import BrandKit
from generation.engines.motion import MotionEngine
from generation.jobs import plan_render, render_hash, render_job
from generation.storyboard import RenderConfig
from reelcart.domain import CreativeJob

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from generation.brand import BrandKit
    from generation.engines.motion import MotionEngine
    from generation.jobs import render_job
    from generation.storyboard import RenderConfig
    from reelcart.domain import CreativeJob

    jobs = [CreativeJob.model_validate(j) for j in json.loads(sys.argv[1])]
    root = Path(sys.argv[2])
    config = RenderConfig(width=72, height=128, fps=4, brand=BrandKit(voiceover=False),
                          footage_dir=root / "footage")
    render_job(jobs[0], config, root / "out", MotionEngine())
    print("first done", flush=True)

    def die(done, total):
        if done == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    render_job(jobs[1], config, root / "out", MotionEngine(), on_frame=die)
    print("second done", flush=True)
    """
)


def _job(photo: Path, hook: str) -> CreativeJob:
    return CreativeJob.model_validate(
        {
            "creative_id": f"crv_{hook}",
            "name": f"mug__hook-{hook}",
            "product_id": "p1",
            "product_title": "Stoneware Mug",
            "price_minor": 2400,
            "currency": "USD",
            "brand_name": "Acme",
            "image_paths": [str(photo)],
            "factors": {"hook": hook, "duration": "6s"},
            "seed": 11,
            "product_version": "v1",
        }
    )


def _config(root: Path) -> RenderConfig:
    return RenderConfig(
        width=72, height=128, fps=4, brand=BrandKit(voiceover=False), footage_dir=root / "footage"
    )


def test_a_killed_run_resumes_from_what_finished(product_photo: Path, tmp_path: Path) -> None:
    jobs = [_job(product_photo, "price"), _job(product_photo, "title")]
    payload = json.dumps([j.model_dump(mode="json") for j in jobs])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, payload, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert "first done" in child.stdout and "second done" not in child.stdout
    out = tmp_path / "out"
    finished = out / "mug__hook-price.mp4"
    assert finished.is_file() and (out / "mug__hook-price.json").is_file()
    assert not (out / "mug__hook-title.mp4").exists()
    assert list(out.glob(".mug__hook-title.mp4.*.part")), "the kill left no partial video"
    before = finished.stat().st_mtime_ns

    # The second run: the database never recorded the first render (jobs carry no hash).
    again = render_job(jobs[0], _config(tmp_path), out, MotionEngine())
    assert again.skipped and again.video_path == finished
    assert finished.stat().st_mtime_ns == before
    assert again.manifest["render_hash"] == again.render_hash
    resumed = render_job(jobs[1], _config(tmp_path), out, MotionEngine())
    assert not resumed.skipped and resumed.video_path.is_file()
    assert sorted(p.name for p in out.glob(".*.part")) == []


def test_a_changed_plan_or_a_torn_manifest_renders_again(
    product_photo: Path, tmp_path: Path
) -> None:
    job = _job(product_photo, "price")
    out = tmp_path / "out"
    first = render_job(job, _config(tmp_path), out, MotionEngine())
    assert not first.skipped
    manifest = out / "mug__hook-price.json"
    manifest.write_text(manifest.read_text()[:40])  # cut off mid-write
    assert not render_job(job, _config(tmp_path), out, MotionEngine()).skipped
    assert render_job(job, _config(tmp_path), out, MotionEngine()).skipped
    changed = job.model_copy(update={"price_minor": 1900})  # the plan moved on
    assert not render_job(changed, _config(tmp_path), out, MotionEngine()).skipped


def test_a_planned_render_draws_its_storyboard_once(
    product_photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow plans a render (storyboard and hash) once; the renderer draws from that plan
    rather than storyboarding the job again, and names the result with the plan's hash."""
    job, config = _job(product_photo, "title"), _config(tmp_path)
    drawn = []
    real = generation.jobs.storyboard
    monkeypatch.setattr(
        generation.jobs, "storyboard", lambda *a, **k: drawn.append(a[0].name) or real(*a, **k)
    )
    planned = plan_render(job, config, MotionEngine())
    outcome = render_job(job, config, tmp_path / "out", MotionEngine(), planned=planned)
    assert drawn == [job.name]
    assert outcome.render_hash == planned.digest == render_hash(planned.spec, "motion", config)
    assert outcome.manifest["frame_count"] == planned.spec.frame_count
