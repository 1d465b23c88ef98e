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
    "SPEAKING_CPS",
    "TEMPLATE_WORDS",
    "ProductFacts",
    "catalog_text",
    "char_budget",
    "cost",
    "feature_lines",
    "fit_line",
    "hook_line",
    "hook_lines",
    "length",
    "offer_line",
    "offer_lines",
    "plain_text",
    "selling_points",
    "sentences",
    "spoken_length",
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


# Every word the templates below add to catalog text; anything else in a line of copy
# must come from the catalog itself (the quality gate checks it).
TEMPLATE_WORDS = frozenset({"meet", "was", "now", "from", "options"})


@dataclass(frozen=True)
class ProductFacts:
    """What copy may draw on; all of it comes from the catalog."""

    title: str
    price_text: str
    description: str = ""
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    compare_at_text: str | None = None
    brand: str = ""


def catalog_text(facts: ProductFacts) -> str:
    """Everything the catalog says of the product, as plain text: what copy may claim."""
    options = " ".join(f"{name} {' '.join(values)}" for name, values in facts.options)
    parts = (facts.title, plain_text(facts.description), options, facts.brand, facts.price_text)
    return " ".join(p for p in (*parts, facts.compare_at_text or "") if p)


def plain_text(description_html: str) -> str:
    """Shopify ``descriptionHtml`` as one line of plain text."""
    text = _TAG.sub(" ", description_html.replace("<br", "\n<br").replace("</p>", ".</p>"))
    text = html.unescape(text)
    text = re.sub(r"\.(\s*\.)+", ".", " ".join(text.split()))
    return text.strip(" .") + ("." if text.strip(" .") else "")


def length(text: str) -> int:
    """Characters a reader reads in ``text`` (runs of spaces count once)."""
    return len(" ".join(text.split()))


# A voice reads the script at up to ~16 characters a second of its spoken form (about
# 175 words a minute): numbers and symbols are read as words, so "$129" costs what
# "one hundred twenty-nine dollars" does.
SPEAKING_CPS = 16.0
_SPOKEN = (
    (re.compile(r"(?<=\d)[.,]00\b"), ""),  # whole amounts: the zero cents go unsaid
    (re.compile(r"[$€£¥₹]"), " dollars "),
    (re.compile(r"%"), " percent "),
    (re.compile(r"(?<=\d)\s?mm\b"), " millimetres"),
    (re.compile(r"(?<=\d)\s?(?:ml|oz|in|L)\b"), " ounces"),
    (re.compile(r"\d"), "nine "),  # a digit is about a short word
)


def spoken_length(text: str) -> int:
    """About how many characters ``text`` takes when read aloud (numbers as words)."""
    said = " ".join(text.split())
    for pattern, words in _SPOKEN:
        said = pattern.sub(words, said)
    return length(said)


def cost(text: str) -> float:
    """Characters of reading time ``text`` needs on screen or in the voice, the longer.

    Compared with :func:`char_budget`: a line that fits is read at
    :data:`READING_CPS` and said at :data:`SPEAKING_CPS` within its scene.
    """
    return max(length(text), spoken_length(text) * READING_CPS / SPEAKING_CPS)


def char_budget(seconds: float) -> int:
    """The most characters a scene of ``seconds`` can carry at :data:`READING_CPS`."""
    return max(8, int((seconds - _SCENE_MARGIN_S) * READING_CPS))


