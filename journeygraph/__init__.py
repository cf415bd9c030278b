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
from journeygraph.errors import (
    EventLogError,
    JourneyGraphError,
    JourneyGraphWarning,
    MapError,
    MissingDependencyError,
    NotAbsorbingError,
    RenderError,
)
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
    "Analysis",
    "Duration",
    "EventLogError",
    "ExpectedTime",
    "JourneyGraphError",
    "JourneyGraphWarning",
    "JourneyMap",
    "Leak",
    "MapError",
    "MissingDependencyError",
    "Move",
    "NotAbsorbingError",
    "Outcome",
    "Persona",
    "RenderError",
    "Sensitivity",
    "Stage",
    "StageFlow",
    "Switch",
    "Touchpoint",
    "__version__",
    "analyze",
    "load",
    "loads",
    "save",
    "schema",
]
