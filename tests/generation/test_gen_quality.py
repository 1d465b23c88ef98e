"""The quality gate: the demo store passes it in every aspect and duration; crafted bad
creatives (product covered, cues overlapping, text cut, wrong price, wrong loudness or
length, black or frozen picture) are each caught."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
from PIL import Image

from generation.brand import BrandKit
from generation.compose import Compositor
from generation.contact_sheet import make_contact_sheet
from generation.engines.motion import MotionEngine
from generation.footage import FootageCache
from generation.overlays.layout import DrawnText, intersects
from generation.placement import frame_watch, product_box
from generation.quality import CatalogPrice, parse_vtt, read_price
from generation.quality.report import Check
from generation.quality.rules import (
    Cue,
    check_cues,
    check_duration,
    check_loudness,
    check_motion,
    check_overlays_clear_of_product,
    check_price,
    check_text_in_frame,
)
from generation.render import render_creative
from generation.storyboard import RenderConfig, master_size, storyboard
from tests.generation.demo_jobs import demo_job, demo_products

ASPECTS = ("9:16", "1:1", "4:5", "16:9")
# Small renders keep the suite fast; bench/compose.py renders full size.
CONFIG = RenderConfig(
    width=216, height=384, fps=8, brand=BrandKit(voiceover=False, ai_label=True), aspects=ASPECTS
)
ARTIFACTS = Path(__file__).resolve().parents[2] / ".reelcart" / "test-artifacts"


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> FootageCache:
    root = tmp_path_factory.mktemp("footage")
    return FootageCache(MotionEngine(), root, master_size(CONFIG))


def _product(handle: str) -> dict:
    return next(p for p in demo_products() if p["handle"] == handle)


def _frames_at(video: Path, picks: list[int]) -> list[Image.Image]:
    with av.open(str(video)) as container:
        frames = [f.to_image() for f in container.decode(video=0)]
    return [frames[min(i, len(frames) - 1)] for i in picks]


@pytest.mark.parametrize("aspect", ASPECTS)
def test_demo_store_passes_the_gate(aspect: str, demo_cache: FootageCache, tmp_path: Path) -> None:
    # The reported product (the watch whose face the price covered) in both durations,
    # and a product with varying variant prices ("from") in the short cut.
    cases = [
        ("field-watch-38mm", "6s", "price"),
        ("field-watch-38mm", "15s", "title"),
        ("terracotta-planter", "6s", "price"),
    ]
    sheet_entries: list[tuple[Path, str]] = []
    for handle, duration, hook in cases:
        job = demo_job(_product(handle), {"aspect": aspect, "duration": duration, "hook": hook})
        spec = storyboard(job, CONFIG)
        name = job.name.replace(":", "x")
        rendered = render_creative(spec, tmp_path, demo_cache, name, theme=CONFIG.brand.theme)
        qa = rendered.manifest["qa"]
        assert qa["passed"], [c for c in qa["checks"] if not c["passed"]]
        assert rendered.frame_count == round(int(duration[:-1]) * CONFIG.fps)
        assert rendered.quality is not None
        located = rendered.quality.check("overlays_clear_of_product").measured["located"]
        assert located >= 3  # the rule saw the product, it did not pass by default
        fps, n = spec.fps, rendered.frame_count
        picks = [round(0.5 * fps), n // 2, n - 1]
        frames = _frames_at(rendered.video_path, picks)
        for label, frame in zip(("0.5 s", "middle", "end"), frames, strict=True):
            path = tmp_path / f"{name}-{label.replace(' ', '')}.png"
            frame.save(path)
            sheet_entries.append((path, f"{handle} {duration} {hook} @ {label}"))
    sheet = make_contact_sheet(
        sheet_entries, tmp_path / f"sheet-{aspect.replace(':', 'x')}.png", columns=3,
        thumb_width=200, title=f"Demo store, {aspect}: frames at 0.5 s, middle, end",
    )  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(sheet, ARTIFACTS / sheet.name)


def test_a_layout_that_covers_the_product_is_caught(demo_cache: FootageCache) -> None:
    job = demo_job(_product("field-watch-38mm"), {"aspect": "1:1", "duration": "6s"})
    spec = storyboard(job, CONFIG)
    true_box = product_box(demo_cache, spec)
    assert true_box is not None
    frames = list(demo_cache.frames(spec.shots[0], spec.width, spec.height, spec.fps))

    def gate_samples(claimed: tuple[int, int, int, int]) -> Check:
        compositor = Compositor(spec, None, claimed)
        watch = frame_watch(compositor, spec)
        for index, frame in enumerate(frames):
            if watch.want_sample(index):
                watch.footage(index, frame)
        return check_overlays_clear_of_product(watch.samples)

    assert gate_samples(true_box).passed
    # A layout told the product is a sliver at the right edge puts text on the watch.
    w, h = spec.width, spec.height
    wrong = gate_samples((w - 8, h // 2 - 4, w, h // 2 + 4))
    assert not wrong.passed and wrong.measured["hits"]


def test_overlapping_caption_cues_are_caught() -> None:
    vtt = (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.700\nHook\n\n"
        "2\n00:00:02.500 --> 00:00:05.000\nNext\n"
    )
    cues = parse_vtt(vtt)
    assert cues == [Cue(0.0, 2.7, "Hook"), Cue(2.5, 5.0, "Next")]
    bad = check_cues(cues, 6.0)
    assert not bad.passed and "overlap by 0.200 s" in bad.detail
    assert check_cues([Cue(0, 2.5, "a"), Cue(2.5, 6.0, "b")], 6.0).passed
    assert not check_cues([Cue(0, 2.5, "a"), Cue(2.5, 6.5, "b")], 6.0).passed


def test_burned_captions_never_overlap_at_a_cut(make_spec: object) -> None:
    """Reported: two captions visible together for ~0.2 s at every cut (the dissolve
    blended the previous frame *with* its caption). Only footage dissolves now."""
    from generation.spec import ShotSpec

    base = make_spec()  # type: ignore[operator]
    shot = base.shots[0]
    spec = dataclasses.replace(
        base,
        shots=(shot, ShotSpec(shot.image_path, "pan_left", 1.0, 2)),
        lines=("First caption here", "Second one", "Shop now"),
    )
    compositor = Compositor(spec)
    cut = spec.scene_frames[1][0]
    black = np.zeros((spec.height, spec.width, 3), np.uint8)
    frames = [compositor.overlay(black, i) for i in range(cut + 1)]
    first = compositor.caption_layers[0]
    second = compositor.caption_layers[1]
    assert first is not None and second is not None
    # On the first dissolve frame, the old caption's box shows nothing of the old text:
    # exactly the new caption (and the strip) over dissolved black footage.
    expected = black.copy()
    compositor.info_layer.blend_into(expected)
    second.blend_into(expected)
    x0, y0 = first.x, first.y
    x1, y1 = x0 + first.rgb.width, y0 + first.rgb.height
    assert np.array_equal(frames[cut][y0:y1, x0:x1], expected[y0:y1, x0:x1])


def test_end_card_has_one_cta_and_no_smudge_of_the_price(make_spec: object) -> None:
    spec = make_spec(lines=("Aloe face wash", "Shop now"))  # type: ignore[operator]
    compositor = Compositor(spec)
    grey = np.full((spec.height, spec.width, 3), 128, np.uint8)
    last = None
    for index in range(spec.shot_frames[0]):
        last = compositor.overlay(grey, index)
    final = list(compositor.end_card(last))[-1].astype(int)
    ctas = [d for d in compositor.drawn if d.layer.startswith(("end_card", "caption1"))]
    assert [d.role for d in ctas].count("cta") == 1
    assert not any(d.text == "Shop now" for d in ctas if d.role != "cta")
    # Outside the end card's own text, nothing yellow: the price pill did not leave a
    # blurred smudge in the backdrop.
    mask = np.ones(final.shape[:2], bool)
    for d in compositor.drawn:
        if d.layer == "end_card":
            left, top, right, bottom = d.box
            mask[top:bottom, left:right] = False
    r, g, b = final[..., 0], final[..., 1], final[..., 2]
    yellowish = (r - b > 25) & (g - b > 20)
    assert not yellowish[mask].any()


def test_clipped_or_cut_text_is_caught() -> None:
    title = "Field Watch 38 mm"
    good = [DrawnText("hook", "title", title, (10, 10, 100, 40))]
    assert check_text_in_frame(good, 216, 384, {"title": title}).passed
    off_frame = [DrawnText("hook", "title", title, (150, 10, 240, 40))]
    assert not check_text_in_frame(off_frame, 216, 384, {"title": title}).passed
    cut = [DrawnText("hook", "title", "Field Watch 38…", (10, 10, 100, 40))]
    result = check_text_in_frame(cut, 216, 384, {"title": title})
    assert not result.passed and "is cut" in result.detail
    missing_word = [DrawnText("hook", "title", "Field Watch", (10, 10, 100, 40))]
    assert not check_text_in_frame(missing_word, 216, 384, {"title": title}).passed
    # Emoji are left out of burned-in text on purpose (no font draws them): not a cut.
    emoji = [DrawnText("hook", "title", "Aloe Face Wash", (10, 10, 100, 40))]
    assert check_text_in_frame(emoji, 216, 384, {"title": "Aloe Face Wash 🌿"}).passed


def test_a_wrong_price_is_caught_and_blocks_nothing_else(
    demo_cache: FootageCache, tmp_path: Path
) -> None:
    job = demo_job(_product("terracotta-planter"), {"aspect": "9:16", "duration": "6s"})
    spec = storyboard(job, CONFIG)
    assert spec.price_text == "from $9.99"  # variants at 9.99 and 16.50
    stale = dataclasses.replace(spec, price_text="$9.99")  # no "from"
    wrong = dataclasses.replace(spec, price_text="from $9.90")
    for bad in (stale, wrong):
        rendered = render_creative(bad, tmp_path, demo_cache, "bad", theme=CONFIG.brand.theme)
        assert rendered.manifest["qa"]["failed"] == ["price_matches_catalog"]


@pytest.mark.parametrize(
    ("text", "currency", "minor", "is_from"),
    [
        ("$149.00", "USD", 14900, False),
        ("from $9.99", "USD", 999, True),
        ("From $1,299.50", "USD", 129950, True),
        ("€1.234,56", "EUR", 123456, False),
        ("¥1,200", "JPY", 1200, False),
    ],
)
def test_prices_read_back_from_screen_text(
    text: str, currency: str, minor: int, is_from: bool
) -> None:
    shown = read_price(text, currency)
    assert shown is not None and (shown.minor, shown.is_from, shown.currency_ok) == (
        minor,
        is_from,
        True,
    )
    catalog = CatalogPrice(minor, minor + (1 if is_from else 0), currency)
    drawn = [DrawnText("hook", "price", text, (0, 0, 1, 1))]
    assert check_price(drawn, catalog).passed
    assert not check_price(drawn, CatalogPrice(minor + 1, minor + 1, currency)).passed


def test_loudness_and_clipping_rules_measure_with_ebu_r128() -> None:
    rate = 48_000
    t = np.arange(rate * 3) / rate
    tone = np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1)
    meter = pyloudnorm.Meter(rate)
    at_target = tone * 10 ** ((-14 - meter.integrated_loudness(tone)) / 20)
    assert check_loudness(at_target, rate).passed
    quiet = check_loudness(at_target * 0.1, rate)
    assert not quiet.passed and quiet.measured["lufs"] == pytest.approx(-34, abs=0.2)
    clipped = np.clip(at_target * 4, -1, 1)
    assert not check_loudness(clipped, rate).passed


def test_duration_black_and_frozen_rules() -> None:
    assert check_duration(180, 180, 30, 6.0).passed
    assert check_duration(181, 180, 30, 6.01).passed  # within one frame
    assert not check_duration(195, 180, 30, None).passed  # a 6.5 s cut of a 6 s plan
    assert not check_duration(180, 180, 30, 6.5).passed  # audio runs long
    moving = [100.0] * 60
    assert check_motion(moving, [], 30, 0.5).passed
    assert not check_motion([100.0] * 20 + [3.0] * 20 + [100.0] * 20, [], 30, 0.5).passed
    assert not check_motion(moving, [(10, 30)], 30, 0.5).passed


def test_rendered_layouts_keep_text_off_the_product_in_every_aspect(
    demo_cache: FootageCache,
) -> None:
    """Reported: in 16:9 and 1:1 the big price pill covered the watch face."""
    for aspect in ASPECTS:
        job = demo_job(_product("field-watch-38mm"), {"aspect": aspect, "hook": "price"})
        spec = storyboard(job, CONFIG)
        box = product_box(demo_cache, spec)
        assert box is not None
        compositor = Compositor(spec, None, box)
        product = compositor.plan.product
        assert product is not None
        for item in compositor.drawn:
            if item.layer != "end_card":
                assert not intersects(item.box, product), (aspect, item)
                assert compositor.area.contains(item.box), (aspect, item)
