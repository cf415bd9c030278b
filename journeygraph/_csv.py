"""CSV text for spreadsheets: the formula guard for untrusted text, and exact numbers.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula, so text cells (ids, names from maps and logs) that begin
with one get a leading ``'`` (docs/reliability.md). Numbers are never guarded: ``-0.05``
stays a number. Floats are written with ``repr``, so they read back exactly.

>>> print(csv_text(["touchpoint", "flow"], [{"touchpoint": "=HYPERLINK()", "flow": -0.5}]), end="")
touchpoint,flow
'=HYPERLINK(),-0.5
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FORMULA_STARTS", "csv_text", "guard"]

#: A text cell beginning with one of these is guarded with a leading ``'``.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return guard(value)
    return guard(json.dumps(value, ensure_ascii=False, default=list))


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header line and one line per row (missing cells empty), ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([guard(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()
