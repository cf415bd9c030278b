"""Fit journey maps from event logs: observed counts become the map's weights.

:func:`fit` reads an event log (one row per event: customer, time, touchpoint, and
optionally an outcome and a segment) from a DataFrame, an arrow table, CSV/Parquet
files or a Spark DataFrame, and counts journeys with one algorithm that runs in three
engines (numpy in memory, DuckDB for files, Spark on a cluster); the rules are written
down in :mod:`journeygraph._fit_engines` and ``docs/fitting.md``. :func:`fit_paths`
reads the aggregated path tables of Markov attribution tools. Each fitted map carries
its :class:`FitReport` in ``metadata["fit"]``.
"""

from __future__ import annotations

import glob as _glob
import os
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from journeygraph import _args
from journeygraph._files import note_input
from journeygraph._fit_engines import (
    CENSORED,
    CHURN,
    FORMULA_GUARD,
    MOVE,
    TO_OUTCOME,
    Counts,
    Spec,
    check_unique_columns,
    count_arrow,
    count_duckdb,
    count_spark,
)
from journeygraph._optional import require
from journeygraph._paths_count import count_column, count_paths
from journeygraph._progress import Progress
from journeygraph.errors import (
    EventLogError,
    JourneyGraphError,
    JourneyGraphWarning,
    MapError,
    did_you_mean,
)
from journeygraph.model import OUTCOME_KINDS, JourneyMap, Persona, Stage, Touchpoint

__all__ = [
    "FitReport",
    "collapse_order",
    "fit",
    "fit_paths",
    "split_state",
    "state_id",
    "touchpoint_removal_effects",
]

Engine = Literal["auto", "numpy", "duckdb", "spark"]

#: The id of the first-order "previous touchpoint" of a journey's first state (order=2).
START = "(start)"
#: Separator of a second-order state id: ``"search > email"``.
STATE_SEP = " > "

_PARQUET = (".parquet", ".pq", ".parq")
# Progress-bar phases of each engine (Spark's are DuckDB's, plus per-stage detail).
_NUMPY_PHASES = ["encode", "sort", "count", "maps"]
_DUCKDB_PHASES = ["statistics", "count", "maps"]
_CSV = (".csv", ".csv.gz", ".tsv")


