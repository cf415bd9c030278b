"""Fit journey maps from event logs: observed counts become the map's weights.

:func:`fit` reads an event log (one row per event: customer, time, touchpoint, and
optionally an outcome and a segment) from a DataFrame, an arrow table, CSV/Parquet
files or a Spark DataFrame, and counts journeys with one algorithm that runs in three
engines (numpy in memory, DuckDB for files, Spark on a cluster); the rules are written
down in :mod:`journeygraph.fit.spec` and ``docs/fitting.md``. :func:`fit_paths`
reads the aggregated path tables of Markov attribution tools. Each fitted map carries
its :class:`FitReport` in ``metadata["fit"]``.

The package, in the order data flows through it:

- ``logs.py``: :func:`fit`, its options turned into a :class:`~journeygraph.fit.spec.Spec`;
- ``sources.py``: where the log comes from (DataFrame, Arrow, CSV/Parquet, Spark) and
  which engine counts it;
- ``spec.py``: the counting rules every engine follows, the :class:`Spec` and the
  :class:`Counts` every engine returns, the one time parser;
- ``numpy_engine.py``, ``duckdb_engine.py``, ``spark_engine.py``: one engine each;
- ``build.py``: counts become a validated :class:`~journeygraph.model.JourneyMap`;
- ``report.py``: the :class:`FitReport`;
- ``attribution.py`` and ``paths_count.py``: :func:`fit_paths` for path tables;
- ``order.py``: second-order state ids, :func:`collapse_order`,
  :func:`touchpoint_removal_effects`.
"""

from journeygraph.fit.attribution import fit_paths
from journeygraph.fit.logs import fit
from journeygraph.fit.order import (
    collapse_order,
    split_state,
    state_id,
    touchpoint_removal_effects,
)
from journeygraph.fit.report import FitReport

__all__ = [
    "FitReport",
    "collapse_order",
    "fit",
    "fit_paths",
    "split_state",
    "state_id",
    "touchpoint_removal_effects",
]
