"""Whether a string can be stored and echoed: the one check every door and model shares."""

from __future__ import annotations

__all__ = ["bad_string"]


def bad_string(value: str) -> str | None:
    """Why ``value`` cannot be stored or echoed (a NUL, a lone surrogate), else ``None``."""
    # PostgreSQL text cannot hold NUL and UTF-8 cannot hold a lone surrogate.
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (not valid Unicode)"
    return None
