"""Spec validation, frame arithmetic and footage keys."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from generation.spec import CreativeSpec, ShotSpec


def test_shot_key_is_stable_and_follows_content(product_photo: Path, tmp_path: Path) -> None:
    shot = ShotSpec(product_photo, "push_in", 2.5, 7)
    assert shot.key() == ShotSpec(product_photo, "push_in", 2.5, 7).key()
    assert len(shot.key()) == 64 and int(shot.key(), 16) >= 0

    # Same bytes under another name: same footage, same key.
    copy = tmp_path / "renamed.png"
    shutil.copy(product_photo, copy)
    assert ShotSpec(copy, "push_in", 2.5, 7).key() == shot.key()

    others = {
        ShotSpec(product_photo, "pull_out", 2.5, 7).key(),
        ShotSpec(product_photo, "push_in", 3.0, 7).key(),
        ShotSpec(product_photo, "push_in", 2.5, 8).key(),
    }
    assert shot.key() not in others and len(others) == 3

    # Different pixels under the same name: a different key.
    Image.new("RGB", (50, 50), (1, 2, 3)).save(copy)
    assert ShotSpec(copy, "push_in", 2.5, 7).key() != shot.key()


@pytest.mark.parametrize(
    ("motion", "duration", "seed", "message"),
    [
        ("zoom_wobble", 1.0, 1, "unknown motion"),
        ("push_in", 0.0, 1, "positive"),
        ("push_in", -1.0, 1, "positive"),
        ("push_in", math.nan, 1, "positive"),
        ("push_in", math.inf, 1, "positive"),
        ("push_in", 1.0, 1.5, "seed"),
    ],
)
def test_shot_validation(
    product_photo: Path, motion: str, duration: float, seed: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ShotSpec(product_photo, motion, duration, seed)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"width": 145}, "width must be an even integer"),
        ({"height": 255}, "height must be an even integer"),
        ({"width": 0}, "width must be an even integer"),
        ({"hook": "discount"}, "unknown hook"),
        ({"shots": ()}, "at least one ShotSpec"),
        ({"end_card_s": 0}, "end_card_s must be a positive"),
        ({"fps": 0}, "fps must be an integer"),
        ({"title": "   "}, "title must be a non-empty string"),
        ({"price_text": ""}, "price_text must be a non-empty string"),
        ({"end_card_s": 0.01}, "shorter than one frame"),
        ({"factors": {"hook": 1}}, "factors must map str to str"),
    ],
)
def test_creative_validation(
    make_spec: Callable[..., CreativeSpec], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_spec(**overrides)


def test_shot_shorter_than_a_frame_is_rejected(
    make_spec: Callable[..., CreativeSpec], product_photo: Path
) -> None:
    with pytest.raises(ValueError, match="shorter than one frame"):
        make_spec(shots=(ShotSpec(product_photo, "push_in", 0.01, 1),))


def test_durations_and_frame_counts(
    make_spec: Callable[..., CreativeSpec], product_photo: Path
) -> None:
    spec = make_spec(
        shots=(
            ShotSpec(product_photo, "push_in", 1.0, 1),
            ShotSpec(product_photo, "pan_left", 0.75, 2),
        ),
        end_card_s=0.5,
        fps=12,
    )
    assert spec.duration_s == pytest.approx(2.25)
    assert spec.frame_count == 27 == round(spec.duration_s * spec.fps)
    assert spec.shot_frames == (12, 9)
    assert spec.end_card_frames == 6


def test_totals_stay_exact_when_segments_round(
    make_spec: Callable[..., CreativeSpec], product_photo: Path
) -> None:
    # 3 x 0.125 s at 12 fps is 1.5 frames each: per-segment rounding alone would drift.
    spec = make_spec(
        shots=tuple(ShotSpec(product_photo, "push_in", 0.125, i) for i in range(3)),
        end_card_s=0.5,
        fps=12,
    )
    assert sum(spec.shot_frames) + spec.end_card_frames == spec.frame_count
    assert spec.frame_count == round(spec.duration_s * spec.fps)


def test_factors_are_normalised_hashable_and_serialisable(
    make_spec: Callable[..., CreativeSpec],
) -> None:
    from_dict = make_spec(factors={"hook": "title", "cta": "shop_now"})
    from_pairs = make_spec(factors=(("hook", "title"), ("cta", "shop_now")))
    assert from_dict.factors == (("cta", "shop_now"), ("hook", "title"))
    assert from_dict == from_pairs and hash(from_dict) == hash(from_pairs)
    assert from_dict.factor_map == {"cta": "shop_now", "hook": "title"}
    json.dumps(dataclasses.asdict(from_dict), default=str)
