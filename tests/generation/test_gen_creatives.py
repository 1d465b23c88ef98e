"""Finished creatives: footage reuse, exact files, captions, audio, provenance, price pixels."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from generation.audio import EspeakTTS
from generation.brand import BrandKit
from generation.compose import Compositor
from generation.encode import probe_video
from generation.engines.motion import MotionEngine
from generation.footage import FootageCache
from generation.jobs import render_job
from generation.placement import product_box
from generation.provenance import SigningConfig, read_credentials
from generation.reframe import crop_window, locate_product
from generation.spec import ShotSpec
from generation.storyboard import RenderConfig, master_size, storyboard
from reelcart.domain import CampaignPlan, CreativeJob
from tests.generation.certs import make_signing_chain

SILENT = BrandKit(voiceover=False)


class CountingEngine:
    """The real motion engine, counting how often footage is asked for."""

    name = "motion"

    def __init__(self) -> None:
        self.inner = MotionEngine()
        self.calls: list[str] = []

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[np.ndarray]:
        self.calls.append(shot.key())
        return self.inner.frames(shot, width, height, fps)


def _job(photos: list[Path], factors: dict[str, str], **extra: object) -> CreativeJob:
    key = CampaignPlan.variant_key(factors)
    name = re.sub(r"[^a-z0-9]+", "-", key.lower())
    fields: dict[str, object] = {
        "creative_id": f"crv_{name}",
        "name": name,
        "product_id": "p1",
        "product_title": "Aloe Face Wash",
        "price_minor": 2400,
        "currency": "USD",
        "brand_name": "Acme",
        "image_paths": tuple(str(p) for p in photos),
        "factors": factors,
        "seed": 11,
        "product_version": "v1",
        **extra,
    }
    return CreativeJob.model_validate(fields)


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_engine_runs_once_per_distinct_shot_across_the_campaign(
    product_photo: Path, tmp_path: Path
) -> None:
    plan = CampaignPlan(
        factors={
            "hook": ["title", "price"],
            "cta": ["shop_now", "buy_in_chat"],
            "duration": ["6s", "15s"],
            "aspect": ["9:16", "1:1", "4:5", "16:9"],
        },
        design="pairwise",
        max_variants=64,
    )
    config = RenderConfig(
        width=72, height=128, fps=4, brand=SILENT, aspects=tuple(plan.factors["aspect"])
    )
    engine = CountingEngine()
    cache = FootageCache(engine, tmp_path / "footage", master_size(config))
    jobs = [_job([product_photo], v) for v in plan.variants()]
    distinct = {s.key() for job in jobs for s in storyboard(job, config).shots}
    sizes = set()
    for job in jobs:
        outcome = render_job(job, config, tmp_path / "out", cache)
        sizes.add((outcome.manifest["width"], outcome.manifest["height"]))
    assert len(jobs) >= 8 and sizes == {(72, 128), (72, 72), (72, 90), (128, 72)}
    # 6 s and 15 s share the hook shot: 2 + 5 - 1 distinct shots for one photo.
    assert len(distinct) == 6
    assert sorted(engine.calls) == sorted(distinct) and cache.engine_calls == len(distinct)
    # A second pass (e.g. a re-render after a copy change) generates nothing new.
    render_job(jobs[0], config, tmp_path / "again", cache)
    assert len(engine.calls) == len(distinct)


def _off_centre_photo(path: Path) -> Path:
    image = Image.new("RGB", (400, 240), (240, 240, 236))
    ImageDraw.Draw(image).rounded_rectangle((30, 40, 110, 220), radius=12, fill=(20, 60, 200))
    image.save(path)
    return path


def _blue(frame: np.ndarray) -> int:
    f = frame.astype(np.int16)
    return int(((f[..., 2] - f[..., 0] > 90) & (f[..., 2] > 120)).sum())


def test_reframing_keeps_an_off_centre_product_in_frame(tmp_path: Path) -> None:
    photo = _off_centre_photo(tmp_path / "left.png")
    shot = ShotSpec(photo, "push_in", 0.5, 3)
    master = list(MotionEngine().frames(shot, 256, 144, 8))
    box = locate_product(master)
    assert box[0] < 0.35 and box[2] < 0.6  # found on the left
    cache = FootageCache(MotionEngine(), tmp_path / "f", master=(256, 144))
    tall = list(cache.frames(shot, 80, 144, 8))
    assert tall[0].shape == (144, 80, 3)
    centre = [f[:, 88:168] for f in master]  # what a centre crop would show
    kept = sum(map(_blue, tall)) / sum(map(_blue, master))
    assert kept > 0.9 > sum(map(_blue, centre)) / sum(map(_blue, master))
    # The window arithmetic: the largest 9:16 window, wholly containing the box.
    x0, y0, x1, y1 = crop_window(256, 144, 80, 144, (0.1, 0.2, 0.3, 0.8))
    assert (y0, y1) == (0, 144) and x1 - x0 == pytest.approx(80)
    assert x0 == pytest.approx((0.1 + 0.3) / 2 * 256 - 40)  # centred on the product
    # Near the edge the window stops at the frame instead of leaving it.
    assert crop_window(256, 144, 80, 144, (0.0, 0.2, 0.1, 0.8))[0] == 0


@pytest.fixture(scope="module")
def signed_creative(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, CreativeJob]:
    from tests.generation.conftest import draw_product_photo

    root = tmp_path_factory.mktemp("signed")
    photos = [draw_product_photo(root / "a.png"), _off_centre_photo(root / "b.png")]
    chain, key = make_signing_chain(root / "ca")
    config = RenderConfig(
        width=360,
        height=640,
        fps=8,
        brand=BrandKit(ai_label=True),
        signing=SigningConfig(chain, key),
        footage_dir=root / "footage",
    )
    job = _job(
        photos,
        {"hook": "price", "duration": "6s", "aspect": "9:16", "cta": "shop_now"},
        description="<p>Gentle gel with aloe.</p>",
    )
    outcome = render_job(job, config, root / "out", MotionEngine())
    return {"outcome": outcome, "config": config}, root, job


def test_files_are_exact(signed_creative: tuple[dict, Path, CreativeJob]) -> None:
    data, _, _ = signed_creative
    outcome = data["outcome"]
    info = probe_video(outcome.video_path)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 360, 640)
    assert info.fps == 8 and info.frame_count == 48 and info.duration_s == pytest.approx(6.0)
    assert info.faststart  # still true after the C2PA manifest went in
    assert (info.audio_codec, info.audio_sample_rate, info.audio_channels) == ("aac", 48000, 2)
    assert info.audio_duration_s == pytest.approx(6.0, abs=1024 / 48000)
    with Image.open(outcome.poster_path) as poster:
        assert poster.size == (360, 640)
    with Image.open(outcome.video_path.with_suffix(".webp")) as preview:
        assert preview.format == "WEBP" and getattr(preview, "n_frames", 1) > 10
    manifest = json.loads(outcome.video_path.with_suffix(".json").read_text())
    assert manifest["factors"]["aspect"] == "9:16" and manifest["seed"] == 11
    assert manifest["product_version"] == "v1" and manifest["engine"] == "motion"
    assert len(manifest["shots"]) == 2 and manifest["provenance"] == {"c2pa": True}


def _vtt_cues(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = []
    for block in text.strip().split("\n\n")[1:]:
        _, timing, line = block.split("\n", 2)
        start, end = timing.split(" --> ")
        cues.append((seconds(start), seconds(end), line))
    return cues


def test_captions_line_up_with_the_storyboard(
    signed_creative: tuple[dict, Path, CreativeJob],
) -> None:
    data, _, job = signed_creative
    spec = storyboard(job, data["config"])
    video = data["outcome"].video_path
    cues = _vtt_cues(video.with_suffix(".vtt").read_text())
    assert video.with_suffix(".vtt").read_text().startswith("WEBVTT\n\n")
    expected = [
        (a / 8, b / 8, line) for (a, b), line in zip(spec.scene_frames, spec.lines, strict=True)
    ]
    assert cues == expected
    # The hook said the price: the offer scene tells the description's selling point.
    assert [c[2] for c in cues] == ["Aloe Face Wash, $24.00", "Gentle gel with aloe.", "Shop now"]
    srt = video.with_suffix(".srt").read_text()
    assert "00:00:02,500 --> 00:00:04,500\nGentle gel with aloe." in srt
    # The burned-in caption changes on the frame its cue starts.
    frames = _decode(video)
    band = slice(440, 500)
    assert np.abs(frames[20][band].astype(int) - frames[19][band]).mean() > 5


def test_content_credentials_validate(signed_creative: tuple[dict, Path, CreativeJob]) -> None:
    data, _, _ = signed_creative
    creds = read_credentials(data["outcome"].video_path)
    assert creds is not None and creds["validation_state"] == "Valid"
    # A test CA is (rightly) untrusted; nothing else may fail.
    assert {s["code"] for s in creds["validation_status"]} <= {"signingCredential.untrusted"}
    assertions = {a["label"]: a["data"] for a in creds["manifest"]["assertions"]}
    action = assertions["c2pa.actions.v2"]["actions"][0]
    assert (
        action["action"] == "c2pa.created" and "compositeSynthetic" in action["digitalSourceType"]
    )
    ours = assertions["com.reelcart.creative"]
    assert ours["factors"]["hook"] == "price" and ours["seed"] == 11
    assert [s["key"] for s in ours["shots"]] == [
        s["key"] for s in data["outcome"].manifest["shots"]
    ]


def test_price_badge_pixels_match_the_catalog_price(
    signed_creative: tuple[dict, Path, CreativeJob], tmp_path: Path
) -> None:
    data, _, job = signed_creative
    spec = storyboard(job, data["config"])
    frames = _decode(data["outcome"].video_path)
    index = spec.scene_frames[1][0] + 8  # second shot: info strip, past the dissolve
    cache = FootageCache(MotionEngine(), data["config"].footage_dir, master_size(data["config"]))
    raw = list(cache.frames(spec.shots[1], spec.width, spec.height, spec.fps))[8]

    product = product_box(cache, spec)

    def drawn(price_text: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        compositor = Compositor(dataclasses.replace(spec, price_text=price_text), None, product)
        out = compositor.footage(raw)
        compositor.info_layer.blend_into(out)
        box = next(d.box for d in compositor.drawn if d.layer == "info" and d.role == "price")
        return out.astype(int), box

    right, box = drawn("$24.00")
    left, top, r, b = box
    actual = frames[index][top:b, left:r].astype(int)

    def luma(rgb: np.ndarray) -> np.ndarray:
        # yuv420p keeps full-resolution luma only; chroma is blurred 2x2 around text.
        return rgb @ np.array([0.299, 0.587, 0.114])

    correct = luma(right[top:b, left:r])
    seen = luma(actual)
    assert np.abs(correct - seen).mean() < 4  # the badge region: only compression noise
    for wrong_price in ("$29.00", "$24.50", "$84.00", "$2400"):
        wrong = luma(drawn(wrong_price)[0][top:b, left:r])
        differ = np.abs(correct - wrong) > 40  # the glyph strokes that tell them apart
        assert differ.sum() > 10
        near_right = np.abs(seen[differ] - correct[differ]).mean()
        near_wrong = np.abs(seen[differ] - wrong[differ]).mean()
        assert near_right < 0.4 * near_wrong, (wrong_price, near_right, near_wrong)


@pytest.mark.parametrize("aspect", ["9:16", "1:1", "4:5", "16:9"])
def test_all_text_inside_each_platforms_safe_area(product_photo: Path, aspect: str) -> None:
    job = _job(
        [product_photo],
        {"aspect": aspect, "duration": "15s", "hook": "title"},
        product_title="Ultra-Soft Organic Cotton Hooded Bath Towel Wrap with Extra Long Sleeves",
        description="<p>" + "Very long sentence about the towel that goes on and on. " * 5 + "</p>",
    )
    config = RenderConfig(brand=BrandKit(ai_label=True, voiceover=False))
    compositor = Compositor(storyboard(job, config))
    assert {"hook", "info", "end_card", "captions", "ai_label"} <= set(compositor.text_boxes)
    for name, boxes in compositor.text_boxes.items():
        for box in boxes:
            assert compositor.area.contains(box), (aspect, name, box)


def test_missing_espeak_skips_the_voiceover_with_a_log(
    product_photo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = _job([product_photo], {"duration": "6s"})
    config = RenderConfig(width=72, height=128, fps=4, footage_dir=tmp_path / "f")
    with caplog.at_level(logging.WARNING):
        outcome = render_job(
            job, config, tmp_path, MotionEngine(), tts=EspeakTTS(binary="no-such-espeak")
        )
    assert "espeak-ng is not installed" in caplog.text
    assert outcome.manifest["audio"]["voiceover"] is None
    assert probe_video(outcome.video_path).audio_codec == "aac"  # the music is still there
