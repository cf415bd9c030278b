"""journeygraph: customer-journey maps as graphs you can compute with.

>>> import journeygraph as jg
>>> jm = jg.load("examples/retail_five_a_current.yaml")   # doctest: +SKIP
"""

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

__version__ = "0.1.0"

__all__ = [
    "Duration",
    "EventLogError",
    "FitReport",
    "JourneyGraphError",
    "JourneyGraphWarning",
    "JourneyMap",
    "MapError",
    "MissingDependencyError",
    "Move",
    "NotAbsorbingError",
    "Outcome",
    "Persona",
    "RenderError",
    "Stage",
    "Touchpoint",
    "__version__",
    "collapse_order",
    "fit",
    "fit_paths",
    "load",
    "loads",
    "save",
    "schema",
]
