"""The three places the one counting algorithm of :mod:`journeygraph.fit` runs.

Each engine turns an event log into the same small count table (see :class:`Counts`);
:mod:`journeygraph.fit` builds maps from it. The algorithm, written once in words:

1. Rows with a null customer, time, segment or touchpoint are dropped and counted
   (a row whose touchpoint is null but whose ``outcome`` column holds a mapped outcome
   is a pure outcome event, not dropped).
2. Every row becomes one *event* (its touchpoint, or its outcome when the touchpoint
   value is a mapped outcome); with an ``outcome`` column a row can be a touchpoint
   event followed by an outcome event at the same time.
3. Exact duplicates (customer, time, event) are kept once; the rest are counted.
4. Customers (a customer is the pair segment, customer id) with more than
   ``max_events`` events are left out entirely and reported as capped.
5. Each customer's events are sorted by ``(time, touchpoints before outcomes, event
   value in code-point order)``: a total, data-defined order, so every engine sees
   the same sequence whatever the input order.
6. A journey starts at a customer's first event, after an outcome event, and after
   an inactivity gap longer than ``gap``. An outcome event that starts a journey has
   no touchpoint to leave from: it is dropped and counted.
7. Per touchpoint event: the next event of the same journey is a move (to a
   touchpoint or an outcome); with no next event the journey ends in churn, or is
   censored when it is the customer's last event and less than ``window`` lies
   between it and the end of observation.

Times are integers in microseconds since 1970-01-01 UTC (naive times are read as
UTC), or plain numbers when the time column is numeric. Text times follow one rule in
every engine (:data:`TIME_PATTERN`, :data:`NUMBER_PATTERN`): a column whose every value
is a plain decimal number (``12``, ``-3.5``, ``1e3``; no ``1_000``, ``inf`` or ``nan``)
is numeric; otherwise every value must be an ISO 8601 date or time of the years
0001-9999 (``2024-05-01``, ``2024-05-01T14:30``, ``2024-05-01 14:30:00.123+02:00``;
fractions beyond microseconds are cut), or the row is named in an error. Every date in
that range keeps its order (microseconds since 1970 fit in 64 bits for ±290,000 years).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from journeygraph._optional import require
from journeygraph._progress import Progress
from journeygraph.errors import EventLogError

__all__ = [
    "AWARE_PATTERN",
    "CENSORED",
    "CHURN",
    "FORMULA_GUARD",
    "MOVE",
    "NUMBER_PATTERN",
    "OUTCOME_ROW",
    "TIME_PATTERN",
    "TO_OUTCOME",
    "Counts",
    "Spec",
    "check_unique_columns",
    "count_arrow",
    "count_duckdb",
    "count_spark",
    "parse_duration",
]

#: Kinds of a count-table row.
OUTCOME_ROW, MOVE, TO_OUTCOME, CHURN, CENSORED = -1, 0, 1, 2, 3

#: A timestamp string that carries its own offset (``Z``, ``+01:00``, ``-0500``).
AWARE_PATTERN = r"[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"

# The one text-time rule of every engine, with named fields for the numpy engine's own
# arithmetic; DuckDB and Spark match the same pattern without names (Java has no
# ``(?P<``) and then cast, which for matching text gives the same microseconds.
_TIME_FIELDS = (
    r"^(?P<y>000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d\d\d)-(?P<mo>0[1-9]|1[0-2])"
    r"-(?P<d>0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?P<h>[01]\d|2[0-3]):(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d)(?:\.(?P<f>\d{1,9}))?)?"
    r"(?:(?P<z>Z)|(?P<sign>[+-])(?P<oh>[01]\d|2[0-3])(?::?(?P<om>[0-5]\d))?)?)?$"
)
#: An ISO 8601 date or time of the years 0001-9999, with an optional offset.
TIME_PATTERN = re.sub(r"\(\?P<\w+>", "(", _TIME_FIELDS)
#: A CSV cell guarded against spreadsheet formulas, as :func:`journeygraph.simulate`
#: writes it (``'=buy``): read back without the quote.
FORMULA_GUARD = r"^'[=+\-@\t\r]"
#: A plain decimal number (no digit separators, no ``inf`` or ``nan``).
NUMBER_PATTERN = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"

_UNITS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Spec:
    """What to count: column names and the journey rules."""

    customer: str
    time: str
    touchpoint: str
    outcome: str | None
    segment: str | None
    outcome_values: tuple[str, ...]
    gap: Any = None
    window: Any = None
    observed_until: Any = None
    order: int = 1
    max_events: int | None = None
    max_touchpoints: int = 500
    progress: bool | None = None

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(role, column) pairs the log must have."""
        pairs = [("customer", self.customer), ("time", self.time)]
        pairs.append(("touchpoint", self.touchpoint))
        if self.outcome is not None:
            pairs.append(("outcome", self.outcome))
        if self.segment is not None:
            pairs.append(("segment", self.segment))
        return pairs


@dataclass(slots=True)
class Counts:
    """The count table an engine returns, plus what it dropped.

    ``rows`` are ``(segment, previous, event, is_outcome, starts_journey, kind, next,
    count)``; ``previous`` is the event before in the same journey (only with
    ``order=2``), ``kind`` one of MOVE, TO_OUTCOME, CHURN, CENSORED for touchpoint
    events and OUTCOME_ROW for outcome events, ``next`` the target of a move.
    """

    rows: list[tuple[str, str | None, str, bool, bool, int, str | None, int]]
    input_rows: int
    dropped: dict[str, int]
    capped_customers: list[str] = field(default_factory=list)
    engine: str = "numpy"
    #: Earliest time of each touchpoint value among the counted events (its first
    #: appearance in the log), in the time column's units.
    first_seen: dict[str, float] = field(default_factory=dict)
    #: Observed gaps of each move, for timestamp logs: ``(segment, previous (order 2
    #: only), event, next) -> (sum, count, lower median)`` in microseconds.
    durations: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = field(
        default_factory=dict
    )
    #: With a segment column: each segment's own ``input_rows`` and dropped rows
    #: (``null_customer``, ``null_time``, ``null_touchpoint``, ``duplicate``, ``capped``).
    segments: dict[str, dict[str, int]] = field(default_factory=dict)
    #: With a segment column: each segment's capped customers (up to 20, most first).
    segment_capped: dict[str, list[str]] = field(default_factory=dict)


# -- shared helpers -------------------------------------------------------------------


