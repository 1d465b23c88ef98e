"""``bench/gpu_check.py --device cpu --toy`` runs in the suite, so the GPU check cannot rot.

The script is the one a lent GPU machine runs; here every full-size model is swapped for
its toy-width twin. Its JSON lines are read back and held to what each stage promises.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_toy_check_runs_every_stage_and_every_check_holds(
    gpu_check: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "check.jsonl"
    gpu_check.main(["--device", "cpu", "--toy", "--out", str(out), "--deadline", "600"])
    lines = read(out)
    stages = [line["stage"] for line in lines]
    for stage in (
        "versions",
        "meta",
        "smoke",
        "main",
        "attention",
        "compile",
        "two_pass",
        "wan",
        "ltx2",
        "done",
    ):
        assert stage in stages, stage
    assert not [line for line in lines if "skipped" in line]
    failed = [line for line in lines if line.get("ok") is False]
    assert not failed, failed
    meta = {line["preset"]: line for line in lines if line["stage"] == "meta"}
    assert set(meta) == {
        "ltx-video-i2v",
        "ltx-video-i2v-2pass",
        "ltx-video-2b",
        "wan2.2-ti2v-5b",
        "wan2.1-i2v-14b-480p",
        "ltx2-i2v-audio",
    }
    assert "upsampler_b" in meta["ltx-video-i2v-2pass"]
    assert meta["ltx-video-i2v"]["latent"] == [1, 128, 16, 15, 26]  # 121 frames, 480x832
    smoke = {line["family"]: line for line in lines if line["stage"] == "smoke"}
    assert all(s["contract"] and s["deterministic"] for s in smoke.values())
    # Batched kernels may round differently by a step or two of 255, never more.
    assert all(s["batch_vs_alone_max_diff"] <= 2 and s["batches"] == 1 for s in smoke.values())
    main = [line for line in lines if line["stage"] == "main" and "batch" in line]
    assert [(m["batch"], m["clips"]) for m in main] == [(1, 1), (4, 4)]
    assert all(m["denoise_s"] > 0 and m["decode_s"] > 0 for m in main)  # really generated
    backends = {line["backend"]: line for line in lines if line["stage"] == "attention"}
    assert (
        backends["_native_flash"]["ok"]
        and "self-attention" in backends["_native_flash"]["applied"][0]
    )
    compiled = next(line for line in lines if line["stage"] == "compile")
    assert compiled["unique_graphs"] == 2
    two = [line for line in lines if line["stage"] == "two_pass" and "batch" in line]
    assert [(t["batch"], t["clips"]) for t in two] == [(1, 1), (4, 4)]
    # Both passes ran: the second at twice the first, the frames at the asked size.
    assert all(t["second_pass"] == [2 * v for v in t["first_pass"]] for t in two)
    meta_ltx2, _, fresh, remix = [line for line in lines if line["stage"] == "ltx2"]
    assert meta_ltx2["meta_only"] and 18.5 < meta_ltx2["transformer_b"] < 19.5
    assert meta_ltx2["remix_pipeline"] == "LTX2ConditionPipeline"
    # The tiny LTX-2 generates, then remixes in one condition-pipeline call: both come
    # with their sound, timed by stage.
    assert (fresh["task"], remix["task"]) == ("i2v", "remix")
    assert remix["pipeline"] == "LTX2ConditionPipeline" and remix["calls"] == 1
    assert remix["frames"] == round(0.5 * 24) and remix["sound_s"] == fresh["sound_s"] > 0
    assert all(line["denoise_s"] > 0 and line["decode_s"] > 0 for line in (fresh, remix))


def test_stages_past_the_deadline_are_skipped_and_lines_append(
    gpu_check: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "check.jsonl"
    out.write_text(json.dumps({"stage": "earlier run"}) + "\n")
    gpu_check.main(["--device", "cpu", "--toy", "--out", str(out), "--deadline", "2"])
    lines = read(out)
    assert lines[0] == {"stage": "earlier run"}
    assert lines[1]["stage"] == "versions" and lines[1]["ok"]
    skipped = [line["stage"] for line in lines if line.get("skipped") == "deadline"]
    assert skipped == [
        "meta",
        "smoke",
        "main",
        "attention",
        "compile",
        "two_pass",
        "wan",
        "ltx2",
    ]
    assert lines[-1]["stage"] == "done"
