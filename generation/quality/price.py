"""Reading a price back from the string drawn on screen, to compare it with the catalog.

The on-screen string is produced by the storyboard's money formatting; this module does
not use that formatter. It parses what was drawn (optional "from", a currency symbol or
code, digits with grouping and a decimal separator) into integer minor units, so a
formatting bug, a stale price or a missing "from" shows up as a mismatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from reelcart.money import currency_exponent

__all__ = ["CatalogPrice", "ShownPrice", "read_price"]

_AMOUNT = re.compile(r"\d[\d,.\u00a0\u202f' ]*\d|\d")
# What a currency may look like on screen: its ISO code, or a symbol.
_MARKS: dict[str, tuple[str, ...]] = {
    "USD": ("$", "USD"),
    "EUR": ("€", "EUR"),
    "GBP": ("£", "GBP"),
    "JPY": ("¥", "JPY"),
    "CAD": ("$", "CAD"),
    "AUD": ("$", "AUD"),
    "INR": ("₹", "INR"),
    "KRW": ("₩", "KRW"),
    "NZD": ("$", "NZD"),
}


@dataclass(frozen=True)
class CatalogPrice:
    """The catalog's prices for the product: cheapest and dearest variant, currency."""

    min_minor: int
    max_minor: int
    currency: str
    compare_at_minor: int | None = None

    @property
    def varies(self) -> bool:
        return self.max_minor != self.min_minor


@dataclass(frozen=True)
class ShownPrice:
    """A price string as read back: minor units, whether it says "from", its currency."""

    minor: int
    is_from: bool
    currency_ok: bool


def _decimal(digits: str, exponent: int) -> Decimal:
    cleaned = re.sub(r"[\u00a0\u202f' ]", "", digits)
    if exponent == 0:
        return Decimal(re.sub(r"[,.]", "", cleaned))
    # The decimal separator is the last "." or "," followed by exactly `exponent` digits.
    match = re.fullmatch(rf"(.*)[.,](\d{{{exponent}}})", cleaned)
    if match is None:
        return Decimal(re.sub(r"[,.]", "", cleaned))
    whole = re.sub(r"[,.]", "", match.group(1)) or "0"
    return Decimal(f"{whole}.{match.group(2)}")


def read_price(text: str, currency: str) -> ShownPrice | None:
    """The single amount in ``text`` as minor units of ``currency``; ``None`` if unreadable.

    >>> read_price("from $1,299.50", "USD")
    ShownPrice(minor=129950, is_from=True, currency_ok=True)
    """
    amounts = _AMOUNT.findall(text)
    if len(amounts) != 1:
        return None
    exponent = currency_exponent(currency)
    try:
        value = _decimal(amounts[0], exponent).scaleb(exponent)
    except InvalidOperation:
        return None
    if value != value.to_integral_value():
        return None
    marks = _MARKS.get(currency.upper(), (currency.upper(),))
    return ShownPrice(
        minor=int(value),
        is_from=bool(re.match(r"\s*from\b", text, re.IGNORECASE)),
        currency_ok=any(mark in text for mark in marks),
    )
