"""Drawing: one scene per map, analysis or comparison, and the writers of a scene.

:mod:`journeygraph.draw.scene` decides *what* is drawn and its facts (stage order,
touchpoint order, flows, leaks, switching, outcome totals, change status with before and
after values), computed once from a :class:`~journeygraph.model.JourneyMap`, an
:class:`~journeygraph.analysis.Analysis` or a :class:`~journeygraph.compare.MapDiff`.
Writers turn a scene into a format: the Graphviz diagram (:mod:`journeygraph.draw.dot`)
and the workshop canvas (:mod:`journeygraph.draw.canvas`), and the explorer, one offline
interactive HTML page (:mod:`journeygraph.draw.explore`). :func:`render` and
:func:`explore` only dispatch. See ``docs/rendering.md``.
"""

from __future__ import annotations

from journeygraph.draw.dispatch import render
from journeygraph.draw.explore import explore
from journeygraph.draw.scene import (
    Scene,
    SceneCallout,
    SceneFigure,
    SceneLoss,
    SceneMove,
    SceneOutcome,
    SceneStage,
    SceneTouchpoint,
    Value,
    build_scene,
)

__all__ = [
    "Scene",
    "SceneCallout",
    "SceneFigure",
    "SceneLoss",
    "SceneMove",
    "SceneOutcome",
    "SceneStage",
    "SceneTouchpoint",
    "Value",
    "build_scene",
    "explore",
    "render",
]