def parse_duration(value: Any, what: str, numeric_time: bool) -> float | None:
    """A gap/window as a number in the time column's units (microseconds for times)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise EventLogError(f"{what}={value!r}: give a duration such as '30min' or '7d'")
    if isinstance(value, datetime.timedelta):
        if numeric_time:
            raise EventLogError(
                f"{what}={value!r} is a duration, but the time column holds plain numbers; "
                f"give {what} as a number in the same units"
            )
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        if not numeric_time:
            raise EventLogError(
                f"{what}={value!r}: the time column holds timestamps, so give a duration "
                "such as '30min', '12h', '7d' or a datetime.timedelta"
            )
        seconds = float(value)
        if not np.isfinite(seconds) or seconds <= 0:
            raise EventLogError(f"{what}={value!r}: must be a finite number > 0")
        return seconds
    elif isinstance(value, str):
        m = _DURATION.match(value.lower())
        if not m or m.group(2) not in _UNITS:
            raise EventLogError(
                f"{what}={value!r}: not a duration; write a number and a unit, e.g. "
                "'90s', '30min', '12h', '7d', '2w'"
            )
        if numeric_time:
            raise EventLogError(
                f"{what}={value!r} is a duration, but the time column holds plain numbers; "
                f"give {what} as a number in the same units"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise EventLogError(f"{what}={value!r}: give a duration such as '30min' or '7d'")
    if seconds <= 0:
        raise EventLogError(f"{what}={value!r}: must be longer than 0")
    return seconds * 1e6


def parse_instant(value: Any, numeric_time: bool) -> float | None:
    """``observed_until`` in the time column's units."""
    if value is None:
        return None
    if numeric_time:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise EventLogError(
            f"observed_until={value!r}: the time column holds plain numbers; give a number"
        )
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise EventLogError(f"observed_until={value!r}: not an ISO 8601 date or time") from None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return float(round(value.timestamp() * 1_000_000))
    if isinstance(value, datetime.date):
        return float(
            datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC).timestamp()
            * 1_000_000
        )
    raise EventLogError(f"observed_until={value!r}: give a datetime (or a number for numeric time)")


_NOT_A_TIME = (
    "not a date or time: neither a plain number (12, -3.5, 1e3) nor an ISO 8601 date or "
    "time of the years 0001-9999"
)


def check_unique_columns(existing: Sequence[Any], wanted: Sequence[str], where: str) -> None:
    """EventLogError when a column the fit reads appears more than once."""
    names = [str(c) for c in existing]
    twice = [col for col in wanted if names.count(col) > 1]
    if twice:
        raise EventLogError(
            f"{where}: column {twice[0]!r} appears {names.count(twice[0])} times in the "
            "header, so it is not clear which one to read; rename or drop the copies"
        )


def check_columns(existing: Sequence[str], spec: Spec, where: str) -> None:
    """EventLogError naming each missing or repeated column, the columns, and a guess."""
    import difflib

    check_unique_columns(existing, [col for _, col in spec.columns], where)
    missing = [(role, col) for role, col in spec.columns if col not in existing]
    if not missing:
        return
    parts = []
    for role, col in missing:
        hint = difflib.get_close_matches(col, list(existing), n=1, cutoff=0.5)
        if not hint:
            lowered = {c.lower(): c for c in existing}
            if col.lower() in lowered:
                hint = [lowered[col.lower()]]
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        parts.append(f"{role} column {col!r} not found{guess}")
    shown = ", ".join(repr(c) for c in list(existing)[:30])
    more = f" and {len(existing) - 30} more" if len(existing) > 30 else ""
    raise EventLogError(f"{where}: {'; '.join(parts)}; the columns are {shown}{more}")


def _too_many(n: int, spec: Spec, where: str) -> None:
    if n > spec.max_touchpoints:
        raise EventLogError(
            f"{where}: column {spec.touchpoint!r} has {n} distinct touchpoints, more than "
            f"max_touchpoints={spec.max_touchpoints}; a journey map needs a manageable "
            "number of touchpoints: map the raw values (page URLs, campaign ids) to "
            "touchpoints first, e.g. df[col].map(mapping), or raise max_touchpoints"
        )


def _unknown_outcomes(values: list[str], spec: Spec, where: str) -> None:
    from journeygraph.model import OUTCOME_KINDS

    if values and set(values) <= set(OUTCOME_KINDS):
        raise EventLogError(
            f"{where}: outcome column {spec.outcome!r} holds outcome kinds ("
            f"{', '.join(repr(v) for v in values)}), as jg.simulate writes them; in such "
            f"a log the outcome ids are in the touchpoint column {spec.touchpoint!r}, so "
            "leave out outcome= and pass outcomes={id: kind} (or outcomes=the map)"
        )
    if values:
        shown = ", ".join(repr(v) for v in values[:5])
        raise EventLogError(
            f"{where}: outcome column {spec.outcome!r} holds value(s) {shown} that "
            "outcomes= does not map to a kind; add them, e.g. "
            f"outcomes={{{values[0]!r}: 'conversion'}}, or make them null"
        )


def _collision(values: list[str], spec: Spec, where: str) -> None:
    if values:
        shown = ", ".join(repr(v) for v in values[:5])
        raise EventLogError(
            f"{where}: {shown} appear(s) both as a touchpoint in column {spec.touchpoint!r} "
            f"and as an outcome in column {spec.outcome!r}; ids must be unique, so rename "
            "one of them"
        )


def _bad_time(where: str, column: str, row: int | None, value: object, why: str) -> EventLogError:
    at = f"row {row}" if row is not None else "a row"
    return EventLogError(
        f"{where}: time column {column!r}, {at}: {why} (found {value!r}); write times in "
        "ISO 8601, e.g. 2024-05-01T14:30:00 or 2024-05-01T14:30:00+02:00"
    )


# -- numpy engine ---------------------------------------------------------------------


def _time_numbers(arr: Any, column: str, where: str) -> tuple[np.ndarray, bool]:
    """An arrow time column as (int64 microseconds or float64 numbers, numeric?)."""
    pa = require("pyarrow", extra="files", feature="fit")
    typ = arr.type
    if pa.types.is_timestamp(typ):
        per_us = {"s": -1_000_000, "ms": -1000, "us": 1, "ns": 1000}[typ.unit]
        ints = np.asarray(arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False))
        if per_us < 0:
            return ints * -per_us, False
        return ints // per_us, False
    if pa.types.is_date(typ):
        days = arr.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        return np.asarray(days, dtype=np.int64) * 86_400_000_000, False
    if (pa.types.is_integer(typ) or pa.types.is_floating(typ)) and not pa.types.is_boolean(typ):
        nums = np.asarray(arr.cast(pa.float64()).fill_null(0).to_numpy(zero_copy_only=False))
        if not np.isfinite(nums).all():
            row = int(np.flatnonzero(~np.isfinite(nums))[0])
            raise _bad_time(where, column, row + 1, float(nums[row]), "not a finite number")
        return nums, True
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _parse_time_strings(arr, column, where)
    if pa.types.is_null(typ):
        return np.zeros(len(arr), dtype=np.int64), False
    raise EventLogError(
        f"{where}: time column {column!r} has type {typ}; it must hold timestamps, dates, "
        "ISO 8601 text or numbers"
    )


