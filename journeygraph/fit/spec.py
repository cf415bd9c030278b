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
    #: Whether to aggregate each move's gaps (sum, count, lower median) for timestamp logs.
    durations: bool = True

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
            "leave out outcome_column= and pass outcomes={id: kind} (or outcomes=the map)"
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
