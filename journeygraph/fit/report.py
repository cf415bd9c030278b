"""What a fit saw: the :class:`FitReport` every fitted map carries in ``metadata["fit"]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from journeygraph.errors import (
    EventLogError,
)
from journeygraph.model import JourneyMap

__all__ = ["FitReport"]


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
        The segment of this map, when fitted with ``segment_column=``.
    order
        1, or 2 for maps whose states are (previous, current) touchpoint pairs.
    pooled
        With ``segment_column=``: the report of the whole log (every segment together); the
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
        >>> jm = jg.fit(log, customer_column="who", time_column="when", touchpoint_column="what",
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