@dataclass(frozen=True, slots=True)
class FitReport:
    """What a fit counted and what it left out, and why.

    Attributes
    ----------
    engine
        ``"numpy"``, ``"duckdb"``, ``"spark"`` or ``"paths"``.
    input_rows
        Rows in the log (for :func:`fit_paths`: path rows).
    events
        Events that made up the journeys (touchpoint and outcome events).
    journeys
        Journeys counted (one entry each).
    censored_journeys
        Journeys still open at the end of observation: counted in entry and moves,
        not as churn.
    single_event_journeys
        Journeys of one touchpoint and no outcome.
    dropped
        Rows or events left out, by reason: ``null_customer``, ``null_time``,
        ``null_segment``, ``null_touchpoint``, ``duplicate``,
        ``outcome_without_touchpoint`` and ``capped``.
    capped_customers
        Up to 20 customers (most events first) left out by ``max_events_per_customer``.
    segment
        The segment of this map, when fitted with ``segment=``.
    order
        1, or 2 for maps whose states are (previous, current) touchpoint pairs.
    pooled
        With ``segment=``: the report of the whole log (every segment together); the
        other fields then hold this segment's own figures only (``input_rows``,
        ``dropped``, ``capped_customers``, ``events``, ``journeys``...). Rows with a
        null segment belong to no segment: they are counted in ``pooled`` only.
    unseen_touchpoints, unseen_outcomes
        Touchpoints and outcomes of the template map (``stages=``/``outcomes=``) that
        never occur in the log, so the map leaves them out (also a warning).
    new_touchpoints
        Touchpoints in the log but not in the template, in order of first appearance
        (earliest time); in the map they come after the template's in their stage.
    """

    engine: str
    input_rows: int
    events: int
    journeys: int
    censored_journeys: int
    single_event_journeys: int
    dropped: dict[str, int] = field(default_factory=dict)
    capped_customers: tuple[str, ...] = ()
    segment: str | None = None
    order: int = 1
    unseen_touchpoints: tuple[str, ...] = ()
    unseen_outcomes: tuple[str, ...] = ()
    new_touchpoints: tuple[str, ...] = ()
    pooled: FitReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dict."""
        out = asdict(self)
        for name in _TUPLE_FIELDS:
            out[name] = list(getattr(self, name))
        out["pooled"] = self.pooled.to_dict() if self.pooled is not None else None
        out["dropped"] = dict(self.dropped)
        return out

    @classmethod
    def of(cls, jm: JourneyMap) -> FitReport:
        """The report stored in a fitted map's ``metadata["fit"]``.

        Examples
        --------
        >>> import pandas as pd
        >>> log = pd.DataFrame({"who": [1, 1, 2], "when": [1, 2, 1],
        ...                     "what": ["ad", "buy", "ad"]})
        >>> jm = jg.fit(log, customer="who", time="when", touchpoint="what",
        ...             outcomes={"buy": "conversion"})
        >>> report = jg.FitReport.of(jm)
        >>> report.journeys, report.events
        (2, 3)
        """
        data = jm.metadata.get("fit")
        if not isinstance(data, dict):
            raise EventLogError(f"map {jm.name!r} was not fitted: it has no fit report")
        return cls._from_dict(data)

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> FitReport:
        values: dict[str, Any] = dict(data)
        for name in _TUPLE_FIELDS:
            values[name] = tuple(values.get(name) or ())
        if isinstance(values.get("pooled"), Mapping):
            values["pooled"] = cls._from_dict(values["pooled"])
        return cls(**values)


_TUPLE_FIELDS = ("capped_customers", "unseen_touchpoints", "unseen_outcomes", "new_touchpoints")


# -- public functions -----------------------------------------------------------------


def fit(
    source: Any,
    *,
    customer: str,
    time: str,
    touchpoint: str,
    outcomes: Mapping[str, str] | JourneyMap | None = None,
    outcome: str | None = None,
    stages: Any = None,
    segment: str | None = None,
    window: Any = None,
    gap: Any = None,
    observed_until: Any = None,
    order: int = 1,
    engine: Engine = "auto",
    name: str | None = None,
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    max_events_per_customer: int | None = None,
    max_touchpoints: int = 500,
    strict: bool = False,
    progress: bool | None = None,
    rename: Mapping[str, str] | None = None,
    allow_no_conversion: bool = False,
) -> JourneyMap | dict[str, JourneyMap]:
    """Fit a journey map from an event log: weights are observed counts.

    Parameters
    ----------
    source
        A pandas or polars DataFrame, a pyarrow Table, a Spark DataFrame, or a path to
        CSV or Parquet: one file, a glob (``"logs/*.parquet"``) or a folder.
    customer, time, touchpoint
        Column names. Times are timestamps, dates, ISO 8601 text or plain numbers.
    outcomes
        Event values that end a journey, and their kind: ``{"purchase": "conversion",
        "bought_rival_x": "competitor"}``. Each becomes an outcome of the map. A
        :class:`JourneyMap` stands for its own outcomes (``{o.id: o.kind}``), handy for
        logs written by :func:`journeygraph.simulate`, whose touchpoint column holds
        the outcome id on a journey's last event (its ``outcome`` column holds the
        *kind*, so do not pass it as ``outcome=``).
    outcome
        Column holding outcome values; without it they are looked up in the touchpoint
        column.
    stages
        Touchpoint -> stage mapping (stages ordered by first appearance), stage ->
        touchpoints mapping, a :class:`JourneyMap` or map file whose stages and
        touchpoint details to use; ``None`` infers one stage per touchpoint (see Notes).
        A map (here, else in ``outcomes=``) is the fit's template: its name (unless
        ``name=``), persona, stage and touchpoint order and details and outcome names
        are kept; touchpoints only in the log follow in order of first appearance.
    segment
        Column to split by: returns ``{segment value: JourneyMap}``.
    window
        Inactivity timeout for censoring: a journey without outcome whose customer's
        last event lies less than ``window`` before ``observed_until`` is still open,
        so it is reported as censored, not counted as churn. A duration (``"30d"``,
        ``datetime.timedelta``) or, for numeric times, a number.
    gap
        Split a customer's events into separate journeys at inactivity gaps longer
        than this duration.
    observed_until
        End of the observation window (default: the latest time in the log).
    order
        1, or 2 for states that remember the previous touchpoint; see
        :func:`collapse_order`.
    engine
        ``"auto"`` (DuckDB for paths, Spark for Spark DataFrames, numpy otherwise),
        ``"numpy"``, ``"duckdb"`` or ``"spark"``. All give identical counts.
    name
        Map name (default: the file's stem, or ``"fitted journey"``).
    churn
        Id of the churn outcome journeys without an outcome event end in.
    unknown_touchpoints
        Touchpoints missing from ``stages``: ``"error"``, or ``"other"`` to put them in
        an ``other`` stage after the others.
    max_events_per_customer
        Leave out customers (bots) with more events; the report names them.
    max_touchpoints
        More distinct touchpoints than this is an error suggesting a mapping.
    strict
        Make every dropped row an error instead of a count in the report.
    progress
        Show a progress bar on stderr (phase by phase; Spark stages with their tasks):
        ``None`` (default) shows it only on an interactive terminal and only for fits
        longer than a second, ``True`` always, ``False`` never.
    rename
        Log value -> id, applied to touchpoint and outcome values after counting:
        ``{"purchase_complete": "purchase"}`` maps the log's values onto a template's
        (or ``outcomes=``'s) ids. Values renamed onto an outcome id are outcome events.
    allow_no_conversion
        Accept a fit in which no journey ends in a conversion although ``outcomes=``
        declares one (by default that is an ``EventLogError``: usually a wrong value).

    Returns
    -------
    JourneyMap or dict of str to JourneyMap
        Weights are counts; ``FitReport.of(jm)`` gives the report.

    Raises
    ------
    EventLogError
        Missing columns (with the columns that exist), bad timestamps (row and value),
        too many touchpoints, unknown touchpoints in ``stages``, an empty log, a file
        that is not CSV or Parquet, dropped rows with ``strict=True``, an outcome value
        of an ``outcomes=`` mapping that never occurs in the log (with the values that
        do and the nearest one), or no conversion at all when one is declared.

    Warns
    -----
    JourneyGraphWarning
        Touchpoints or outcomes of a template map (``stages=``/``outcomes=``) that
        never occur in the log (also in the report: ``unseen_touchpoints``,
        ``unseen_outcomes``).

    Notes
    -----
    Each customer's events are sorted by time; ties go touchpoints first, then by
    value in code-point order; exact duplicates count once. Consecutive events of a
    journey are moves, a journey's first touchpoint is an entry, an outcome event ends
    the journey (the customer's next event starts a new one), and a journey without
    outcome ends in churn unless censored (``window``). Without ``stages`` each
    touchpoint gets its own stage, ordered by the expected number of moves left until
    the journey ends (most first), so early touchpoints come first.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "customer": [1, 1, 1, 2, 2, 3],
    ...     "time": ["2024-05-01T10:00", "2024-05-01T10:05", "2024-05-01T10:09",
    ...              "2024-05-02T09:00", "2024-05-02T09:30", "2024-05-03T12:00"],
    ...     "event": ["ad", "shop", "purchase", "ad", "shop", "shop"],
    ... })
    >>> jm = jg.fit(log, customer="customer", time="time", touchpoint="event",
    ...             outcomes={"purchase": "conversion"}, stages={"ad": "aware", "shop": "act"})
    >>> dict(jm.entry)
    {'ad': 2.0, 'shop': 1.0}
    >>> sorted((m.source, m.target, m.weight) for m in jm.moves)
    [('ad', 'shop', 2.0), ('shop', 'churn', 2.0), ('shop', 'purchase', 1.0)]
    """
    customer = _args.text(customer, "customer")
    time = _args.text(time, "time")
    touchpoint = _args.text(touchpoint, "touchpoint")
    outcome = _args.optional_text(outcome, "outcome")
    segment = _args.optional_text(segment, "segment")
    name = _args.optional_text(name, "name")
    if order not in (1, 2):
        raise EventLogError(f"order={order!r}: use 1, or 2 for second-order (memory) maps")
    kinds = _outcome_kinds(outcomes)
    if outcome is not None and not kinds:
        raise EventLogError(
            f"outcome={outcome!r} names an outcome column, but outcomes= is empty; map its "
            "values to kinds, e.g. outcomes={'purchase': 'conversion'}"
        )
    if max_events_per_customer is not None and (
        isinstance(max_events_per_customer, bool) or max_events_per_customer < 1
    ):
        raise EventLogError(f"max_events_per_customer={max_events_per_customer!r}: use an int >= 1")
    if unknown_touchpoints not in ("error", "other"):
        raise EventLogError(f"unknown_touchpoints={unknown_touchpoints!r}: use 'error' or 'other'")
    if not isinstance(allow_no_conversion, bool):
        raise TypeError(
            f"allow_no_conversion must be True or False, not {type(allow_no_conversion).__name__}"
        )
    renames = _renames(rename, kinds)
    template = _template(stages, outcomes)
    if isinstance(stages, str | os.PathLike):
        stages = template
    spec = Spec(
        customer=customer,
        time=time,
        touchpoint=touchpoint,
        outcome=outcome,
        segment=segment,
        outcome_values=tuple(sorted(set(kinds) | {v for v, t in renames.items() if t in kinds})),
        gap=gap,
        window=window,
        observed_until=observed_until,
        order=order,
        max_events=max_events_per_customer,
        max_touchpoints=max_touchpoints,
        progress=progress,
    )
    with Progress("fit", [], progress=progress) as bar:
        counts, where, default_name = _count(source, spec, engine, bar)
        bar.phase("maps")
        counts.rows = _renamed_rows(counts.rows, renames)
        counts.first_seen = _renamed_first_seen(counts.first_seen, renames)
        counts.durations = _renamed_durations(counts.durations, renames)
        return _maps_from_counts(
            counts,
            spec,
            kinds,
            where=where,
            name=name or (template.name if template is not None else default_name),
            stages=stages,
            churn=churn,
            unknown=unknown_touchpoints,
            strict=strict,
            template=template,
            declared=None if isinstance(outcomes, JourneyMap) else set(kinds),
            allow_no_conversion=allow_no_conversion,
        )


def _renames(rename: Mapping[str, str] | None, kinds: Mapping[str, str]) -> dict[str, str]:
    """``rename=`` checked: text to text, and outcome values stay outcomes."""
    if rename is None:
        return {}
    if not isinstance(rename, Mapping):
        raise TypeError(
            f"rename= must map log values to ids, e.g. {{'purchase_complete': 'purchase'}}; "
            f"got {type(rename).__name__}"
        )
    out: dict[str, str] = {}
    for value, new in rename.items():
        if not isinstance(value, str) or not isinstance(new, str) or not new.strip():
            raise EventLogError(
                f"rename: {value!r} -> {new!r}: both must be non-empty text (a log value "
                "and the id it stands for)"
            )
        if value in kinds and new not in kinds:
            raise EventLogError(
                f"rename: {value!r} -> {new!r} turns an outcome value into a touchpoint; "
                f"add {new!r} to outcomes= or leave {value!r} out of rename="
            )
        out[value] = new
    return out


def _template(stages: Any, outcomes: Any) -> JourneyMap | None:
    """The map whose names, order and details a fit keeps (``stages=``, else ``outcomes=``)."""
    if isinstance(stages, str | os.PathLike):
        from journeygraph.io import load

        try:
            return load(stages)
        except MapError as exc:
            raise EventLogError(f"stages: the stage map cannot be used: {exc}") from None
    if isinstance(stages, JourneyMap):
        return stages
    if isinstance(outcomes, JourneyMap):
        return outcomes
    return None


Row = tuple[str, str | None, str, bool, bool, int, str | None, int]


def _renamed_rows(rows: list[Row], renames: Mapping[str, str]) -> list[Row]:
    """Count rows with log values renamed to ids; rows that become equal are added."""
    if not renames:
        return rows

    def new(value: str | None) -> str | None:
        return None if value is None else renames.get(value, value)

    merged: dict[tuple[Any, ...], int] = defaultdict(int)
    for seg, prev, item, is_out, st, kind, nxt, n in rows:
        merged[(seg, new(prev), renames.get(item, item), is_out, st, kind, new(nxt))] += n
    return [(*key, n) for key, n in merged.items()]


Gaps = dict[tuple[str, str | None, str, str], tuple[float, int, float | None]]


def _renamed_durations(durations: Gaps, renames: Mapping[str, str]) -> Gaps:
    """Move gaps with log values renamed; merged moves keep exact sums and counts, but
    their median is unknown (``None``)."""
    out: Gaps = {}
    for (seg, prev, item, nxt), (total, n, med) in durations.items():
        key = (
            seg,
            None if prev is None else renames.get(prev, prev),
            renames.get(item, item),
            renames.get(nxt, nxt),
        )
        if key in out:
            old_total, old_n, _ = out[key]
            out[key] = (old_total + total, old_n + n, None)
        else:
            out[key] = (total, n, med)
    return out


#: Units a fitted duration is given in, largest first, in microseconds.
_UNITS_US = (
    ("week", 604_800e6),
    ("day", 86_400e6),
    ("hour", 3_600e6),
    ("minute", 60e6),
    ("second", 1e6),
)


def _duration_unit(durations: Gaps) -> tuple[str, float]:
    """The largest unit that the mean observed gap of the whole log reaches (else second)."""
    total = sum(v[0] for v in durations.values())
    count = sum(v[1] for v in durations.values())
    mean = total / count if count else 0.0
    for unit, size in _UNITS_US:
        if mean >= size:
            return unit, size
    return _UNITS_US[-1]


def _renamed_first_seen(first: Mapping[str, float], renames: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value, when in first.items():
        key = renames.get(value, value)
        out[key] = min(out.get(key, when), when)
    return out


def fit_paths(
    table: Any,
    *,
    path: str = "path",
    conversions: str = "total_conversions",
    nulls: str = "total_null",
    sep: str = " > ",
    stages: Any = None,
    name: str | None = None,
    conversion: str = "conversion",
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
) -> JourneyMap:
    """Fit a map from an aggregated attribution path table (ChannelAttribution's input).

    One row per distinct path such as ``"search > email > site"``, with the number of
    journeys along it that converted and that did not. Each path's channels are
    touchpoints; its journeys enter at the first channel, move along the path and end
    in the ``conversion`` outcome or in ``churn``. The removal effects of the fitted
    map are those of first-order Markov attribution of the paths (Anderl et al. 2016).

    Parameters
    ----------
    table
        pandas/polars DataFrame, pyarrow Table, or a CSV/Parquet file path.
    path, conversions, nulls
        Column names; counts are non-negative numbers (``nulls`` may be omitted by
        passing ``None``).
    sep
        Separator between channels in a path.
    stages, name, churn, unknown_touchpoints
        As in :func:`fit`.
    conversion
        Id of the conversion outcome.

    Returns
    -------
    JourneyMap

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["search > site", "email"],
    ...                       "total_conversions": [3, 0], "total_null": [1, 2]})
    >>> jm = jg.fit_paths(paths)
    >>> sorted((m.source, m.target, m.weight) for m in jm.moves)
    [('email', 'churn', 2.0), ('search', 'site', 4.0), ('site', 'churn', 1.0), ('site', 'conversion', 3.0)]
    """
    arrow, where, default_name = _paths_table(table, [c for c in (path, conversions, nulls) if c])
    conv = _count_column(arrow, conversions, where)
    lost = _count_column(arrow, nulls, where) if nulls else np.zeros(arrow.num_rows)
    # Split and count on whole columns (journeygraph._paths_count), no loop per row.
    counts = count_paths(arrow, path, conv, lost, sep, where)
    names = counts.channels
    clash = sorted({conversion, churn} & set(names))
    if clash:
        raise EventLogError(
            f"{where}: channel {clash[0]!r} has the same id as an outcome; pass "
            "conversion= or churn= with another id"
        )
    touchpoints = list(names)
    entry = {names[i]: float(counts.entry[i]) for i in np.flatnonzero(counts.entry)}
    moves: dict[tuple[str, str], float] = {
        (names[a], names[b]): w
        for a, b, w in zip(
            counts.pair_from.tolist(),
            counts.pair_to.tolist(),
            counts.pair_weight.tolist(),
            strict=True,
        )
    }
    for outcome, ends in ((conversion, counts.converted), (churn, counts.lost)):
        moves.update({(names[i], outcome): float(ends[i]) for i in np.flatnonzero(ends)})
    outcome_kinds = {conversion: "conversion", churn: "churn"}
    used = {o for (_, o) in moves if o in outcome_kinds}
    report = FitReport(
        engine="paths",
        input_rows=arrow.num_rows,
        events=int(counts.events),
        journeys=int(counts.journeys),
        censored_journeys=0,
        single_event_journeys=0,
        dropped={},
    )
    stage_of, stage_list, details = _stages(
        stages, touchpoints, entry, moves, unknown_touchpoints, where
    )
    return _build_map(
        name=name or default_name,
        entry=entry,
        moves=moves,
        touchpoints=touchpoints,
        outcome_kinds={o: k for o, k in outcome_kinds.items() if o in used},
        stage_of=stage_of,
        stage_list=stage_list,
        details=details,
        metadata={"fit": report.to_dict()},
        persona=None,
        where=where,
    )


def collapse_order(jm: JourneyMap) -> JourneyMap:
    """A second-order map collapsed back to first-order touchpoints.

    States ``(previous, current)`` are merged into ``current``, adding their counts,
    so collapsing ``fit(..., order=2)`` gives exactly ``fit(..., order=1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"c": [1, 1, 2, 2], "t": [1, 2, 1, 2],
    ...                     "e": ["ad", "shop", "shop", "ad"]})
    >>> m2 = jg.fit(log, customer="c", time="t", touchpoint="e", order=2)
    >>> sorted(t.id for t in m2.touchpoints)
    ['(start) > ad', '(start) > shop', 'ad > shop', 'shop > ad']
    >>> sorted(t.id for t in jg.collapse_order(m2).touchpoints)
    ['ad', 'shop']
    """
    jm = _args.journey_map(jm, "jm")
    states = jm.metadata.get("states")
    if not isinstance(states, dict):
        raise MapError(f"map {jm.name!r} is not a second-order map (no metadata 'states')")
    current = {s: str(pair[1]) for s, pair in states.items() if isinstance(pair, list)}
    entry: dict[str, float] = defaultdict(float)
    for s, w in jm.entry.items():
        entry[current[s]] += w
    moves: dict[tuple[str, str], float] = defaultdict(float)
    for m in jm.moves:
        moves[(current[m.source], current.get(m.target, m.target))] += m.weight
    by_id = {t.id: t for t in jm.touchpoints}
    touchpoints: dict[str, Touchpoint] = {}
    for s in sorted(current, key=lambda s: [t.id for t in jm.touchpoints].index(s)):
        tp = by_id[s]
        touchpoints.setdefault(
            current[s], tp.model_copy(update={"id": current[s], "name": tp.name})
        )
    metadata = {k: v for k, v in jm.metadata.items() if k != "states"}
    fit_data = metadata.get("fit")
    if isinstance(fit_data, dict):
        metadata["fit"] = {**fit_data, "order": 1}
    return JourneyMap(
        name=jm.name,
        description=jm.description,
        persona=jm.persona,
        stages=jm.stages,
        touchpoints=tuple(
            sorted(touchpoints.values(), key=lambda t: (jm.stage_position(t.stage), t.id))
        ),
        outcomes=jm.outcomes,
        entry=dict(entry),
        moves=[{"from": a, "to": b, "weight": w} for (a, b), w in moves.items()],
        metadata=metadata,
    )


def touchpoint_removal_effects(jm: JourneyMap) -> dict[str, float]:
    """Removal effect of each touchpoint of a second-order map: all its states at once.

    In a map fitted with ``order=2`` a touchpoint is several states (``"ad > site"``,
    ``"email > site"``...), and ``jg.analyze(jm).removal_effects`` gives one effect per
    state. Removing the *touchpoint* removes every state whose current touchpoint it
    is: journeys that would pass through any of them are lost. For a first-order map
    each touchpoint is its own state and this equals ``removal_effects``.

    Parameters
    ----------
    jm
        A journey map; second-order maps are read through ``metadata["states"]`` (or
        their state ids, see :func:`split_state`).

    Returns
    -------
    dict of str to float
        ``{touchpoint: 1 - P(convert without it) / P(convert)}``, in the map's order;
        all 0.0 when the map never converts.

    Notes
    -----
    With T the states kept (those whose touchpoint is not k), Q and R restricted to
    them and π0 the entry distribution (mass entering a removed state is lost):
    ``P_without_k = π0_Tᵀ (I - Q_TT)⁻¹ R_T,conv`` (DESIGN.md's absorbing-chain maths;
    the per-state effect of Anderl et al. 2016 generalised to a set of states).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"c": [1, 1, 1, 2, 2], "t": [1, 2, 3, 1, 2],
    ...                     "e": ["ad", "site", "buy", "site", "buy"]})
    >>> m2 = jg.fit(log, customer="c", time="t", touchpoint="e",
    ...             outcomes={"buy": "conversion"}, order=2)
    >>> from journeygraph.fit import touchpoint_removal_effects
    >>> touchpoint_removal_effects(m2)
    {'ad': 0.5, 'site': 1.0}
    """
    from scipy.sparse import identity
    from scipy.sparse.linalg import spsolve

    from journeygraph.chain import to_chain

    if not isinstance(jm, JourneyMap):
        raise TypeError(f"jm must be a JourneyMap, not {type(jm).__name__}")
    chain = to_chain(jm)
    states = jm.metadata.get("states")
    current: dict[str, str] = {}
    for state in chain.touchpoints:
        pair = states.get(state) if isinstance(states, dict) else None
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
            current[state] = pair[1]
        elif isinstance(states, dict):
            current[state] = split_state(state)[1]
        else:
            current[state] = state
    kinds = {o.id: o.kind for o in jm.outcomes}
    conv = np.array([kinds[o] == "conversion" for o in chain.outcomes], dtype=float)
    to_conversion = chain.R @ conv

    def converting(keep: np.ndarray) -> float:
        idx = np.flatnonzero(keep)
        if not len(idx):
            return 0.0
        q = chain.Q[idx][:, idx]
        system = (identity(len(idx), format="csc") - q).T.tocsc()
        visits = np.atleast_1d(spsolve(system, chain.entry[idx]))
        return float(visits @ to_conversion[idx])

    everything = converting(np.ones(chain.size, dtype=bool))
    labels = np.array([current[s] for s in chain.touchpoints], dtype=object)
    out: dict[str, float] = {}
    for touchpoint in dict.fromkeys(labels.tolist()):
        if everything <= 0:
            out[touchpoint] = 0.0
            continue
        without = converting(labels != touchpoint)
        out[touchpoint] = float(min(max(1.0 - without / everything, 0.0), 1.0))
    return out


# -- sources --------------------------------------------------------------------------


def _count(source: Any, spec: Spec, engine: str, bar: Progress) -> tuple[Counts, str, str]:
    if engine not in ("auto", "numpy", "duckdb", "spark"):
        raise EventLogError(f"engine={engine!r}: use 'auto', 'numpy', 'duckdb' or 'spark'")
    if isinstance(source, str | os.PathLike):
        files, kind = _files(source)
        where = str(source)
        if kind == "csv":
            for f in files:
                check_unique_columns(_csv_header(f, where), [c for _, c in spec.columns], f)
        stem = Path(files[0]).name.split(".")[0] if len(files) == 1 else Path(str(source)).name
        if engine in ("auto", "duckdb"):
            bar.plan("fit (duckdb)", _DUCKDB_PHASES)
            counts = count_duckdb(None, spec, where, kind=kind, files=files, bar=bar)
            return counts, where, stem
        if engine == "numpy":
            bar.plan("fit (numpy)", ["read", *_NUMPY_PHASES])
            bar.phase("read")
            return count_arrow(_read_files(files, kind, where), spec, where, bar), where, stem
        raise EventLogError(
            "engine='spark' needs a Spark DataFrame: read the files with "
            "spark.read.parquet(...) and pass the DataFrame"
        )
    if _is_spark(source):
        if engine not in ("auto", "spark"):
            raise EventLogError(
                f"engine={engine!r} cannot read a Spark DataFrame; use engine='spark' (the "
                "counting runs on the cluster and only the count table is collected)"
            )
        bar.plan("fit (spark)", _DUCKDB_PHASES)
        counts = count_spark(source, spec, "Spark DataFrame", bar)
        return counts, "Spark DataFrame", "fitted journey"
    if engine == "spark":
        raise EventLogError("engine='spark' needs a Spark DataFrame")
    table, where = _to_arrow(source, [c for _, c in spec.columns])
    if engine == "duckdb":
        bar.plan("fit (duckdb)", _DUCKDB_PHASES)
        return count_duckdb(table, spec, where, kind="arrow", bar=bar), where, "fitted journey"
    bar.plan("fit (numpy)", _NUMPY_PHASES)
    return count_arrow(table, spec, where, bar), where, "fitted journey"


def _is_spark(source: Any) -> bool:
    return type(source).__module__.startswith("pyspark.") and hasattr(source, "toDF")


def _to_arrow(source: Any, wanted: Sequence[str]) -> tuple[Any, str]:
    """An in-memory table as a pyarrow Table (only the columns needed, when present)."""
    pa = require("pyarrow", extra="files", feature="fit")
    module = type(source).__module__
    if module.startswith("pyarrow"):
        if not isinstance(source, pa.Table):
            raise EventLogError(f"cannot fit a {type(source).__name__}; pass a pyarrow Table")
        check_unique_columns(source.column_names, wanted, "table")
        return source, "table"
    if module.startswith("polars") and hasattr(source, "to_arrow"):
        return source.to_arrow(), "DataFrame"
    if module.startswith("pandas") and hasattr(source, "columns"):
        if isinstance(source.index, type(source.columns)) is False:
            pass
        names = [str(c) for c in source.columns]
        check_unique_columns(names, wanted, "DataFrame")
        take = [c for c in source.columns if str(c) in set(wanted)]
        arrays = {}
        for c in take:
            try:
                arrays[str(c)] = pa.array(source[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise EventLogError(
                    f"DataFrame: column {str(c)!r} mixes kinds of values (text, numbers, "
                    f"times) that cannot be read as one type: {str(exc).splitlines()[0]}"
                ) from None
        if not arrays:
            return pa.table({n: pa.nulls(len(source)) for n in names}), "DataFrame"
        table = pa.table(arrays)
        missing = [n for n in names if n not in arrays]
        for n in missing:
            table = table.append_column(n, pa.nulls(len(source)))
        return table, "DataFrame"
    raise EventLogError(
        f"cannot fit a {type(source).__name__}: pass a pandas or polars DataFrame, a pyarrow "
        "Table, a Spark DataFrame or the path of a CSV or Parquet file"
    )


def _files(source: str | os.PathLike[str]) -> tuple[list[str], str]:
    """The files a path/glob/folder names, and whether they are Parquet or CSV."""
    text = str(source)
    if not os.path.exists(text) and any(ch in text for ch in "*?["):
        files = sorted(_glob.glob(text, recursive=True))
        if not files:
            raise EventLogError(f"{text}: no files match this pattern")
    elif os.path.isdir(text):
        files = sorted(
            str(p) for p in Path(text).rglob("*") if p.is_file() and _kind_of(p.name) is not None
        )
        if not files:
            raise EventLogError(f"{text}: the folder holds no .parquet or .csv files")
    elif os.path.exists(text):
        files = [text]
    else:
        raise EventLogError(f"{text}: no such file or folder")
    kinds = set()
    for f in files:
        kind = _kind_of(f)
        if kind is None:
            raise EventLogError(
                f"{f}: not a CSV or Parquet file (the name ends in {Path(f).suffix!r}); "
                "export the log as .csv or .parquet"
            )
        _sniff(f, kind)
        kinds.add(kind)
    if len(kinds) > 1:
        raise EventLogError(f"{text}: mixes CSV and Parquet files; fit them separately")
    return files, kinds.pop()


def _kind_of(name: str) -> str | None:
    low = name.lower()
    if low.endswith(_PARQUET):
        return "parquet"
    if low.endswith(_CSV):
        return "csv"
    return None


def _sniff(path: str, kind: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise EventLogError(f"{path}: cannot read the file: {exc.strerror}") from None
    note_input(path)  # the command line never writes over a log it read
    if not head:
        raise EventLogError(f"{path}: the file is empty; an event log needs a header and rows")
    if kind == "parquet" and not head.startswith(b"PAR1"):
        raise EventLogError(
            f"{path}: not a Parquet file (it does not start with the Parquet magic bytes)"
        )
    if kind == "csv" and not path.lower().endswith(".gz"):
        if b"\x00" in head or head.startswith(b"PAR1"):
            raise EventLogError(f"{path}: not a CSV file (it holds binary data)")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if len(head) < 4096 or exc.start < len(head) - 4:
                raise EventLogError(
                    f"{path}: not a UTF-8 CSV file (byte {exc.start}); save it as UTF-8"
                ) from None


def _csv_header(path: str, where: str) -> list[str]:
    """The column names of a CSV file (gzip-compressed when it ends in ``.gz``)."""
    import csv
    import gzip

    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
                line = fh.readline()
        else:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                line = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise EventLogError(f"{where}: cannot read the event log {path}: {exc}") from None
    return next(csv.reader([line]), [])


def _unguard_arrow(column: Any) -> Any:
    """A CSV text column with the spreadsheet formula guard (``'=buy``) taken off."""
    pc = require("pyarrow.compute", extra="files", feature="fit")
    guarded = pc.match_substring_regex(column, FORMULA_GUARD)
    return pc.if_else(guarded, pc.utf8_slice_codeunits(column, 1), column)


def _read_files(files: list[str], kind: str, where: str) -> Any:
    pa = require("pyarrow", extra="files", feature="fit")
    try:
        if kind == "parquet":
            ds = require("pyarrow.dataset", extra="files", feature="fit")
            return ds.dataset(files, format="parquet").to_table()
        pacsv = require("pyarrow.csv", extra="files", feature="fit")
        tables = []
        for f in files:
            header = _csv_header(f, where)
            opts = pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            )
            table = pacsv.read_csv(f, convert_options=opts)
            columns = [_unguard_arrow(c) for c in table.columns]
            tables.append(pa.table(columns, names=table.column_names))
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
        raise EventLogError(f"{where}: cannot read the event log: {exc}") from None


