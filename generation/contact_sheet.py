"""A one-image overview of a batch of creatives: poster thumbnails in a labelled grid.

Used for human review of a campaign (is every variant on-brand, is the price right?)
without opening dozens of videos.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from generation.overlays.text import fit_text, load_font

__all__ = ["make_contact_sheet"]

_BACKGROUND = (24, 24, 27)
_PLACEHOLDER = (48, 48, 52)
_HEADER_TEXT = (245, 245, 245)
_LABEL_TEXT = (200, 200, 205)
_LABEL_LINES = 2


def make_contact_sheet(
    entries: Sequence[tuple[Path, str]],
    out_path: Path,
    columns: int = 4,
    thumb_width: int = 270,
    *,
    title: str | None = None,
) -> Path:
    """Write a PNG grid of ``(poster_path, label)`` entries to ``out_path``; return it.

    Thumbnails keep their aspect ratio inside equal cells (sized for the tallest
    poster); labels wrap to two lines and end in an ellipsis if still too long. The
    header shows ``title`` (default: the number of creatives). An empty ``entries``
    gives a header-only sheet rather than an error, so a batch with nothing rendered
    still produces a reviewable artefact.
    """
    if columns < 1 or thumb_width < 16:
        raise ValueError(f"need columns >= 1 and thumb_width >= 16, got {columns}, {thumb_width}")
    out_path = Path(out_path)
    thumbs: list[Image.Image] = []
    for poster_path, _ in entries:
        with Image.open(poster_path) as poster:
            image = ImageOps.exif_transpose(poster).convert("RGB")
        height = max(1, round(image.height * thumb_width / image.width))
        thumbs.append(image.resize((thumb_width, height), Image.Resampling.LANCZOS))

    gap = max(8, thumb_width // 16)
    label_size = max(10, thumb_width // 16)
    label_height = round(label_size * 1.25 * _LABEL_LINES) + gap // 2
    cell_height = max((t.height for t in thumbs), default=round(thumb_width * 16 / 9))
    cols = max(1, min(columns, len(entries)))
    rows = (len(entries) + cols - 1) // cols
    width = cols * thumb_width + (cols + 1) * gap
    header_size = max(14, thumb_width // 9)
    header_height = round(header_size * 1.6) + gap
    body_height = rows * (cell_height + label_height + gap) if entries else label_size * 2
    height = header_height + body_height + gap

    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    heading = title if title is not None else f"{len(entries)} creatives"
    header = fit_text(heading, width - 2 * gap, header_size * 1.3, header_size, 10, 1)
    draw.text((gap, gap), header.lines[0], font=header.font, fill=_HEADER_TEXT)

    for index, ((_, label), thumb) in enumerate(zip(entries, thumbs, strict=True)):
        row, col = divmod(index, cols)
        x = gap + col * (thumb_width + gap)
        y = header_height + row * (cell_height + label_height + gap)
        draw.rectangle((x, y, x + thumb_width - 1, y + cell_height - 1), fill=_PLACEHOLDER)
        sheet.paste(thumb, (x, y + (cell_height - thumb.height) // 2))
        block = fit_text(
            label or " ", thumb_width, label_height, label_size, label_size, _LABEL_LINES
        )
        line_y = y + cell_height + gap // 2
        for line in block.lines:
            draw.text((x, line_y), line, font=block.font, fill=_LABEL_TEXT)
            line_y += block.line_height
    if not entries:
        draw.text(
            (gap, header_height),
            "nothing rendered",
            font=load_font(label_size),
            fill=_LABEL_TEXT,
        )

    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent)
    os.close(fd)
    try:
        sheet.save(tmp, format="PNG")
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path
