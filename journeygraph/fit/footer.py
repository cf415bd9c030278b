"""What the footers of Parquet files prove about an event log, without reading its rows.

A Parquet footer holds, per row group and column, the number of rows and (when the
writer kept statistics) the number of nulls and the smallest and largest value. The
DuckDB engine (:mod:`journeygraph.fit.duckdb_engine`) reads them to skip a full scan of
the customer and time columns: when the footers prove that the customer, time and
segment columns hold no null, every row passes rule 1 of :mod:`journeygraph.fit.spec`
on those columns, and the time range of all rows bounds the time range of the events.
Whenever the footers cannot prove that (no statistics, a null count that is missing or
not zero, nested columns, a file whose columns differ from the ones read), they say
nothing and the engine scans the log as before.

The footers are read by DuckDB itself (``parquet_schema``, ``parquet_metadata``), so a
fit needs no other library, and the time bounds go through the same SQL expression
as the rows: a monotone map of the smallest and largest stored values gives the
smallest and largest times exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TIME_TYPES", "Footer", "parquet_footer"]

#: The DuckDB time types whose bounds are read from the footer: those the engine turns
#: into microseconds by a monotone expression, without checking every value.
TIME_TYPES = (
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_NS",
    "TIMESTAMPTZ_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "DATE",
)


@dataclass(frozen=True, slots=True)
class Footer:
    """What the footers prove: the row count, and the range of the time column.

    ``earliest`` and ``latest`` are in the engine's time units (microseconds since
    1970-01-01 UTC) over *all* rows, ``None`` without rows: a superset of the events'
    range.
    """

    rows: int
    earliest: int | None
    latest: int | None


def parquet_footer(
    con: Any,
    files: Sequence[str],
    columns: Sequence[str],
    no_nulls: Sequence[str],
    time: tuple[str, str, str],
) -> Footer | None:
    """The :class:`Footer` of Parquet files, or ``None`` when they prove too little.

    Parameters
    ----------
    con
        A DuckDB connection.
    files
        The Parquet files, as DuckDB reads them (glob characters escaped).
    columns
        The column names DuckDB reads from them, in order: each file must have exactly
        these flat columns (so reading by name adds no null).
    no_nulls
        The columns that must hold no null: every row group must have a null count of 0
        for each of them.
    time
        ``(column, DuckDB type, SQL expression)``: the time column, its type (one of
        :data:`TIME_TYPES`) and the expression over the column that gives the engine's
        time, which must never decrease as the value grows.

    Returns
    -------
    Footer or None
        ``None`` when a statistic is missing, a listed column has a null, or the files'
        columns differ from ``columns``.

    Examples
    --------
    >>> import duckdb, os, tempfile
    >>> con = duckdb.connect()
    >>> path = os.path.join(tempfile.mkdtemp(), "log.parquet")
    >>> _ = con.execute(
    ...     "COPY (SELECT * FROM (VALUES (1, TIMESTAMP '1970-01-01 00:00:02'), "
    ...     f"(2, TIMESTAMP '1970-01-01 00:00:09')) v(c, t)) TO '{path}'"
    ... )
    >>> parquet_footer(con, [path], ["c", "t"], ["c", "t"], ("t", "TIMESTAMP", 'epoch_us("t")'))
    Footer(rows=2, earliest=2000000, latest=9000000)
    >>> parquet_footer(con, [path], ["t"], ["t"], ("t", "TIMESTAMP", 'epoch_us("t")')) is None
    True
    """
    name, kind, expr = time
    if kind not in TIME_TYPES:
        return None
    schema = con.execute(
        "SELECT file_name, name, num_children, column_id FROM parquet_schema($files) "
        "ORDER BY file_name, column_id",
        {"files": list(files)},
    ).fetchall()
    found: dict[str, list[str]] = {}
    for file_name, column, children, column_id in schema:
        found.setdefault(file_name, [])
        if column_id == 0:  # the schema's root
            continue
        if children:
            return None  # a nested column
        found[file_name].append(column)
    if len(found) != len(files) or any(names != list(columns) for names in found.values()):
        return None
    watched = set(no_nulls) | {name}
    chunks = con.execute(
        "SELECT file_name, row_group_id, path_in_schema, stats_null_count, "
        "stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL "
        "FROM parquet_metadata($files) WHERE row_group_num_rows > 0",
        {"files": list(files)},
    ).fetchall()
    # Every chunk of a watched column in a row group with rows: a null count of 0, and
    # for the time column its smallest and largest values.
    proved: dict[tuple[str, int], set[str]] = {}
    for file_name, group, column, nulls, bounded in chunks:
        seen = proved.setdefault((file_name, group), set())
        if column in watched and nulls == 0 and (bounded or column != name):
            seen.add(column)
    if any(seen != watched for seen in proved.values()):
        return None
    rows = con.execute(
        "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata($files)",
        {"files": list(files)},
    ).fetchone()[0]
    column = '"' + name.replace('"', '""') + '"'
    bounds = con.execute(
        f"SELECT min({expr}) FILTER (WHERE side = 0), max({expr}) FILTER (WHERE side = 1) "
        f"FROM (SELECT TRY_CAST(stats_min_value AS {kind}) AS {column}, 0 AS side "
        "FROM parquet_metadata($files) WHERE path_in_schema = $time AND row_group_num_rows > 0 "
        f"UNION ALL SELECT TRY_CAST(stats_max_value AS {kind}), 1 "
        "FROM parquet_metadata($files) WHERE path_in_schema = $time AND row_group_num_rows > 0)",
        {"files": list(files), "time": name},
    ).fetchone()
    earliest, latest = bounds
    if rows and (earliest is None or latest is None):
        return None  # a bound DuckDB could not read back
    return Footer(
        int(rows),
        None if earliest is None else int(earliest),
        None if latest is None else int(latest),
    )
