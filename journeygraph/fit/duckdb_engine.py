"""The DuckDB engine: counts event-log files (and large tables) in SQL (see :mod:`journeygraph.fit.spec`)."""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from journeygraph._optional import require
from journeygraph._progress import Progress
from journeygraph.errors import EventLogError
from journeygraph.fit.footer import parquet_footer
from journeygraph.fit.spec import (
    _NOT_A_TIME,
    AWARE_PATTERN,
    CENSORED,
    CHURN,
    FORMULA_GUARD,
    MOVE,
    NUMBER_PATTERN,
    OUTCOME_ROW,
    TIME_PATTERN,
    TO_OUTCOME,
    Counts,
    Spec,
    _bad_time,
    _collision,
    _too_many,
    _unknown_outcomes,
    check_columns,
    parse_duration,
    parse_instant,
)

__all__ = ["count_duckdb", "quote_ident"]

#: Each segment's figures in :attr:`Counts.segments` before duplicates are known.
_SEGMENT_FIGURES = (
    "input_rows",
    "null_customer",
    "null_time",
    "null_touchpoint",
    "items",
    "capped",
)


# -- DuckDB engine --------------------------------------------------------------------

#: This process's DuckDB database and the process it belongs to, kept between fits. A
#: new in-memory database starts its own threads and takes fresh memory from the
#: system: 0.08-0.12 s of a 0.6 s fit of 5.5M events on the benchmark machine. Each fit
#: opens its own connection to it, and everything a fit creates there is temporary
#: (views, the name table of event codes), so it goes with the connection and
#: fits on several threads do not see each other's.
_kept: tuple[int, Any] | None = None
_kept_lock = threading.Lock()


def _connect(duckdb: Any) -> Any:
    """A new connection to this process's DuckDB database (made on first use)."""
    global _kept
    with _kept_lock:
        if _kept is None or _kept[0] != os.getpid():
            _kept = (os.getpid(), duckdb.connect(":memory:"))
        return _kept[1].cursor()


def _leave_parents_database() -> None:
    """In a forked child: never use or free the parent's database (its threads are not
    in the child; freeing it crashed the child at exit), so it stays allocated and the
    child makes its own on first use."""
    global _kept, _kept_lock
    if _kept is not None:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(_kept[1]))
    _kept = None
    _kept_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_leave_parents_database)


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted with inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def count_duckdb(
    source: Any,
    spec: Spec,
    where: str,
    *,
    kind: str,
    files: Sequence[str] = (),
    bar: Progress | None = None,
) -> Counts:
    """The DuckDB engine: windowing and GROUP BY in SQL; only the count table returns.

    ``kind`` is ``"parquet"`` or ``"csv"`` (read ``files`` out-of-core) or ``"arrow"``
    (query the arrow table ``source`` in place).
    """
    duckdb = require("duckdb", extra="files", feature="fitting event-log files")
    con = _connect(duckdb)
    try:
        bar = bar or Progress("", [], progress=False)
        return _count_duckdb(con, duckdb, source, spec, where, kind, list(files), bar)
    except (duckdb.InterruptException, RuntimeError) as exc:
        # Ctrl-C: DuckDB stops the query and reports it as its own error (DuckDB 2
        # raises RuntimeError('Query interrupted')); it is the user's interrupt.
        if isinstance(exc, duckdb.InterruptException) or "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from None
        raise
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EventLogError(f"{where}: cannot read the event log: {first}") from None
    finally:
        con.close()