def _paths_table(table: Any, wanted: list[str]) -> tuple[Any, str, str]:
    if isinstance(table, str | os.PathLike):
        files, kind = _files(table)
        return _read_files(files, kind, str(table)), str(table), Path(files[0]).name.split(".")[0]
    arrow, where = _to_arrow(table, wanted)
    missing = [c for c in wanted if c not in arrow.column_names]
    if missing:
        shown = ", ".join(repr(c) for c in arrow.column_names)
        hint = did_you_mean(missing[0], arrow.column_names)
        raise EventLogError(
            f"{where}: column {missing[0]!r} not found{hint}; the columns are {shown}"
        )
    return arrow, where, "attribution paths"


def _count_column(arrow: Any, column: str, where: str) -> np.ndarray:
    return count_column(arrow, column, where)


# -- maps from counts -----------------------------------------------------------------


def _outcome_kinds(outcomes: Mapping[str, str] | JourneyMap | None) -> dict[str, str]:
    if outcomes is None:
        return {}
    if isinstance(outcomes, JourneyMap):
        return {o.id: o.kind for o in outcomes.outcomes}
    if not isinstance(outcomes, Mapping):
        raise EventLogError(
            "outcomes= must map event values to kinds, e.g. {'purchase': 'conversion'}"
        )
    kinds = {}
    for value, kind in outcomes.items():
        if kind not in OUTCOME_KINDS:
            raise EventLogError(
                f"outcomes: {value!r} -> {kind!r} is not an outcome kind; use one of "
                f"{', '.join(OUTCOME_KINDS)}{did_you_mean(kind, OUTCOME_KINDS)}"
            )
        kinds[str(value)] = str(kind)
    return kinds


