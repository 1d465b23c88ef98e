import pytest

from reelcart.money import format_money, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("24.00", "USD", 2400),
        ("9.99", "USD", 999),
        ("0", "EUR", 0),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("129", "USD", 12900),
    ],
)
def test_to_minor_units_is_exact(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize("amount", ["24.001", "-1.00", "abc", "NaN", "1e400x", ""])
def test_to_minor_units_refuses_what_it_cannot_represent(amount: str) -> None:
    with pytest.raises(ValueError):
        to_minor_units(amount, "USD")


def test_jpy_has_no_decimals() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        to_minor_units("10.5", "JPY")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (2400, "USD", "$24.00"),
        (999, "USD", "$9.99"),
        (123456, "EUR", "€1,234.56"),
        (1500, "JPY", "¥1,500"),
        (500, "PLN", "5.00 PLN"),
    ],
)
def test_format_money(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text


def test_round_trip_through_minor_units() -> None:
    for amount in ("0.01", "18.00", "34.50", "129.00", "9999.99"):
        assert format_money(to_minor_units(amount, "USD"), "USD") == "$" + f"{float(amount):,.2f}"