def _run(con: Any, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Execute with only the parameters the statement uses (DuckDB wants them exact)."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    return con.execute(sql, used) if used else con.execute(sql)


def _count_duckdb(
    con: Any,
    duckdb: Any,
    source: Any,
    spec: Spec,
    where: str,
    kind: str,
    files: list[str],
    bar: Progress,
) -> Counts:
    _run(con, "SET TimeZone = 'UTC'")
    # DuckDB's own bar prints to stdout (where a CLI's --json goes); ours uses stderr.
    _run(con, "SET enable_progress_bar = false")
    bar.phase("statistics")
    # DuckDB globs every file name it reads: a name holding * ? [ is a pattern there,
    # so escape them into one-character classes ('events[2024].csv' stays that file).
    files = [re.sub(r"([*?\[])", r"[\1]", f) for f in files]
    if kind == "parquet":
        rel = con.read_parquet(files, union_by_name=True)
    elif kind == "csv":
        rel = con.read_csv(files, all_varchar=True, header=True)
    else:
        rel = con.from_arrow(source)
    if kind == "csv":
        # Every CSV cell loses the spreadsheet formula guard, as in the numpy engine.
        con.register("raw_csv", rel)
        guard = "'" + FORMULA_GUARD.replace("'", "''") + "'"
        names = [row[0] for row in _run(con, "DESCRIBE raw_csv").fetchall()]
        # The guard starts with an apostrophe: testing that first spares the regular
        # expression on almost every cell (0.045 s of each 0.15 s scan of 1M rows).
        lead = "'" + FORMULA_GUARD.removeprefix("^")[0].replace("'", "''") + "'"
        cells = ", ".join(
            f"CASE WHEN starts_with({quote_ident(n)}, {lead}) "
            f"AND regexp_matches({quote_ident(n)}, {guard}) THEN substr({quote_ident(n)}, 2) "
            f"ELSE {quote_ident(n)} END AS {quote_ident(n)}"
            for n in names
        )
        _run(con, f"CREATE TEMP VIEW raw_events AS SELECT {cells} FROM raw_csv")
    else:
        con.register("raw_events", rel)
    described = _run(con, "DESCRIBE raw_events").fetchall()
    types = {row[0]: str(row[1]).upper() for row in described}
    check_columns([row[0] for row in described], spec, where)

    q = quote_ident
    time_type = types[spec.time]
    numeric, time_sql = _duckdb_time(con, spec, where, time_type)
    outs = list(spec.outcome_values)
    # Outcome values are parameters ($o0, $o1, ...): never SQL text, and an IN list of
    # constants is much cheaper per row than list_contains.
    out_params: dict[str, Any] = {f"o{i}": v for i, v in enumerate(outs)}
    in_outs = f"IN ({', '.join(f'$o{i}' for i in range(len(outs)))})" if outs else "IS NULL"
    seg_sql = f"CAST({q(spec.segment)} AS VARCHAR)" if spec.segment else "''"
    oc_sql = f"CAST({q(spec.outcome)} AS VARCHAR)" if spec.outcome else "CAST(NULL AS VARCHAR)"
    src = (
        f"SELECT {q(spec.customer)} AS c, {time_sql} AS t, "
        f"CAST({q(spec.touchpoint)} AS VARCHAR) AS tp, {oc_sql} AS oc, {seg_sql} AS s "
        "FROM raw_events"
    )
    ok = "c IS NOT NULL AND t IS NOT NULL AND s IS NOT NULL"
    checks = _cardinality_checks(con, src, spec, where, in_outs, out_params)
    footer = None
    if kind == "parquet" and spec.max_events is None and not numeric:
        no_nulls = [spec.customer, spec.time, *([spec.segment] if spec.segment else [])]
        columns = [row[0] for row in described]
        footer = parquet_footer(con, files, columns, no_nulls, (spec.time, time_type, time_sql))
    if spec.outcome:
        tp_item = "tp IS NOT NULL"
        oc_item = "oc IS NOT NULL"
        items = (
            f"SELECT s, c, t, tp AS item, 0 AS o FROM src WHERE {ok} AND {tp_item} "
            f"UNION ALL SELECT s, c, t, oc AS item, 1 AS o FROM src WHERE {ok} AND {oc_item}"
        )
    else:
        is_out = f"coalesce(tp {in_outs}, false)"
        items = (
            f"SELECT s, c, t, tp AS item, CASE WHEN {is_out} THEN 1 ELSE 0 END AS o "
            f"FROM src WHERE {ok} AND tp IS NOT NULL"
        )

    # One scan for every statistic: GROUP BY the touchpoint/outcome values and null flags
    # (a few rows per distinct value), then add up in Python. When the Parquet footer
    # proves that no customer, time or segment is null, the scan reads only the
    # touchpoint, outcome and segment columns: the time range comes from the footer and
    # the first appearances from the counting query.
    if footer is not None:
        # Only the columns the log has: a constant grouping column cost as much again.
        keys = [f"CAST({q(spec.touchpoint)} AS VARCHAR)"]
        keys += [oc_sql] if spec.outcome else []
        keys += [seg_sql] if spec.segment else []
        group_sql = f"SELECT {', '.join(keys)}, count(*) FROM raw_events GROUP BY ALL"
    else:
        group_sql = (
            f"WITH src AS ({src}) SELECT tp, oc, c IS NULL, t IS NULL, s IS NULL, count(*), "
            "min(t), max(t), NULL FROM src GROUP BY ALL"
        )
    limit = 8 * (spec.max_touchpoints + len(outs) + 2) * (len(outs) + 2 if spec.outcome else 1)
    groups = _run(con, f"{group_sql} LIMIT $lim", {"lim": limit + 1}).fetchall()
    if len(groups) > limit:
        checks()  # too many distinct values: raises the error that names them
        groups = _run(con, group_sql).fetchall()
    if footer is not None:  # as the scan's groups: no null flags, no times
        groups = [
            (
                g[0],
                g[1] if spec.outcome else None,
                False,
                False,
                False,
                g[-1],
                None,
                None,
                g[-2] if spec.segment else "",
            )
            for g in groups
        ]
    outs_set = set(outs)
    n_rows = null_c = null_t = null_s = null_tp = n_items = item_rows = 0
    min_t: Any = None
    max_t: Any = None
    touch_set: set[str] = set()
    first_seen: dict[str, float] = {}
    unknown: set[str] = set()
    clash: set[str] = set()
    # With the footer, each segment's figures come from the same groups.
    seg_figures: dict[str, dict[str, int]] = {}
    for tp, oc, no_c, no_t, no_s, n, lo, hi, seg in groups:
        n_rows += n
        if spec.outcome:
            if oc is not None and oc not in outs_set:
                unknown.add(oc)
            if tp in outs_set:
                clash.add(tp)
        if no_c or no_t or no_s:
            null_c += n if no_c else 0
            null_t += n if not no_c and no_t else 0
            null_s += n if not no_c and not no_t and no_s else 0
            continue
        oc_event = (oc is not None) if spec.outcome else (tp in outs_set)
        tp_event = tp is not None and (spec.outcome is not None or tp not in outs_set)
        if tp is None and not oc_event:
            null_tp += n
        n_items += n * (int(tp_event) + int(oc_event))
        if footer is not None:
            item_rows += n if tp_event or oc_event else 0
            figures = seg_figures.setdefault(str(seg), dict.fromkeys(_SEGMENT_FIGURES, 0))
            figures["input_rows"] += n
            figures["null_touchpoint"] += n if tp is None and not oc_event else 0
            figures["items"] += n * (int(tp_event) + int(oc_event))
        if tp_event:
            touch_set.add(tp)
            if lo is not None:
                first_seen[tp] = min(first_seen.get(tp, float(lo)), float(lo))
        if (tp_event or oc_event) and lo is not None:
            min_t = lo if min_t is None else min(min_t, lo)
            max_t = hi if max_t is None else max(max_t, hi)
    _unknown_outcomes(sorted(unknown), spec, where)
    _collision(sorted(clash), spec, where)
    _too_many(len(touch_set), spec, where)
    touch = sorted(touch_set)
    dropped = {
        "null_customer": int(null_c),
        "null_time": int(null_t),
        "null_segment": int(null_s),
        "null_touchpoint": int(null_tp),
    }
    if footer is not None and n_rows != footer.rows:  # not the footer of the file read
        raise EventLogError(
            f"{where}: the file changed while it was read ({footer.rows} rows in its "
            f"footer, {n_rows} read); fit it again once it is written"
        )
    until = parse_instant(spec.observed_until, numeric)
    if footer is not None and n_items:
        # The footer's range is of all rows, a superset of the events' range: exact
        # enough to pack the sort key, but the default end of observation must be the
        # last event's time. It is the footer's latest time when every row is an event;
        # otherwise it is read (only when a window needs it).
        min_t, max_t = footer.earliest, footer.latest
        if until is None and spec.window is not None and item_rows != n_rows:
            last = _run(
                con, f"WITH src AS ({src}), items AS ({items}) SELECT max(t) FROM items", out_params
            ).fetchone()[0]
            until = float(last)
    if until is None and max_t is not None:
        until = float(max_t)
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)
    if not n_items:
        dropped["duplicate"] = 0
        dropped["capped"] = 0
        return Counts([], int(n_rows), dropped, [], "duckdb")

    # Event codes: touchpoints in code-point order, then outcomes in code-point order, so
    # ordering by (time, code) is the documented tie rule. The counting query finds each
    # event's code by a join with this table: 0.03 s for 5.5M events, where a cast to
    # an ENUM of the names took 0.10 s.
    names = touch + sorted(outs)
    n_touchpoints = len(touch)
    _run(
        con,
        "CREATE TEMP TABLE jg_names AS SELECT unnest($v) AS v, generate_subscripts($v, 1) - 1 AS i",
        {"v": names},
    )

    capped: list[str] = []
    capped_rows = 0
    if spec.max_events is not None:
        res = _run(
            con,
            f"WITH src AS ({src}), items AS ({items}), d AS (SELECT DISTINCT s, c, t, item, o "
            "FROM items) SELECT CAST(c AS VARCHAR), count(*) AS n, s FROM d GROUP BY s, c "
            "HAVING count(*) > $cap ORDER BY n DESC, 1",
            {**out_params, "cap": spec.max_events},
        ).fetchall()
        capped = [r[0] for r in res[:20]]
        capped_rows = sum(int(r[1]) for r in res)
    segments: dict[str, dict[str, int]] = {}
    segment_capped: dict[str, list[str]] = {}
    if spec.segment is not None and footer is not None:
        segments = seg_figures
    elif spec.segment is not None:
        segments, segment_capped = _duckdb_segments(con, src, spec, in_outs, out_params)
        for r in res if spec.max_events is not None else []:
            segments[str(r[2])]["capped"] += int(r[1])
            listed = segment_capped.setdefault(str(r[2]), [])
            if len(listed) < 20:
                listed.append(r[0])

    bar.phase("count")
    # Time and code packed into one BIGINT sort key when the range allows it (always for
    # timestamps in microseconds spanning less than ~290 years / 1000 codes). The code
    # takes the low bits, so unpacking is a shift and a mask: a 64-bit division and
    # modulo per neighbour cost more than the window's own LAG/LEAD.
    k = 1 << max(len(names), 1).bit_length()
    packed = not numeric and min_t is not None and (int(max_t) - int(min_t) + 1) * k < 2**62
    params: dict[str, Any] = {
        **out_params,
        "gap": gap,
        "window": window,
        "until": until,
        "ntouch": n_touchpoints,
    }
    if spec.max_events is not None:
        params["cap"] = spec.max_events
    if packed:
        params.update(tmin=int(min_t), K=k, B=k.bit_length() - 1, M=k - 1)
    # First without removing duplicates: exact when the log has none (a duplicate is a
    # row equal to the one before it in the window order, so one window finds them). If
    # it finds any, count again over the distinct events.
    # Timestamp logs also get each move's gaps, from the same scan and GROUP BY.
    timed = not numeric and spec.durations
    # With a cap, count over distinct events at once: the cap applies to distinct events,
    # and capped customers' duplicates would not show in the first pass.
    first_dedupe = spec.max_events is not None
    # With the footer, each group's earliest event (its packed key or time) gives the
    # first appearances: the same events as the statistics scan's (no cap here).
    first = footer is not None
    # The times themselves are read only for a gap, a window (censoring) or durations;
    # otherwise the packed key's order, its code and whether a neighbour exists suffice.
    how = {"durations": timed, "first": first, "gap": gap is not None, "window": window is not None}
    sql = _duckdb_count_sql(src, items, spec, packed, dedupe=first_dedupe, **how)
    rows_raw = _run(con, sql, params).fetchall()
    counted = sum(r[5] for r in rows_raw)
    if not first_dedupe and counted != n_items:
        # Every event has its code, or the log now holds a value the statistics did not.
        raise EventLogError(
            f"{where}: the file changed while it was read ({n_items} events in one pass, "
            f"{counted} in the next); fit it again once it is written"
        )
    if not first_dedupe and any(r[7] for r in rows_raw):
        sql = _duckdb_count_sql(src, items, spec, packed, dedupe=True, **how)
        rows_raw = _run(con, sql, params).fetchall()
    if first:
        for r in rows_raw:
            if r[2] < n_touchpoints:
                when = float((r[-1] >> params["B"]) + params["tmin"] if packed else r[-1])
                name = names[r[2]]
                first_seen[name] = min(first_seen.get(name, when), when)
    durations: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = {}
    rows: list[tuple[str, str | None, str, bool, bool, int, str | None, int]] = []
    for r in rows_raw:
        seg, prev, item = str(r[0]), names[r[1]] if r[1] is not None else None, names[r[2]]
        nxt = names[r[4]] if r[4] is not None else None
        # One group holds both the events that start a journey (r[6] of them) and
        # the others: they are separate count rows.
        for st, n in ((True, int(r[6])), (False, int(r[5]) - int(r[6]))):
            if n:
                rows.append((seg, prev, item, r[2] >= n_touchpoints, st, int(r[3]), nxt, n))
        if timed and r[3] in (MOVE, TO_OUTCOME):
            durations[(seg, prev, item, str(nxt))] = (float(r[8]), int(r[5]), float(r[9]))
    kept = sum(r[7] for r in rows)
    dropped["duplicate"] = int(n_items) - kept - capped_rows
    dropped["capped"] = capped_rows
    for seg, figures in segments.items():
        seg_kept = sum(r[7] for r in rows if r[0] == seg)
        figures["duplicate"] = figures.pop("items") - seg_kept - figures["capped"]
    return Counts(
        rows,
        int(n_rows),
        dropped,
        capped,
        "duckdb",
        first_seen,
        durations,
        segments,
        segment_capped,
    )


