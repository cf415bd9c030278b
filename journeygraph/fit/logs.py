"""Fitting a map from an event log: :func:`fit`, and turning its options into a :class:`~journeygraph.fit.spec.Spec`."""

from __future__ import annotations

import datetime
import os
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias, overload

from journeygraph import _args
from journeygraph._progress import Progress, ProgressCallback, check_progress
from journeygraph.errors import (
    EventLogError,
    MapError,
)
from journeygraph.fit.build import Gaps, Row, _maps_from_counts, _outcome_kinds
from journeygraph.fit.sources import _count
from journeygraph.fit.spec import (
    Spec,
)
from journeygraph.model import JourneyMap

__all__ = ["Engine", "fit"]

Engine = Literal["auto", "numpy", "duckdb", "spark"]


# -- public functions -----------------------------------------------------------------


# Types of fit's options (documented in the Parameters of fit).
#: A touchpoint -> stage mapping, a stage -> touchpoints mapping, or a template map
#: (a JourneyMap or the path of a map file).
_Stages: TypeAlias = (
    Mapping[str, str] | Mapping[str, Sequence[str]] | JourneyMap | str | os.PathLike[str]
)
#: A duration: text such as ``"30min"``, a timedelta, or a number for numeric times.
_Duration: TypeAlias = str | datetime.timedelta | float
#: An instant: ISO 8601 text, a datetime or date, or a number for numeric times.
_Instant: TypeAlias = str | datetime.datetime | datetime.date | float
_Progress: TypeAlias = bool | ProgressCallback | None

# The column options' names before they were grouped by the ``_column`` suffix.
_OLD_COLUMNS = {
    "customer": "customer_column",
    "time": "time_column",
    "touchpoint": "touchpoint_column",
    "outcome": "outcome_column",
    "segment": "segment_column",
}


@overload
def fit(
    source: object,
    *,
    customer_column: str,
    time_column: str,
    touchpoint_column: str,
    outcome_column: str | None = None,
    segment_column: None = None,
    outcomes: Mapping[str, str] | JourneyMap | None = None,
    stages: _Stages | None = None,
    window: _Duration | None = None,
    gap: _Duration | None = None,
    observed_until: _Instant | None = None,
    order: int = 1,
    engine: Engine = "auto",
    name: str | None = None,
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    max_events_per_customer: int | None = None,
    max_touchpoints: int = 500,
    strict: bool = False,
    progress: _Progress = None,
    rename: Mapping[str, str] | None = None,
    allow_no_conversion: bool = False,
    durations: bool = True,
) -> JourneyMap: ...


@overload
def fit(
    source: object,
    *,
    customer_column: str,
    time_column: str,
    touchpoint_column: str,
    outcome_column: str | None = None,
    segment_column: str,
    outcomes: Mapping[str, str] | JourneyMap | None = None,
    stages: _Stages | None = None,
    window: _Duration | None = None,
    gap: _Duration | None = None,
    observed_until: _Instant | None = None,
    order: int = 1,
    engine: Engine = "auto",
    name: str | None = None,
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    max_events_per_customer: int | None = None,
    max_touchpoints: int = 500,
    strict: bool = False,
    progress: _Progress = None,
    rename: Mapping[str, str] | None = None,
    allow_no_conversion: bool = False,
    durations: bool = True,
) -> dict[str, JourneyMap]: ...


@overload
def fit(
    source: object,
    *,
    customer: str,
    time: str,
    touchpoint: str,
    outcome: str | None = None,
    segment: str | None = None,
    outcomes: Mapping[str, str] | JourneyMap | None = None,
    stages: _Stages | None = None,
    window: _Duration | None = None,
    gap: _Duration | None = None,
    observed_until: _Instant | None = None,
    order: int = 1,
    engine: Engine = "auto",
    name: str | None = None,
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    max_events_per_customer: int | None = None,
    max_touchpoints: int = 500,
    strict: bool = False,
    progress: _Progress = None,
    rename: Mapping[str, str] | None = None,
    allow_no_conversion: bool = False,
    durations: bool = True,
) -> JourneyMap | dict[str, JourneyMap]: ...  # deprecated spelling: customer= ... segment=


