"""A sale shows as a sale, and copy claims only what the catalog says.

On the demo store's Merino Knit Beanie (compare-at $38.00, price $29.00 in its export).
"""

from __future__ import annotations

import dataclasses

from generation.adcopy import TEMPLATE_WORDS
from generation.compose import Compositor
from generation.quality.price import read_price
from generation.quality.rules import check_claims, check_price
from generation.render import catalog_price
from generation.storyboard import RenderConfig, storyboard
from reelcart.money import to_minor_units
from tests.generation.demo_jobs import demo_job, demo_products


def _beanie_spec(hook: str):  # type: ignore[no-untyped-def]
    product = next(p for p in demo_products() if p["handle"] == "merino-beanie")
    variant = product["variants"][0]
    job = demo_job(product, {"duration": "6s", "hook": hook}).model_copy(
        update={"compare_at_minor": to_minor_units(variant["compareAtPrice"], "USD")}
    )
    return storyboard(job, RenderConfig(width=144, height=256, fps=8)), variant


def test_was_and_now_on_the_hook_the_strip_and_the_end_card() -> None:
    for hook in ("title", "price"):
        spec, variant = _beanie_spec(hook)
        compositor = Compositor(spec)
        was = {d.layer: d.text for d in compositor.drawn if d.role == "was_price"}
        now = {d.layer: d.text for d in compositor.drawn if d.role == "price"}
        assert set(was) == set(now) == {"hook", "info", "end_card"}
        for layer, text in was.items():
            shown = read_price(text, "USD")
            assert shown is not None and text.startswith("Was ")
            assert shown.minor == to_minor_units(variant["compareAtPrice"], "USD")
            assert read_price(now[layer], "USD").minor == to_minor_units(variant["price"], "USD")
        # The "was" sits with its price: above it, in the same group.
        boxes = {(d.layer, d.role): d.box for d in compositor.drawn}
        for layer in was:
            assert boxes[(layer, "was_price")][3] <= boxes[(layer, "price")][1]
        assert check_price(compositor.drawn, catalog_price(spec)).passed


def test_the_gate_refuses_a_was_price_the_catalog_does_not_hold() -> None:
    spec, _ = _beanie_spec("title")
    invented = dataclasses.replace(spec, compare_at_minor=None)
    check = check_price(Compositor(invented).drawn, catalog_price(invented))
    assert not check.passed and "no sale" in check.detail
    wrong = dataclasses.replace(spec, was_price_text="$48.00")
    check = check_price(Compositor(wrong).drawn, catalog_price(wrong))
    assert not check.passed and "not the catalog's 3800" in check.detail


def test_every_word_of_every_demo_script_comes_from_the_catalog() -> None:
    """The gate's claims rule over the demo store's scripts, and over invented claims."""
    config = RenderConfig(width=144, height=256, fps=8)
    for product in demo_products():
        for factors in ({"duration": "15s", "hook": "price"}, {"duration": "6s"}):
            spec = storyboard(demo_job(product, factors), config)
            check = check_claims(spec.lines, f"{spec.catalog_text} {spec.cta_text}", TEMPLATE_WORDS)
            assert check.passed, (product["handle"], check.detail)
    spec, _ = _beanie_spec("title")
    for claim, word in (("Rated best beanie of 2026", "rated"), ("Now 80% off", "off")):
        lines = (*spec.lines[:-1], claim)
        check = check_claims(lines, spec.catalog_text, TEMPLATE_WORDS)
        assert not check.passed and word in check.detail
