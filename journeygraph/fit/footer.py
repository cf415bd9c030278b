"""What a Parquet file's footer proves about an event log, without reading its rows.

A Parquet footer holds, per row group and column, the number of rows and (when the
writer kept statistics) the number of nulls and the smallest and largest value. The
DuckDB engine (:mod:`journeygraph.fit.duckdb_engine`) reads it to skip a full scan of
the customer and time columns: when the footer proves that the customer, time and
segment columns hold no null, every row passes rule 1 of :mod:`journeygraph.fit.spec`
on those columns, and the time range of all rows bounds the time range of the events.
Whenever the footer cannot prove that (no statistics, a null count that is missing or
not zero, a time column that is not a plain 64-bit timestamp, nested columns), it says
nothing and the engine scans the log as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from journeygraph._optional import require

__all__ = ["UNITS", "Footer", "parquet_footer"]

#: The Parquet timestamp units whose raw values the footer reports.
UNITS = ("milliseconds", "microseconds", "nanoseconds")


@dataclass(frozen=True, slots=True)
class Footer:
    """What the footer proves: the row count, and the range of the time column.

    ``earliest`` and ``latest`` are the time column's smallest and largest raw values
    (in ``unit``, one of :data:`UNITS`, since 1970-01-01) over *all* rows, ``None`` for
    a file without rows: a superset of the events' range.
    """

    rows: int
    unit: str
    earliest: int | None
    latest: int | None


def parquet_footer(
    path: str, columns: Sequence[str], no_nulls: Sequence[str], time: str
) -> Footer | None:
    """The :class:`Footer` of one Parquet file, or ``None`` when it proves too little.

    Parameters
    ----------
    path
        The Parquet file.
    columns
        The column names DuckDB reads from it, in order: the footer is used only when
        its flat column list is exactly this (no nested or renamed columns).
    no_nulls
        The columns that must hold no null: every row group must have a null count of 0
        for each of them.
    time
        The time column: a 64-bit Parquet timestamp with a minimum and maximum in
        every row group that has rows.

    Returns
    -------
    Footer or None
        ``None`` when the file cannot be read here, a statistic is missing, a listed
        column has a null, or the time column is of another type.

    Examples
    --------
    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "log.parquet")
    >>> stamps = pa.array([5, 2, 9], type=pa.timestamp("ms"))
    >>> pq.write_table(pa.table({"c": [1, 1, 2], "t": stamps}), path)
    >>> parquet_footer(path, ["c", "t"], ["c", "t"], "t")
    Footer(rows=3, unit='milliseconds', earliest=2, latest=9)
    >>> pq.write_table(pa.table({"c": [1, None, 2], "t": stamps}), path)
    >>> parquet_footer(path, ["c", "t"], ["c", "t"], "t") is None
    True
    """
    pa = require("pyarrow", extra="files", feature="fitting Parquet files")
    pq = require("pyarrow.parquet", extra="files", feature="fitting Parquet files")
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema
        names = [schema.column(i).path for i in range(meta.num_columns)]
        if names != list(columns) or time not in names:
            return None
        where = {name: i for i, name in enumerate(names)}
        t = schema.column(where[time])
        kind = json.loads(t.logical_type.to_json())
        unit = kind.get("timeUnit") if kind.get("Type") == "Timestamp" else None
        if unit not in UNITS or t.physical_type != "INT64":
            return None
        earliest: int | None = None
        latest: int | None = None
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            if group.num_rows == 0:
                continue
            for name in dict.fromkeys([*no_nulls, time]):
                stats = group.column(where[name]).statistics
                if stats is None or not stats.has_null_count or stats.null_count != 0:
                    return None
            stats = group.column(where[time]).statistics
            if not stats.has_min_max:
                return None
            lo, hi = int(stats.min_raw), int(stats.max_raw)
            earliest = lo if earliest is None else min(earliest, lo)
            latest = hi if latest is None else max(latest, hi)
        return Footer(int(meta.num_rows), str(unit), earliest, latest)
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException):
        return None
