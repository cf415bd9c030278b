"""Sample whole customer journeys from a map: a synthetic event log.

Every simulated customer starts at a touchpoint drawn from the entry distribution and
makes moves with the map's probabilities until an outcome absorbs the journey. The
sampling is vectorised across customers: one loop iteration advances *every* customer
still on the way by one move (inverse-CDF sampling: a binary search of the cumulative
move probabilities of each customer's touchpoint, as whole-array passes). See
``docs/simulation-and-scenarios.md``.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from journeygraph import _args
from journeygraph._checks import whole_number
from journeygraph._csv import guard
from journeygraph._files import atomic_write
from journeygraph._optional import require
from journeygraph.chain import to_chain
from journeygraph.errors import JourneyGraphError, JourneyGraphWarning, MapError, Problem
from journeygraph.model import JourneyMap, MapSource

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["DEFAULT_START", "MAX_JOURNEYS", "EventLog", "simulate"]

#: When the first event of every simulated journey happens, unless ``start`` is given.
DEFAULT_START = datetime.datetime(2024, 1, 1)

#: Most journeys one :func:`simulate` call samples. Simulating and writing CSV holds about
#: 150 bytes per event (measured: 1,000,000 journeys of the retail example, 4.2 million
#: events, peaked at 0.63 GiB); at the limit that is ~6 GiB for journeys of ~4 events,
#: within a 24 GiB machine with room for maps whose journeys are a few times longer.
MAX_JOURNEYS = 10_000_000

_US_PER_HOUR = 3_600_000_000
# Elapsed times beyond this many hours (about 1,000 years) do not fit a timestamp column.
_MAX_HOURS = 1000 * 366 * 24


@dataclass(frozen=True, slots=True, eq=False)
class EventLog:
    """A simulated event log: one row per event, sorted by customer, then step.

    The columns are exactly what :func:`journeygraph.fit` reads
    (``customer_column="customer_id", time_column="timestamp",
    touchpoint_column="touchpoint"``, outcome kinds in ``outcome``).

    Attributes
    ----------
    customer_id
        ``int64``: the simulated customer, ``0 .. customers - 1``.
    step
        ``int64``: the event's position in the journey; 0 is the entry touchpoint, step
        ``k`` follows the ``k``-th move.
    touchpoint
        ``object`` (str): the touchpoint id, or, on a journey's last event, the id of the
        outcome that ended it.
    outcome
        ``object`` (str or ``None``): the outcome's kind (``conversion``, ``churn`` or
        ``competitor``) on the outcome event, ``None`` on every touchpoint event.
    timestamp
        ``datetime64[us]`` (naive, read as UTC) when some move of the map has a
        duration, else ``None``: ``start`` plus the elapsed time.
    elapsed_hours
        ``float64`` hours since the journey's first event, when durations exist.
    customers
        Number of simulated journeys.
    truncated
        ``int64`` ids of the customers whose journey had not reached an outcome after
        ``max_steps`` moves. Their events are kept; they have no outcome event.
    max_steps
        The bound on moves per journey used for the simulation.
    outcomes
        Every outcome id of the map, in map order (also those no journey reached).
    """

    customer_id: np.ndarray
    step: np.ndarray
    touchpoint: np.ndarray
    outcome: np.ndarray
    timestamp: np.ndarray | None
    elapsed_hours: np.ndarray | None
    customers: int
    truncated: np.ndarray
    max_steps: int
    outcomes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.customer_id.size)

    def __repr__(self) -> str:
        return (
            f"EventLog({self.customers} customers, {len(self)} events, "
            f"{self.truncated.size} truncated)"
        )

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The columns by name, in output order (timestamps only when durations exist)."""
        cols = {"customer_id": self.customer_id, "step": self.step}
        if self.timestamp is not None:
            cols["timestamp"] = self.timestamp
        cols["touchpoint"] = self.touchpoint
        cols["outcome"] = self.outcome
        if self.elapsed_hours is not None:
            cols["elapsed_hours"] = self.elapsed_hours
        return cols

    def outcome_counts(self) -> dict[str, int]:
        """How many journeys ended in each outcome, keyed by outcome id (map order).

        Examples
        --------
        >>> log = jg.simulate(jm, 1000, seed=1)
        >>> counts = log.outcome_counts()
        >>> sorted(counts), sum(counts.values())
        (['buy', 'gone'], 1000)
        """
        ended = self.touchpoint[self.outcome != None]  # noqa: E711  (elementwise on objects)
        found: dict[str, int] = dict.fromkeys(self.outcomes, 0)
        names, counts = np.unique(ended.astype(str), return_counts=True)
        for name, count in zip(names.tolist(), counts.tolist(), strict=True):
            found[name] = int(count)
        return found

    def summary(self) -> dict[str, Any]:
        """Counts for a report: customers, events, truncated journeys, outcome counts."""
        return {
            "customers": self.customers,
            "events": len(self),
            "truncated": int(self.truncated.size),
            "max_steps": self.max_steps,
            "columns": list(self.columns),
            "outcomes": self.outcome_counts(),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: :meth:`summary` plus every column as a list (timestamps as ISO text).

        For large logs prefer :meth:`write` or :meth:`to_arrow`.
        """
        data = self.summary()
        data["data"] = {name: _as_list(values) for name, values in self.columns.items()}
        data["truncated_customers"] = self.truncated.tolist()
        return data

    def to_frame(self) -> pd.DataFrame:
        """The log as a pandas DataFrame (needs pandas)."""
        pandas = require("pandas", extra="pandas", feature="EventLog.to_frame")
        frame: pd.DataFrame = pandas.DataFrame(self.columns)
        return frame

    def to_arrow(self) -> pa.Table:
        """The log as a pyarrow Table (needs pyarrow)."""
        arrow = require("pyarrow", extra="files", feature="EventLog.to_arrow")
        arrays = {
            "customer_id": arrow.array(self.customer_id, type=arrow.int64()),
            "step": arrow.array(self.step, type=arrow.int64()),
        }
        if self.timestamp is not None:
            arrays["timestamp"] = arrow.array(self.timestamp, type=arrow.timestamp("us"))
        arrays["touchpoint"] = arrow.array(self.touchpoint, type=arrow.string())
        arrays["outcome"] = arrow.array(self.outcome, type=arrow.string())
        if self.elapsed_hours is not None:
            arrays["elapsed_hours"] = arrow.array(self.elapsed_hours, type=arrow.float64())
        table: pa.Table = arrow.table(arrays)
        return table

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the log to ``.parquet`` (needs pyarrow) or ``.csv``, atomically.

        In CSV, text cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a
        carriage return get a leading ``'`` so spreadsheets do not run them as formulas.
        Outcome cells of touchpoint events are empty.

        Raises
        ------
        JourneyGraphError
            The suffix is neither ``.parquet`` nor ``.csv``.
        MissingDependencyError
            Parquet was asked for and pyarrow is not installed.
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".csv":
            return atomic_write(target, self._csv_text())
        if suffix in (".parquet", ".pq"):
            pa = require("pyarrow", extra="files", feature="writing Parquet")
            pq = require("pyarrow.parquet", extra="files", feature="writing Parquet")
            sink = pa.BufferOutputStream()
            pq.write_table(self.to_arrow(), sink)
            return atomic_write(target, sink.getvalue().to_pybytes())
        raise JourneyGraphError(
            f"{target}: cannot write an event log as {suffix or 'a file without suffix'!r}; "
            "use a .parquet or .csv file name"
        )

    def _csv_text(self) -> str:
        cols: list[list[Any]] = []
        for name, values in self.columns.items():
            if name == "timestamp":
                cols.append(np.datetime_as_string(values, unit="us").tolist())
            elif name in ("touchpoint", "outcome"):
                cols.append([_csv_cell(v) for v in values.tolist()])
            else:
                cols.append(values.tolist())
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(self.columns))
        writer.writerows(zip(*cols, strict=True))
        return buffer.getvalue()


def simulate(
    jm: MapSource,
    n: int = 100_000,
    *,
    seed: int | np.random.Generator | None = None,
    entry: str | Mapping[str, float] | None = None,
    max_steps: int = 10_000,
    start: datetime.datetime | datetime.date | str | np.datetime64 | None = None,
) -> EventLog:
    """Sample ``n`` whole journeys from a map.

    Parameters
    ----------
    jm
        The journey map.
    n
        Number of journeys (customers) to simulate.
    seed
        ``int``, ``numpy.random.Generator`` or ``None`` (fresh entropy), passed to
        ``numpy.random.default_rng``. The same seed gives the same log.
    entry
        Where journeys start: ``None`` for the map's entry weights, a touchpoint id, or
        a dict of weights.
    max_steps
        Most moves a journey may make. Journeys still at a touchpoint after that many
        moves are listed in :attr:`EventLog.truncated` (with a warning), never given an
        outcome.
    start
        Time of every journey's first event when the map has durations (default
        2024-01-01 00:00). Timezone-aware values are converted to UTC.

    Returns
    -------
    EventLog
        One row per event, sorted by customer and step.

    Raises
    ------
    MapError
        Unknown entry touchpoint; durations too long to express as timestamps.
    ValueError
        ``n`` is negative or above :data:`MAX_JOURNEYS` (10,000,000), or ``max_steps`` is
        below 1.

    Notes
    -----
    From touchpoint ``i`` the next state is drawn with the move probabilities of the
    map (the row of the chain ``P = [[Q, R], [0, I]]`` in DESIGN.md). A move with a mean
    duration ``d`` takes an exponentially distributed time with mean ``d`` (the
    memoryless choice, the waiting time of a continuous-time Markov chain); moves
    without a duration take no time. The expected time to absorption is therefore
    ``N (P∘D) 1``, the exact formula :mod:`journeygraph.analysis` uses.

    Examples
    --------
    >>> log = jg.simulate(jm, 5, seed=7)
    >>> list(log.columns)
    ['customer_id', 'step', 'touchpoint', 'outcome']
    >>> log.touchpoint[:3].tolist(), log.outcome[:3].tolist()
    (['ad', 'gone', 'ad'], [None, 'churn', None])
    """
    jm = _args.journey_map(jm, "jm")
    entry = _args.entry(entry)
    n = whole_number(
        n,
        "n",
        minimum=0,
        maximum=MAX_JOURNEYS,
        why=" journeys (journeygraph.simulate.MAX_JOURNEYS, set by memory use); "
        "simulate in several calls with different seeds",
    )
    max_steps = whole_number(max_steps, "max_steps", minimum=1)
    rng = np.random.default_rng(_args.seed(seed))
    chain = to_chain(jm, entry)
    t = chain.size
    table = _MoveTable.of(jm, chain)

    entry_cum = np.cumsum(chain.entry)
    entry_cum /= entry_cum[-1]
    # 32-bit customers and states in the loop (MAX_JOURNEYS is far below 2**31): half the
    # memory traffic of int64.
    whole = np.int32 if n < 2**31 else np.int64
    # u < 1 and the last bound is exactly 1, so zero-weight touchpoints are never drawn.
    state = np.searchsorted(entry_cum, rng.random(n), side="right").astype(np.int32)
    customer = np.arange(n, dtype=whole)
    clock = np.zeros(n) if table.hours is not None else None

    # Each step keeps who moved and where to; every event is written to its place in the
    # customer-and-step order at the end (a journey's first row from the lengths, plus
    # the step), so no concatenation or sort of all the events is needed.
    walked = [(customer, state)]
    walked_clock = [clock] if clock is not None else []
    events = np.empty(n, dtype=np.int64)  # events per journey, set when it ends
    step = 0
    while customer.size and step < max_steps:
        chosen = table.draw(state, rng)
        node = table.target[chosen]
        step += 1
        if clock is not None and table.hours is not None:
            clock = clock + rng.standard_exponential(customer.size) * table.hours[chosen]
            walked_clock.append(clock)
        walked.append((customer, node))
        events[customer] = step + 1  # final for those that stop here
        going = node < t
        customer, state = customer[going], node[going]
        if clock is not None:
            clock = clock[going]
    events[customer] = step + 1  # journeys cut off at max_steps

    truncated = np.sort(customer).astype(np.int64)
    if truncated.size:
        warnings.warn(
            f"{truncated.size} of {n} simulated journeys had not reached an outcome after "
            f"max_steps={max_steps} moves; they have no outcome event and are listed in "
            "EventLog.truncated (raise max_steps to let them finish)",
            JourneyGraphWarning,
            stacklevel=2,
        )

    ends = np.cumsum(events)
    first = ends - events  # row of each journey's first event
    size = int(ends[-1]) if n else 0
    codes = np.empty(size, dtype=np.int32)  # touchpoint index, or t + outcome index
    steps = np.empty(size, dtype=np.int64)
    elapsed = np.empty(size) if walked_clock else None
    for k, (who, where) in enumerate(walked):
        rows = first[who]
        rows += k
        codes[rows] = where
        steps[rows] = k
        if elapsed is not None:
            elapsed[rows] = walked_clock[k]
    names = np.array(chain.touchpoints + chain.outcomes, dtype=object)
    kinds = np.array([None] * t + [o.kind for o in jm.outcomes], dtype=object)
    outcome = np.empty(size, dtype=object)  # None, except on a journey's outcome event
    last = ends - 1
    outcome[last] = kinds[codes[last]]
    return EventLog(
        customer_id=np.repeat(np.arange(n, dtype=np.int64), events),
        step=steps,
        touchpoint=names[codes],
        outcome=outcome,
        timestamp=_timestamps(elapsed, start) if elapsed is not None else None,
        elapsed_hours=elapsed,
        customers=n,
        truncated=truncated,
        max_steps=max_steps,
        outcomes=chain.outcomes,
    )


#: Largest table (touchpoints x the longest row's moves, rounded up to a power of two) for
#: which a move is drawn by a branchless binary search within each row; beyond it (a map
#: where a few touchpoints have far more moves than the rest) one ``searchsorted`` over
#: all moves is used. Both pick the same move for the same number (see ``_MoveTable``).
_ROW_TABLE_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class _MoveTable:
    """Every touchpoint's moves as CSR rows with cumulative probabilities.

    ``bounds[k]`` is ``row + (cumulative probability of the row's moves up to k)``, so
    one ``searchsorted`` of ``row + u`` (``u`` uniform on [0, 1)) over the whole table
    picks a move for every customer at once. Each row's last bound is exactly
    ``row + 1``; the absolute rounding of ``row + u`` is below ``row * 2**-52``.

    When ``rows`` is set, the same bounds are also laid out one touchpoint per row of
    ``width`` (a power of two, at least the longest row; the rest ``inf``) and a move is
    found by ``log2(width)`` whole-array passes of a branchless binary search within the
    customer's own row. It counts the row's bounds ``<= row + u`` (capped at
    ``width - 1``), which is what ``searchsorted(side="right")`` counts past the
    previous rows (their bounds are all ``<= row``): the same comparisons of the same
    numbers, so the same move for the same ``u``, rounding included. ``move_of`` maps a
    row position to its move, clipped to the row's last move as the ``searchsorted``
    path clips. Measured: 35-41 against 52-53 ms per 1,000,000 draws of the retail
    example, uniforms included.
    """

    start: np.ndarray  # first move of each touchpoint (CSR indptr)
    target: np.ndarray  # destination: touchpoint index, or t + outcome index
    bounds: np.ndarray
    hours: np.ndarray | None  # mean duration of each move
    width: int = 0
    rows: np.ndarray | None = None  # bounds, one row of ``width`` per touchpoint
    move_of: np.ndarray | None = None  # the move at each row position

    @classmethod
    def of(cls, jm: JourneyMap, chain: Any) -> _MoveTable:
        from scipy import sparse

        moves = sparse.hstack([chain.Q, chain.R], format="csr")
        moves.eliminate_zeros()
        moves.sort_indices()
        start = moves.indptr.astype(np.int64)
        target = moves.indices.astype(np.int32)
        prob = moves.data.astype(float)
        counts = np.diff(start)
        row = np.repeat(np.arange(chain.size, dtype=np.int64), counts)
        total = np.cumsum(prob)
        before = np.concatenate(([0.0], total))[start[:-1]]
        within = total - before[row]
        last = start[1:] - 1
        within /= within[last][row]
        within[last] = 1.0
        bounds = row + within

        hours = None
        if chain.step_hours is not None:
            size = chain.size + len(chain.outcomes)
            keys = row * size + target
            move_hours: dict[int, float] = {}
            for m in jm.moves:
                if m.duration is not None and m.weight > 0:
                    src = chain.index[m.source]
                    dst = chain.index.get(m.target)
                    dst = chain.size + chain.outcome_index[m.target] if dst is None else dst
                    move_hours[src * size + dst] = m.duration.hours
            lookup = np.vectorize(lambda k: move_hours.get(int(k), 0.0), otypes=[float])
            hours = lookup(keys) if keys.size else np.zeros(0)

        width = 1 << (int(counts.max()) - 1).bit_length() if counts.size else 1
        if chain.size * width > _ROW_TABLE_LIMIT:
            return cls(start=start, target=target, bounds=bounds, hours=hours)
        position = np.arange(target.size, dtype=np.int64) - start[row]
        rows = np.full(chain.size * width, np.inf)
        rows[row * width + position] = bounds
        move_of = start[:-1, None] + np.minimum(np.arange(width), counts[:, None] - 1)
        return cls(
            start=start,
            target=target,
            bounds=bounds,
            hours=hours,
            width=width,
            rows=rows,
            move_of=move_of.ravel(),
        )

    def draw(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One move for every customer, given their current touchpoints."""
        wanted = state + rng.random(state.size)
        if self.rows is None or self.move_of is None:
            chosen = np.searchsorted(self.bounds, wanted, side="right")
            return np.clip(chosen, self.start[state], self.start[state + 1] - 1)
        # at = row start + (bounds <= wanted so far); each pass halves the span.
        at = state * self.width
        probe = np.empty(state.size)
        index = np.empty_like(at)
        higher = np.empty(state.size, dtype=bool)
        half = self.width // 2
        while half:
            np.add(at, half - 1, out=index)
            np.take(self.rows, index, out=probe)
            np.less_equal(probe, wanted, out=higher)
            np.multiply(higher, half, out=index, dtype=index.dtype)  # (a masked add is 5x slower)
            at += index
            half //= 2
        picked: np.ndarray = self.move_of[at]
        return picked


def _start_time(start: datetime.datetime | datetime.date | str | np.datetime64 | None) -> Any:
    if isinstance(start, np.datetime64):
        return start.astype("datetime64[us]")
    if start is None:
        start = DEFAULT_START
    if isinstance(start, str):
        try:
            start = datetime.datetime.fromisoformat(start)
        except ValueError:
            raise JourneyGraphError(
                f"start time {start!r} is not an ISO date or date-time such as "
                "2024-01-01 or 2024-01-01T09:00"
            ) from None
    if isinstance(start, datetime.datetime) and start.tzinfo is not None:
        start = start.astimezone(datetime.UTC).replace(tzinfo=None)
    return np.datetime64(start, "us")


def _timestamps(
    elapsed: np.ndarray, start: datetime.datetime | datetime.date | str | np.datetime64 | None
) -> np.ndarray:
    origin = _start_time(start)
    if elapsed.size and elapsed.max() > _MAX_HOURS:
        raise MapError(
            [
                Problem(
                    ("moves",),
                    f"a simulated journey took {elapsed.max():.3g} hours, too long for a "
                    "timestamp column; check the move durations (their units)",
                )
            ]
        )
    offsets = np.rint(elapsed * _US_PER_HOUR).astype(np.int64).astype("timedelta64[us]")
    stamps: np.ndarray = origin + offsets
    return stamps


def _csv_cell(value: str | None) -> str:
    if value is None:
        return ""
    return guard(value)


def _as_list(values: np.ndarray) -> list[Any]:
    if values.dtype.kind == "M":
        return list(np.datetime_as_string(values, unit="us").tolist())
    return list(values.tolist())
