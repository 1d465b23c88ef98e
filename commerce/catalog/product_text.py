"""Plain text of a product: what people read without markup and what search embeds."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

__all__ = [
    "MAX_DESCRIPTION_HTML",
    "MAX_DESCRIPTION_SHOWN",
    "bounded_html",
    "plain_text",
    "search_text",
]

_TAGS = re.compile(r"<[^>]+>")
# The description's opening says what the product is; the rest adds little to its meaning
# and lengthens every embedding batch.
DESCRIPTION_CHARS = 300
# What a catalog may store of one description, and what one response shows of it: a
# catalog (a file, a shop) is someone else's data, and every search answer is sized by it.
MAX_DESCRIPTION_HTML = 64 * 1024
MAX_DESCRIPTION_SHOWN = 5_000


def bounded_html(description_html: str, limit: int = MAX_DESCRIPTION_HTML) -> str:
    """At most ``limit`` characters of a description, never ending inside a tag."""
    if len(description_html) <= limit:
        return description_html
    cut = description_html[:limit]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut


def plain_text(description_html: str) -> str:
    """Description without markup, whitespace collapsed."""
    return " ".join(html.unescape(_TAGS.sub(" ", description_html)).split())


def search_text(
    title: str, product_type: str, tags: Iterable[object], vendor: str, description_html: str
) -> str:
    """The text a product is embedded from (and matched against query words), lower-cased."""
    text = f"{title}. {product_type}. {' '.join(map(str, tags))}. {vendor}. "
    return (text + plain_text(description_html)[:DESCRIPTION_CHARS]).lower()