def _parse_time_strings(arr: Any, column: str, where: str) -> tuple[np.ndarray, bool]:
    """Text times by the module's one rule: plain numbers, or ISO 8601 in microseconds.

    The date arithmetic is exact for every year 0001-9999 (days from the civil date,
    H. Hinnant's algorithm), so no time is wrapped into another century.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    pc = require("pyarrow.compute", extra="files", feature="fit")
    arr = _as_text(arr)
    present = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(present)
    values = arr.filter(pa.array(present))

    def first_bad(ok: Any) -> int:
        flags = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        return int(rows[np.flatnonzero(~flags)[0]])

    is_number = pc.match_substring_regex(values, NUMBER_PATTERN)
    n_numbers = int(pc.sum(is_number.cast(pa.int64())).as_py() or 0)
    if 0 < n_numbers < len(values) and 2 * n_numbers >= len(values):
        row = first_bad(is_number)
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    if len(values) and n_numbers == len(values):
        nums = np.zeros(len(arr))
        nums[rows] = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False))
        if not np.isfinite(nums).all():
            row = int(np.flatnonzero(~np.isfinite(nums))[0])
            raise _bad_time(where, column, row + 1, arr[row].as_py(), "not a finite number")
        return nums, True
    is_time = pc.match_substring_regex(values, TIME_PATTERN)
    if len(values) and not pc.all(is_time).as_py():
        row = first_bad(is_time)
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    aware = np.asarray(
        pc.match_substring_regex(values, AWARE_PATTERN).to_numpy(zero_copy_only=False), dtype=bool
    )
    if aware.any() and not aware.all():
        minority = aware if aware.sum() <= (~aware).sum() else ~aware
        row = int(rows[np.flatnonzero(minority)[0]])
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, column, row + 1, arr[row].as_py(), why)
    fields = pc.extract_regex(values, _TIME_FIELDS)

    def number(name: str, width: int = 0) -> np.ndarray:
        part = fields.field(name)
        if width:
            part = pc.utf8_rpad(pc.utf8_slice_codeunits(part, 0, width), width, "0")
        part = pc.if_else(pc.equal(part, ""), "0", part)
        return np.asarray(part.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)

    year, month, day = number("y"), number("mo"), number("d")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month - 1]
    month_days = month_days + (leap & (month == 2))
    if (day > month_days).any():
        row = int(rows[np.flatnonzero(day > month_days)[0]])
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    # Days since 1970-01-01 of the proleptic Gregorian date (years shifted to March).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    seconds = days * 86_400 + number("h") * 3600 + number("mi") * 60 + number("s")
    sign = np.where(np.asarray(pc.equal(fields.field("sign"), "-").to_numpy(False)), -1, 1)
    seconds -= sign * (number("oh") * 3600 + number("om") * 60)
    out = np.zeros(len(arr), dtype=np.int64)
    out[rows] = seconds * 1_000_000 + number("f", 6)
    return out, False


def _as_text(arr: Any) -> Any:
    pa = require("pyarrow", extra="files", feature="fit")
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return arr


def _encode(arr: Any) -> tuple[np.ndarray, list[Any]]:
    """Dictionary codes (-1 for null) and the dictionary values."""
    pc = require("pyarrow.compute", extra="files", feature="fit")
    enc = pc.dictionary_encode(arr)
    codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary.to_pylist()


def _encode_ids(arr: Any) -> tuple[np.ndarray, int, Any]:
    """Customer codes (-1 for null), how many codes, and a function naming a code.

    Integer ids in a compact range are their own codes (offset by the smallest), which
    saves hashing millions of values; anything else is dictionary-encoded.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    if pa.types.is_integer(arr.type) and len(arr) and arr.null_count < len(arr):
        pc = require("pyarrow.compute", extra="files", feature="fit")
        bounds = pc.min_max(arr)
        lo, hi = int(bounds["min"].as_py()), int(bounds["max"].as_py())
        if hi - lo < max(4 * len(arr), 1024):
            values = np.asarray(arr.fill_null(lo).to_numpy(zero_copy_only=False), dtype=np.int64)
            codes = values - lo
            if arr.null_count:
                codes[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
            return codes, hi - lo + 1, lambda code: str(lo + code)
    codes, values_list = _encode(arr)
    return codes, len(values_list), lambda code: str(values_list[code])


def _sort_order(
    who: np.ndarray, t: np.ndarray, code: np.ndarray, n_codes: int, numeric: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The permutation sorting events by (customer, time, code), and its sort key.

    One ``argsort`` of one int64 key (customer, time, code packed) instead of a
    three-key ``lexsort``: times are used relative to the earliest, or replaced by their
    dense rank when that range does not fit. Falls back to ``lexsort`` (and no key) only
    when even ranks overflow.
    """
    n = len(code)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n_who = int(who.max()) + 1
    k = max(n_codes, 1)
    t_key: np.ndarray | None = None
    if not numeric:
        t_rel = t - t.min()
        # Logs stamped in whole seconds or milliseconds: divide the common step out.
        step = int(np.gcd.reduce(t_rel)) or 1
        if step > 1:
            t_rel //= step
        span = int(t_rel.max()) + 1
        if span * k * n_who < 2**62:
            t_key = t_rel
    if t_key is None:
        _, t_key = np.unique(t, return_inverse=True)
        t_key = t_key.astype(np.int64, copy=False).reshape(-1)
        span = int(t_key.max()) + 1
        if span * k * n_who >= 2**62:
            return np.lexsort((code, t, who)), None
    key = who * span
    key += t_key
    key *= k
    key += code
    return np.argsort(key), key


def count_arrow(table: Any, spec: Spec, where: str, bar: Progress | None = None) -> Counts:
    """The numpy engine: vectorised counting on integer-encoded columns of an arrow table."""
    bar = bar or Progress("", [], progress=False)
    bar.phase("encode")
    check_columns(table.column_names, spec, where)
    n_rows = table.num_rows
    col = {role: table.column(name).combine_chunks() for role, name in spec.columns}
    outs = set(spec.outcome_values)

    cust, n_cust, cust_name = _encode_ids(col["customer"])
    times, numeric = _time_numbers(col["time"], spec.time, where)
    time_null = np.asarray(col["time"].is_null().to_numpy(zero_copy_only=False), dtype=bool)
    tp_codes, tp_values = _encode(_as_text(col["touchpoint"]))
    if "segment" in col:
        seg, seg_values = _encode(_as_text(col["segment"]))
    else:
        seg, seg_values = np.zeros(n_rows, dtype=np.int64), [""]

    tp_is_out = np.array([v in outs for v in tp_values], dtype=bool)
    if "outcome" in col:
        oc_codes, oc_values = _encode(_as_text(col["outcome"]))
        _unknown_outcomes(sorted(v for v in oc_values if v not in outs), spec, where)
        _collision(sorted(v for v in tp_values if v in outs), spec, where)
        has_oc = oc_codes >= 0
    else:
        # No outcome column: no outcome rows to index (rows_oc below is empty).
        oc_codes, oc_values = np.zeros(0, dtype=np.int64), []
        has_oc = np.zeros(n_rows, dtype=bool)

    ok_c = cust >= 0
    ok_ct = ok_c & ~time_null
    ok_cts = ok_ct & (seg >= 0)
    has_tp = tp_codes >= 0
    dropped = {
        "null_customer": int((~ok_c).sum()),
        "null_time": int((ok_c & time_null).sum()),
        "null_segment": int((ok_ct & (seg < 0)).sum()),
        "null_touchpoint": int((ok_cts & ~has_tp & ~has_oc).sum()),
    }

    # Event codes: touchpoints in code-point order, then outcomes in code-point order,
    # so sorting by code is the documented tie rule.
    if "outcome" in col:
        touch = sorted(set(tp_values))
        outcome_names = sorted(set(oc_values))
    else:
        touch = sorted(v for v, o in zip(tp_values, tp_is_out, strict=True) if not o)
        outcome_names = sorted(v for v, o in zip(tp_values, tp_is_out, strict=True) if o)
    tp_mask = ok_cts & has_tp
    present_tp = np.bincount(tp_codes[tp_mask], minlength=len(tp_values)) > 0
    n_touch = sum(
        1 for v, p, o in zip(tp_values, present_tp, tp_is_out, strict=True) if p and not o
    )
    _too_many(n_touch, spec, where)
    names = touch + outcome_names
    code_of = {v: i for i, v in enumerate(touch)}
    code_of.update({v: len(touch) + i for i, v in enumerate(outcome_names)})
    n_touchpoints = len(touch)
    tp_map = np.array([code_of[v] for v in tp_values] + [-1], dtype=np.int64)
    oc_map = np.array([code_of[v] for v in oc_values] + [-1], dtype=np.int64)

    n_cust = max(n_cust, 1)
    # Row numbers of the events (``src``) are only needed to name capped customers.
    src: np.ndarray | None
    if tp_mask.all() and not has_oc.any():  # the common clean log: no copies needed
        code = tp_map[tp_codes]
        src = np.arange(n_rows) if spec.max_events is not None else None
        t = times
        who = seg * n_cust + cust if "segment" in col else cust
    else:
        rows_tp = np.flatnonzero(tp_mask)
        rows_oc = np.flatnonzero(ok_cts & has_oc)
        code = np.concatenate([tp_map[tp_codes[rows_tp]], oc_map[oc_codes[rows_oc]]])
        src = np.concatenate([rows_tp, rows_oc])
        t = times[src]
        who = seg[src] * n_cust + cust[src]
        if spec.max_events is None:
            src = None
    del tp_codes, oc_codes, times

    until = parse_instant(spec.observed_until, numeric)
    if until is None and len(t):
        until = float(t.max())
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)

    bar.phase("sort")
    order, sort_key = _sort_order(who, t, code, len(names), numeric)
    n = len(code)
    same = np.zeros(n, dtype=bool)
    if n and sort_key is not None:
        # Duplicates from the sorted key, then one gather of the kept events only.
        sort_key = sort_key[order]
        same[1:] = sort_key[1:] == sort_key[:-1]
        del sort_key
        dup_who = who[order[same]]
        order = order[~same]
        who, t, code = who[order], t[order], code[order]
    else:
        who, t, code = who[order], t[order], code[order]
        if n:
            same[1:] = (who[1:] == who[:-1]) & (t[1:] == t[:-1]) & (code[1:] == code[:-1])
        dup_who = who[same]
        who, t, code = who[~same], t[~same], code[~same]
        order = order[~same]
    if src is not None:
        src = src[order]
    del order
    dropped["duplicate"] = int(same.sum())
    per_seg: dict[str, np.ndarray] = {}
    if "segment" in col:
        n_seg = max(len(seg_values), 1)

        def by_seg(mask: np.ndarray) -> np.ndarray:
            return np.bincount(seg[mask & (seg >= 0)], minlength=n_seg)

        per_seg = {
            "input_rows": by_seg(np.ones(n_rows, dtype=bool)),
            "null_customer": by_seg(~ok_c),
            "null_time": by_seg(ok_c & time_null),
            "null_touchpoint": by_seg(ok_cts & ~has_tp & ~has_oc),
            "duplicate": np.bincount(dup_who // n_cust, minlength=n_seg),
            "capped": np.zeros(n_seg, dtype=np.int64),
        }
    segment_capped: dict[str, list[str]] = {}
    del same, dup_who

    # First appearance of each touchpoint (before capping, as in the other engines).
    first = np.full(max(len(touch), 1), np.inf)
    touch_events = code < len(touch)
    np.minimum.at(first, code[touch_events], t[touch_events].astype(np.float64))
    first_seen = {touch[i]: float(first[i]) for i in range(len(touch)) if first[i] < np.inf}

    capped: list[str] = []
    dropped["capped"] = 0
    if spec.max_events is not None and len(code):
        new = np.r_[True, who[1:] != who[:-1]]
        ids = np.cumsum(new) - 1
        sizes = np.bincount(ids)
        over = sizes > spec.max_events
        if over.any():
            assert src is not None  # kept whenever there is a cap
            firsts = np.flatnonzero(new)[over]
            biggest = np.argsort(-sizes[over], kind="stable")[:20]
            capped = [cust_name(int(cust[src[i]])) for i in firsts[biggest]]
            drop = over[ids]
            dropped["capped"] = int(drop.sum())
            if per_seg:
                per_seg["capped"] = np.bincount(who[drop] // n_cust, minlength=len(seg_values))
                ranked = firsts[np.argsort(-sizes[over], kind="stable")]
                for i in ranked:
                    name = str(seg_values[int(who[i] // n_cust)])
                    names_ = segment_capped.setdefault(name, [])
                    if len(names_) < 20:
                        names_.append(cust_name(int(cust[src[i]])))
            who, t, code = who[~drop], t[~drop], code[~drop]

    bar.phase("count")
    n = len(code)
    is_out = code >= n_touchpoints
    new_cust = np.r_[True, who[1:] != who[:-1]] if n else np.zeros(0, dtype=bool)
    start = new_cust.copy()
    if n:
        start[1:] |= is_out[:-1]
        if gap is not None:
            start[1:] |= (t[1:] - t[:-1]) > gap
    ends = np.r_[start[1:], True] if n else np.zeros(0, dtype=bool)
    cust_last = np.r_[new_cust[1:], True] if n else np.zeros(0, dtype=bool)
    nxt = np.r_[code[1:], -1] if n else np.zeros(0, dtype=np.int64)

    kind = np.full(n, OUTCOME_ROW, dtype=np.int64)
    tp_ev = ~is_out
    moving = tp_ev & ~ends  # MOVE or TO_OUTCOME
    kind[moving] = MOVE
    kind[moving & (nxt >= n_touchpoints)] = TO_OUTCOME
    kind[tp_ev & ends] = CHURN
    if window is not None and until is not None:
        kind[tp_ev & ends & cust_last & ((until - t) < window)] = CENSORED
    target = np.where(moving, nxt, -1)
    del nxt, is_out, tp_ev, new_cust, cust_last
    # Order 1 has no previous touchpoint (every one is -1, stored as a broadcast 0 + 1).
    prev: np.ndarray | None = None
    if spec.order == 2:
        prev = np.full(n, -1, dtype=np.int64)
        if n:
            prev[1:] = np.where(start[1:], -1, code[:-1])
    prev1 = prev + 1 if prev is not None else np.zeros(1, dtype=np.int64)

    # Without a segment column every event is in segment 0.
    segs = who // n_cust if "segment" in col else np.zeros(n, dtype=np.int64)
    del who
    k = len(names)
    durations = (
        {} if numeric else _numpy_durations(segs, prev, code, target, t, moving, names, seg_values)
    )
    del moving, t
    fields = [
        (segs, max(len(seg_values), 1)),
        (prev1, k + 1),
        (code, max(k, 1)),
        (start.astype(np.int64), 2),
        (kind + 1, 5),
        (target + 1, k + 1),
    ]
    key = np.zeros(n, dtype=np.int64)
    for values, size in fields:
        key *= size
        key += values
    space = int(np.prod([size for _, size in fields], dtype=object))
    if space <= max(4 * n, 1 << 20):  # small key space: counting beats sorting
        tally = np.bincount(key, minlength=1)
        uniq = np.flatnonzero(tally)
        counts = tally[uniq]
    else:
        uniq, counts = np.unique(key, return_counts=True)
    decoded = []
    for _values, size in reversed(fields):
        decoded.append(uniq % size)
        uniq = uniq // size
    f_target, f_kind, f_start, f_code, f_prev, f_seg = decoded

    rows = []
    for s, p, c, st, kd, tg, m in zip(
        f_seg.tolist(),
        f_prev.tolist(),
        f_code.tolist(),
        f_start.tolist(),
        f_kind.tolist(),
        f_target.tolist(),
        counts.tolist(),
        strict=True,
    ):
        rows.append(
            (
                str(seg_values[s]),
                names[p - 1] if p else None,
                names[c],
                c >= n_touchpoints,
                bool(st),
                kd - 1,
                names[tg - 1] if tg else None,
                int(m),
            )
        )
    segments = {
        str(v): {what: int(values[i]) for what, values in per_seg.items()}
        for i, v in enumerate(seg_values)
    }
    return Counts(
        rows, n_rows, dropped, capped, "numpy", first_seen, durations, segments, segment_capped
    )


def _numpy_durations(
    segs: np.ndarray,
    prev: np.ndarray | None,
    code: np.ndarray,
    target: np.ndarray,
    t: np.ndarray,
    moving: np.ndarray,
    names: list[str],
    seg_values: list[Any],
) -> dict[tuple[str, str | None, str, str], tuple[float, int, float | None]]:
    """Sum, count and lower median of the gaps of each move (events sorted by journey).

    ``moving`` marks the events followed by a move (to a touchpoint or an outcome);
    ``prev`` is ``None`` for first-order fits (no previous touchpoint).
    """
    at = np.flatnonzero(moving)
    if not len(at):
        return {}
    gaps = t[at + 1] - t[at]
    size = len(names) + 1
    key = segs[at] * size
    if prev is not None:
        key += prev[at] + 1
    key *= size
    key += code[at]
    key *= size
    key += target[at]
    del at
    space = int(key.max()) + 1
    if space <= 1 << 24:  # a lookup table numbers the moves without sorting
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        uniq = np.flatnonzero(seen)
        number = np.cumsum(seen) - 1
        dense = number[key]
        del seen, number
    else:
        uniq, dense = np.unique(key, return_inverse=True)
        dense = dense.reshape(-1)
    del key
    n_moves = len(uniq)
    # Gaps are whole microseconds, never negative (events are sorted by time): one sort
    # of (move number, gap) packed into an int64 puts each move's gaps together in order.
    span = int(gaps.max()) + 1
    if gaps.dtype.kind == "i" and n_moves * span < 2**62:
        packed = dense * span
        packed += gaps
        del dense, gaps
        packed.sort()
        move = packed // span
        gaps = packed - move * span
        del packed
    else:
        order = np.lexsort((gaps, dense))
        move, gaps = dense[order], gaps[order]
        del order, dense
    starts = np.flatnonzero(np.r_[True, move[1:] != move[:-1]])
    counts = np.diff(np.r_[starts, len(move)])
    sums = np.add.reduceat(gaps, starts)
    medians = gaps[starts + (counts - 1) // 2]
    out: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = {}
    for k_, total, n, med in zip(
        uniq[move[starts]].tolist(), sums.tolist(), counts.tolist(), medians.tolist(), strict=True
    ):
        k_, tgt = divmod(k_, size)
        k_, c = divmod(k_, size)
        seg, p = divmod(k_, size)
        out[(str(seg_values[seg]), names[p - 1] if p else None, names[c], names[tgt])] = (
            float(total),
            int(n),
            float(med),
        )
    return out


# -- DuckDB engine --------------------------------------------------------------------


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
    con = duckdb.connect(":memory:")
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
        rel.create_view("raw_csv")
        guard = "'" + FORMULA_GUARD.replace("'", "''") + "'"
        names = [row[0] for row in _run(con, "DESCRIBE raw_csv").fetchall()]
        cells = ", ".join(
            f"CASE WHEN regexp_matches({quote_ident(n)}, {guard}) THEN substr({quote_ident(n)}, 2) "
            f"ELSE {quote_ident(n)} END AS {quote_ident(n)}"
            for n in names
        )
        _run(con, f"CREATE VIEW raw_events AS SELECT {cells} FROM raw_csv")
    else:
        rel.create_view("raw_events")
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
    # (a few rows per distinct value), then add up in Python.
    group_sql = (
        f"WITH src AS ({src}) SELECT tp, oc, c IS NULL, t IS NULL, s IS NULL, count(*), "
        "min(t), max(t) FROM src GROUP BY ALL"
    )
    limit = 8 * (spec.max_touchpoints + len(outs) + 2) * (len(outs) + 2 if spec.outcome else 1)
    groups = _run(con, f"{group_sql} LIMIT $lim", {"lim": limit + 1}).fetchall()
    if len(groups) > limit:
        checks()  # too many distinct values: raises the error that names them
        groups = _run(con, group_sql).fetchall()
    outs_set = set(outs)
    n_rows = null_c = null_t = null_s = null_tp = n_items = 0
    min_t: Any = None
    max_t: Any = None
    touch_set: set[str] = set()
    first_seen: dict[str, float] = {}
    unknown: set[str] = set()
    clash: set[str] = set()
    for tp, oc, no_c, no_t, no_s, n, lo, hi in groups:
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
        if tp_event:
            touch_set.add(tp)
            first_seen[tp] = min(first_seen.get(tp, float(lo)), float(lo))
        n_items += n * (int(tp_event) + int(oc_event))
        if tp_event or oc_event:
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
    until = parse_instant(spec.observed_until, numeric)
    if until is None and max_t is not None:
        until = float(max_t)
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)
    if not n_items:
        dropped["duplicate"] = 0
        dropped["capped"] = 0
        return Counts([], int(n_rows), dropped, [], "duckdb")

    # Event codes: touchpoints in code-point order, then outcomes in code-point order, so
    # ordering by (time, code) is the documented tie rule; an ENUM makes the cast cheap.
    names = touch + sorted(outs)
    n_touchpoints = len(touch)
    _run(
        con,
        "CREATE TEMP TABLE jg_names AS SELECT unnest($v) AS v, generate_subscripts($v, 1) AS i",
        {"v": names},
    )
    _run(con, "CREATE TYPE jg_item AS ENUM (SELECT v FROM jg_names ORDER BY i)")

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
    if spec.segment is not None:
        segments, segment_capped = _duckdb_segments(con, src, spec, in_outs, out_params)
        for r in res if spec.max_events is not None else []:
            segments[str(r[2])]["capped"] += int(r[1])
            listed = segment_capped.setdefault(str(r[2]), [])
            if len(listed) < 20:
                listed.append(r[0])

    bar.phase("count")
    # Time and code packed into one BIGINT sort key when the range allows it (always for
    # timestamps in microseconds spanning less than ~290 years / 1000 codes).
    k = len(names)
    packed = not numeric and min_t is not None and (int(max_t) - int(min_t) + 1) * (k + 1) < 2**62
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
        params.update(tmin=int(min_t), K=k)
    # First without removing duplicates: exact when the log has none (a duplicate is a
    # row equal to the one before it in the window order, so one window finds them). If
    # it finds any, count again over the distinct events.
    # Timestamp logs also get each move's gaps, from the same scan (a grouping set).
    timed = not numeric
    # With a cap, count over distinct events at once: the cap applies to distinct events,
    # and capped customers' duplicates would not show in the first pass.
    first_dedupe = spec.max_events is not None
    sql = _duckdb_count_sql(src, items, spec, packed, dedupe=first_dedupe, durations=timed)
    rows_raw = _run(con, sql, params).fetchall()
    if not first_dedupe and any(r[7] for r in rows_raw if not timed or r[10] == 0):
        sql = _duckdb_count_sql(src, items, spec, packed, dedupe=True, durations=timed)
        rows_raw = _run(con, sql, params).fetchall()
    durations: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = {}
    if timed:
        for r in rows_raw:
            if r[10] and r[4] in (MOVE, TO_OUTCOME):
                key = (str(r[0]), names[r[1]] if r[1] is not None else None, names[r[2]])
                durations[(*key, names[r[5]])] = (float(r[8]), int(r[6]), float(r[9]))
        rows_raw = [r for r in rows_raw if r[10] == 0]
    rows = [
        (
            str(r[0]),
            names[r[1]] if r[1] is not None else None,
            names[r[2]],
            r[2] >= n_touchpoints,
            bool(r[3]),
            int(r[4]),
            names[r[5]] if r[5] is not None else None,
            int(r[6]),
        )
        for r in rows_raw
    ]
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
    src: str, items: str, spec: Spec, packed: bool, *, dedupe: bool, durations: bool = False
) -> str:
    """The counting query: one window over each customer's events, then GROUP BY.

    Columns: segment, previous code (order 2), code, starts journey, kind, next code,
    count, and whether the group is of duplicate rows (only without ``dedupe``).
    """
    code = "enum_code(CAST(item AS jg_item))"
    if packed:
        key = f"SELECT s, c, (t - $tmin) * $K + {code} AS k FROM items"
        cols = "s, c, k"
        order = "k"
        lagged = "lag(k) OVER win AS pk, lead(k) OVER win AS nk"
        unpack = (
            "k // $K + $tmin AS t, k % $K AS code, pk // $K + $tmin AS pt, pk % $K AS pc, "
            "nk // $K + $tmin AS nt, nk % $K AS nc, coalesce(pk = k, false) AS dup"
        )
    else:
        key = f"SELECT s, c, t, {code} AS code FROM items"
        cols = "s, c, t, code"
        order = "t, code"
        lagged = (
            "lag(t) OVER win AS pt, lag(code) OVER win AS pc, "
            "lead(t) OVER win AS nt, lead(code) OVER win AS nc"
        )
        unpack = "t, code, pt, pc, nt, nc, coalesce(pt = t AND pc = code, false) AS dup"
    distinct = "DISTINCT " if dedupe else ""
    # Without segments s is a constant: partitioning by it too would cost a third more.
    part = "s, c" if spec.segment is not None else "c"
    # Counting events per customer costs a second pass; only do it for a cap.
    n_cust_sql = f"count(*) OVER (PARTITION BY {part})" if spec.max_events is not None else "0"
    cap_sql = "WHERE n_cust <= $cap" if spec.max_events is not None else ""
    prev_sql = "CASE WHEN NOT st THEN pc END" if spec.order == 2 else "CAST(NULL AS BIGINT)"
    final = _duckdb_final(prev_sql, durations)
    return f"""
        WITH src AS ({src}),
        items AS ({items}),
        e AS (SELECT {distinct}{cols} FROM ({key})),
        w AS (
            SELECT s, {order}, {n_cust_sql} AS n_cust, {lagged}
            FROM e
            WINDOW win AS (PARTITION BY {part} ORDER BY {order})
        ),
        u AS (SELECT s, n_cust, {unpack} FROM w {cap_sql}),
        f AS (
            SELECT s, t, code, pc, nc, nt, dup, code >= $ntouch AS o, nc >= $ntouch AS nxo,
                (pc IS NULL OR pc >= $ntouch
                    OR (CAST($gap AS DOUBLE) IS NOT NULL AND t - pt > CAST($gap AS DOUBLE)))
                    AS st,
                (nt IS NULL OR code >= $ntouch
                    OR (CAST($gap AS DOUBLE) IS NOT NULL AND nt - t > CAST($gap AS DOUBLE)))
                    AS en
            FROM u
        )
        {final}
    """


def _duckdb_final(prev_sql: str, timed: bool) -> str:
    """The last SELECT of the counting query: the count table, and with ``timed`` also
    each move's gaps (sum, lower median) in a second grouping set of the same scan.

    Columns: segment, previous, code, starts journey, kind, next, count, duplicate
    group; with ``timed`` also the gap sum, the gap median and ``GROUPING(st, dup)``
    (0 for count rows, 3 for move-gap rows).
    """
    kind = f"""CASE
                WHEN o THEN {OUTCOME_ROW}
                WHEN NOT en THEN CASE WHEN nxo THEN {TO_OUTCOME} ELSE {MOVE} END
                WHEN nt IS NULL AND CAST($window AS DOUBLE) IS NOT NULL
                    AND CAST($until AS DOUBLE) - t < CAST($window AS DOUBLE) THEN {CENSORED}
                ELSE {CHURN}
            END"""
    head = f"""
        SELECT s, {prev_sql} AS prev, code, st, {kind} AS kind,
            CASE WHEN NOT o AND NOT en THEN nc END AS nxt, count(*) AS n, dup"""
    if not timed:
        return head + "\n        FROM f\n        GROUP BY ALL\n"
    gap = "CASE WHEN NOT o AND NOT en THEN nt - t END"
    return (
        head
        + f""", sum({gap}) AS gsum, quantile_disc({gap}, 0.5) AS gmed, GROUPING(st, dup) AS g
        FROM f
        GROUP BY GROUPING SETS ((s, prev, code, st, kind, nxt, dup), (s, prev, code, kind, nxt))
        """
    )


def _duckdb_time(con: Any, spec: Spec, where: str, time_type: str) -> tuple[bool, str]:
    """(numeric?, SQL expression giving microseconds or numbers) for the time column."""
    col = quote_ident(spec.time)
    if time_type.startswith("TIMESTAMP_NS"):
        return False, f"epoch_ns({col}) // 1000"
    if time_type in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        return False, f"epoch_us({col})"  # naive timestamps are UTC: no cast needed
    if time_type.startswith("TIMESTAMP"):
        return False, f"epoch_us(CAST({col} AS TIMESTAMPTZ))"
    if time_type == "DATE":
        return False, f"epoch_us(CAST({col} AS TIMESTAMP))"
    numeric_types = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
    if time_type in numeric_types or time_type.startswith(("DECIMAL", "UTINYINT", "U")):
        bad = _run(
            con,
            f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST({col} AS DOUBLE) AS v "
            "FROM raw_events) WHERE NOT isfinite(v) LIMIT 1",
        ).fetchone()
        if bad:
            raise _bad_time(where, spec.time, int(bad[0]), bad[1], "not a finite number")
        return True, f"CAST({col} AS DOUBLE)"
    if time_type != "VARCHAR":
        raise EventLogError(
            f"{where}: time column {spec.time!r} has type {time_type}; it must hold "
            "timestamps, dates, ISO 8601 text or numbers"
        )
    present, numeric = _run(
        con,
        f"SELECT count({col}), count(*) FILTER (WHERE regexp_full_match({col}, $n)) "
        "FROM raw_events",
        {"n": NUMBER_PATTERN},
    ).fetchone()
    if present and numeric and present != numeric and 2 * numeric >= present:
        # Mostly numbers: name the first value that is not one.
        bad = _run(
            con,
            f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {col} AS v FROM raw_events) "
            "WHERE v IS NOT NULL AND NOT regexp_full_match(v, $n) ORDER BY rn LIMIT 1",
            {"n": NUMBER_PATTERN},
        ).fetchone()
        raise _bad_time(where, spec.time, int(bad[0]), bad[1], _NOT_A_TIME)
    if present and present == numeric:
        bad = _run(
            con,
            f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {col} AS v FROM raw_events) "
            "WHERE v IS NOT NULL AND NOT isfinite(CAST(v AS DOUBLE)) ORDER BY rn LIMIT 1",
        ).fetchone()
        if bad:
            raise _bad_time(where, spec.time, int(bad[0]), bad[1], "not a finite number")
        return True, f"CAST({col} AS DOUBLE)"
    bad = _run(
        con,
        f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {col} AS v FROM raw_events) "
        "WHERE v IS NOT NULL AND (NOT regexp_full_match(v, $p) "
        "OR TRY_CAST(v AS TIMESTAMPTZ) IS NULL) ORDER BY rn LIMIT 1",
        {"p": TIME_PATTERN},
    ).fetchone()
    if bad:
        raise _bad_time(where, spec.time, int(bad[0]), bad[1], _NOT_A_TIME)
    aware, naive = _run(
        con,
        f"SELECT count(*) FILTER (WHERE regexp_matches({col}, $p)), "
        f"count(*) FILTER (WHERE NOT regexp_matches({col}, $p)) FROM raw_events",
        {"p": AWARE_PATTERN},
    ).fetchone()
    if aware and naive:
        wanted = "" if aware <= naive else "NOT "
        row = _run(
            con,
            f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {col} AS v FROM raw_events) "
            f"WHERE {wanted}regexp_matches(v, $p) ORDER BY rn LIMIT 1",
            {"p": AWARE_PATTERN},
        ).fetchone()
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, spec.time, int(row[0]), row[1], why)
    return False, f"epoch_us(CAST({col} AS TIMESTAMPTZ))"


# -- Spark engine ---------------------------------------------------------------------


def count_spark(df: Any, spec: Spec, where: str, bar: Progress | None = None) -> Counts:
    """The Spark engine: window functions and groupBy; only the count table is collected."""
    require("pyspark", extra="spark", feature="fitting a Spark DataFrame")
    bar = bar or Progress("", [], progress=False)
    bar.poll = _spark_stage_poll(df)
    bar.phase("statistics")
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    from pyspark.sql.window import Window

    check_columns(df.columns, spec, where)
    # Rename positionally, so no user column name is ever parsed by Spark.
    safe = [f"_jg{i}" for i in range(len(df.columns))]
    pos = {name: safe[i] for i, name in enumerate(df.columns)}
    df = df.toDF(*safe)
    outs = list(spec.outcome_values)

    tcol = F.col(pos[spec.time])
    ttype = df.schema[pos[spec.time]].dataType
    numeric = False
    if isinstance(ttype, T.TimestampType | T.TimestampNTZType):
        t_expr = F.unix_micros(tcol.cast(T.TimestampType()))
    elif isinstance(ttype, T.DateType):
        t_expr = F.unix_micros(tcol.cast(T.TimestampType()))
    elif isinstance(ttype, T.NumericType):
        numeric = True
        t_expr = tcol.cast(T.DoubleType())
    elif isinstance(ttype, T.StringType):
        numeric, t_expr = _spark_time_strings(df, pos[spec.time], spec, where)
    else:
        raise EventLogError(
            f"{where}: time column {spec.time!r} has type {ttype.simpleString()}; it must "
            "hold timestamps, dates, ISO 8601 text or numbers"
        )

    outs_lit = F.array(*[F.lit(v) for v in outs]) if outs else F.array().cast("array<string>")
    seg_expr = F.col(pos[spec.segment]).cast("string") if spec.segment else F.lit("")
    oc_expr = (
        F.col(pos[spec.outcome]).cast("string") if spec.outcome else F.lit(None).cast("string")
    )
    src = df.select(
        F.col(pos[spec.customer]).alias("c"),
        t_expr.alias("t"),
        F.col(pos[spec.touchpoint]).cast("string").alias("tp"),
        oc_expr.alias("oc"),
        seg_expr.alias("s"),
    )
    ok = F.col("c").isNotNull() & F.col("t").isNotNull() & F.col("s").isNotNull()
    tp_out = F.array_contains(outs_lit, F.col("tp"))
    if spec.outcome:
        oc_out = F.array_contains(outs_lit, F.col("oc"))
        unknown = (
            src.where(F.col("oc").isNotNull() & ~oc_out).select("oc").distinct().limit(6).collect()
        )
        _unknown_outcomes(sorted(r[0] for r in unknown), spec, where)
        clash = src.where(tp_out).select("tp").distinct().limit(6).collect()
        _collision(sorted(r[0] for r in clash), spec, where)
        tp_item = F.col("tp").isNotNull()
        oc_item = F.col("oc").isNotNull()
        items = src.where(ok & tp_item).select(
            "s", "c", "t", F.col("tp").alias("item"), F.lit(0).alias("o")
        )
        items = items.unionByName(
            src.where(ok & oc_item).select(
                "s", "c", "t", F.col("oc").alias("item"), F.lit(1).alias("o")
            )
        )
    else:
        tp_item = F.col("tp").isNotNull() & ~tp_out
        oc_item = F.col("tp").isNotNull() & tp_out
        items = src.where(ok & F.col("tp").isNotNull()).select(
            "s", "c", "t", F.col("tp").alias("item"), F.when(tp_out, 1).otherwise(0).alias("o")
        )

    def count_if(cond: Any) -> Any:
        return F.sum(F.when(cond, 1).otherwise(0))

    stats = src.agg(
        F.count(F.lit(1)),
        count_if(F.col("c").isNull()),
        count_if(F.col("c").isNotNull() & F.col("t").isNull()),
        count_if(F.col("c").isNotNull() & F.col("t").isNotNull() & F.col("s").isNull()),
        count_if(ok & F.col("tp").isNull() & ~F.coalesce(oc_item, F.lit(False))),
        F.countDistinct(F.when(ok & tp_item, F.col("tp"))),
        F.max(
            F.when(
                ok & (F.coalesce(tp_item, F.lit(False)) | F.coalesce(oc_item, F.lit(False))),
                F.col("t"),
            )
        ),
        count_if(ok & F.coalesce(tp_item, F.lit(False)))
        + count_if(ok & F.coalesce(oc_item, F.lit(False))),
    ).collect()[0]
    n_rows, null_c, null_t, null_s, null_tp, n_touch, max_t, n_items = (
        (int(v) if v is not None else None) if i != 6 else v for i, v in enumerate(stats)
    )
    _too_many(int(n_touch or 0), spec, where)
    dropped = {
        "null_customer": int(null_c or 0),
        "null_time": int(null_t or 0),
        "null_segment": int(null_s or 0),
        "null_touchpoint": int(null_tp or 0),
    }
    until = parse_instant(spec.observed_until, numeric)
    if until is None and max_t is not None:
        until = float(max_t)
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)

    bar.phase("count")
    d = items.dropDuplicates(["s", "c", "t", "item", "o"])
    win = Window.partitionBy("s", "c").orderBy("t", "o", "item")
    whole = Window.partitionBy("s", "c")
    w = d.select(
        "s",
        "c",
        "t",
        "item",
        "o",
        F.count(F.lit(1)).over(whole).alias("n_cust"),
        F.lag("o").over(win).alias("po"),
        F.lag("t").over(win).alias("pt"),
        F.lag("item").over(win).alias("pitem"),
        F.lead("item").over(win).alias("nitem"),
        F.lead("o").over(win).alias("nxo"),
        F.lead("t").over(win).alias("nt"),
    )
    capped: list[str] = []
    capped_rows = 0
    if spec.max_events is not None:
        big = (
            d.groupBy("s", "c")
            .count()
            .where(F.col("count") > spec.max_events)
            .select(F.col("c").cast("string").alias("c"), "count", "s")
            .orderBy(F.col("count").desc(), F.col("c"))
            .collect()
        )
        capped = [r[0] for r in big[:20]]
        capped_rows = sum(int(r[1]) for r in big)
        w = w.where(F.col("n_cust") <= spec.max_events)
    segments: dict[str, dict[str, int]] = {}
    segment_capped: dict[str, list[str]] = {}
    if spec.segment is not None:
        tp_ev = ok & F.coalesce(tp_item, F.lit(False))
        oc_ev = ok & F.coalesce(oc_item, F.lit(False))
        per = (
            src.where(F.col("s").isNotNull())
            .groupBy("s")
            .agg(
                F.count(F.lit(1)),
                count_if(F.col("c").isNull()),
                count_if(F.col("c").isNotNull() & F.col("t").isNull()),
                count_if(ok & F.col("tp").isNull() & ~F.coalesce(oc_item, F.lit(False))),
                count_if(tp_ev) + count_if(oc_ev),
            )
            .collect()
        )
        for r in per:
            segments[str(r[0])] = {
                "input_rows": int(r[1]),
                "null_customer": int(r[2]),
                "null_time": int(r[3]),
                "null_touchpoint": int(r[4]),
                "items": int(r[5]),
                "capped": 0,
            }
        for r in big if spec.max_events is not None else []:
            segments[str(r[2])]["capped"] += int(r[1])
            listed = segment_capped.setdefault(str(r[2]), [])
            if len(listed) < 20:
                listed.append(r[0])

    gap_lit = F.lit(gap).cast("double")
    st = F.col("po").isNull() | (F.col("po") == 1)
    en = F.col("nt").isNull() | (F.col("o") == 1)
    if gap is not None:
        st = st | ((F.col("t") - F.col("pt")) > gap_lit)
        en = en | ((F.col("nt") - F.col("t")) > gap_lit)
    f = w.select("*", st.alias("st"), en.alias("en"))
    censored = F.lit(False)
    if window is not None and until is not None:
        censored = F.col("nt").isNull() & ((F.lit(until) - F.col("t")) < F.lit(window))
    kind = (
        F.when(F.col("o") == 1, OUTCOME_ROW)
        .when(~F.col("en"), F.when(F.col("nxo") == 1, TO_OUTCOME).otherwise(MOVE))
        .when(censored, CENSORED)
        .otherwise(CHURN)
    )
    prev = F.when(~F.col("st"), F.col("pitem")) if spec.order == 2 else F.lit(None).cast("string")
    nxt = F.when((F.col("o") == 0) & ~F.col("en"), F.col("nitem"))
    out = (
        f.select(
            "s",
            prev.alias("prev"),
            "item",
            (F.col("o") == 1).alias("is_out"),
            "st",
            kind.alias("kind"),
            nxt.alias("nxt"),
        )
        .groupBy("s", "prev", "item", "is_out", "st", "kind", "nxt")
        .count()
        .collect()
    )
    rows = [
        (str(r[0]), r[1], str(r[2]), bool(r[3]), bool(r[4]), int(r[5]), r[6], int(r[7]))
        for r in out
    ]
    kept = sum(r[7] for r in rows)
    dropped["duplicate"] = int(n_items or 0) - kept - capped_rows
    dropped["capped"] = capped_rows
    firsts = d.where(F.col("o") == 0).groupBy("item").agg(F.min("t")).collect()
    first_seen = {str(r[0]): float(r[1]) for r in firsts}
    durations: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = {}
    if not numeric:
        gaps = (
            f.where((F.col("o") == 0) & ~F.col("en"))
            .select("s", prev.alias("prev"), "item", "nitem", (F.col("nt") - F.col("t")).alias("g"))
            .groupBy("s", "prev", "item", "nitem")
            .agg(
                F.sum("g"),
                F.count(F.lit(1)),
                F.expr("percentile_disc(0.5) WITHIN GROUP (ORDER BY g)"),
            )
            .collect()
        )
        for r in gaps:
            durations[(str(r[0]), r[1], str(r[2]), str(r[3]))] = (
                float(r[4]),
                int(r[5]),
                float(r[6]),
            )
    for seg, figures in segments.items():
        seg_kept = sum(r[7] for r in rows if r[0] == seg)
        figures["duplicate"] = figures.pop("items") - seg_kept - figures["capped"]
    return Counts(
        rows,
        int(n_rows or 0),
        dropped,
        capped,
        "spark",
        first_seen,
        durations,
        segments,
        segment_capped,
    )


def _spark_stage_poll(df: Any) -> Any:
    """Progress of the running Spark stages, from the SparkContext's status tracker."""
    try:
        tracker = df.sparkSession.sparkContext.statusTracker()
    except Exception:  # no tracker: no stage-level detail
        return None

    def poll() -> tuple[float, str] | None:
        infos = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        infos = [i for i in infos if i is not None and i.numTasks]
        if not infos:
            return None
        total = sum(i.numTasks for i in infos)
        done = sum(i.numCompletedTasks for i in infos)
        stages = ", ".join(str(i.stageId) for i in infos)
        return done / total, f"stage {stages}: {done}/{total} tasks"

    return poll


def _spark_time_strings(df: Any, name: str, spec: Spec, where: str) -> tuple[bool, Any]:
    from pyspark.sql import functions as F

    col = F.col(name)
    present, numeric, aware, naive = df.agg(
        F.count(col),
        F.sum(F.when(col.rlike(NUMBER_PATTERN), 1).otherwise(0)),
        F.sum(F.when(col.rlike(AWARE_PATTERN), 1).otherwise(0)),
        F.sum(F.when(col.isNotNull() & ~col.rlike(AWARE_PATTERN), 1).otherwise(0)),
    ).collect()[0]
    if present and numeric and present != numeric and 2 * numeric >= present:
        value = df.where(col.isNotNull() & ~col.rlike(NUMBER_PATTERN)).select(col).limit(1)
        raise _bad_time(where, spec.time, None, value.collect()[0][0], _NOT_A_TIME)
    if present and present == numeric:
        as_number = F.expr(f"try_cast({name} AS DOUBLE)")
        bad = (
            df.where(col.isNotNull() & (F.isnan(as_number) | (F.abs(as_number) == float("inf"))))
            .select(col)
            .limit(1)
            .collect()
        )
        if bad:
            raise _bad_time(where, spec.time, None, bad[0][0], "not a finite number")
        return True, as_number
    parsed = F.expr(f"try_cast({name} AS TIMESTAMP)")
    bad = (
        df.where(col.isNotNull() & (~col.rlike(TIME_PATTERN) | parsed.isNull()))
        .select(col)
        .limit(1)
        .collect()
    )
    if bad:
        raise _bad_time(where, spec.time, None, bad[0][0], _NOT_A_TIME)
    if aware and naive:
        cond = col.rlike(AWARE_PATTERN) if aware <= naive else ~col.rlike(AWARE_PATTERN)
        value = df.where(col.isNotNull() & cond).select(col).limit(1).collect()[0][0]
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, spec.time, None, value, why)
    return False, F.unix_micros(parsed)
