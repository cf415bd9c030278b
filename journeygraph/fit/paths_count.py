"""Counting an attribution path table without a Python loop per row (for ``fit_paths``).

A path table has one row per distinct path (``"search > email > site"``) with the
number of journeys along it that converted and that did not. Everything here is Arrow
compute and numpy on whole columns: the paths are split once (``split_pattern``), the
steps dictionary-encoded to integer codes, and entries, consecutive pairs and last
steps counted with ``bincount``. The checks (null or empty paths, empty steps,
counts that are not finite numbers >= 0) are vectorised too, and report the first bad
row exactly as a row-by-row reading would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from journeygraph.errors import EventLogError

__all__ = ["PathCounts", "count_column", "count_paths"]

#: Channels up to which pairs are counted in a dense ``k x k`` table (else by sorting).
_DENSE_PAIRS = 4096


@dataclass(frozen=True, slots=True)
class PathCounts:
    """Counts of a path table: channels (sorted), entries and moves by channel code.

    ``pair_from``/``pair_to``/``pair_weight`` are the distinct consecutive channel
    pairs and their journeys; ``converted``/``lost`` the journeys whose last step is
    each channel, by outcome.
    """

    channels: tuple[str, ...]
    entry: np.ndarray
    pair_from: np.ndarray
    pair_to: np.ndarray
    pair_weight: np.ndarray
    converted: np.ndarray
    lost: np.ndarray
    journeys: float
    events: float


def count_column(arrow: Any, column: str, where: str) -> np.ndarray:
    """A count column as float64, refusing nulls, NaN, infinities and negatives.

    Numeric columns are checked on the whole array; other types (text such as ``"3"``)
    are read value by value, as before, since each needs Python's ``float``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from journeygraph.errors import did_you_mean

    if column not in arrow.column_names:
        hint = did_you_mean(column, arrow.column_names)
        raise EventLogError(f"{where}: column {column!r} not found{hint}")
    data = arrow.column(column)
    kind = data.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = pc.cast(data, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(values) & (values >= 0))  # nulls arrive as NaN
        if bad.any():
            row = int(np.argmax(bad))
            raise EventLogError(
                f"{where}: row {row + 2}: column {column!r} must be a count >= 0 "
                f"(found {data[row].as_py()!r})"
            )
        result: np.ndarray = np.ascontiguousarray(values, dtype=float)
        return result
    raw = data.to_pylist()
    out = np.zeros(len(raw))
    for row, v in enumerate(raw):
        try:
            x = float(v) if not isinstance(v, bool) and v is not None else float("nan")
        except (TypeError, ValueError):
            x = float("nan")
        if not np.isfinite(x) or x < 0:
            raise EventLogError(
                f"{where}: row {row + 2}: column {column!r} must be a count >= 0 (found {v!r})"
            )
        out[row] = x
    return out


def count_paths(
    arrow: Any, path: str, conv: np.ndarray, lost: np.ndarray, sep: str, where: str
) -> PathCounts:
    """Split, check and count every path of the table (rows with journeys only).

    Raises
    ------
    EventLogError
        The first row (in table order) whose path is null, empty or not text, or
        has an empty step between separators; or no row has any journey.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    weight = conv + lost
    kept = np.flatnonzero(weight > 0)
    if kept.size == 0:
        raise EventLogError(f"{where}: no journeys: every path has 0 conversions and 0 nulls")
    column = arrow.column(path)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    text = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if kept.size < len(text):
        text = text.take(pa.array(kept))
    first_bad: list[tuple[int, str]] = []
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        first_bad.append((0, "null"))
    else:
        # Null paths split into empty lists, so every row keeps its own offsets.
        parts = pc.split_pattern(text, sep)
        offsets = np.asarray(parts.offsets)
        offsets = offsets - offsets[0]
        lengths = np.diff(offsets)
        # Encode the steps as written and trim only the distinct values: the same
        # codes as trimming every step first, without a pass over all the text.
        encoded = pc.dictionary_encode(parts.flatten())
        trimmed = pc.utf8_trim_whitespace(encoded.dictionary).to_pylist()
        raw_codes = np.asarray(encoded.indices, dtype=np.int64)
        names = sorted(set(trimmed))
        rank = {name: i for i, name in enumerate(names)}
        codes = np.array([rank[v] for v in trimmed], dtype=np.int64)[raw_codes]
        # A null path has no step; a blank one ("", "   ") is one step that trims to
        # nothing; any other empty step lies between separators.
        bad_rows = lengths == 0
        if "" in rank:
            empty = codes == rank[""]
            one = np.flatnonzero(lengths == 1)
            bad_rows[one[empty[offsets[one]]]] = True
            steps_bad = empty & ~np.repeat(bad_rows, lengths)
            if steps_bad.any():
                row_of = np.searchsorted(offsets, int(np.argmax(steps_bad)), side="right") - 1
                first_bad.append((int(row_of), "step"))
        if bad_rows.any():
            first_bad.append((int(np.argmax(bad_rows)), "null"))
    if first_bad:
        pos, what = min(first_bad)
        row = int(kept[pos]) + 2
        found = arrow.column(path)[int(kept[pos])].as_py()
        if what == "null":
            raise EventLogError(
                f"{where}: row {row}: path column {path!r} is empty or null (found {found!r})"
            )
        raise EventLogError(
            f"{where}: row {row}: path {found!r} has an empty step; check sep={sep!r}"
        )

    k = len(names)
    w = weight[kept]
    c, n = conv[kept], lost[kept]
    first, last = codes[offsets[:-1]], codes[offsets[1:] - 1]
    entry = np.bincount(first, weights=w, minlength=k)
    not_last = np.ones(codes.size, dtype=bool)
    not_last[offsets[1:] - 1] = False
    pair_w = np.repeat(w, lengths - 1)
    src, dst = codes[not_last], codes[1:][not_last[:-1]]
    if k <= _DENSE_PAIRS:
        table = np.bincount(src * k + dst, weights=pair_w, minlength=k * k)
        nz = np.flatnonzero(table)
        pair_from, pair_to, pair_weight = nz // k, nz % k, table[nz]
    else:
        unique, inverse = np.unique(src * k + dst, return_inverse=True)
        pair_weight = np.bincount(inverse, weights=pair_w, minlength=unique.size)
        pair_from, pair_to = unique // k, unique % k
    return PathCounts(
        channels=tuple(names),
        entry=entry,
        pair_from=pair_from,
        pair_to=pair_to,
        pair_weight=pair_weight,
        converted=np.bincount(last, weights=c, minlength=k),
        lost=np.bincount(last, weights=n, minlength=k),
        journeys=float(w.sum()),
        events=float(conv.sum() + lost.sum()),
    )