def _duckdb_segments(
    con: Any, src: str, spec: Spec, in_outs: str, out_params: dict[str, Any]
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Each segment's input rows, null rows and events (duplicates follow from them)."""
    ok = "c IS NOT NULL AND t IS NOT NULL"
    if spec.outcome:
        oc_event, tp_event = "oc IS NOT NULL", "tp IS NOT NULL"
    else:
        oc_event = f"coalesce(tp {in_outs}, false)"
        tp_event = f"(tp IS NOT NULL AND NOT coalesce(tp {in_outs}, false))"
    res = _run(
        con,
        f"WITH src AS ({src}) SELECT s, count(*), count(*) FILTER (WHERE c IS NULL), "
        "count(*) FILTER (WHERE c IS NOT NULL AND t IS NULL), "
        f"count(*) FILTER (WHERE {ok} AND tp IS NULL AND NOT {oc_event}), "
        f"sum(CASE WHEN {ok} THEN CAST({tp_event} AS INT) + CAST({oc_event} AS INT) ELSE 0 END) "
        "FROM src WHERE s IS NOT NULL GROUP BY s",
        out_params,
    ).fetchall()
    segments = {
        str(r[0]): {
            "input_rows": int(r[1]),
            "null_customer": int(r[2]),
            "null_time": int(r[3]),
            "null_touchpoint": int(r[4]),
            "items": int(r[5] or 0),
            "capped": 0,
        }
        for r in res
    }
    return segments, {}


def _cardinality_checks(
    con: Any, src: str, spec: Spec, where: str, in_outs: str, out_params: dict[str, Any]
) -> Any:
    """The checks for a log with very many distinct values, each its own small query."""

    def run() -> None:
        ok = "c IS NOT NULL AND t IS NOT NULL AND s IS NOT NULL"
        if spec.outcome:
            unknown = _run(
                con,
                f"SELECT DISTINCT oc FROM ({src}) WHERE oc IS NOT NULL AND NOT "
                f"(oc {in_outs}) ORDER BY oc LIMIT 6",
                out_params,
            ).fetchall()
            _unknown_outcomes([r[0] for r in unknown], spec, where)
            clash = _run(
                con,
                f"SELECT DISTINCT tp FROM ({src}) WHERE tp {in_outs} ORDER BY tp LIMIT 6",
                out_params,
            ).fetchall()
            _collision([r[0] for r in clash], spec, where)
            tp_item = "tp IS NOT NULL"
        else:
            tp_item = f"tp IS NOT NULL AND NOT coalesce(tp {in_outs}, false)"
        n_touch = _run(
            con, f"SELECT count(DISTINCT tp) FROM ({src}) WHERE {ok} AND {tp_item}", out_params
        ).fetchone()[0]
        _too_many(int(n_touch), spec, where)

    return run


def _duckdb_count_sql(
    src: str,
    items: str,
    spec: Spec,
    packed: bool,
    *,
    dedupe: bool,
    durations: bool = False,
    first: bool = False,
    gap: bool = False,
    window: bool = False,
) -> str:
    """The counting query: one window over each customer's events, then GROUP BY.

    Only what the fit needs is written into the query: the segment, the times, the gap
    and window tests and the cap each appear only when the fit has them. A constant
    segment, or a test of a NULL parameter, costs its work on every event: the counting
    query of 5.5M events was 1.2x the bare ``LAG … GROUP BY`` with them and 1.05-1.1x
    without. Without segments the segment is not carried through the window's sort
    either (the window was 1.3-1.8x slower with it). A packed key is unpacked into times
    only for a gap, a window or durations.

    With ``first``, the last column is each group's earliest event: its packed key, or
    its time when the key is not packed.

    Columns: see :func:`_duckdb_final`.
    """
    named = "FROM items JOIN jg_names ON item = v"  # i: the event's code
    seg = "s, " if spec.segment is not None else ""
    if packed:
        key = f"SELECT {seg}c, (t - $tmin) * $K + i AS k {named}"
        cols = f"{seg}c, k"
        order = "k"
        lagged = "lag(k) OVER win AS pk, lead(k) OVER win AS nk"
        # Each event, the one before and the one after, unpacked where they are used.
        event = {
            "code": "(k & $M)", "pc": "(pk & $M)", "nc": "(nk & $M)", "last": "nk IS NULL",
            "dup": "pk = k", "t": "((k >> $B) + $tmin)", "pt": "((pk >> $B) + $tmin)",
            "nt": "((nk >> $B) + $tmin)", "fk": "k",
        }  # fmt: skip
    else:
        key = f"SELECT {seg}c, t, i AS code {named}"
        cols = f"{seg}c, t, code"
        order = "t, code"
        lagged = (
            "lag(t) OVER win AS pt, lag(code) OVER win AS pc, "
            "lead(t) OVER win AS nt, lead(code) OVER win AS nc"
        )
        event = {
            "code": "code", "pc": "pc", "nc": "nc", "last": "nt IS NULL",
            "dup": "pt = t AND pc = code", "t": "t", "pt": "pt", "nt": "nt", "fk": "t",
        }  # fmt: skip
    distinct = "DISTINCT " if dedupe else ""
    # Without segments s is a constant: partitioning by it too would cost a third more.
    part = "s, c" if spec.segment is not None else "c"
    # Counting events per customer costs a second pass; only do it for a cap.
    capped = spec.max_events is not None
    n_cust = f", count(*) OVER (PARTITION BY {part}) AS n_cust" if capped else ""
    cap_sql = "WHERE n_cust <= $cap" if capped else ""
    final = _duckdb_final(event, spec, durations, first, gap, window, cap_sql)
    return f"""
        WITH src AS ({src}),
        items AS ({items}),
        e AS (SELECT {distinct}{cols} FROM ({key})),
        w AS (
            SELECT {seg}{order}{n_cust}, {lagged}
            FROM e
            WINDOW win AS (PARTITION BY {part} ORDER BY {order})
        )
        {final}
    """


def _duckdb_final(
    event: dict[str, str],
    spec: Spec,
    timed: bool,
    first: bool,
    gap: bool,
    window: bool,
    where: str = "",
) -> str:
    """The last SELECT of the counting query: one GROUP BY of every event by move.

    ``event`` holds the SQL of an event's code and time (``code``, ``t``), the previous
    and next event's (``pc``, ``pt``, ``nc``, ``nt``), whether there is no next event
    (``last``, a test), whether it repeats the previous one (``dup``) and its first-appearance
    key (``fk``).

    Columns: segment, previous, code, kind, next, count, how many of them start a
    journey, how many are duplicates (only without ``dedupe``); with ``timed`` also the
    gap sum and lower median of the group (moves only); with ``first`` last the group's
    smallest ``fk`` (its earliest event). Counting the journey starts and
    duplicates in the group, rather than grouping by them, lets the gaps of a move be
    aggregated in the same single grouping (a second grouping set cost a second hash
    aggregation: 8.1 s against 10.5 s for the whole query on a loaded machine, 5.5M
    events). A constant segment and previous event are added to the grouped rows, not
    grouped by. Each test is written in its simplest form: nested CASEs over flags
    made the query of 5.5M events 5% slower.
    """
    code, pc, nc, last = event["code"], event["pc"], event["nc"], event["last"]
    t, pt, nt = event["t"], event["pt"], event["nt"]
    cut = "CAST($gap AS DOUBLE)"
    # A journey goes on from an event to the next unless the event is an outcome, there
    # is no next event, or (with a gap) the next comes more than a gap later. It is
    # only used for the next event's code and time, which are NULL when there is none.
    goes_on = f"{code} < $ntouch" + (f" AND {nt} - {t} <= {cut}" if gap else "")
    # An event starts a journey after no event, after an outcome, or after a gap.
    starts = f"{pc} IS NULL OR {pc} >= $ntouch" + (f" OR {t} - {pt} > {cut}" if gap else "")
    after = f"{pc} < $ntouch" + (f" AND {t} - {pt} <= {cut}" if gap else "")
    censored = (
        f"WHEN {last} AND CAST($until AS DOUBLE) - {t} < CAST($window AS DOUBLE) THEN {CENSORED} "
        if window
        else ""
    )
    kind = (
        f"CASE WHEN {code} >= $ntouch THEN {OUTCOME_ROW} {censored}WHEN {last} THEN {CHURN} "
        + (f"WHEN {nt} - {t} > {cut} THEN {CHURN} " if gap else "")
        + f"WHEN {nc} >= $ntouch THEN {TO_OUTCOME} ELSE {MOVE} END"
    )
    seg = "s, " if spec.segment is not None else ""
    prev = f"CASE WHEN {after} THEN {pc} END AS prev, " if spec.order == 2 else ""
    between = f"CASE WHEN {goes_on} THEN {nt} - {t} END"
    extra = f", sum({between}) AS gsum, quantile_disc({between}, 0.5) AS gmed" if timed else ""
    extra += f", min({event['fk']}) AS first" if first else ""
    seg_out = "s" if spec.segment is not None else "'' AS s"
    prev_out = "prev" if spec.order == 2 else "CAST(NULL AS BIGINT) AS prev"
    return f"""
        SELECT {seg_out}, {prev_out}, code, kind, nxt, n, n_start, n_dup
            {", gsum, gmed" if timed else ""}{", first" if first else ""}
        FROM (
            SELECT {seg}{prev}{code} AS code, {kind} AS kind,
                CASE WHEN {goes_on} THEN {nc} END AS nxt, count(*) AS n,
                count(*) FILTER (WHERE {starts}) AS n_start,
                count(*) FILTER (WHERE {event["dup"]}) AS n_dup
                {extra}
            FROM w {where}
            GROUP BY ALL
        )
    """


def _duckdb_time(con: Any, spec: Spec, where: str, time_type: str) -> tuple[bool, str]:
    """(numeric?, SQL expression giving microseconds or numbers) for the time column."""
    col = quote_ident(spec.time)
    if time_type in ("TIMESTAMP_NS", "TIMESTAMPTZ_NS"):
        # Nanoseconds rounded down to microseconds, as in the other engines: `//` alone
        # rounds toward zero (before 1970) and a cast to TIMESTAMPTZ to the nearest.
        ns = f"epoch_ns({col})"
        return False, f"({ns} // 1000 - CASE WHEN {ns} % 1000 < 0 THEN 1 ELSE 0 END)"
    if time_type in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        return False, f"epoch_us({col})"  # naive timestamps are UTC: no cast needed
    if time_type.startswith("TIMESTAMP"):
        return False, f"epoch_us(CAST({col} AS TIMESTAMPTZ))"
    if time_type == "DATE":
        return False, f"epoch_us(CAST({col} AS TIMESTAMP))"

    def first_row(test: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """The first row (1-based) whose time ``v`` passes ``test``, and that time.

        Only called once a count found one: numbering the rows is a window over the
        whole log (0.4-0.5 s of a 1.8 s fit of 1M events from CSV)."""
        row = _run(
            con,
            f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {col} AS v FROM raw_events) "
            f"WHERE v IS NOT NULL AND ({test.format(v='v')}) ORDER BY rn LIMIT 1",
            params,
        ).fetchone()
        return int(row[0]), row[1]

    def count(test: str, params: dict[str, Any] | None = None) -> int:
        sql = f"SELECT count(*) FILTER (WHERE {test.format(v=col)}) FROM raw_events"
        return int(_run(con, sql, params).fetchone()[0])

    not_finite = "NOT isfinite(CAST({v} AS DOUBLE))"
    if time_type in ("FLOAT", "DOUBLE"):
        if count(not_finite):
            row, value = first_row(not_finite)
            raise _bad_time(where, spec.time, row, value, "not a finite number")
        return True, f"CAST({col} AS DOUBLE)"
    integers = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
    if time_type.removeprefix("U") in integers or time_type.startswith("DECIMAL"):
        return True, f"CAST({col} AS DOUBLE)"  # always finite
    if time_type != "VARCHAR":
        raise EventLogError(
            f"{where}: time column {spec.time!r} has type {time_type}; it must hold "
            "timestamps, dates, ISO 8601 text or numbers"
        )
    # Text: one scan counts what each check needs.
    number = "regexp_full_match({v}, $n)"
    bad_time = "NOT regexp_full_match({v}, $p) OR TRY_CAST({v} AS TIMESTAMPTZ) IS NULL"
    aware_time = "regexp_matches({v}, $a)"
    patterns = {"n": NUMBER_PATTERN, "p": TIME_PATTERN, "a": AWARE_PATTERN}
    present, numeric, bad, aware, naive = _run(
        con,
        f"SELECT count({col}), count(*) FILTER (WHERE {number.format(v=col)}), "
        f"count(*) FILTER (WHERE {col} IS NOT NULL AND ({bad_time.format(v=col)})), "
        f"count(*) FILTER (WHERE {aware_time.format(v=col)}), "
        f"count(*) FILTER (WHERE NOT {aware_time.format(v=col)}) FROM raw_events",
        patterns,
    ).fetchone()
    if present and numeric and present != numeric and 2 * numeric >= present:
        # Mostly numbers: name the first value that is not one.
        row, value = first_row(f"NOT {number}", {"n": NUMBER_PATTERN})
        raise _bad_time(where, spec.time, row, value, _NOT_A_TIME)
    if present and present == numeric:
        if count(not_finite):
            row, value = first_row(not_finite)
            raise _bad_time(where, spec.time, row, value, "not a finite number")
        return True, f"CAST({col} AS DOUBLE)"
    if bad:
        row, value = first_row(bad_time, {"p": TIME_PATTERN})
        raise _bad_time(where, spec.time, row, value, _NOT_A_TIME)
    if aware and naive:
        # Name the first time of the fewer kind.
        wanted = "" if aware <= naive else "NOT "
        row, value = first_row(wanted + aware_time, {"a": AWARE_PATTERN})
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, spec.time, row, value, why)
    return False, f"epoch_us(CAST({col} AS TIMESTAMPTZ))"
