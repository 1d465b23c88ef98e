"""Contact sheet: a labelled grid of posters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from generation.contact_sheet import make_contact_sheet

COLOURS = [(230, 40, 40), (40, 200, 60), (40, 80, 230), (240, 200, 20), (200, 40, 200)]


def _posters(tmp_path: Path, count: int) -> list[tuple[Path, str]]:
    entries = []
    for i, colour in enumerate(COLOURS[:count]):
        path = tmp_path / f"poster{i}.png"  # PNG keeps the colours exact for the checks
        Image.new("RGB", (90, 160), colour).save(path)
        entries.append((path, f"creative {i} · hook=title cta=shop_now and a long tail of words"))
    return entries


def _centre_of(sheet: np.ndarray, colour: tuple[int, int, int]) -> tuple[float, float, int]:
    ys, xs = np.nonzero(np.all(sheet == colour, axis=-1))
    return float(xs.mean()), float(ys.mean()), len(xs)


def test_grid_layout(tmp_path: Path) -> None:
    out = make_contact_sheet(_posters(tmp_path, 5), tmp_path / "sheet" / "s.png", 4, 60)
    assert out == tmp_path / "sheet" / "s.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        sheet = np.asarray(image.convert("RGB"))
    centres = [_centre_of(sheet, c) for c in COLOURS]
    thumb_area = 60 * round(160 * 60 / 90)
    for _, _, area in centres:
        assert abs(area - thumb_area) <= 60  # each poster appears once, at thumbnail size
    first_row = centres[:4]
    assert len({round(y) for _, y, _ in first_row}) == 1
    assert [x for x, _, _ in first_row] == sorted(x for x, _, _ in first_row)
    fifth_x, fifth_y, _ = centres[4]
    assert abs(fifth_x - centres[0][0]) < 1 and fifth_y > centres[0][1] + 100
    # Four columns of 60 px fit in the width, five would not.
    assert 4 * 60 < sheet.shape[1] < 5 * 60 + 40


def test_header_and_labels_are_drawn(tmp_path: Path) -> None:
    entries = _posters(tmp_path, 2)
    bare = np.asarray(Image.open(make_contact_sheet(entries, tmp_path / "a.png", 2, 60)))
    retitled = np.asarray(
        Image.open(make_contact_sheet(entries, tmp_path / "b.png", 2, 60, title="Spring sale"))
    )
    assert bare.shape == retitled.shape
    assert not np.array_equal(bare, retitled)
    relabelled = [(path, "x") for path, _ in entries]
    short = np.asarray(Image.open(make_contact_sheet(relabelled, tmp_path / "c.png", 2, 60)))
    assert not np.array_equal(bare, short)


def test_empty_batch_still_writes_a_sheet(tmp_path: Path) -> None:
    out = make_contact_sheet([], tmp_path / "empty.png")
    with Image.open(out) as image:
        assert image.width > 0 and image.height > 0
