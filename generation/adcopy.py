"""Ad copy from catalog facts only: the title, description, options and price.

Every line is a fixed template filled with catalog text. Nothing here states a price,
discount, rating or claim the catalog does not hold: the price is always the formatted
``price_minor``, a "was" price only appears when the catalog has a higher compare-at
price, and description sentences that carry their own prices, percentages or ratings
are dropped, since they may be stale promotions that contradict the real price.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "READING_CPS",
    "ProductFacts",
    "char_budget",
    "feature_lines",
    "fit_line",
    "hook_line",
    "hook_lines",
    "length",
    "offer_line",
    "offer_lines",
    "plain_text",
    "sentences",
]

_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
# Money, percentages, star ratings and superlative rankings: not ours to repeat.
_RISKY = re.compile(
    r"[$€£¥₹]\s?\d|\d\s?[$€£¥₹%]|\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp|percent|stars?)\b"
    r"|\b(?:rated|rating|reviews?|#1|number one|best[- ]selling|bestseller)\b",
    re.IGNORECASE,
)
# Reading speed for captions: Netflix's English timed-text style guide allows up to 20
# characters a second for adult programmes (a voiceover at ~200 words a minute keeps
# pace). A moment at each scene's start and end is left free.
READING_CPS = 20.0
_SCENE_MARGIN_S = 0.3
# Shopify's placeholder option on products without real options.
_DEFAULT_OPTION = ("Title", "Default Title")


@dataclass(frozen=True)
class ProductFacts:
    """What copy may draw on; all of it comes from the catalog."""

    title: str
    price_text: str
    description: str = ""
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    compare_at_text: str | None = None
    brand: str = ""


def plain_text(description_html: str) -> str:
    """Shopify ``descriptionHtml`` as one line of plain text."""
    text = _TAG.sub(" ", description_html.replace("<br", "\n<br").replace("</p>", ".</p>"))
    text = html.unescape(text)
    text = re.sub(r"\.(\s*\.)+", ".", " ".join(text.split()))
    return text.strip(" .") + ("." if text.strip(" .") else "")


def length(text: str) -> int:
    """Characters a reader reads in ``text`` (runs of spaces count once)."""
    return len(" ".join(text.split()))


def char_budget(seconds: float) -> int:
    """The most characters a scene of ``seconds`` can carry at :data:`READING_CPS`."""
    return max(8, int((seconds - _SCENE_MARGIN_S) * READING_CPS))


def sentences(text: str) -> list[str]:
    """Whole sentences of ``text`` (split after ``.``, ``!`` or ``?``)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def fit_line(candidates: Sequence[str], budget: int) -> str:
    """The first candidate within ``budget`` characters, else the shortest; never cut."""
    for candidate in candidates:
        if length(candidate) <= budget:
            return candidate
    return min(candidates, key=length)


def hook_lines(facts: ProductFacts, hook: str, tone: str) -> list[str]:
    """Opening lines, best first: the title, or the title with its price."""
    price = facts.price_text[:1].upper() + facts.price_text[1:]
    if hook == "price":
        if tone == "bold":
            return [f"{price}. {facts.title}.", f"{price}."]
        return [f"{facts.title}, {facts.price_text}", price]
    if tone == "friendly":
        return [f"Meet {facts.title}", facts.title]
    if tone == "bold":
        return [facts.title.upper()]
    return [facts.title]


def hook_line(facts: ProductFacts, hook: str, tone: str) -> str:
    """The preferred opening line."""
    return hook_lines(facts, hook, tone)[0]


def _option_lines(options: Sequence[tuple[str, tuple[str, ...]]]) -> list[list[str]]:
    """Per real option, its lines, longest first (all values, then just the count)."""
    found = []
    for name, values in options:
        if (name, tuple(values)) == (_DEFAULT_OPTION[0], (_DEFAULT_OPTION[1],)) or not values:
            continue
        if len(values) == 1:
            found.append([f"{name}: {values[0]}"])
        else:
            shown = ", ".join(values[:-1]) + f" and {values[-1]}"
            count = f"{len(values)} {name.lower()} options"
            found.append([f"{count}: {shown}", count])
    return found


def feature_lines(facts: ProductFacts, count: int, budgets: Sequence[int] = ()) -> list[str]:
    """``count`` lines for the feature shots, each within its character budget.

    Whole description sentences first (consecutive ones joined while they fit), then
    the options, the brand and the title; a sentence too long for its scene is left out,
    never cut. Falls back to the brand and the title when the catalog has little to say.
    """
    budgets = list(budgets) + [10**6] * (count - len(budgets))
    pool = [
        s for s in sentences(plain_text(facts.description)) if len(s) > 3 and not _RISKY.search(s)
    ]
    options = _option_lines(facts.options)
    extra = [*([f"From {facts.brand}"] if facts.brand else []), facts.title]
    used: set[str] = set()
    lines = []
    for budget in budgets[:count]:
        line = None
        for i, sentence in enumerate(pool):
            if sentence in used or length(sentence) > budget:
                continue
            joined = [sentence]
            for follower in pool[i + 1 :]:
                if follower in used or length(" ".join([*joined, follower])) > budget:
                    break
                joined.append(follower)
            used.update(joined)
            line = " ".join(joined)
            break
        if line is None:
            for choices in options:
                fitting = [c for c in choices if length(c) <= budget and c not in used]
                if fitting:
                    line = fitting[0]
                    used.update(choices)
                    break
        if line is None:
            # Once everything was said, the title is repeated (the product's name).
            fresh = [c for c in extra if c not in used] or extra[-1:]
            line = fit_line(fresh, budget)
            used.add(line)
        lines.append(line)
    return lines


def offer_lines(facts: ProductFacts) -> list[str]:
    """Price lines, best first; a "was" price only when the catalog holds a higher
    compare-at (and every variant costs the same)."""
    price = facts.price_text[:1].upper() + facts.price_text[1:]
    if facts.compare_at_text:
        return [f"Was {facts.compare_at_text}, now {facts.price_text}", price]
    return [f"{facts.title}: {facts.price_text}", price]


def offer_line(facts: ProductFacts) -> str:
    """The preferred price line."""
    return offer_lines(facts)[0]