def _maps_from_counts(
    counts: Counts,
    spec: Spec,
    kinds: dict[str, str],
    *,
    where: str,
    name: str,
    stages: Any,
    churn: str,
    unknown: str,
    strict: bool,
    template: JourneyMap | None = None,
    declared: set[str] | None = None,
    allow_no_conversion: bool = False,
) -> JourneyMap | dict[str, JourneyMap]:
    dropped = dict(counts.dropped)
    dropped["outcome_without_touchpoint"] = sum(r[7] for r in counts.rows if r[3] and r[4])
    if strict and any(dropped.values()):
        reasons = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in dropped.items() if v)
        extra = ""
        if counts.capped_customers:
            extra = f" (capped: {', '.join(repr(c) for c in counts.capped_customers[:5])})"
        raise EventLogError(
            f"{where}: strict=True and rows were dropped: {reasons}{extra}; clean the log "
            "or fit without strict=True to count them in the report"
        )
    rows = [r for r in counts.rows if not (r[3] and r[4])]
    journeys_total = sum(r[7] for r in rows if not r[3] and r[4])
    if journeys_total == 0:
        what = "the log is empty" if counts.input_rows == 0 else "every row was dropped"
        reasons = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in dropped.items() if v)
        raise EventLogError(
            f"{where}: no journeys to fit: {what}" + (f" ({reasons})" if reasons else "")
        )

    _check_outcomes_occur(counts.rows, spec, declared or set(), where)

    # Pooled first-order counts decide the touchpoints, outcomes and stages, so every
    # segment map has the same stages (ready for jg.compare).
    pooled_entry: dict[str, float] = defaultdict(float)
    pooled_moves: dict[tuple[str, str], float] = defaultdict(float)
    ends: dict[str, float] = defaultdict(float)
    for _s, _p, item, is_out, st, kind, nxt, n in rows:
        if is_out:
            continue
        if st:
            pooled_entry[item] += n
        if kind in (MOVE, TO_OUTCOME):
            pooled_moves[(item, str(nxt))] += n
        elif kind == CHURN:
            pooled_moves[(item, churn)] += n
        else:
            ends[item] += n
    touchpoints = sorted({r[2] for r in rows if not r[3]})
    clash = churn in touchpoints or churn in kinds
    if clash and any(o == churn for (_, o) in pooled_moves):
        raise EventLogError(
            f"{where}: {churn!r} is already a touchpoint or outcome value; pass churn= "
            "with another id for the outcome of journeys that end without an outcome event"
        )
    _check_absorbing(touchpoints, pooled_moves, ends, where)
    stage_of, stage_list, details = _stages(
        stages, touchpoints, pooled_entry, pooled_moves, unknown, where
    )
    seen_outcomes = sorted({str(r[6]) for r in rows if r[5] == TO_OUTCOME})
    conversions = [o for o, k in kinds.items() if k == "conversion"]
    if (
        conversions
        and not allow_no_conversion
        and not any(kinds[o] == "conversion" for o in seen_outcomes)
    ):
        shown = ", ".join(repr(o) for o in conversions[:5])
        raise EventLogError(
            f"{where}: no journey ends in a conversion: the conversion outcome(s) {shown} "
            "never follow a touchpoint in a journey, so the map would show 0 % conversion; "
            "check outcomes= (and rename=), or pass allow_no_conversion=True "
            "(--allow-no-conversion) if the log really has none"
        )
    # Outcomes in the template's order (its names too), then the others by id.
    template_outcomes = [o.id for o in template.outcomes] if template is not None else []
    seen_outcomes.sort(
        key=lambda o: (
            template_outcomes.index(o) if o in template_outcomes else len(template_outcomes),
            o,
        )
    )
    outcome_kinds = {o: kinds[o] for o in seen_outcomes}
    if any(o == churn for (_, o) in pooled_moves):
        outcome_kinds[churn] = "churn"
    outcome_names = (
        {o.id: o.name for o in template.outcomes if o.name is not None}
        if template is not None
        else {}
    )
    unseen_touchpoints: tuple[str, ...] = ()
    unseen_outcomes: tuple[str, ...] = ()
    new_touchpoints: tuple[str, ...] = ()
    if template is not None:
        fitted = set(touchpoints)
        unseen_touchpoints = tuple(t.id for t in template.touchpoints if t.id not in fitted)
        known = {t.id for t in template.touchpoints}
        new_touchpoints = tuple(
            sorted(
                (t for t in touchpoints if t not in known),
                key=lambda t: (counts.first_seen.get(t, np.inf), t),
            )
        )
        unseen_outcomes = tuple(
            o.id
            for o in template.outcomes
            if o.id in kinds and o.id not in outcome_kinds and o.id != churn
        )
        if unseen_touchpoints or unseen_outcomes:
            parts = []
            if unseen_touchpoints:
                parts.append("touchpoint(s) " + ", ".join(repr(t) for t in unseen_touchpoints[:8]))
            if unseen_outcomes:
                parts.append("outcome(s) " + ", ".join(repr(o) for o in unseen_outcomes[:8]))
            warnings.warn(
                f"{where}: the template's {' and '.join(parts)} never occur in the log, so "
                "the fitted map leaves them out; check the values (rename= maps log values "
                "onto template ids)",
                JourneyGraphWarning,
                stacklevel=3,
            )
    order_rank = _touchpoint_rank(touchpoints, template, counts.first_seen)

    unit, unit_size = _duration_unit(counts.durations)

    def report_of(part: list[Any]) -> FitReport:
        """The report of these count rows (all of them, or one segment's)."""
        return FitReport(
            engine=counts.engine,
            input_rows=counts.input_rows,
            events=sum(r[7] for r in part),
            journeys=sum(r[7] for r in part if r[4]),  # rows that start a journey
            censored_journeys=sum(r[7] for r in part if r[5] == CENSORED),
            single_event_journeys=sum(r[7] for r in part if r[4] and r[5] in (CHURN, CENSORED)),
            dropped=dropped,
            capped_customers=tuple(counts.capped_customers),
            order=spec.order,
            unseen_touchpoints=unseen_touchpoints,
            unseen_outcomes=unseen_outcomes,
            new_touchpoints=new_touchpoints,
        )

    pooled = report_of(rows)
    segments = sorted({r[0] for r in rows})
    maps: dict[str, JourneyMap] = {}
    for seg in segments:
        seg_rows = [r for r in rows if r[0] == seg]
        entry: dict[str, float] = defaultdict(float)
        moves: dict[tuple[str, str], float] = defaultdict(float)
        seg_ends: dict[str, float] = defaultdict(float)
        states: dict[str, list[str | None]] = {}

        for _s, prev, item, _o, st, kind, nxt, n in seg_rows:
            here = _state(prev, item, spec.order, states)
            if st:
                entry[here] += n
            if kind == MOVE:
                moves[(here, _state(item, str(nxt), spec.order, states))] += n
            elif kind == TO_OUTCOME:
                moves[(here, str(nxt))] += n
            elif kind == CHURN:
                moves[(here, churn)] += n
            elif kind == CENSORED:
                seg_ends[here] += n
        seg_durations: dict[tuple[str, str], dict[str, Any]] = {}
        for (d_seg, d_prev, d_item, d_next), (total, n, med) in counts.durations.items():
            if d_seg != seg or n == 0:
                continue
            if spec.order == 2:
                source = state_id(d_prev, d_item)
                target = d_next if d_next in kinds else state_id(d_item, d_next)
            else:
                source, target = d_item, d_next
            seg_durations[(source, target)] = {
                "mean": total / n / unit_size,
                "unit": unit,
                **({"median": med / unit_size} if med is not None else {}),
                "count": n,
            }
        seg_touch = sorted({s for s, _ in moves} | set(entry) | set(seg_ends))
        if spec.order == 2:
            collisions = sorted(set(states) & (set(touchpoints) | set(kinds)))
            if collisions:
                raise EventLogError(
                    f"{where}: second-order state {collisions[0]!r} has the same id as a "
                    "touchpoint; rename touchpoints that contain ' > '"
                )
        _check_absorbing(seg_touch, moves, seg_ends, where)
        report = report_of(seg_rows)
        if spec.segment is not None:
            # The segment's own figures, and the pooled report beside them.
            own = counts.segments.get(seg, {})
            seg_dropped = {key: int(own.get(key, 0)) for key in dropped}
            seg_dropped["null_segment"] = 0
            seg_dropped["outcome_without_touchpoint"] = sum(
                r[7] for r in counts.rows if r[0] == seg and r[3] and r[4]
            )
            report = replace(
                report,
                input_rows=int(own.get("input_rows", 0)),
                dropped=seg_dropped,
                capped_customers=tuple(counts.segment_capped.get(seg, ())),
                segment=seg,
                pooled=pooled,
            )
        metadata: dict[str, Any] = {"fit": report.to_dict()}
        if spec.order == 2:
            metadata["states"] = {s: states[s] for s in seg_touch}
            seg_stage = {s: stage_of[states[s][1] or ""] for s in seg_touch}
            seg_details = {
                s: {
                    **details.get(states[s][1] or "", {}),
                    "name": details.get(states[s][1] or "", {}).get("name", states[s][1]),
                }
                for s in seg_touch
            }
        else:
            seg_stage, seg_details = stage_of, details
        seg_outcomes = {o: k for o, k in outcome_kinds.items()}
        before = (-1, -1.0, "")
        seg_rank: dict[str, tuple[Any, ...]]
        if spec.order == 2:
            seg_rank = {
                s: (order_rank[states[s][1] or ""], order_rank.get(states[s][0] or "", before), s)
                for s in seg_touch
            }
        else:
            seg_rank = {t: (order_rank[t], before, t) for t in seg_touch}
        persona = Persona(id=seg, name=seg) if spec.segment else None
        if persona is None and template is not None:
            persona = template.persona
        maps[seg] = _build_map(
            name=name,
            rank=seg_rank,
            durations=seg_durations,
            outcome_names=outcome_names,
            entry=dict(entry),
            moves=dict(moves),
            touchpoints=seg_touch,
            outcome_kinds=seg_outcomes,
            stage_of=seg_stage,
            stage_list=stage_list,
            details=seg_details,
            metadata=metadata,
            persona=persona,
            where=where,
        )
    if spec.segment is None:
        return maps[segments[0]]
    return maps


