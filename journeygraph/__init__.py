"""journeygraph: customer-journey maps as graphs you can compute with.

>>> import journeygraph as jg
>>> jm = jg.load("examples/retail_five_a_current.yaml")   # doctest: +SKIP
"""

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
from journeygraph.paths import Path, path_probability, top_paths
from journeygraph.simulate import EventLog, simulate
from journeygraph.uncertainty import CredibleInterval, CredibleIntervals, credible_intervals
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
    "Leak",
    "MapDiff",
    "MapError",
    "MetricDelta",
    "MissingDependencyError",
    "Move",
    "MoveChange",
    "NotAbsorbingError",
    "Outcome",
    "Path",
    "Persona",
    "ReduceChurn",
    "RemoveTouchpoint",
    "RenderError",
    "Reweight",
    "Sensitivity",
    "Stage",
    "StageFlow",
    "Switch",
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
