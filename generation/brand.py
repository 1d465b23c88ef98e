"""The store's brand kit: logo, colours, font, tone of voice, voice and labelling choices.

A brand kit is a small JSON file (paths inside it are relative to the file)::

    {"name": "Acme", "logo": "logo.png", "font": "fonts/Brand.ttf",
     "colors": {"accent": "#ffd400", "on_accent": "#121212", "text": "#ffffff"},
     "tone": "friendly", "voice": "en-gb", "voiceover": true, "ai_label": false}

Every key is optional; a missing file is a clear error, never a silent default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.compose import Theme
from generation.overlays.text import RGB

__all__ = ["TONES", "BrandKit", "parse_colour"]

TONES = ("neutral", "friendly", "bold")


def parse_colour(value: str) -> RGB:
    """``"#rrggbb"`` (or ``"rrggbb"``) as an RGB triple."""
    text = value.strip().lstrip("#")
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"colour must be #rrggbb, got {value!r}")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


@dataclass(frozen=True)
class BrandKit:
    """How a store's creatives look and sound. ``name`` overrides the catalog's brand."""

    name: str | None = None
    theme: Theme = field(default_factory=Theme)
    tone: str = "neutral"
    voice: str = "en-us"
    voiceover: bool = True
    ai_label: bool = False

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"unknown tone {self.tone!r}; expected one of {TONES}")
        for what, path in (("font", self.theme.font_path), ("logo", self.theme.logo_path)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"brand kit {what} {path} does not exist")

    @classmethod
    def load(cls, path: Path) -> BrandKit:
        """Read a brand kit JSON file (see the module docstring for its keys)."""
        path = Path(path)
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"brand kit file {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"brand kit file {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"brand kit file {path} must hold a JSON object")
        colours = {k: parse_colour(v) for k, v in dict(data.get("colors", {})).items()}
        unknown = set(colours) - {"text", "accent", "on_accent", "muted"}
        if unknown:
            raise ValueError(f"unknown brand colours {sorted(unknown)}")

        def rel(key: str) -> Path | None:
            value = data.get(key)
            return (path.parent / value).resolve() if value else None

        return cls(
            name=data.get("name"),
            theme=Theme(**colours, font_path=rel("font"), logo_path=rel("logo")),
            tone=data.get("tone", "neutral"),
            voice=data.get("voice", "en-us"),
            voiceover=bool(data.get("voiceover", True)),
            ai_label=bool(data.get("ai_label", False)),
        )