def _check_outcomes_occur(rows: Sequence[Row], spec: Spec, declared: set[str], where: str) -> None:
    """An outcome value of an ``outcomes=`` mapping that never occurs is an error."""
    outcomes_seen = {r[2] for r in rows if r[3]}
    missing = sorted(declared - outcomes_seen)
    if not missing:
        return
    if spec.outcome is not None:
        column, values = spec.outcome, sorted(outcomes_seen)
    else:
        column, values = spec.touchpoint, sorted({r[2] for r in rows})
    shown = ", ".join(repr(v) for v in values[:12]) + (" ..." if len(values) > 12 else "")
    raise EventLogError(
        f"{where}: outcome value {missing[0]!r} (outcomes=) never occurs in column "
        f"{column!r}{did_you_mean(missing[0], values)}; the values there are "
        f"{shown or 'none'}; fix outcomes=, or map a log value onto it with rename="
    )


def _touchpoint_rank(
    touchpoints: Sequence[str], template: JourneyMap | None, first_seen: Mapping[str, float]
) -> dict[str, tuple[int, float, str]]:
    """Order within a stage: the template's touchpoints in its order, then the others
    by first appearance in the log (ties by id)."""
    position = {t.id: i for i, t in enumerate(template.touchpoints)} if template is not None else {}
    later = len(position)
    return {
        t: (position.get(t, later), 0.0 if t in position else first_seen.get(t, np.inf), t)
        for t in touchpoints
    }