def sentences(text: str) -> list[str]:
    """Whole sentences of ``text`` (split after ``.``, ``!`` or ``?``)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def fit_line(candidates: Sequence[str], budget: int) -> str:
    """The first candidate within ``budget`` (see :func:`cost`), else the shortest; never cut."""
    for candidate in candidates:
        if cost(candidate) <= budget:
            return candidate
    return min(candidates, key=cost)


def hook_lines(facts: ProductFacts, hook: str, tone: str) -> list[str]:
    """Opening lines, best first: the title, or the title with its price."""
    price = facts.price_text[:1].upper() + facts.price_text[1:]
    if hook == "price":
        if facts.compare_at_text:  # a sale leads with the sale
            return [f"Now {facts.price_text}, was {facts.compare_at_text}", f"Now {price}"]
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


# Where a description sentence too long for a scene splits into selling points, coarsest
# first: between clauses, before "with", then between listed features.
_SPLITS = (
    re.compile(r";\s+|,\s+(?:and|so|but)\s+"),
    re.compile(r"\s+with\s+"),
    re.compile(r"\s+(?:and|or)\s+"),
)
_DETERMINER = re.compile(r"^(?:a|an|the|its|their)\s", re.IGNORECASE)
_STOPWORDS = frozenset({"a", "an", "the", "and", "or", "with", "of", "in", "on", "for", "to"})
_LEADING = re.compile(r"^(?:and|so|but|or|it|which)\s+", re.IGNORECASE)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[\w-]+", text.lower()) if w not in _STOPWORDS}


def _tidy(phrase: str) -> str:
    phrase = _LEADING.sub("", phrase.strip().rstrip(".,;:!?").strip())
    return phrase[:1].upper() + phrase[1:]


def _phrases(sentence: str, budget: int, level: int = 0) -> list[str]:
    """``sentence`` whole if it fits ``budget``, else its parts that do (never cut words)."""
    if cost(sentence) <= budget:
        return [sentence]
    if level >= len(_SPLITS):
        return []
    parts = _SPLITS[level].split(sentence)
    if len(parts) == 1:
        return _phrases(sentence, budget, level + 1)
    if _SPLITS[level] is _SPLITS[-1]:
        # Between listed features a later part stands alone only as a noun phrase ("a
        # padded headband"); "hot drinks hot" out of "keeps cold drinks cold and hot
        # drinks hot" does not.
        parts = parts[:1] + [p for p in parts[1:] if _DETERMINER.match(p)]
    return [p for part in parts for p in _phrases(part, budget, level + 1)]


def selling_points(facts: ProductFacts, budget: int) -> list[str]:
    """The description's claims that fit ``budget``, in its order, as the catalog words them.

    Whole sentences when they fit, else their clauses or listed features ("memory-foam
    ear cushions", "recharge over USB-C"). Sentences with prices, percentages or ratings
    are left out (they may be stale promotions), and so is a fragment of two words or
    fewer, or a phrase that mostly repeats the title.
    """
    title_words = _content_words(facts.title)
    points: list[str] = []
    for sentence in sentences(plain_text(facts.description)):
        if _RISKY.search(sentence):
            continue
        for phrase in _phrases(sentence, budget):
            tidy = _tidy(phrase)
            words = _content_words(tidy)
            # Mostly the title's own words: it tells nothing the title did not.
            # A fragment needs three words to say something; a sentence of two may.
            if len(tidy.split()) < (2 if phrase == sentence else 3):
                continue
            if len(words - title_words) * 2 < len(words):
                continue
            if tidy in points:
                continue
            points.append(tidy + ("." if phrase.rstrip().endswith(".") else ""))
    return points


def feature_lines(facts: ProductFacts, count: int, budgets: Sequence[int] = ()) -> list[str]:
    """``count`` lines for the feature shots, each within its budget (see :func:`cost`).

    The description's selling points first, then the (purchasable) options, then the
    brand; never the title again (the hook and the end card say it). A scene with
    nothing new left to say gets an empty line: no caption, no voice.
    """
    budgets = list(budgets) + [10**6] * (count - len(budgets))
    options = _option_lines(facts.options)
    extra = [f"From {facts.brand}"] if facts.brand else []
    used: set[str] = set()
    lines = []
    for budget in budgets[:count]:
        line = None
        pool = selling_points(facts, budget)
        for i, point in enumerate(pool):
            if point in used:
                continue
            # Short whole sentences in a row share a scene while they fit.
            joined = [point]
            for follower in pool[i + 1 :]:
                together = " ".join([*joined, follower])
                if not joined[-1].endswith(".") or follower in used or cost(together) > budget:
                    break
                joined.append(follower)
            used.update(joined)
            line = " ".join(joined)
            break
        if line is None:
            for choices in options:
                fitting = [c for c in choices if cost(c) <= budget and c not in used]
                if fitting:
                    line = fitting[0]
                    used.update(choices)
                    break
        if line is None:
            line = next((c for c in extra if c not in used and cost(c) <= budget), "")
        used.add(line)
        lines.append(line)
    return lines


def offer_lines(facts: ProductFacts) -> list[str]:
    """Price lines, best first; a "was" price only when the catalog holds a higher
    compare-at (and every variant costs the same). The title is not repeated."""
    price = facts.price_text[:1].upper() + facts.price_text[1:]
    if facts.compare_at_text:
        return [
            f"Was {facts.compare_at_text}, now {facts.price_text}",
            f"Now {facts.price_text}, was {facts.compare_at_text}",
            f"Now {facts.price_text}",
        ]
    return [price]


def offer_line(facts: ProductFacts) -> str:
    """The preferred price line."""
    return offer_lines(facts)[0]
