"""``render()``: check the arguments, build the scene, hand it to a writer, write the file.

This module decides nothing about how a picture looks: the scene
(:mod:`journeygraph.draw.scene`) holds the facts, :mod:`journeygraph.draw.dot` and
:mod:`journeygraph.draw.canvas` draw them, :mod:`journeygraph.draw.graphviz` runs
Graphviz or an SVG converter.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal, overload

from journeygraph import _args
from journeygraph._files import atomic_write
from journeygraph.analysis import Analysis
from journeygraph.compare import MapDiff
from journeygraph.draw.canvas import canvas_of_scene
from journeygraph.draw.dot import DEFAULT_MAX_EDGES, Preset, write_dot
from journeygraph.draw.graphviz import convert_svg, layout
from journeygraph.draw.labels import place_labels
from journeygraph.draw.scene import build_scene
from journeygraph.draw.words import Lang, check_lang
from journeygraph.errors import RenderError
from journeygraph.model import JourneyMap

__all__ = ["FORMATS", "PRESETS", "VIEWS", "ColorBy", "Format", "View", "render"]

Format = Literal["svg", "png", "pdf", "dot"]
ColorBy = Literal["sentiment", "leaks", "none"]
View = Literal["graph", "canvas"]
#: Output formats :func:`render` writes, chosen by ``format=`` or the file suffix.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot")
#: What :func:`render` draws: the Graphviz diagram or the workshop canvas.
VIEWS: tuple[str, ...] = ("graph", "canvas")
#: Picture sizes: everything (``full``) or a 16:9 slide readable at 1280 px.
PRESETS: tuple[str, ...] = ("full", "slide")
_COLOR_BY = ("sentiment", "leaks", "none")


@overload
def render(
    obj: JourneyMap | Analysis | MapDiff | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    format: Literal["svg", "dot"],
    view: View = "graph",
    analysis: Analysis | None = None,
    color_by: ColorBy | None = None,
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    preset: Preset = "full",
    lang: Lang = "en",
    timeout: float = 60.0,
) -> str: ...


@overload
def render(
    obj: JourneyMap | Analysis | MapDiff | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    format: Literal["png", "pdf"],
    view: View = "graph",
    analysis: Analysis | None = None,
    color_by: ColorBy | None = None,
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    preset: Preset = "full",
    lang: Lang = "en",
    timeout: float = 60.0,
) -> bytes: ...


@overload
def render(
    obj: JourneyMap | Analysis | MapDiff | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    format: Format | None = None,
    view: View = "graph",
    analysis: Analysis | None = None,
    color_by: ColorBy | None = None,
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    preset: Preset = "full",
    lang: Lang = "en",
    timeout: float = 60.0,
) -> str | bytes: ...


def render(
    obj: JourneyMap | Analysis | MapDiff | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    format: Format | None = None,
    view: View = "graph",
    analysis: Analysis | None = None,
    color_by: ColorBy | None = None,
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    preset: Preset = "full",
    lang: Lang = "en",
    timeout: float = 60.0,
) -> str | bytes:
    """Draw a journey map, an analysis or a comparison as SVG, PNG, PDF or Graphviz DOT.

    Parameters
    ----------
    obj
        A :class:`~journeygraph.model.JourneyMap`; an
        :class:`~journeygraph.analysis.Analysis` (its map with flows, visits, ranked
        leaks and switching points, the headline figures); or a
        :class:`~journeygraph.compare.MapDiff` (the current map's layout, added /
        removed / changed items outlined and badged, the three largest changes called
        out, the figures before → after).
    path
        Write here (atomically: a temporary file, then a rename). The suffix (``.svg``,
        ``.png``, ``.pdf``, ``.dot``/``.gv``) picks the format unless ``format`` is given.
    format
        ``"svg"`` (default), ``"png"``, ``"pdf"`` or ``"dot"`` (the Graphviz source).
    view
        ``"graph"`` (default): the diagram. ``"canvas"``: the workshop-style canvas.
    analysis
        An analysis of the map (same as passing the analysis as ``obj``).
    color_by
        Box fill: ``"sentiment"``, ``"leaks"`` (needs an analysis) or ``"none"``.
        ``None``: leaks with an analysis, else sentiment.
    min_flow
        Hide moves whose probability (flow, with an analysis) is below this; the picture
        says how many it hides. ``None``: hide the weakest only above ``max_edges`` moves.
        Every touchpoint keeps its strongest ways in and out.
    max_edges
        With ``min_flow=None``: how many moves to keep at most.
    edge_labels
        Label moves with their percentage; ``None``: the strongest ones.
    preset
        ``"full"`` (default) or ``"slide"``: 16:9, smallest text 12 px at 1280 px wide,
        the strongest moves only; it says what it hides.
    lang
        ``"en"`` (default) or ``"ko"``: the interface words (legend, "Converted", ...).
    timeout
        Seconds Graphviz (or the SVG converter) may take.

    Returns
    -------
    str or bytes
        The SVG or DOT text, or the PNG or PDF bytes.

    Raises
    ------
    RenderError
        A bad option; an analysis of another map; Graphviz failed or timed out; no
        Graphviz or SVG converter is available (the message says what to install).

    Examples
    --------
    >>> dot = jg.render(jm, format="dot")
    >>> dot.splitlines()[0]
    'digraph "journey" {'
    >>> '"ad" -> "shop"' in dot
    True
    >>> "Conversion 75.0%" in jg.render(jg.analyze(jm), format="dot")
    True
    """
    if isinstance(obj, str | os.PathLike):  # a map file, as every map-taking function
        obj = _args.journey_map(obj, "obj")
    if isinstance(obj, Analysis):
        if analysis is not None and analysis is not obj:
            raise RenderError("pass the analysis once: render(analysis) or render(jm, analysis=)")
        analysis, obj = obj, obj.map
    if not isinstance(obj, JourneyMap | MapDiff):
        raise RenderError(
            f"cannot draw a {type(obj).__name__}; pass a JourneyMap (e.g. from jg.load), "
            "an Analysis (jg.analyze) or a MapDiff (jg.compare)"
        )
    if analysis is not None and not isinstance(analysis, Analysis):
        raise RenderError(
            f"analysis= must be an Analysis (jg.analyze(jm)), not {type(analysis).__name__}"
        )
    if isinstance(obj, MapDiff) and analysis is not None:
        raise RenderError("a comparison carries its own analyses; do not pass analysis=")
    fmt = _resolve_format(path, format)
    if view not in VIEWS:
        raise RenderError(f"view={view!r} is not one of {', '.join(VIEWS)}")
    if preset not in PRESETS:
        raise RenderError(f"preset={preset!r} is not one of {', '.join(PRESETS)}")
    lang = check_lang(lang)
    if color_by is not None and color_by not in _COLOR_BY:
        raise RenderError(f"color_by={color_by!r} is not one of {', '.join(_COLOR_BY)}")
    if min_flow is not None and not (
        isinstance(min_flow, int | float) and math.isfinite(min_flow) and min_flow >= 0
    ):
        raise RenderError(f"min_flow={min_flow!r}: use a finite number >= 0, or None")
    if isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 1:
        raise RenderError(f"max_edges={max_edges!r}: use a whole number >= 1")
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
        raise RenderError(f"timeout={timeout!r}: use a positive number of seconds")
    if analysis is not None and isinstance(obj, JourneyMap):
        _check_analysis(obj, analysis)
    if color_by == "leaks" and (analysis is None or isinstance(obj, MapDiff)):
        raise RenderError(
            'color_by="leaks" needs the analysis: jg.render(jm, path, analysis=jg.analyze(jm))'
            if not isinstance(obj, MapDiff)
            else "a comparison colours touchpoints by sentiment or not at all; use "
            'color_by="sentiment" or "none" (leak changes are written on each box)'
        )

    scene = build_scene(analysis if analysis is not None else obj)
    result: str | bytes
    if view == "canvas":
        if fmt == "dot":
            raise RenderError(
                "the canvas is drawn as SVG directly, not with Graphviz: there is no DOT "
                "source; write .svg, .png or .pdf"
            )
        svg = canvas_of_scene(scene, preset=preset, lang=lang)
        result = svg if fmt == "svg" else convert_svg(svg, fmt, timeout)
    else:
        source = write_dot(
            scene,
            preset=preset,
            lang=lang,
            color_by=color_by or ("leaks" if scene.kind == "analysis" else "sentiment"),
            min_flow=min_flow,
            max_edges=max_edges,
            edge_labels=edge_labels,
        )
        if fmt == "dot":
            result = source
        else:
            # Graphviz routes the edges; the labels are then placed off boxes and text
            # (place_labels), so every format starts from the SVG.
            svg = layout(source, "svg", timeout=timeout, engine="nop2").decode("utf-8")
            svg = place_labels(svg).svg
            if fmt == "svg":
                result = svg
            else:
                try:
                    result = convert_svg(svg, fmt, timeout)
                except RenderError:
                    # No SVG converter: Graphviz's own PNG/PDF, labels where it put them.
                    result = layout(source, fmt, timeout=timeout, engine="nop2")
    if path is not None:
        atomic_write(path, result)
    return result


def _check_analysis(jm: JourneyMap, res: Analysis) -> None:
    """Refuse an analysis of another map (its numbers would be drawn on the wrong moves)."""
    if res.map is jm or res.map == jm:
        return
    hint = "draw a map with its own analysis: jg.render(jm, path, analysis=jg.analyze(jm))"
    ids = {t.id for t in jm.touchpoints}
    other = {t.id for t in res.map.touchpoints}
    if other != ids:
        extra = sorted(other - ids) or sorted(ids - other)
        raise RenderError(
            f"the analysis is not of map {jm.name!r}: touchpoint {extra[0]!r} is in one and "
            f"not the other; {hint}"
        )
    raise RenderError(f"the analysis is of another version of map {jm.name!r}; {hint}")


def _resolve_format(path: str | os.PathLike[str] | None, format: str | None) -> str:
    if format is not None:
        fmt = str(format).lower().lstrip(".")
        if fmt == "gv":
            fmt = "dot"
        if fmt not in FORMATS:
            raise RenderError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        return fmt
    if path is None:
        return "svg"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
    if suffix not in FORMATS:
        raise RenderError(
            f"{os.fspath(path)}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
            f"use .svg, .png, .pdf or .dot, or pass format="
        )
    return suffix