def _state(prev: str | None, item: str, order: int, states: dict[str, list[str | None]]) -> str:
    """The state id of an event: the touchpoint, or (order 2) "previous > touchpoint"."""
    if order == 1:
        return item
    label = state_id(prev, item)
    states[label] = [prev, item]
    return label


def _escape_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace(">", "\\>").replace("(", "\\(")


def state_id(previous: str | None, current: str) -> str:
    """The id of a second-order state: ``"previous > current"``, ``"(start) > current"``.

    A ``\\`` in a touchpoint id is written ``\\\\``, a ``>`` is written ``\\>`` and a
    ``(`` is written ``\\(``, so two different pairs never get the same id and
    :func:`split_state` reads every id back.

    Examples
    --------
    >>> from journeygraph.fit import split_state, state_id
    >>> print(state_id("x > a", "b"), "|", state_id("x", "a > b"))
    x \\> a > b | x > a \\> b
    >>> split_state(state_id("x > a", "b"))
    ('x > a', 'b')
    """
    first = START if previous is None else _escape_part(previous)
    return f"{first}{STATE_SEP}{_escape_part(current)}"


def split_state(state: str) -> tuple[str | None, str]:
    """The (previous, current) touchpoints of a second-order state id; ``None`` for start.

    Raises
    ------
    MapError
        ``state`` is not an id that :func:`state_id` writes.
    """
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(state):
        ch = state[i]
        if ch == "\\" and i + 1 < len(state) and state[i + 1] in "\\>(":
            buf.append(state[i + 1])
            i += 2
            continue
        if state.startswith(STATE_SEP, i):
            parts.append("".join(buf))
            buf = []
            i += len(STATE_SEP)
            continue
        if ch in "\\>":
            break
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    if i < len(state) or len(parts) != 2 or not parts[0] or not parts[1]:
        raise MapError(f"{state!r} is not a second-order state id such as 'search > email'")
    previous = None if state.startswith(START + STATE_SEP) else parts[0]
    return previous, parts[1]


