"""Fitting a map from an attribution path table: :func:`fit_paths`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np

from journeygraph.errors import (
    EventLogError,
)
from journeygraph.fit.build import _build_map, _stages
from journeygraph.fit.logs import _Stages
from journeygraph.fit.paths_count import count_paths
from journeygraph.fit.report import FitReport
from journeygraph.fit.sources import _count_column, _paths_table
from journeygraph.model import JourneyMap

__all__ = ["fit_paths"]


def fit_paths(
    table: object,
    *,
    path_column: str = "path",
    conversions_column: str = "total_conversions",
    nulls_column: str | None = "total_null",
    sep: str = " > ",
    stages: _Stages | None = None,
    name: str | None = None,
    conversion: str = "conversion",
    churn: str = "churn",
    unknown_touchpoints: Literal["error", "other"] = "error",
    **deprecated: str | None,
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
    path_column, conversions_column, nulls_column
        Names of the columns holding the path and the numbers of its journeys that
        converted and that did not; counts are non-negative numbers (pass
        ``nulls_column=None`` for a table without the second). Like :func:`fit`'s, every
        option naming a column ends in ``_column``: ``conversions_column=`` is a column,
        ``conversion=`` the outcome's id.
    sep
        Separator between channels in a path.
    stages, name, churn, unknown_touchpoints
        As in :func:`fit`.
    conversion
        Id of the conversion outcome.
    **deprecated
        ``path=``, ``conversions=`` and ``nulls=``, the deprecated spellings of the
        ``*_column`` options: they work with a ``DeprecationWarning``; given together
        with the new spelling they are a ``TypeError``.

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
    path, conversions, nulls = _path_columns(
        deprecated,
        {
            "path_column": path_column,
            "conversions_column": conversions_column,
            "nulls_column": nulls_column,
        },
    )
    arrow, where, default_name = _paths_table(table, [c for c in (path, conversions, nulls) if c])
    conv = _count_column(arrow, conversions, where)
    lost = _count_column(arrow, nulls, where) if nulls else np.zeros(arrow.num_rows)
    # Split and count on whole columns (paths_count.py), no loop per row.
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
    # 40,400 moves for 200 channels: names looked up and paired at C level.
    sources = map(names.__getitem__, counts.pair_from.tolist())
    targets = map(names.__getitem__, counts.pair_to.tolist())
    moves: dict[tuple[str, str], float] = dict(
        zip(zip(sources, targets, strict=True), counts.pair_weight.tolist(), strict=True)
    )
    for outcome, ends in ((conversion, counts.converted), (churn, counts.lost)):
        moves.update({(names[i], outcome): float(ends[i]) for i in np.flatnonzero(ends)})
    outcome_kinds = {conversion: "conversion", churn: "churn"}
    used = {conversion} if counts.converted.any() else set()
    used |= {churn} if counts.lost.any() else set()
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


_DEFAULTS = {"path_column": "path", "conversions_column": "total_conversions"}
_DEFAULTS["nulls_column"] = "total_null"


def _path_columns(
    old: Mapping[str, str | None], new: Mapping[str, str | None]
) -> tuple[str, str, str | None]:
    """(path, conversions, nulls) column names, the deprecated spellings folded in."""
    out = dict(new)
    for name, value in old.items():
        new_name = f"{name}_column"
        if new_name not in new:
            raise TypeError(f"fit_paths() got an unexpected keyword argument {name!r}")
        if new[new_name] != _DEFAULTS[new_name]:
            raise TypeError(
                f"fit_paths() got both {name}= and {new_name}=; pass only {new_name}= "
                f"({name}= is its deprecated spelling)"
            )
        warnings.warn(
            f"fit_paths(): {name}= is deprecated, use {new_name}={value!r} (every column "
            "option now ends in _column, so conversions_column= cannot be mistaken for "
            "conversion=)",
            DeprecationWarning,
            stacklevel=3,
        )
        out[new_name] = value
    path = out["path_column"]
    conversions = out["conversions_column"]
    if path is None or conversions is None:
        raise TypeError("fit_paths(): path_column and conversions_column must be column names")
    for key in ("path_column", "conversions_column", "nulls_column"):
        value = out[key]
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{key} must be a column name (str), not {type(value).__name__}")
    return path, conversions, out["nulls_column"]
