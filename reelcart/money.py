"""Money as integer minor units, parsed from and formatted for the catalog's currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["currency_exponent", "format_money", "to_minor_units"]

# ISO 4217 currencies whose minor unit is not 1/100; everything else has two decimals.
_EXPONENTS: dict[str, int] = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}
_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "INR": "₹",
    "KRW": "₩",
    "CHF": "CHF ",
    "SEK": "SEK ",
    "NZD": "NZ$",
}


def currency_exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor_units(amount: str, currency: str) -> int:
    """Parse a decimal string such as Shopify's ``"24.00"`` into integer minor units.

    Raises ``ValueError`` for anything that is not an exact, non-negative amount in
    the currency (``"24.001"`` in USD is refused, never rounded).
    """
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"amount must be a non-negative number: {amount!r}")
    scaled = value.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than {currency.upper()} allows")
    return int(scaled)


def format_money(minor: int, currency: str) -> str:
    """Format minor units for display, e.g. ``format_money(2400, "USD") == "$24.00"``.

    A negative amount puts its sign before the symbol (``-$0.10``), as people write it.
    """
    exponent = currency_exponent(currency)
    amount = Decimal(abs(minor)).scaleb(-exponent)
    text = f"{amount:,.{exponent}f}"
    code = currency.upper()
    symbol = _SYMBOLS.get(code)
    sign = "-" if minor < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"
