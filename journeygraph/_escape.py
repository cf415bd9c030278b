"""The one place where user text is made safe for a diagram (DOT or SVG).

Every string that comes from a map (names, ids, channels, notes, persona) passes through
:func:`escape_text` before it is written into DOT source (:mod:`journeygraph.render`) or
straight into SVG (:mod:`journeygraph.canvas`). User text only ever becomes the *content*
of a quoted DOT string or of an XML text node / quoted attribute value: never an
HTML-like label, a URL, an ``href``, or an attribute or element name.

Steps, in order:

1. :func:`one_line` turns control characters (newlines, tabs, NUL, ...) into spaces and
   collapses runs of white space, so a name cannot break out of a line or a statement;
   characters XML 1.0 cannot carry at all (lone surrogates, U+FFFE, U+FFFF) become
   U+FFFD. With ``keep_lines=True`` (SVG text and tooltips written directly, as the
   canvas does) the text keeps its line breaks and spacing, and only the characters
   XML cannot carry (C0 controls other than tab, newline and return; lone surrogates;
   U+FFFE, U+FFFF) become U+FFFD (:func:`xml_chars`).
2. :func:`shorten` truncates to ``limit`` characters with an ellipsis (``…``); callers
   put the full text in a tooltip (itself escaped, shortened to :data:`TOOLTIP_LIMIT`).
3. The text is escaped for its target:

   ``"xml"``
       ``&``, ``<``, ``>``, ``"`` and ``'`` become entities; safe in an element's text
       and in a double- or single-quoted attribute value.
   ``"dot"``
       for the inside of a double-quoted DOT string: ``"`` is backslash-escaped, and
       every ``\\`` is written ``\\\\`` followed by U+2060 WORD JOINER (invisible, no
       width). Graphviz expands ``\\N``, ``\\G``, ``\\E``, ``\\T``, ``\\H``, ``\\L``
       (and ``\\n``, ``\\l``, ``\\r`` as line breaks) in labels *and* tooltips, and in
       tooltips even after a doubled backslash, so a name ``Zq\\L`` would show another
       label; with the joiner no backslash is ever followed by a letter, in any attribute
       (labels, tooltips, ids). ``&`` becomes ``&amp;`` because Graphviz decodes
       entities in labels (a name ``&amp;`` then shows as ``&amp;``, not ``&``).

Bidirectional-text controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) are
removed from user text (:func:`strip_bidi`): an unclosed U+202E in a name would
otherwise reverse the numbers written after it in the same tooltip line. Right-to-left
letters keep their natural direction without them. Ids may not contain them at all
(the model refuses them, and so does :func:`escape_id`).

Examples
--------
>>> from journeygraph._escape import escape_text
>>> escape_text('<b onclick="x">&amp;</b>', target="xml")
'&lt;b onclick=&quot;x&quot;&gt;&amp;amp;&lt;/b&gt;'
>>> escape_text('say "hi"\\n]; node [shape=box', target="dot")
'say \\\\"hi\\\\" ]; node [shape=box'
>>> escape_text("a" * 30, target="xml", limit=10)
'aaaaaaaaa…'
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "ELLIPSIS",
    "TOOLTIP_LIMIT",
    "Target",
    "escape_id",
    "escape_text",
    "one_line",
    "shorten",
    "strip_bidi",
    "wrap_words",
    "xml_chars",
]

ELLIPSIS = "…"
#: Tooltips carry the full text, but not megabytes of it.
TOOLTIP_LIMIT = 20_000

Target = Literal["dot", "xml"]

# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
# Characters XML 1.0 forbids: C0 controls but tab/newline/return, lone surrogates,
# U+FFFE and U+FFFF. They would make the document unparsable (or unencodable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_UNICODE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_XML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
#: Follows every backslash in DOT output, so Graphviz never sees ``\\`` + a letter.
_JOINER = "\u2060"
_DOT = str.maketrans({"\\": "\\\\" + _JOINER, '"': '\\"', "&": "&amp;"})
#: Explicit bidirectional controls: marks, embeddings, overrides and isolates.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` with control characters replaced by spaces and white space collapsed.

    >>> one_line("two\\nlines\\t and\\x00 a NUL ")
    'two lines and a NUL'
    """
    return _SPACES.sub(" ", _CONTROL.sub(" ", _NOT_UNICODE.sub("\ufffd", text))).strip()


