"""Fixtures for the generation tests: a synthetic product photo and small, fast specs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from generation.spec import CreativeSpec, ShotSpec

# Small enough that a whole render takes a fraction of a second, but with the same
# 9:16 shape (and so the same layout rules) as the real 1080x1920 output.
WIDTH, HEIGHT, FPS = 144, 256, 12


def draw_product_photo(path: Path, size: tuple[int, int] = (240, 240), mode: str = "RGB") -> Path:
    """A product-like photo: light gradient backdrop, a bottle with a label, a shadow.

    Structure at several scales matters: a flat image would hide broken camera moves.
    """
    width, height = size
    image = Image.new(mode, size, (235, 230, 222, 255) if mode == "RGBA" else (235, 230, 222))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = 235 - 50 * y // height
        draw.line([(0, y), (width, y)], fill=(shade, shade - 5, shade - 12))
    cx = width // 2
    draw.ellipse((cx - 60, height - 45, cx + 60, height - 25), fill=(170, 165, 160))
    draw.rounded_rectangle((cx - 35, 50, cx + 35, height - 35), radius=14, fill=(30, 90, 160))
    draw.rectangle((cx - 14, 25, cx + 14, 52), fill=(20, 20, 20))
    draw.rectangle((cx - 25, 100, cx + 25, 150), fill=(245, 245, 240))
    for i in range(4):
        draw.line([(cx - 18, 108 + i * 11), (cx + 18, 108 + i * 11)], fill=(50, 50, 50), width=2)
    if mode == "RGBA":
        # Cut-out product: transparent outside the bottle.
        alpha = Image.new("L", size, 0)
        ImageDraw.Draw(alpha).rounded_rectangle(
            (cx - 35, 25, cx + 35, height - 35), radius=14, fill=255
        )
        image.putalpha(alpha)
    image.save(path)
    return path


@pytest.fixture
def photo_factory() -> Callable[..., Path]:
    """``draw_product_photo`` for tests that need photos of other sizes or modes."""
    return draw_product_photo


@pytest.fixture
def product_photo(tmp_path: Path) -> Path:
    return draw_product_photo(tmp_path / "product.png")


@pytest.fixture
def make_spec(product_photo: Path) -> Callable[..., CreativeSpec]:
    """Build a small CreativeSpec; keyword arguments override the defaults."""

    def build(**overrides: Any) -> CreativeSpec:
        fields: dict[str, Any] = {
            "title": "Hydrating Daily Face Wash with Aloe",
            "price_text": "$24.00",
            "cta_text": "Shop now",
            "hook": "title",
            "shots": (ShotSpec(product_photo, "push_in", 1.0, 1),),
            "factors": (("cta", "shop_now"), ("hook", "title")),
            "brand_name": "Acme Skin",
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "end_card_s": 0.5,
        }
        fields.update(overrides)
        return CreativeSpec(**fields)

    return build