def _check_absorbing(
    touchpoints: Sequence[str],
    moves: Mapping[tuple[str, str], float],
    open_ends: Mapping[str, float],
    where: str,
) -> None:
    """Every fitted touchpoint must reach an outcome; only censoring can prevent it."""
    known = set(touchpoints)
    back: dict[str, list[str]] = defaultdict(list)
    good: set[str] = set()
    for (a, b), w in moves.items():
        if w <= 0:
            continue
        if b in known:
            back[b].append(a)
        else:
            good.add(a)
    queue = list(good)
    while queue:
        for a in back.get(queue.pop(), ()):
            if a not in good:
                good.add(a)
                queue.append(a)
    trapped = sorted(known - good)
    if trapped:
        shown = ", ".join(repr(t) for t in trapped[:8])
        raise EventLogError(
            f"{where}: touchpoint(s) {shown} appear only in journeys that are still open "
            "(censored), so the log never shows how journeys leave them; shorten window=, "
            "move observed_until= or collect a longer log"
        )


def _stages(
    stages: Any,
    touchpoints: list[str],
    entry: Mapping[str, float],
    moves: Mapping[tuple[str, str], float],
    unknown: str,
    where: str,
) -> tuple[dict[str, str], list[Stage], dict[str, dict[str, Any]]]:
    """(touchpoint -> stage id, ordered stages, touchpoint details from a template)."""
    details: dict[str, dict[str, Any]] = {}
    if stages is None:
        order = _infer_order(touchpoints, moves)
        stage_of = {t: f"{t} (stage)" for t in touchpoints}
        return stage_of, [Stage(id=stage_of[t], name=t) for t in order], details
    stage_list: list[Stage]
    if isinstance(stages, str | os.PathLike | JourneyMap):
        from journeygraph.io import load

        try:
            template = stages if isinstance(stages, JourneyMap) else load(stages)
        except MapError as exc:
            raise EventLogError(f"stages: the stage map cannot be used: {exc}") from None
        mapping = {t.id: t.stage for t in template.touchpoints}
        stage_list = list(template.stages)
        details = {
            t.id: t.model_dump(exclude={"id", "stage"}, exclude_defaults=True)
            for t in template.touchpoints
        }
    elif isinstance(stages, Mapping):
        values = list(stages.values())
        if values and all(isinstance(v, Sequence) and not isinstance(v, str) for v in values):
            mapping = {str(t): str(s) for s, ts in stages.items() for t in ts}
            order_ids = [str(s) for s in stages]
        elif all(isinstance(v, str) for v in values):
            mapping = {str(t): str(s) for t, s in stages.items()}
            order_ids = list(dict.fromkeys(mapping.values()))
        else:
            raise EventLogError(
                "stages= must map touchpoint -> stage, or stage -> list of touchpoints"
            )
        stage_list = [Stage(id=s) for s in order_ids]
    else:
        raise EventLogError(
            "stages= must be a touchpoint -> stage mapping, a stage -> touchpoints mapping, "
            "a JourneyMap or the path of a map file"
        )
    missing = [t for t in touchpoints if t not in mapping]
    if missing and unknown == "error":
        first = missing[0]
        shown = ", ".join(repr(t) for t in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise EventLogError(
            f"{where}: touchpoint(s) {shown}{more} have no stage in stages="
            f"{did_you_mean(first, mapping)}; add them, or pass unknown_touchpoints='other' "
            "to put them in an 'other' stage"
        )
    stage_of = {t: mapping.get(t, "other") for t in touchpoints}
    if missing and all(s.id != "other" for s in stage_list):
        stage_list.append(Stage(id="other", name="Other"))
    return stage_of, stage_list, details


def _infer_order(touchpoints: list[str], moves: Mapping[tuple[str, str], float]) -> list[str]:
    """Touchpoints by expected moves left until the journey ends, most first."""
    index = {t: i for i, t in enumerate(touchpoints)}
    size = len(touchpoints)
    flow = np.zeros((size, size))
    total = np.zeros(size)
    for (a, b), w in moves.items():
        total[index[a]] += w
        if b in index:
            flow[index[a], index[b]] += w
    # Touchpoints whose every journey is still open end "now": no moves left.
    total = np.where(total > 0, total, 1.0)
    remaining = np.linalg.solve(np.eye(size) - flow / total[:, None], np.ones(size))
    return sorted(touchpoints, key=lambda t: (-round(float(remaining[index[t]]), 9), t))


def _build_map(
    *,
    name: str,
    entry: dict[str, float],
    moves: dict[tuple[str, str], float],
    touchpoints: list[str],
    outcome_kinds: dict[str, str],
    stage_of: Mapping[str, str],
    stage_list: list[Stage],
    details: Mapping[str, Mapping[str, Any]],
    metadata: dict[str, Any],
    persona: Persona | None,
    where: str,
    rank: Mapping[str, tuple[Any, ...]] | None = None,
    outcome_names: Mapping[str, str] | None = None,
    durations: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> JourneyMap:
    position = {s.id: i for i, s in enumerate(stage_list)}
    within = rank or {}
    ordered = sorted(touchpoints, key=lambda t: (position[stage_of[t]], within.get(t, ()), t))
    index = {t: i for i, t in enumerate(ordered)}
    used_outcomes = {b for (_, b) in moves if b in outcome_kinds}
    names = outcome_names or {}
    gaps = durations or {}
    try:
        return JourneyMap(
            name=name,
            persona=persona,
            stages=stage_list,
            touchpoints=[{"id": t, **details.get(t, {}), "stage": stage_of[t]} for t in ordered],
            outcomes=[
                {"id": o, "kind": k, **({"name": names[o]} if o in names else {})}
                for o, k in outcome_kinds.items()
                if o in used_outcomes
            ],
            entry={t: float(w) for t, w in sorted(entry.items())},
            moves=[
                {
                    "from": a,
                    "to": b,
                    "weight": float(w),
                    **({"duration": dict(gaps[(a, b)])} if (a, b) in gaps else {}),
                }
                for (a, b), w in sorted(moves.items(), key=lambda kv: (index[kv[0][0]], kv[0][1]))
            ],
            metadata=metadata,
        )
    except JourneyGraphError as exc:
        raise EventLogError(f"{where}: the fitted map is not valid: {exc}") from None
