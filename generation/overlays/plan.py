"""The overlay plan of one creative: every text layer, sized and placed around the product.

Planning happens once per creative, before the first frame. Captions take the free
region that suits them best (the band below the product first); the headline (AI label,
title, price) takes the best remaining one (the band above the product first). Each
group is drawn at the largest size that fits its region and no smaller than a legible
minimum; text is never cut. When no arrangement fits, the footage is letterboxed a
little more and planning starts again (see :mod:`generation.overlays.layout`).

The plan records every drawn string with its box (:class:`DrawnText`), which is what
the quality gate (:mod:`generation.quality`) checks against the product, the frame and
the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageOps

from generation.overlays.layers import Layer, backdrop, flatten, shrink_to, stack
from generation.overlays.layout import Box, DrawnText, Letterbox, free_regions, inflate, letterbox
from generation.overlays.parts import AI_LABEL, Piece, TextParts, Theme, TinyTextParts
from generation.overlays.text import (
    TextBlock,
    fit_text,
    font_path_for,
    load_font,
    render_pill,
    render_text,
)
from generation.platforms import SafeArea
from generation.spec import CreativeSpec

__all__ = ["AI_LABEL", "DrawnText", "OverlayPlan", "Theme", "plan_overlays"]

# Footage scales tried in turn: full frame first, then ever deeper letterboxing; at
# each scale the footage centred, then pushed to one side (one wide band for text).
_SCALES = (1.0, 0.88, 0.78, 0.68, 0.6)
_ANCHORS = ((0.5, 0.5), (1.0, 0.5), (0.0, 0.5), (0.5, 0.0), (0.5, 1.0))


@dataclass
class OverlayPlan:
    """Layers and where they are, for one creative in one aspect."""

    area: SafeArea
    letterbox: Letterbox
    product: Box | None
    regions: dict[str, str]
    hook: Layer
    info: Layer
    label: Layer | None
    captions: list[Layer | None]
    end_card: Layer
    drawn: list[DrawnText] = field(default_factory=list)

    def boxes(self, layer: str) -> list[Box]:
        return [d.box for d in self.drawn if d.layer == layer]


def _words(text: str) -> set[str]:
    return {w.strip(".,:;!?\"'()").lower() for w in text.split()} - {""}


def _caption_lines(spec: CreativeSpec) -> list[str]:
    """Lines to burn in, per scene. The opening line is not burned when the hook already
    shows every word of it (the title, the price: on screen twice at once otherwise),
    nor the end card's line when it only repeats the CTA button (one call to action on
    the end card). The sidecar captions keep every spoken line."""
    if not spec.burn_captions or not spec.lines:
        return []
    lines = [line if line.strip() else "" for line in spec.lines]
    if " ".join(lines[-1].split()).lower() == " ".join(spec.cta_text.split()).lower():
        lines[-1] = ""
    headline = _words(" ".join((spec.title, spec.price_text, spec.was_price_text)))
    if len(lines) > 1 and _words(lines[0]) <= headline:
        lines[0] = ""
    return lines


_CAPTION_ORDER = ("bottom", "top", "left", "right")
_HEADLINE_ORDER = ("top", "bottom", "left", "right")
# Caption font sizes tried (at 1080 px), largest first, to leave the headline room:
# read on a phone, a 1080x1920 frame wants captions of 56 px and more.
_CAPTION_SIZES = (64, 58, 52, 46, 40, 34, 28, 22)


def _title_score(hook: tuple[list[Piece], int]) -> tuple[bool, int, int]:
    """How well a region shows the hook: a title in one or two lines (a headline, not a
    column of words), then the bigger title, then fewer lines."""
    title = next((p for p in hook[0] if p.role == "title"), None)
    if title is None:
        return (False, 0, 0)
    return (title.lines <= 2, title.font_size, -title.lines)


@dataclass
class _Attempt:
    captions: list[Piece | None]
    caption_region: SafeArea | None
    hook: tuple[list[Piece], int]
    info: tuple[list[Piece], int]
    region: SafeArea
    chosen: dict[str, str]


def _try(planner: TextParts, regions: dict[str, SafeArea], label: bool) -> _Attempt | None:
    """Captions, then headlines, into ``regions``; ``None`` when something does not fit.

    Captions go where they fit best (below the product first), at the largest size
    that still leaves the headline room in the region it shares with them, if any.
    """
    spec, px = planner.spec, planner.px
    lines = _caption_lines(planner.spec)[:-1]
    label_part = [planner.label_part()] if label else []
    # A sale shows as one: the price before it, struck through, above the price.
    was = [planner.was_part(44, 20)] if spec.was_price_text else []
    info_was = [planner.was_part(34, 18)] if spec.was_price_text else []
    hook_parts = (
        [*label_part, planner.title_part(54, 24, 2, False), *was, planner.price_part(150, 26)]
        if spec.hook == "price"
        else [*label_part, planner.title_part(96, 30, 3, True), *was, planner.price_part(60, 24)]
    )
    info_parts = [
        *label_part,
        planner.title_part(62, 26, 2, True),
        *info_was,
        planner.price_part(46, 22),
    ]

    def headline(
        free: dict[str, SafeArea],
    ) -> tuple[str, tuple[list[Piece], int], tuple[list[Piece], int]] | None:
        # Every region is tried and the one showing the title biggest (in the fewest
        # lines) wins, the preferred order breaking ties: a narrow side margin that
        # squeezes the title into a column loses to a band that holds it whole.
        best = None
        for name in sorted(free, key=_HEADLINE_ORDER.index):
            hook = planner.group(hook_parts, free[name], 22)
            info = planner.group(info_parts, free[name], 16)
            better = best is None or (hook and _title_score(hook) > _title_score(best[1]))
            if hook is not None and info is not None and better:
                best = (name, hook, info)
        return best

    if not any(lines):
        found = headline(dict(regions))
        if found is None:
            return None
        name, hook, info = found
        return _Attempt([], None, hook, info, regions[name], {"headline": name})
    # The biggest captions anywhere first: each size is tried in every region (below
    # the product first) before the next smaller one, and at that size exactly (the
    # smallest step may shrink further rather than fail).
    for size in _CAPTION_SIZES:
        floor = min(size, 22) if size == _CAPTION_SIZES[-1] else size
        for name in sorted(regions, key=_CAPTION_ORDER.index):
            region = regions[name]
            made = [planner.caption(line, region, size, floor) if line else None for line in lines]
            if any(m is None for m, line in zip(made, lines, strict=True) if line):
                continue  # not at this size in this region
            tallest = max(m.size[1] for m in made if m is not None)
            free = dict(regions)
            rest = SafeArea(region.left, region.top, region.right, region.bottom - tallest - px(16))
            if rest.height > 0:
                free[name] = rest
            else:
                del free[name]
            found = headline(free)
            if found is not None:
                where, hook, info = found
                chosen = {"captions": name, "headline": where}
                return _Attempt(made, region, hook, info, free[where], chosen)
    return None


# The least the hook's hero (the title, or the price of a price hook, whose title is
# the smaller line under it), and a caption should measure (at 1080 px) before the
# layout settles for them rather than letterboxing deeper.
_LEGIBLE_HERO = 60
_LEGIBLE_SUBTITLE = 30
_LEGIBLE_CAPTION = 46


def _legible(planner: TextParts, attempt: _Attempt) -> bool:
    headline, title_size, _ = _title_score(attempt.hook)
    if not headline:
        return False
    if planner.spec.hook == "price":
        price = next((p.font_size for p in attempt.hook[0] if p.role == "price"), 0)
        hero = price >= planner.px(_LEGIBLE_HERO) and title_size >= planner.px(_LEGIBLE_SUBTITLE)
    else:
        hero = title_size >= planner.px(_LEGIBLE_HERO)
    captions = [c.font_size for c in attempt.captions if c is not None]
    return hero and all(size >= planner.px(_LEGIBLE_CAPTION) for size in captions)


def _end_card(planner: TextParts, top: int, bottom: int) -> tuple[Layer, list[DrawnText]]:
    spec, theme, px = planner.spec, planner.theme, planner.px
    area = planner.area
    card = SafeArea(area.left, top, area.right, bottom)
    font_size = px(62)
    cta_path = font_path_for(spec.cta_text, theme.font_path)
    cta_font = load_font(font_size, cta_path)
    while cta_font.getlength(spec.cta_text) > card.width * 0.8 and font_size > 8:
        font_size = max(8, int(font_size * 0.9))
        cta_font = load_font(font_size, cta_path)

    def text(value: str, size: float, floor: float, lines: int, height: float) -> TextBlock:
        # Never cut: fit whole at a legible size, else keep shrinking until it fits.
        return fit_text(
            value,
            card.width * 0.94,
            height,
            px(size),
            px(floor),
            lines,
            truncate=False,
            font_path=theme.font_path,
        )

    brand = text(spec.brand_name, 46, 22, 2, spec.height * 0.08)
    title = text(spec.title, 80, 30, 3, spec.height * 0.2)
    price = text(spec.price_text, 120, 10, 1, spec.height * 0.1)
    parts: list[tuple[Image.Image, str, str]] = []
    if theme.logo_path is not None:
        with Image.open(theme.logo_path) as opened:
            logo = ImageOps.exif_transpose(opened).convert("RGBA")
        logo = shrink_to(logo, round(card.width * 0.4), round(spec.height * 0.08))
        parts.append((logo, "logo", ""))
    cta = render_pill(
        spec.cta_text,
        cta_font,
        theme.accent,
        theme.on_accent,
        pad_x=px(64),
        pad_y=px(30),
        min_width=min(round(card.width * 0.6), card.width),
    )
    parts += [
        (render_text(brand, theme.muted), "brand", " ".join(brand.lines)),
        (render_text(title, theme.text, bold=True), "title", " ".join(title.lines)),
    ]
    if spec.was_price_text:
        made_was = planner.was_part(64, 20)(1.0, card)
        if made_was is not None:
            parts.append((made_was.draw(), "was_price", made_was.text))
    parts += [
        (render_text(price, theme.accent), "price", " ".join(price.lines)),
        (cta, "cta", spec.cta_text),
    ]
    placed = stack([p[0] for p in parts], px(40), card)
    drawn = [
        DrawnText("end_card", role, value, (x, y, x + im.width, y + im.height))
        for (_, role, value), (im, x, y) in zip(parts, placed, strict=True)
        if role != "logo"
    ]
    return flatten(placed, (spec.width, spec.height), None), drawn


def _layout(planner: TextParts, product: Box | None) -> tuple[_Attempt, Letterbox, Box | None]:
    spec, area = planner.spec, planner.area
    margin = planner.px(24)
    lb = letterbox(spec.width, spec.height, 1.0)
    biggest: tuple[_Attempt, Letterbox, Box | None] | None = None
    tries = [(s, a) for s in _SCALES for a in (_ANCHORS if s < 1.0 else _ANCHORS[:1])]
    for scale, anchor in tries if product is not None else [(1.0, _ANCHORS[0])]:
        lb = letterbox(spec.width, spec.height, scale, anchor)
        box = None
        if product is not None:
            box = inflate(lb.map_box(product), margin, spec.width, spec.height)
        regions = {"top": area} if box is None else free_regions(area, box)
        attempt = _try(planner, regions, spec.ai_label)
        if attempt is None:
            continue
        # Fitting is not enough: a title or captions too small to read on a phone
        # are worth a little more letterboxing (the biggest text found is the fallback).
        if _legible(planner, attempt):
            return attempt, lb, box
        if biggest is None or _title_score(attempt.hook) > _title_score(biggest[0].hook):
            biggest = (attempt, lb, box)
    if biggest is not None:
        return biggest
    # Nothing fits even letterboxed: the whole safe area at the smallest sizes; the
    # quality gate then reports the overlap rather than this function hiding it.
    for fallback in (planner, TinyTextParts(spec, planner.theme)):
        attempt = _try(fallback, {"top": area}, spec.ai_label)
        if attempt is not None:
            return attempt, lb, box
    raise ValueError(f"the text of {spec.title!r} does not fit a {spec.width}x{spec.height} frame")


def plan_overlays(spec: CreativeSpec, theme: Theme, product: Box | None) -> OverlayPlan:
    """Plan every overlay of ``spec`` around ``product`` (pixels of the footage frame).

    ``product`` ``None`` means the product's place is unknown: the layout then only
    keeps to the safe area.
    """
    planner = TextParts(spec, theme)
    area, px = planner.area, planner.px
    attempt, lb, box = _layout(planner, product)
    region = attempt.region
    anchor = "top" if attempt.chosen.get("headline") == "top" else "middle"
    drawn: list[DrawnText] = []
    layers: dict[str, Layer] = {}
    for name, group in (("hook", attempt.hook), ("info", attempt.info)):
        placed, texts = planner.place(name, group[0], region, group[1], anchor)
        drawn += texts
        # A dark panel behind the headline keeps white text readable (WCAG contrast
        # of 4.5:1 and more) over any footage, even a white studio backdrop; it stays
        # inside the region, so off the product.
        panel = backdrop(placed, region, planner.px(18))
        layers[name] = flatten([panel, *placed], (spec.width, spec.height), None)
    caption_layers: list[Layer | None] = []
    holder = attempt.caption_region
    for scene, made in enumerate(attempt.captions):
        if made is None or holder is None:
            caption_layers.append(None)
            continue
        image, text = made.draw(), made.text
        x = holder.left + (holder.width - image.width) // 2
        y = holder.bottom - image.height
        caption_layers.append(Layer.from_rgba(image, x, y))
        box_ = (x, y, x + image.width, y + image.height)
        drawn.append(DrawnText(f"caption{scene}", "caption", text, box_))
    # The end card: no product shows behind it (a blurred backdrop), so the whole safe
    # area below the AI label, above any end caption, is the card's.
    top, bottom = area.top, area.bottom
    end_layers: list[tuple[Image.Image, int, int]] = []
    if spec.ai_label:
        made_label = planner.label_part()(1.0, area)
        if made_label is not None:
            pill = made_label.draw()
            end_layers.append((pill, area.left, area.top))
            label_box = (area.left, area.top, area.left + pill.width, area.top + pill.height)
            drawn.append(DrawnText("end_card", "label", AI_LABEL, label_box))
            top = area.top + pill.height + px(12)
    end_line = (_caption_lines(spec) or [""])[-1]
    end_caption: Layer | None = None
    if end_line:
        made_end = planner.caption(end_line, area)
        if made_end is not None:
            image, text = made_end.draw(), made_end.text
            x, y = area.left + (area.width - image.width) // 2, area.bottom - image.height
            bottom = y - px(16)
            end_caption = Layer.from_rgba(image, x, y)
            scene = len(spec.shots)
            drawn.append(
                DrawnText(
                    f"caption{scene}", "caption", text, (x, y, x + image.width, y + image.height)
                )
            )
    if attempt.captions or end_caption is not None:
        caption_layers += [None] * (len(spec.shots) - len(caption_layers))
        caption_layers.append(end_caption)
    card, card_drawn = _end_card(planner, top, bottom)
    drawn += card_drawn
    label_layer = flatten(end_layers, (spec.width, spec.height), None) if end_layers else None
    return OverlayPlan(
        area=area,
        letterbox=lb,
        product=box,
        regions=attempt.chosen,
        hook=layers["hook"],
        info=layers["info"],
        label=label_layer,
        captions=caption_layers,
        end_card=card,
        drawn=drawn,
    )
