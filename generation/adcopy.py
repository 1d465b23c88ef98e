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

__all__ = ["ProductFacts", "feature_lines", "hook_line", "offer_line", "plain_text"]

_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
# Money, percentages, star ratings and superlative rankings: not ours to repeat.
_RISKY = re.compile(
    r"[$€£¥₹]\s?\d|\d\s?[$€£¥₹%]|\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp|percent|stars?)\b"
    r"|\b(?:rated|rating|reviews?|#1|number one|best[- ]selling|bestseller)\b",
    re.IGNORECASE,
)
_MAX_LINE = 90
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


def _shorten(text: str, limit: int = _MAX_LINE) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–")
    return (cut or text[: limit - 1]) + "…"


def hook_line(facts: ProductFacts, hook: str, tone: str) -> str:
    """The opening line: the title, or the title with its price."""
    if hook == "price":
        if tone == "bold":
            return f"{facts.price_text}. {facts.title}."
        return f"{facts.title}, {facts.price_text}"
    if tone == "friendly":
        return f"Meet {facts.title}"
    if tone == "bold":
        return facts.title.upper()
    return facts.title


def _option_lines(options: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    lines = []
    for name, values in options:
        if (name, tuple(values)) == (_DEFAULT_OPTION[0], (_DEFAULT_OPTION[1],)) or not values:
            continue
        if len(values) == 1:
            lines.append(_shorten(f"{name}: {values[0]}"))
        else:
            shown = ", ".join(values[:4]) + (
                f" and {len(values) - 4} more" if len(values) > 4 else ""
            )
            lines.append(_shorten(f"{len(values)} {name.lower()} options: {shown}"))
    return lines


def feature_lines(facts: ProductFacts, count: int) -> list[str]:
    """``count`` lines for the feature shots: description sentences, then the options.

    Falls back to the brand and the title when the catalog has little to say, so a
    product with no description still gets honest (if plain) lines.
    """
    sentences = [
        s.strip()
        for s in _SENTENCE_END.split(plain_text(facts.description))
        if len(s.strip()) > 3 and not _RISKY.search(s)
    ]
    pool = [_shorten(s) for s in sentences] + _option_lines(facts.options)
    if facts.brand:
        pool.append(f"From {facts.brand}")
    pool.append(facts.title)
    lines = [pool[i] if i < len(pool) else pool[-1] for i in range(count)]
    return lines


def offer_line(facts: ProductFacts) -> str:
    """The price line; a "was" price only when the catalog holds a higher compare-at."""
    if facts.compare_at_text:
        return f"Was {facts.compare_at_text}, now {facts.price_text}"
    return f"{facts.title}: {facts.price_text}"
