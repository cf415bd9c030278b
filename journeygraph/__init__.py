"""journeygraph: customer-journey maps as graphs you can compute with.

>>> import journeygraph as jg
>>> jm = jg.load("examples/retail_five_a_current.yaml")   # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from journeygraph.analysis import (
    Analysis,
    ExpectedTime,
    Leak,
    Sensitivity,
    StageFlow,
    Switch,
    analyze,
)
from journeygraph.compare import FieldChange, MapDiff, MetricDelta, MoveChange, compare
from journeygraph.draw import explore, render
from journeygraph.errors import (
    EventLogError,
    JourneyGraphError,
    JourneyGraphWarning,
    MapError,
    MissingDependencyError,
    NotAbsorbingError,
    RenderError,
)
from journeygraph.fit import FitReport, collapse_order, fit, fit_paths
from journeygraph.io import load, loads, save, schema
from journeygraph.model import (
    Duration,
    JourneyMap,
    Move,
    Outcome,
    Persona,
    Stage,
    Touchpoint,
)
from journeygraph.paths import JourneyPath, path_probability, top_paths
from journeygraph.simulate import EventLog, simulate
from journeygraph.uncertainty import (
    CredibleInterval,
    CredibleIntervals,
    LeakInterval,
    SwitchInterval,
    credible_intervals,
)
from journeygraph.whatif import (
    AddMove,
    AddTouchpoint,
    CutMove,
    Edit,
    ReduceChurn,
    RemoveTouchpoint,
    Reweight,
    whatif,
)

__version__ = "0.1.0"

__all__ = [
    "AddMove",
    "AddTouchpoint",
    "Analysis",
    "CredibleInterval",
    "CredibleIntervals",
    "CutMove",
    "Duration",
    "Edit",
    "EventLog",
    "EventLogError",
    "ExpectedTime",
    "FieldChange",
    "FitReport",
    "JourneyGraphError",
    "JourneyGraphWarning",
    "JourneyMap",
    "JourneyPath",
    "Leak",
    "LeakInterval",
    "MapDiff",
    "MapError",
    "MetricDelta",
    "MissingDependencyError",
    "Move",
    "MoveChange",
    "NotAbsorbingError",
    "Outcome",
    "Persona",
    "ReduceChurn",
    "RemoveTouchpoint",
    "RenderError",
    "Reweight",
    "Sensitivity",
    "Stage",
    "StageFlow",
    "Switch",
    "SwitchInterval",
    "Touchpoint",
    "__version__",
    "analyze",
    "collapse_order",
    "compare",
    "credible_intervals",
    "explore",
    "fit",
    "fit_paths",
    "load",
    "loads",
    "path_probability",
    "render",
    "save",
    "schema",
    "simulate",
    "top_paths",
    "whatif",
]

if not TYPE_CHECKING:  # so that type checkers still flag unknown names such as jg.Pth

    def __getattr__(name: str) -> object:
        """``jg.Path``: the deprecated name of :class:`JourneyPath` (warns; not in ``__all__``)."""
        if name == "Path":
            from journeygraph import paths

            return paths._deprecated_path()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