def strip_bidi(text: str) -> str:
    """``text`` without explicit bidirectional controls (marks, overrides, isolates).

    >>> strip_bidi("order\u202e 12%") == "order 12%"
    True
    """
    return _BIDI.sub("", text)


def xml_chars(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry replaced by U+FFFD.

    Keeps line breaks, tabs and spacing; does not escape (see :func:`escape_text`).

    >>> xml_chars("bell\\x07 tab\\t \\ud800 \\uffff") == "bell\\ufffd tab\\t \\ufffd \\ufffd"
    True
    """
    return _NOT_XML.sub("\ufffd", text)


def shorten(text: str, limit: int | None) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis if cut.

    >>> shorten("Customer support chat", 12)
    'Customer su…'
    >>> shorten("short", 12)
    'short'
    """
    if limit is None or len(text) <= limit:
        return text
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return text[: limit - 1].rstrip() + ELLIPSIS


def wrap_words(text: str, width: int, max_lines: int) -> list[str]:
    """Split one line of text into at most ``max_lines`` lines of about ``width`` characters.

    Breaks at spaces; a word longer than ``width`` is cut. The last line ends in an
    ellipsis when text was left out. Returns raw (unescaped) lines.

    >>> wrap_words("Annual-pass desk at the exit", 14, 2)
    ['Annual-pass', 'desk at the…']
    """
    words = one_line(text).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1][: max(width - 1, 1)].rstrip()
        lines = [*lines[: max_lines - 1], last + ELLIPSIS]
    return lines


def escape_text(
    text: str, *, target: Target, limit: int | None = None, keep_lines: bool = False
) -> str:
    """Make user text safe to put inside a quoted DOT string or SVG/XML text.

    Parameters
    ----------
    text
        Any user-supplied string.
    target
        ``"dot"`` for the inside of a double-quoted DOT string (the caller adds the
        quotes), ``"xml"`` for SVG element text or a quoted attribute value.
    limit
        Truncate to this many characters (after turning it into one line), ending in
        ``…``. ``None`` keeps the whole text.
    keep_lines
        Only with ``target="xml"``: keep line breaks and spacing (for SVG written
        directly, e.g. a multi-line ``<title>`` tooltip) and replace just the
        characters XML cannot carry with U+FFFD.

    Returns
    -------
    str
        Escaped text: one line unless ``keep_lines``.

    Examples
    --------
    >>> escape_text("a <b>\\nc\\x00", target="xml", keep_lines=True) == "a &lt;b&gt;\\nc\\ufffd"
    True
    """
    if keep_lines:
        if target != "xml":
            raise ValueError("keep_lines=True is for target='xml' only")
        return _escape_line(shorten(xml_chars(strip_bidi(text)), limit), target)
    return _escape_line(shorten(one_line(strip_bidi(text)), limit), target)


def escape_id(ident: str, *, target: Target) -> str:
    """Escape an identifier exactly: no trimming, collapsing or truncation.

    Ids must stay distinct (``"a  b"`` and ``"a b"`` are two touchpoints), so they are
    escaped as they are (a backslash gets the same invisible joiner as in
    :func:`escape_text`, so distinct ids stay distinct); they must not contain control
    characters or bidirectional controls (the model refuses them, and so does this
    function).

    >>> escape_id(" entry & exit", target="dot")
    ' entry &amp; exit'
    """
    if _CONTROL.search(ident) or _BIDI.search(ident):
        shown = ident if len(ident) <= 80 else ident[:79] + ELLIPSIS
        raise ValueError(
            f"an id must not contain control or bidirectional-control characters: {shown!r}"
        )
    return _escape_line(ident, target)


def _escape_line(line: str, target: Target) -> str:
    """Escape text that is already one line (internal: callers use :func:`escape_text`)."""
    if target == "xml":
        return line.translate(_XML)
    if target == "dot":
        return line.translate(_DOT)
    raise ValueError(f"unknown escaping target {target!r}; use 'dot' or 'xml'")
