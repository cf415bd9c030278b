"""Text measurement for drawing: how wide a label is, in em, for any script.

Graphviz and SVG viewers lay text out with whatever font they find; the writers size
boxes themselves from these estimates (rounded up from DejaVu Sans, the widest of the
usual sans-serif fonts), so labels fit whichever font draws them. East Asian wide and
full-width characters (Hangul, CJK) and emoji count 1 em, combining marks and joiners
nothing, other letters 0.7 em.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from journeygraph._escape import xml_chars

__all__ = ["BOLD_FACTOR", "FILL", "Wrapped", "char_em", "em", "split_word", "wider_than", "wrap"]

BOLD_FACTOR = 1.1
FILL = 0.97  # use at most this share of a line, for fonts wider than the estimate
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufe0e\ufe0f")
# Advance widths of printable ASCII in em, rounded up from DejaVu Sans (the widest of
# the usual sans-serif fonts, so Helvetica or Arial only leave more room).
_ASCII_EM = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~",
        (
            [0.32, 0.40, 0.46, 0.84, 0.64, 0.95, 0.78, 0.28, 0.39, 0.39, 0.50, 0.84, 0.32]
            + [0.37, 0.32, 0.34]
            + [0.64] * 10
            + [0.34, 0.34, 0.84, 0.84, 0.84, 0.54, 1.0]
            + [0.69, 0.69, 0.70, 0.77, 0.64, 0.58, 0.78, 0.76, 0.30, 0.30, 0.66, 0.56, 0.87]
            + [0.75, 0.79, 0.61, 0.79, 0.70, 0.64, 0.62, 0.74, 0.69, 0.99, 0.69, 0.62, 0.69]
            + [0.39, 0.34, 0.39, 0.84, 0.50, 0.50]
            + [0.62, 0.64, 0.55, 0.64, 0.62, 0.36, 0.64, 0.64, 0.28, 0.28, 0.58, 0.28, 0.98]
            + [0.64, 0.62, 0.64, 0.64, 0.42, 0.53, 0.40, 0.64, 0.60, 0.82, 0.60, 0.60, 0.53]
            + [0.64, 0.34, 0.64, 0.84]
        ),
        strict=True,
    )
)


def char_em(c: str) -> float:
    """Estimated advance of one character in em, for a sans-serif such as DejaVu Sans.

    ASCII from DejaVu Sans's metrics; East Asian wide/full-width characters and emoji
    about 1 em; combining marks and zero-width joiners none; other letters (accented
    Latin, Cyrillic, Greek, Arabic, Hebrew, ...) 0.7 em, a little above their typical
    width so lines err on the short side.
    """
    known = _ASCII_EM.get(c)
    if known is not None:
        return known
    if c in ZERO_WIDTH or unicodedata.combining(c):
        return 0.0
    if unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(c) in ("W", "F") or ord(c) >= 0x1F000:
        return 1.0
    return 0.7


def em(s: str, bold: bool = False) -> float:
    """Estimated width of ``s`` in em (font sizes), e.g. ``em("구매") == 2.0``.

    >>> em("구매"), round(em("Ad"), 2)
    (2.0, 1.33)
    """
    return sum(char_em(c) for c in s) * (BOLD_FACTOR if bold else 1.0)


def wider_than(s: str, max_em: float) -> bool:
    """``em(s) > max_em``, stopping as soon as it is (long strings cost a line's worth)."""
    used = 0.0
    for c in s:
        used += char_em(c)
        if used > max_em:
            return True
    return False


def split_word(word: str, max_em: float) -> tuple[str, str]:
    """Cut a word that is too wide; never before a combining mark or after a joiner."""
    used = 0.0
    cut = 0
    for i, c in enumerate(word):
        used += char_em(c)
        if used > max_em and cut > 0:
            break
        attached = i + 1 < len(word) and (
            char_em(word[i + 1]) == 0.0 or c == "\u200d" or word[i + 1] == "\u200d"
        )
        if not attached:
            cut = i + 1
    cut = max(cut, 1)
    return word[:cut], word[cut:]


@dataclass(frozen=True, slots=True)
class Wrapped:
    lines: tuple[str, ...]
    truncated: bool


def wrap(text: str, width: float, size: float, max_lines: int, bold: bool = False) -> Wrapped:
    """Wrap ``text`` into lines of at most ``width`` px at font ``size`` (estimated).

    Breaks at white space, and inside words (CJK runs, long ids, URLs) when a word is
    wider than a line. More than ``max_lines`` lines are cut with an ellipsis.
    """
    max_em = max(FILL * width / size / (BOLD_FACTOR if bold else 1.0), 1.0)
    lines: list[str] = []
    current = ""
    for word in xml_chars(text).split():
        candidate = f"{current} {word}" if current else word
        if not wider_than(candidate, max_em):
            current = candidate
            continue
        room = max_em - em(current + " ")
        if current and wider_than(word, max_em) and room >= 3:
            # the word must be cut anyway: start it on this line, not after a lone bullet
            head, word = split_word(word, room)
            lines.append(f"{current} {head}")
        elif current:
            lines.append(current)
        current = ""
        while wider_than(word, max_em) and len(lines) <= max_lines:
            head, word = split_word(word, max_em)
            lines.append(head)
        current = word
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return Wrapped(tuple(lines), False)
    kept = lines[:max_lines]
    last = kept[-1].rstrip()
    while last and em(last + "…") > max_em:
        last = last[:-1].rstrip()
    kept[-1] = last + "…"
    return Wrapped(tuple(kept), True)