def fit(
    source: object,
    *,
    customer_column: str | None = None,
    time_column: str | None = None,
    touchpoint_column: str | None = None,
    outcome_column: str | None = None,
    segment_column: str | None = None,
    outcomes: Mapping[str, str] | JourneyMap | None = None,
    stages: _Stages | None = None,
    window: _Duration | None = None,
    gap: _Duration | None = None,
    observed_until: _Instant | None = None,
    order: int = 1,
    engine: Engine = "auto",
    name: str | None = None,
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    max_events_per_customer: int | None = None,
    max_touchpoints: int = 500,
    strict: bool = False,
    progress: _Progress = None,
    rename: Mapping[str, str] | None = None,
    allow_no_conversion: bool = False,
    durations: bool = True,
    customer: str | None = None,
    time: str | None = None,
    touchpoint: str | None = None,
    outcome: str | None = None,
    segment: str | None = None,
) -> JourneyMap | dict[str, JourneyMap]:
    """Fit a journey map from an event log: weights are observed counts.

    Parameters
    ----------
    source
        A pandas or polars DataFrame, a pyarrow Table, a Spark DataFrame, or a path to
        CSV or Parquet: one file, a glob (``"logs/*.parquet"``) or a folder.
    customer_column, time_column, touchpoint_column
        Names of the log's columns holding the customer id, the event's time and the
        touchpoint. Times are timestamps, dates, ISO 8601 text or plain numbers. Every
        option naming a column ends in ``_column``, so ``outcome_column=`` (a column)
        and ``outcomes=`` (event values and their kinds) cannot be confused.
    outcome_column
        Column holding outcome values (null on touchpoint events); without it they are
        looked up in the touchpoint column.
    segment_column
        Column to split by: returns ``{segment value: JourneyMap}`` instead of one map.
    outcomes
        Event values that end a journey, and their kind: ``{"purchase": "conversion",
        "bought_rival_x": "competitor"}``. Each becomes an outcome of the map. A
        :class:`JourneyMap` stands for its own outcomes (``{o.id: o.kind}``), handy for
        logs written by :func:`journeygraph.simulate`, whose touchpoint column holds
        the outcome id on a journey's last event (its ``outcome`` column holds the
        *kind*, so do not pass it as ``outcome_column=``).
    stages
        Touchpoint -> stage mapping (stages ordered by first appearance), stage ->
        touchpoints mapping, a :class:`JourneyMap` or map file whose stages and
        touchpoint details to use; ``None`` infers one stage per touchpoint (see Notes).
        A map (here, else in ``outcomes=``) is the fit's template: its name (unless
        ``name=``), persona, stage and touchpoint order and details and outcome names
        are kept; touchpoints only in the log follow in order of first appearance.
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
        Report the fit's progress phase by phase (Spark stages with their tasks):
        ``True`` shows a ``tqdm`` bar when tqdm is installed (a widget in a notebook;
        ``pip install 'journeygraph[progress]'``), else one line per phase on stderr;
        ``False`` nothing; ``None`` (default) as ``True`` on an interactive terminal
        once the fit has run for a second, else nothing. A callable is called as
        ``progress(phase, done, total)``: ``done`` of ``total`` phases of the whole fit
        (fractional while Spark stages run), last ``("done", total, total)``.
    rename
        Log value -> id, applied to touchpoint and outcome values after counting:
        ``{"purchase_complete": "purchase"}`` maps the log's values onto a template's
        (or ``outcomes=``'s) ids. Values renamed onto an outcome id are outcome events.
    allow_no_conversion
        Accept a fit in which no journey ends in a conversion although ``outcomes=``
        declares one (by default that is an ``EventLogError``: usually a wrong value).
    durations
        Give each observed move its ``duration`` (mean, lower median and count of the
        gaps) for timestamp logs (default). ``False`` skips aggregating the gaps, which
        saves most of the time beyond counting (the exact medians need a sort), for an
        analyst who needs only the chain; the weights are the same either way.
    customer, time, touchpoint, outcome, segment
        Deprecated spellings of the ``*_column`` options: they still work, with a
        ``DeprecationWarning`` naming the new one; giving both spellings of one option is
        a ``TypeError``.

    Returns
    -------
    JourneyMap or dict of str to JourneyMap
        One map, or with ``segment_column=`` one map per segment value. Weights are
        counts; ``FitReport.of(jm)`` gives the report.

    Raises
    ------
    TypeError
        A missing column option, both spellings of one, or an option of the wrong type.
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
    >>> jm = jg.fit(log, customer_column="customer", time_column="time",
    ...             touchpoint_column="event", outcomes={"purchase": "conversion"},
    ...             stages={"ad": "aware", "shop": "act"})
    >>> dict(jm.entry)
    {'ad': 2.0, 'shop': 1.0}
    >>> sorted((m.source, m.target, m.weight) for m in jm.moves)
    [('ad', 'shop', 2.0), ('shop', 'churn', 2.0), ('shop', 'purchase', 1.0)]
    """
    given = {"customer": customer, "time": time, "touchpoint": touchpoint}
    given |= {"outcome": outcome, "segment": segment}
    news = {
        "customer_column": customer_column,
        "time_column": time_column,
        "touchpoint_column": touchpoint_column,
        "outcome_column": outcome_column,
        "segment_column": segment_column,
    }
    columns = _columns(news, given)
    progress = check_progress(progress)
    name = _args.optional_text(name, "name")
    if order not in (1, 2):
        raise EventLogError(f"order={order!r}: use 1, or 2 for second-order (memory) maps")
    kinds = _outcome_kinds(outcomes)
    if columns["outcome_column"] is not None and not kinds:
        raise EventLogError(
            f"outcome_column={columns['outcome_column']!r} names an outcome column, but "
            "outcomes= is empty; map its "
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
    if not isinstance(durations, bool):
        raise TypeError(f"durations must be True or False, not {type(durations).__name__}")
    renames = _renames(rename, kinds)
    template = _template(stages, outcomes)
    if isinstance(stages, str | os.PathLike):
        stages = template
    spec = Spec(
        customer=_required(columns, "customer_column"),
        time=_required(columns, "time_column"),
        touchpoint=_required(columns, "touchpoint_column"),
        outcome=columns["outcome_column"],
        segment=columns["segment_column"],
        outcome_values=tuple(sorted(set(kinds) | {v for v, t in renames.items() if t in kinds})),
        gap=gap,
        window=window,
        observed_until=observed_until,
        order=order,
        max_events=max_events_per_customer,
        max_touchpoints=max_touchpoints,
        durations=durations,
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


def _columns(new: Mapping[str, str | None], old: Mapping[str, str | None]) -> dict[str, str | None]:
    """The column options by their ``_column`` names, the deprecated spellings folded in."""
    out: dict[str, str | None] = {}
    for old_name, new_name in _OLD_COLUMNS.items():
        value, before = new[new_name], old[old_name]
        if before is not None:
            if value is not None:
                raise TypeError(
                    f"fit() got both {old_name}= and {new_name}=; pass only {new_name}= "
                    f"({old_name}= is its deprecated spelling)"
                )
            warnings.warn(
                f"fit(): {old_name}= is deprecated, use {new_name}={before!r} (every column "
                "option now ends in _column, so outcome_column= cannot be mistaken for "
                "outcomes=)",
                DeprecationWarning,
                stacklevel=3,
            )
            value = before
        required = new_name in ("customer_column", "time_column", "touchpoint_column")
        if value is None and required:
            raise TypeError(
                f"fit() missing required keyword argument: {new_name!r} (a column name, str)"
            )
        out[new_name] = (
            _args.text(value, new_name) if required else _args.optional_text(value, new_name)
        )
    return out


def _required(columns: Mapping[str, str | None], name: str) -> str:
    value = columns[name]
    assert value is not None  # _columns raised otherwise
    return value


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


def _template(stages: object, outcomes: object) -> JourneyMap | None:
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


def _renamed_first_seen(first: Mapping[str, float], renames: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value, when in first.items():
        key = renames.get(value, value)
        out[key] = min(out.get(key, when), when)
    return out
