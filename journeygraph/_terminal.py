"""Text printed to a terminal: control characters made visible, never raw.

Names, ids and values from maps and event logs end up in reports and error messages. A
terminal obeys what it is sent: ESC (``\\x1b``) starts sequences that clear the screen,
move the cursor, retitle the window or (OSC 52) write the clipboard; C1 controls
(U+0080-U+009F, e.g. U+009B, a one-character CSI) do the same on many terminals; bidi
overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder the rest of the line, so
``'ab\\u202e01'`` shows the numbers after it reversed. :func:`visible` shows each of them
as an escape (``\\x1b``, ``\\u009b``, ``\\u202e``), so the line reads as sent; letters of
every script (Korean, Arabic, emoji, combining marks) are left as they are.

The command line prints through :func:`visible_streams`, which applies :func:`visible`
to everything written to ``sys.stdout`` and ``sys.stderr`` while a command runs. The
escapes are valid JSON string escapes for every character JSON leaves raw, so
``--json`` output stays valid and means the same.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["VisibleStream", "raw_stream", "visible", "visible_streams", "write_data"]

# C0 controls but newline and tab, DEL, C1 controls, the line and paragraph separators
# (which some terminals treat as line ends), the bidi embeddings, overrides and
# isolates, and lone surrogates (bytes of a non-UTF-8 file name that Python would write
# back raw: \udc9b is the byte 0x9b, a CSI for 8-bit terminals).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_INLINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    # \xNN for C0 (JSON never leaves those raw); \uNNNN, a JSON escape too, for the rest.
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every control and bidi-formatting character shown as an escape.

    Parameters
    ----------
    text
        Text to print.
    lines
        Keep newlines and tabs (for whole reports); by default they are escaped too,
        so a value always prints on one line.

    Examples
    --------
    >>> visible("shop\\x1b[2J")
    'shop\\\\x1b[2J'
    >>> visible("ab\\u202e01")
    'ab\\\\u202e01'
    >>> visible("광고 → 구매 🛒 شراء")
    '광고 → 구매 🛒 شراء'
    >>> visible("one\\ntwo"), visible("one\\ntwo", lines=True)
    ('one\\\\x0atwo', 'one\\ntwo')
    """
    pattern = _UNSAFE if lines else _UNSAFE_INLINE
    return pattern.sub(_escape, text)


class VisibleStream:
    """A text stream that writes :func:`visible` text (newlines and tabs kept) to another.

    Everything else (``flush``, ``isatty``, ``encoding``, ``buffer``, ...) is the wrapped
    stream's; :attr:`raw` is the wrapped stream itself.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(visible(text, lines=True))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


@contextmanager
def visible_streams() -> Iterator[None]:
    """Make everything written to ``sys.stdout`` and ``sys.stderr`` :func:`visible`."""
    saved = sys.stdout, sys.stderr
    sys.stdout = VisibleStream(saved[0])
    sys.stderr = VisibleStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a :class:`VisibleStream` (or ``stream`` itself)."""
    inner = stream.raw if isinstance(stream, VisibleStream) else stream
    return inner


def write_data(text: str) -> None:
    """Write a document (SVG, DOT, JSON Schema) to standard output.

    Into a file or a pipe it goes unchanged (it is data, its own format escapes it); to a
    terminal it is made :func:`visible` like every other text.
    """
    stream: TextIO = sys.stdout
    raw = raw_stream(stream)
    isatty = getattr(raw, "isatty", None)
    if callable(isatty) and isatty():
        stream.write(text)
    else:
        raw.write(text)
