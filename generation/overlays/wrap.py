"""Word wrapping for ad text: balanced lines, no orphan word, never a split word.

Widths are measured in the font's real glyph advances. A number keeps a short unit
after it on the same line ("38 mm", "12 oz").
"""

from __future__ import annotations

from PIL import ImageFont

__all__ = ["wrap_text"]

# A number and its unit ("38 mm", "12 oz") stay on one line.
_UNIT_MAX_LEN = 3


def _tokens(text: str) -> list[str]:
    """Words of ``text``; a number keeps a short unit after it (joined by a no-break space)."""
    words: list[str] = []
    for word in text.split():
        if (
            words
            and words[-1][-1:].isdigit()
            and word.rstrip(",.;:!?").isalpha()
            and len(word.rstrip(",.;:!?")) <= _UNIT_MAX_LEN
            and word.islower()
        ):
            words[-1] = f"{words[-1]}\u00a0{word}"
        else:
            words.append(word)
    return words


def _greedy(words: list[str], font: ImageFont.FreeTypeFont, max_width: float) -> int:
    """How many lines a greedy wrap needs (a word wider than the box gets its own line)."""
    lines, current = 0, ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate.replace("\u00a0", " ")) > max_width:
            lines += 1
            current = word
        else:
            current = candidate
    return lines + 1


def _balanced(words: list[str], count: int, font: ImageFont.FreeTypeFont) -> list[str]:
    """``words`` in ``count`` lines, the widest line as narrow as possible.

    Dynamic programming over break positions: minimise the widest line, then the sum of
    squared widths (evenness). A one-word last line (an orphan) is avoided whenever the
    text has more words than lines, since it reads as an afterthought ("… 38" / "mm").
    """
    n = len(words)
    width = [[0.0] * (n + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(i + 1, n + 1):
            width[i][j] = font.getlength(" ".join(words[i:j]).replace("\u00a0", " "))
    inf = (float("inf"), float("inf"))
    # best[k][j]: cost of the first j words in k lines; back[k][j]: where line k starts.
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = (0.0, 0.0)
    for k in range(1, count + 1):
        for j in range(k, n + 1):
            for i in range(k - 1, j):
                prev = best[k - 1][i]
                if prev == inf:
                    continue
                w = width[i][j]
                orphan = (
                    k == count and j == n and j - i == 1 and n > count and "\u00a0" not in words[i]
                )
                cost = (max(prev[0], w) + (1e6 if orphan else 0.0), prev[1] + w * w)
                if cost < best[k][j]:
                    best[k][j], back[k][j] = cost, i
    lines: list[str] = []
    j = n
    for k in range(count, 0, -1):
        i = back[k][j]
        lines.append(" ".join(words[i:j]))
        j = i
    return lines[::-1]


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Balanced word wrap measured in real glyph widths; never returns an empty list.

    As few lines as a greedy wrap needs, with the words spread evenly over them and no
    orphan word on the last line. Words are never split: a word wider than the box
    stays whole (and :func:`fit_text` shrinks the font until it fits).
    """
    words = _tokens(text)
    if not words:
        return [""]
    count = min(len(words), _greedy(words, font, max_width))
    if count == 1:
        return [" ".join(words).replace("\u00a0", " ")]
    return [line.replace("\u00a0", " ") for line in _balanced(words, count, font)]
