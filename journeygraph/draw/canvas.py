"""The journey-map canvas: the workshop artefact, drawn from the same map as the model.

One column per stage (each touchpoint gets a slot inside its stage, in file order) and
one row per lens: what the customer does (touchpoint, channel, owner), thinks (goals,
questions), feels (an emotion curve through the touchpoints' sentiment), where it hurts
(pains) and, when an analysis is given, where the journey leaks (to churn) and where
customers switch to a competitor.

The canvas is written directly as SVG: no Graphviz, no script, no links, no HTML. Every
user string passes through :func:`journeygraph._escape.escape_text` (XML escaping) and is laid out as plain
``<text>``; long text is wrapped by an estimate of its width and truncated with an
ellipsis, and the full text goes into a ``<title>`` tooltip. Output is deterministic.
See ``docs/canvas.md``.
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from journeygraph._escape import escape_text, xml_chars
from journeygraph._files import atomic_write
from journeygraph.errors import RenderError
from journeygraph.model import JourneyMap, Persona, Stage, Touchpoint

__all__ = [
    "CanvasAnalysis",
    "CanvasLeak",
    "CanvasSwitch",
    "render_canvas",
    "render_canvas_comparison",
]


# -- what the canvas needs from an analysis -------------------------------------------


class CanvasLeak(Protocol):
    """A leak point as the canvas reads it (``journeygraph.analysis.Leak`` fits)."""

    @property
    def touchpoint(self) -> str: ...
    @property
    def flow(self) -> float: ...
    @property
    def share(self) -> float: ...
    @property
    def exit_rate(self) -> float: ...


class CanvasSwitch(Protocol):
    """A switching point as the canvas reads it (``journeygraph.analysis.Switch`` fits)."""

    @property
    def touchpoint(self) -> str: ...
    @property
    def competitor(self) -> str: ...
    @property
    def flow(self) -> float: ...
    @property
    def share(self) -> float: ...


class CanvasAnalysis(Protocol):
    """What the canvas draws from an analysis (``journeygraph.analysis.Analysis`` fits).

    ``leaks``: expected customers per entrant who leave from each touchpoint to churn
    (``flow``), their share of all churn and the touchpoint's exit rate per visit.
    ``switching``: the same per touchpoint and competitor. ``expected_visits``: expected
    visits to each touchpoint per entering customer.
    """

    @property
    def leaks(self) -> Sequence[CanvasLeak]: ...
    @property
    def switching(self) -> Sequence[CanvasSwitch]: ...
    @property
    def expected_visits(self) -> Mapping[str, float]: ...


# -- escaping and text measurement -----------------------------------------------------


def _text(s: str) -> str:
    """User text as SVG character data or a double-quoted attribute value.

    Delegates to the project's one escaping helper,
    :func:`journeygraph._escape.escape_text` (``keep_lines=True``: line breaks stay, for
    multi-line tooltips; characters XML cannot carry become U+FFFD).
    """
    return escape_text(s, target="xml", keep_lines=True)


_BOLD_FACTOR = 1.1
_FILL = 0.97  # use at most this share of a line, for fonts wider than the estimate
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufe0e\ufe0f")
# Advance widths of printable ASCII in em, rounded up from DejaVu Sans (the widest of
# the usual sans-serif fonts, so Helvetica or Arial only leave more room).
_ASCII_EM = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~",
        (
            [0.32, 0.40, 0.46, 0.84, 0.64, 0.95, 0.78, 0.28, 0.39, 0.39, 0.50, 0.84, 0.32]
            + [0.37, 0.32, 0.34]
            + [0.64] * 10
            + [0.34, 0.34, 0.84, 0.84, 0.84, 0.54, 1.0]
            + [0.69, 0.69, 0.70, 0.77, 0.64, 0.58, 0.78, 0.76, 0.30, 0.30, 0.66, 0.56, 0.87]
            + [0.75, 0.79, 0.61, 0.79, 0.70, 0.64, 0.62, 0.74, 0.69, 0.99, 0.69, 0.62, 0.69]
            + [0.39, 0.34, 0.39, 0.84, 0.50, 0.50]
            + [0.62, 0.64, 0.55, 0.64, 0.62, 0.36, 0.64, 0.64, 0.28, 0.28, 0.58, 0.28, 0.98]
            + [0.64, 0.62, 0.64, 0.64, 0.42, 0.53, 0.40, 0.64, 0.60, 0.82, 0.60, 0.60, 0.53]
            + [0.64, 0.34, 0.64, 0.84]
        ),
        strict=True,
    )
)


def _char_em(c: str) -> float:
    """Estimated advance of one character in em, for a sans-serif such as DejaVu Sans.

    ASCII from DejaVu Sans's metrics; East Asian wide/full-width characters and emoji
    about 1 em; combining marks and zero-width joiners none; other letters (accented
    Latin, Cyrillic, Greek, Arabic, Hebrew, ...) 0.7 em, a little above their typical
    width so lines err on the short side.
    """
    known = _ASCII_EM.get(c)
    if known is not None:
        return known
    if c in _ZERO_WIDTH or unicodedata.combining(c):
        return 0.0
    if unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(c) in ("W", "F") or ord(c) >= 0x1F000:
        return 1.0
    return 0.7


def _em(s: str, bold: bool = False) -> float:
    return sum(_char_em(c) for c in s) * (_BOLD_FACTOR if bold else 1.0)


def _wider_than(s: str, max_em: float) -> bool:
    """``_em(s) > max_em``, stopping as soon as it is (long strings cost a line's worth)."""
    used = 0.0
    for c in s:
        used += _char_em(c)
        if used > max_em:
            return True
    return False


def _split_word(word: str, max_em: float) -> tuple[str, str]:
    """Cut a word that is too wide; never before a combining mark or after a joiner."""
    used = 0.0
    cut = 0
    for i, c in enumerate(word):
        used += _char_em(c)
        if used > max_em and cut > 0:
            break
        attached = i + 1 < len(word) and (
            _char_em(word[i + 1]) == 0.0 or c == "\u200d" or word[i + 1] == "\u200d"
        )
        if not attached:
            cut = i + 1
    cut = max(cut, 1)
    return word[:cut], word[cut:]


@dataclass(frozen=True, slots=True)
class _Wrapped:
    lines: tuple[str, ...]
    truncated: bool


def _wrap(text: str, width: float, size: float, max_lines: int, bold: bool = False) -> _Wrapped:
    """Wrap ``text`` into lines of at most ``width`` px at font ``size`` (estimated).

    Breaks at white space, and inside words (CJK runs, long ids, URLs) when a word is
    wider than a line. More than ``max_lines`` lines are cut with an ellipsis.
    """
    max_em = max(_FILL * width / size / (_BOLD_FACTOR if bold else 1.0), 1.0)
    lines: list[str] = []
    current = ""
    for word in xml_chars(text).split():
        candidate = f"{current} {word}" if current else word
        if not _wider_than(candidate, max_em):
            current = candidate
            continue
        room = max_em - _em(current + " ")
        if current and _wider_than(word, max_em) and room >= 3:
            # the word must be cut anyway: start it on this line, not after a lone bullet
            head, word = _split_word(word, room)
            lines.append(f"{current} {head}")
        elif current:
            lines.append(current)
        current = ""
        while _wider_than(word, max_em) and len(lines) <= max_lines:
            head, word = _split_word(word, max_em)
            lines.append(head)
        current = word
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return _Wrapped(tuple(lines), False)
    kept = lines[:max_lines]
    last = kept[-1].rstrip()
    while last and _em(last + "…") > max_em:
        last = last[:-1].rstrip()
    kept[-1] = last + "…"
    return _Wrapped(tuple(kept), True)


# -- small SVG writers (numbers and constants only; user text through _text) -----------

_FONT = (
    "DejaVu Sans, Noto Sans, Noto Sans CJK KR, Noto Sans Arabic, Segoe UI, "
    "Helvetica Neue, Arial, sans-serif"
)
_INK = "#1f2933"
_MUTED = "#5f6b7a"
_FAINT = "#d5dbe3"
_PAPER = "#ffffff"
_BAND = "#f4f6f9"
_MOOD_COLOUR = {"positive": "#1a9850", "neutral": "#8a8f98", "negative": "#d7301f"}
_LEAK = "#c2410c"
_SWITCH = "#6d28d9"
_STAGE_FILLS = ("#e0ecf8", "#e6f2e6", "#fdf0dc", "#f1e6f6", "#fbe4e4", "#e3f1f1")
_NEUTRAL_BAND = 0.1


def _n(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _signed(value: float) -> str:
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text.replace("-", "−")


def _pct(value: float) -> str:
    if 0 < value < 0.0005:
        return "<0.1%"
    return f"{value * 100:.1f}%"


def _mood(sentiment: float) -> str:
    if sentiment > _NEUTRAL_BAND:
        return "positive"
    if sentiment < -_NEUTRAL_BAND:
        return "negative"
    return "neutral"


def _rect(
    x: float,
    y: float,
    w: float,
    h: float,
    fill: str,
    *,
    stroke: str | None = None,
    rx: float = 0,
    dash: bool = False,
    cls: str | None = None,
) -> str:
    attrs = [f'x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}"']
    if rx:
        attrs.append(f'rx="{_n(rx)}"')
    attrs.append(f'fill="{fill}"')
    if stroke:
        attrs.append(f'stroke="{stroke}" stroke-width="1"')
    if dash:
        attrs.append('stroke-dasharray="5 3"')
    if cls:
        attrs.append(f'class="{cls}"')
    return f"<rect {' '.join(attrs)}/>"


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, *, dash: bool = False) -> str:
    extra = ' stroke-dasharray="3 3"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{stroke}" stroke-width="1"{extra}/>'
    )


@dataclass(frozen=True, slots=True)
class _Font:
    size: float
    fill: str = _INK
    bold: bool = False
    italic: bool = False
    strike: bool = False

    @property
    def leading(self) -> float:
        return round(self.size * 1.3, 2)

    def attrs(self) -> str:
        out = f'font-size="{_n(self.size)}" fill="{self.fill}"'
        if self.bold:
            out += ' font-weight="bold"'
        if self.italic:
            out += ' font-style="italic"'
        if self.strike:
            out += ' text-decoration="line-through"'
        return out


_TITLE = _Font(24, bold=True)
_SUBTITLE = _Font(13, fill=_MUTED)
_HEADING = _Font(13, bold=True)
_BODY = _Font(12)
_SMALL = _Font(11, fill=_MUTED)
_BODY_SMALL = _Font(11)
_STAGE = _Font(15, bold=True)
_NAME = _Font(13, bold=True)


@dataclass(frozen=True, slots=True)
class _Block:
    """Wrapped text ready to draw: its lines, whether it was cut, and its full text."""

    wrapped: _Wrapped
    font: _Font
    full: str
    prefix: str = ""

    @property
    def height(self) -> float:
        return len(self.wrapped.lines) * self.font.leading


def _block(text: str, width: float, font: _Font, max_lines: int, *, prefix: str = "") -> _Block:
    return _Block(_wrap(prefix + text, width, font.size, max_lines, font.bold), font, text, prefix)


def _draw_block(
    out: list[str],
    block: _Block,
    x: float,
    y: float,
    *,
    anchor: Literal["start", "middle"] = "start",
    cls: str | None = None,
) -> float:
    """Draw a block with its first baseline ``font.size`` below ``y``; return its height."""
    if not block.wrapped.lines:
        return 0.0
    font = block.font
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(y + font.size + i * font.leading)}">{_text(line)}</tspan>'
        for i, line in enumerate(block.wrapped.lines)
    )
    cls_attr = f' class="{cls}"' if cls else ""
    anchor_attr = ' text-anchor="middle"' if anchor == "middle" else ""
    text = f"<text{cls_attr} {font.attrs()}{anchor_attr}>{spans}</text>"
    if block.wrapped.truncated:
        text = f"<g><title>{_text(block.full)}</title>{text}</g>"
    out.append(text)
    return block.height


# -- the model of a canvas -------------------------------------------------------------

_Change = Literal["", "added", "removed"]


@dataclass(frozen=True, slots=True)
class _Slot:
    """One touchpoint column (or the placeholder of a stage without touchpoints)."""

    stage: int
    touchpoint: Touchpoint | None
    before: Touchpoint | None = None
    change: _Change = ""


@dataclass(frozen=True, slots=True)
class _Series:
    """An emotion curve: sentiment by slot; ``None`` for a touchpoint without one."""

    name: Literal["map", "current", "future"]
    values: dict[int, float | None]


@dataclass(frozen=True, slots=True)
class _Overlay:
    """An analysis, checked against the map and grouped by touchpoint."""

    leak: dict[str, tuple[float, float, float]]
    switch: dict[str, list[tuple[str, float]]]
    visits: dict[str, float]
    top_leaks: dict[str, int]
    scale: float


@dataclass(slots=True)
class _Spec:
    title: str
    subtitle: str | None
    persona: Persona | None
    stages: tuple[Stage, ...]
    slots: list[_Slot]
    series: list[_Series]
    overlay: _Overlay | None = None
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- public functions ------------------------------------------------------------------


def render_canvas(
    jm: JourneyMap,
    path: str | os.PathLike[str] | None = None,
    *,
    analysis: CanvasAnalysis | None = None,
    top_leaks: int = 3,
) -> str:
    """Draw the workshop-style journey canvas of a map as SVG.

    Parameters
    ----------
    jm
        The journey map.
    path
        Where to write the SVG (``.svg``), atomically; ``None`` only returns the text.
    analysis
        An analysis of ``jm`` (``jg.analyze(jm)``, or any object with ``leaks``,
        ``switching`` and ``expected_visits``). Adds the leak and switching rows and the
        expected visits per touchpoint.
    top_leaks
        How many of the largest leaks to flag (``0`` flags none).

    Returns
    -------
    str
        The SVG document.

    Raises
    ------
    RenderError
        The path is not ``.svg``, or the analysis names touchpoints or outcomes that are
        not in the map or has negative or non-finite numbers.

    Examples
    --------
    >>> from journeygraph.draw.canvas import render_canvas
    >>> svg = render_canvas(jm)
    >>> svg.count('class="emotion-missing map"')   # neither touchpoint has a sentiment
    2
    """
    if not isinstance(jm, JourneyMap):
        raise TypeError(f"render_canvas needs a JourneyMap, got {type(jm).__name__}")
    target = _svg_path(path)
    slots = _slots_of(jm)
    series = _Series(
        "map",
        {i: s.touchpoint.sentiment for i, s in enumerate(slots) if s.touchpoint is not None},
    )
    spec = _Spec(
        title=jm.name,
        subtitle=jm.description,
        persona=jm.persona,
        stages=jm.stages,
        slots=slots,
        series=[series],
        overlay=_overlay(jm, analysis, top_leaks) if analysis is not None else None,
    )
    spec.summary.append(
        f"{len(jm.touchpoints)} touchpoints in {len(jm.stages)} stages · "
        f"average sentiment {_average(jm)}"
    )
    missing = [t for t in _in_stage_order(jm) if t.sentiment is None]
    if missing:
        spec.notes.append(
            f"No sentiment for {len(missing)} touchpoint(s), left as a gap in the curve: "
            + ", ".join(t.label for t in missing)
        )
    svg = _draw(spec)
    if target is not None:
        atomic_write(target, svg)
    return svg


def render_canvas_comparison(
    current: JourneyMap,
    future: JourneyMap,
    path: str | os.PathLike[str] | None = None,
) -> str:
    """Draw a current-state and a future-state map on one canvas, as SVG.

    Touchpoints are matched by id. Columns follow the future map's stages and order;
    touchpoints only in the current map keep their place after their stage's future
    touchpoints. Both emotion curves share one axis (current grey and dashed, future in
    colour); added touchpoints are marked *new*, removed ones *removed*; pains of the
    current map that the future map no longer has are listed as resolved.

    Parameters
    ----------
    current, future
        The as-is and to-be maps.
    path
        Where to write the SVG (``.svg``), atomically; ``None`` only returns the text.

    Returns
    -------
    str
        The SVG document.

    Examples
    --------
    >>> from journeygraph.draw.canvas import render_canvas_comparison
    >>> 'data-change' in render_canvas_comparison(jm, jm)   # nothing added or removed
    False
    """
    for name, value in (("current", current), ("future", future)):
        if not isinstance(value, JourneyMap):
            raise TypeError(f"{name} must be a JourneyMap, got {type(value).__name__}")
    target = _svg_path(path)
    stages = _merged_stages(current, future)
    now = {t.id: t for t in current.touchpoints}
    then = {t.id: t for t in future.touchpoints}
    slots: list[_Slot] = []
    for i, stage in enumerate(stages):
        here = [
            _Slot(i, t, now.get(t.id), "" if t.id in now else "added")
            for t in future.touchpoints
            if t.stage == stage.id
        ]
        here += [
            _Slot(i, t, t, "removed")
            for t in current.touchpoints
            if t.stage == stage.id and t.id not in then
        ]
        slots += here or [_Slot(i, None)]
    before = _Series(
        "current",
        {i: s.before.sentiment for i, s in enumerate(slots) if s.before is not None},
    )
    after = _Series(
        "future",
        {
            i: s.touchpoint.sentiment
            for i, s in enumerate(slots)
            if s.touchpoint is not None and s.change != "removed"
        },
    )
    added = [s.touchpoint for s in slots if s.change == "added" and s.touchpoint]
    removed = [s.touchpoint for s in slots if s.change == "removed" and s.touchpoint]
    changed = [
        s
        for s in slots
        if s.change == ""
        and s.touchpoint is not None
        and s.before is not None
        and s.touchpoint.sentiment != s.before.sentiment
    ]
    spec = _Spec(
        title=f"Current vs future · {future.name}",
        subtitle=future.description or current.description,
        persona=future.persona or current.persona,
        stages=stages,
        slots=slots,
        series=[before, after],
    )
    if current.name != future.name:
        spec.summary.append(f"Current map: {current.name}")
    spec.summary.append(
        f"{len(added)} touchpoint(s) added, {len(removed)} removed, "
        f"{len(changed)} with a changed sentiment · average sentiment "
        f"{_average(current)} now → {_average(future)} in the future map"
    )
    missing = [
        s.touchpoint.label
        for s in slots
        if s.touchpoint is not None
        and (
            s.touchpoint.sentiment is None or (s.before is not None and s.before.sentiment is None)
        )
    ]
    if missing:
        spec.notes.append(
            "No sentiment (a gap in the curve) for: " + ", ".join(dict.fromkeys(missing))
        )
    svg = _draw(spec)
    if target is not None:
        atomic_write(target, svg)
    return svg


# -- preparing the content -------------------------------------------------------------


def _svg_path(path: str | os.PathLike[str] | None) -> Path | None:
    if path is None:
        return None
    target = Path(path)
    if target.suffix.lower() != ".svg":
        raise RenderError(
            f"{target}: the canvas is written as SVG; give a path ending in .svg "
            f"(found {target.suffix or 'no suffix'!r})"
        )
    return target


def _in_stage_order(jm: JourneyMap) -> list[Touchpoint]:
    """Touchpoints by stage order, then file order (the emotion curve's order)."""
    return sorted(jm.touchpoints, key=lambda t: jm.stage_position(t.stage))


def _slots_of(jm: JourneyMap) -> list[_Slot]:
    slots: list[_Slot] = []
    for i, stage in enumerate(jm.stages):
        here = [_Slot(i, t) for t in jm.touchpoints if t.stage == stage.id]
        slots += here or [_Slot(i, None)]
    return slots


def _average(jm: JourneyMap) -> str:
    values = [t.sentiment for t in jm.touchpoints if t.sentiment is not None]
    return _signed(math.fsum(values) / len(values)) if values else "n/a"


def _merged_stages(current: JourneyMap, future: JourneyMap) -> tuple[Stage, ...]:
    """The future map's stages, with current-only stages after their predecessor."""
    merged = list(future.stages)
    known = {s.id for s in merged}
    for i, stage in enumerate(current.stages):
        if stage.id in known:
            continue
        at = 0
        for earlier in reversed(current.stages[:i]):
            if earlier.id in known:
                at = next(k for k, s in enumerate(merged) if s.id == earlier.id) + 1
                break
        merged.insert(at, stage)
        known.add(stage.id)
    return tuple(merged)


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RenderError(f"analysis: {what} is {value!r}; expected a number")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise RenderError(f"analysis: {what} is {number!r}; expected a finite number >= 0")
    return number


def _overlay(jm: JourneyMap, analysis: CanvasAnalysis, top: int) -> _Overlay:
    known = {t.id for t in jm.touchpoints}
    outcomes = {o.id: o for o in jm.outcomes}

    def check(touchpoint: str, what: str) -> None:
        if touchpoint not in known:
            raise RenderError(
                f"analysis: {what} names touchpoint {touchpoint!r}, which is not in map "
                f"{jm.name!r}; draw the canvas with an analysis of this map (jg.analyze(jm))"
            )

    leak: dict[str, tuple[float, float, float]] = {}
    for item in analysis.leaks:
        check(item.touchpoint, "a leak")
        where = f"leak at {item.touchpoint!r}"
        flow = _finite(item.flow, f"{where}: flow")
        share = _finite(item.share, f"{where}: share")
        rate = _finite(item.exit_rate, f"{where}: exit_rate")
        old = leak.get(item.touchpoint, (0.0, 0.0, 0.0))
        leak[item.touchpoint] = (old[0] + flow, old[1] + share, old[2] + rate)
    switch: dict[str, list[tuple[str, float]]] = {}
    for sw in analysis.switching:
        check(sw.touchpoint, "a switching point")
        if sw.competitor not in outcomes or outcomes[sw.competitor].kind != "competitor":
            raise RenderError(
                f"analysis: switching at {sw.touchpoint!r} names competitor "
                f"{sw.competitor!r}, which is not a competitor outcome of map {jm.name!r}"
            )
        flow = _finite(sw.flow, f"switching at {sw.touchpoint!r} to {sw.competitor!r}: flow")
        _finite(sw.share, f"switching at {sw.touchpoint!r} to {sw.competitor!r}: share")
        switch.setdefault(sw.touchpoint, []).append((outcomes[sw.competitor].label, flow))
    visits: dict[str, float] = {}
    for tp, value in analysis.expected_visits.items():
        check(tp, "expected_visits")
        visits[tp] = _finite(value, f"expected visits of {tp!r}")
    order = {t.id: i for i, t in enumerate(_in_stage_order(jm))}
    ranked = sorted(
        (tp for tp, v in leak.items() if v[0] > 0), key=lambda tp: (-leak[tp][0], order[tp])
    )
    flows = [v[0] for v in leak.values()] + [
        math.fsum(f for _, f in items) for items in switch.values()
    ]
    return _Overlay(
        leak=leak,
        switch=switch,
        visits=visits,
        top_leaks={tp: rank + 1 for rank, tp in enumerate(ranked[: max(top, 0)])},
        scale=max(flows, default=0.0),
    )


# -- layout and drawing ----------------------------------------------------------------

_MARGIN = 24.0
_LABEL_W = 150.0
_SLOT_MIN = 176.0
_SLOT_MAX = 280.0
_MIN_WIDTH = 1280.0
_PAD = 10.0
_INSET = 14.0
_GAP = 6.0
_EMOTION_H = 190.0
_ROW_MIN = 60.0  # room for the row label and its hint
_MAX_ITEMS = 5


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    label: str
    hint: str
    height: float
    cells: list[list[_Block]] = field(default_factory=list)


def _draw(spec: _Spec) -> str:
    n = len(spec.slots)
    slot_w = min(max(_SLOT_MIN, (_MIN_WIDTH - 2 * _MARGIN - _LABEL_W) / n), _SLOT_MAX)
    grid_x = _MARGIN + _LABEL_W
    width = grid_x + n * slot_w + _MARGIN
    inner = slot_w - _INSET - 12
    comparison = len(spec.series) == 2

    out: list[str] = []
    y = _MARGIN
    y = _draw_header(out, spec, width, y)

    rows = [
        _Row(
            "doing",
            "Doing",
            "touchpoint, channel, owner; edge colour = sentiment",
            0,
            _doing_cells(spec, inner),
        ),
        _Row("thinking", "Thinking", "• goals  “questions”", 0, _thinking_cells(spec, inner)),
        _Row("feeling", "Feeling", "sentiment per touchpoint", _EMOTION_H),
        _Row("pains", "Pains", "where it hurts", 0, _pain_cells(spec, inner, comparison)),
    ]
    if spec.overlay is not None:
        switching = _switching_cells(spec, spec.overlay, inner)
        rows += [
            _Row("leaks", "Leaks", "customers lost to churn here", 112.0),
            _Row(
                "switching",
                "Switching",
                "customers lost to a competitor",
                _cells_height(switching) + 16,
                switching,
            ),
        ]
    sized = [
        _Row(r.key, r.label, r.hint, r.height or _cells_height(r.cells), r.cells) for r in rows
    ]

    # Stage band.
    stage_h = _stage_band_height(spec, slot_w)
    grid_h = stage_h + sum(r.height + _GAP for r in sized)
    _draw_stage_columns(out, spec, grid_x, y, slot_w, stage_h, grid_h)
    y += stage_h + _GAP
    for row in sized:
        _draw_row_label(out, row, _MARGIN, y)
        if row.key == "feeling":
            _draw_emotion(out, spec, grid_x, y, slot_w)
        elif row.key == "leaks" and spec.overlay is not None:
            _draw_leaks(out, spec, spec.overlay, grid_x, y, slot_w, row.height)
        elif row.key == "switching" and spec.overlay is not None:
            _draw_switching(out, spec, spec.overlay, row, grid_x, y, slot_w)
        else:
            _draw_cells(out, spec, row, grid_x, y, slot_w)
        y += row.height + _GAP
    y = _draw_footer(out, spec, width, y + 4)
    height = y + _MARGIN

    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{_FONT}" class="journey-canvas">\n'
        f"<title>{_text(spec.title)}</title>\n"
        "<desc>Journey-map canvas drawn by journeygraph</desc>\n"
        + _rect(0, 0, width, height, _PAPER)
        + "\n"
    )
    return head + "\n".join(out) + "\n</svg>\n"


def _draw_header(out: list[str], spec: _Spec, width: float, y: float) -> float:
    full = width - 2 * _MARGIN
    y += _draw_block(out, _block(spec.title, full, _TITLE, 2), _MARGIN, y, cls="map-name")
    if spec.subtitle:
        y += 4 + _draw_block(out, _block(spec.subtitle, full, _SUBTITLE, 2), _MARGIN, y + 4)
    for line in spec.summary:
        y += 4 + _draw_block(out, _block(line, full, _SMALL, 2), _MARGIN, y + 4)
    y += 12
    persona = spec.persona
    if persona is None:
        return y
    col = (full - 2 * 16) / 3
    text_w = col - 2 * _PAD
    left: list[_Block] = [_block(f"Persona: {persona.label}", text_w, _HEADING, 2)]
    if persona.description:
        left.append(_block(persona.description, text_w, _BODY, 4))
    columns = [
        left,
        [_Block(_Wrapped(("Goals",), False), _HEADING, "Goals")]
        + _items(persona.goals, text_w, _BODY, 2, "• "),
        [
            _Block(
                _Wrapped(("Pains",), False),
                _Font(13, fill=_MOOD_COLOUR["negative"], bold=True),
                "Pains",
            )
        ]
        + _items(persona.pains, text_w, _BODY, 2, "• "),
    ]
    box_h = max(_stack_height(c) for c in columns) + 2 * _PAD
    fills = ("#eef2f7", "#edf7ef", "#fcefed")
    out.append('<g class="persona">')
    for i, blocks in enumerate(columns):
        x = _MARGIN + i * (col + 16)
        out.append(_rect(x, y, col, box_h, fills[i], rx=6))
        _draw_stack(out, blocks, x + _PAD, y + _PAD)
    out.append("</g>")
    return y + box_h + 14


def _items(
    texts: Sequence[str], width: float, font: _Font, max_lines: int, prefix: str
) -> list[_Block]:
    """Up to ``_MAX_ITEMS`` list items; the rest summarised as "+N more" with a tooltip."""
    blocks = [_block(t, width, font, max_lines, prefix=prefix) for t in texts[:_MAX_ITEMS]]
    rest = texts[_MAX_ITEMS:]
    if rest:
        more = f"+{len(rest)} more"
        blocks.append(_Block(_Wrapped((more,), True), _SMALL, "\n".join(rest)))
    return blocks


def _stack_height(blocks: Sequence[_Block]) -> float:
    return sum(b.height for b in blocks) + 3 * max(len(blocks) - 1, 0)


def _draw_stack(out: list[str], blocks: Sequence[_Block], x: float, y: float) -> None:
    for block in blocks:
        y += _draw_block(out, block, x, y) + 3


def _stage_band_height(spec: _Spec, slot_w: float) -> float:
    best = 0.0
    for i, stage in enumerate(spec.stages):
        span = sum(1 for s in spec.slots if s.stage == i) * slot_w - 2 * _PAD
        blocks = [_block(stage.label, span, _STAGE, 2)]
        if stage.description:
            blocks.append(_block(stage.description, span, _SMALL, 2))
        best = max(best, _stack_height(blocks))
    return best + 2 * _PAD


def _draw_stage_columns(
    out: list[str],
    spec: _Spec,
    grid_x: float,
    y: float,
    slot_w: float,
    band_h: float,
    grid_h: float,
) -> None:
    out.append('<g class="stages">')
    x = grid_x
    for i, stage in enumerate(spec.stages):
        count = sum(1 for s in spec.slots if s.stage == i)
        span = count * slot_w
        fill = _STAGE_FILLS[i % len(_STAGE_FILLS)]
        out.append(_rect(x + 2, y, span - 4, grid_h, _BAND if i % 2 else "#fafbfc", rx=4))
        out.append(_rect(x + 2, y, span - 4, band_h, fill, rx=4, cls="stage"))
        blocks = [_block(stage.label, span - 2 * _PAD, _STAGE, 2)]
        if stage.description:
            blocks.append(_block(stage.description, span - 2 * _PAD, _SMALL, 2))
        _draw_stack(out, blocks, x + _PAD, y + _PAD)
        x += span
    out.append("</g>")


def _draw_row_label(out: list[str], row: _Row, x: float, y: float) -> None:
    w = _LABEL_W - 10
    out.append(_rect(x, y, w, row.height, "#e9edf2", rx=4))
    _draw_block(out, _block(row.label, w - 2 * _PAD, _Font(14, bold=True), 1), x + _PAD, y + 8)
    _draw_block(out, _block(row.hint, w - 2 * _PAD, _SMALL, 3), x + _PAD, y + 30)


def _cells_height(cells: list[list[_Block]]) -> float:
    return max(max((_stack_height(c) for c in cells), default=0.0) + 2 * _PAD + 4, _ROW_MIN)


def _doing_cells(spec: _Spec, width: float) -> list[list[_Block]]:
    cells: list[list[_Block]] = []
    for slot in spec.slots:
        tp = slot.touchpoint
        if tp is None:
            cells.append([_block("no touchpoints in this stage", width, _SMALL, 2)])
            continue
        blocks: list[_Block] = []
        if slot.change:
            badge = (
                "NEW in the future map" if slot.change == "added" else "REMOVED in the future map"
            )
            colour = _MOOD_COLOUR["positive"] if slot.change == "added" else _MUTED
            blocks.append(_block(badge, width, _Font(10, fill=colour, bold=True), 1))
        name_font = (
            _Font(13, bold=True, fill=_MUTED, strike=True) if slot.change == "removed" else _NAME
        )
        blocks.append(_block(tp.label, width, name_font, 3))
        blocks.append(_block(tp.channel or "—", width, _SMALL, 2, prefix="channel: "))
        blocks.append(_block(tp.owner or "—", width, _Font(11, fill=_INK), 2, prefix="owner: "))
        if spec.overlay is not None and tp.id in spec.overlay.visits:
            visits = spec.overlay.visits[tp.id]
            blocks.append(_block(f"{visits:.2f} visits per customer", width, _SMALL, 1))
        cells.append(blocks)
    return cells


def _thinking_cells(spec: _Spec, width: float) -> list[list[_Block]]:
    cells: list[list[_Block]] = []
    for slot in spec.slots:
        tp = slot.touchpoint
        if tp is None:
            cells.append([])
            continue
        items = [*tp.goals, *(f"“{q}”" for q in tp.questions)]
        prefixes = ["• "] * len(tp.goals) + [""] * len(tp.questions)
        blocks = []
        for text, prefix in list(zip(items, prefixes, strict=True))[:_MAX_ITEMS]:
            font = _Font(11.5, italic=True, fill="#334e68") if not prefix else _Font(11.5)
            blocks.append(_block(text, width, font, 3, prefix=prefix))
        if len(items) > _MAX_ITEMS:
            rest = items[_MAX_ITEMS:]
            blocks.append(_Block(_Wrapped((f"+{len(rest)} more",), True), _SMALL, "\n".join(rest)))
        cells.append(blocks)
    return cells


def _pain_cells(spec: _Spec, width: float, comparison: bool) -> list[list[_Block]]:
    cells: list[list[_Block]] = []
    pain_font = _Font(11.5, fill="#9b1c1c")
    for slot in spec.slots:
        tp = slot.touchpoint
        if tp is None:
            cells.append([])
            continue
        if slot.change == "removed":
            blocks = [_block(p, width, _Font(11.5, fill=_MUTED), 3, prefix="– ") for p in tp.pains]
            cells.append(blocks[:_MAX_ITEMS])
            continue
        blocks = _items(tp.pains, width, pain_font, 3, "• ")
        if comparison and slot.before is not None:
            resolved = [p for p in slot.before.pains if p not in tp.pains]
            resolved_font = _Font(11.5, fill=_MOOD_COLOUR["positive"])
            blocks += _items(resolved, width, resolved_font, 3, "✓ resolved: ")
        cells.append(blocks)
    return cells


def _slot_card(out: list[str], slot: _Slot, x: float, y: float, w: float, h: float) -> None:
    if slot.change == "added":
        out.append(_rect(x, y, w, h, "#f0faf3", stroke=_MOOD_COLOUR["positive"], rx=5, dash=True))
    elif slot.change == "removed":
        out.append(_rect(x, y, w, h, "#f3f4f6", stroke=_MUTED, rx=5, dash=True))
    else:
        out.append(_rect(x, y, w, h, _PAPER, stroke=_FAINT, rx=5))


def _draw_cells(out: list[str], spec: _Spec, row: _Row, grid_x: float, y: float, w: float) -> None:
    out.append(f'<g class="row-{row.key}">')
    for i, (slot, blocks) in enumerate(zip(spec.slots, row.cells, strict=True)):
        x = grid_x + i * w
        tp = slot.touchpoint
        attrs = ""
        if tp is not None:
            attrs = f' data-touchpoint="{_text(tp.id)}"'
            if slot.change:
                attrs += f' data-change="{slot.change}"'
        out.append(f'<g class="cell"{attrs}>')
        _slot_card(out, slot, x + 4, y, w - 8, row.height)
        if row.key == "doing" and tp is not None and tp.sentiment is not None and not slot.change:
            colour = _MOOD_COLOUR[_mood(tp.sentiment)]
            out.append(_rect(x + 4, y, 4, row.height, colour, rx=2))
        _draw_stack(out, blocks, x + _INSET, y + _PAD)
        out.append("</g>")
    out.append("</g>")


def _draw_emotion(out: list[str], spec: _Spec, grid_x: float, y: float, w: float) -> None:
    top, height = y, _EMOTION_H
    pad = 26.0
    mid = top + height / 2
    amp = height / 2 - pad
    right = grid_x + len(spec.slots) * w

    def ypos(s: float) -> float:
        return mid - s * amp

    out.append('<g class="row-feeling">')
    out.append(_rect(grid_x + 4, ypos(1), right - grid_x - 8, amp, "#eef8f0"))
    out.append(_rect(grid_x + 4, mid, right - grid_x - 8, amp, "#fcf0ef"))
    for level in (1.0, 0.5, 0.0, -0.5, -1.0):
        out.append(_line(grid_x + 4, ypos(level), right - 4, ypos(level), _FAINT, dash=level != 0))
        label = {1.0: "+1", 0.0: "0", -1.0: "−1"}.get(level)
        if label:
            out.append(
                f'<text x="{_n(grid_x + 10)}" y="{_n(ypos(level) + 4)}" font-size="11" '
                f'fill="{_MUTED}">{label}</text>'
            )
    for series in spec.series:
        _draw_series(out, series, grid_x, w, ypos, spec)
    if len(spec.series) == 2:
        before, after = spec.series
        for i in sorted(set(before.values) & set(after.values)):
            old, new = before.values[i], after.values[i]
            if old is None or new is None or old == new:
                continue
            colour = _MOOD_COLOUR["positive"] if new > old else _MOOD_COLOUR["negative"]
            out.append(
                f'<text class="emotion-delta" x="{_n(grid_x + (i + 0.5) * w)}" '
                f'y="{_n(top + height - 6)}" font-size="11" font-weight="bold" '
                f'fill="{colour}" text-anchor="middle">Δ {_signed(new - old)}</text>'
            )
    out.append("</g>")


def _draw_series(
    out: list[str],
    series: _Series,
    grid_x: float,
    w: float,
    ypos: _YPos,
    spec: _Spec,
) -> None:
    current = series.name == "current"
    runs: list[list[tuple[float, float]]] = [[]]
    for i in sorted(series.values):
        value = series.values[i]
        if value is None:
            runs.append([])
        else:
            runs[-1].append((grid_x + (i + 0.5) * w, ypos(value)))
    stroke = "#9aa3ad" if current else "#3b4a5a"
    dash = ' stroke-dasharray="6 4"' if current else ""
    cls = f"emotion-curve {series.name}"
    for run in runs:
        if len(run) >= 2:
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            out.append(
                f'<polyline class="{cls}" points="{points}" fill="none" stroke="{stroke}" '
                f'stroke-width="{2 if current else 2.5}"{dash} stroke-linejoin="round"/>'
            )
    for i in sorted(series.values):
        value = series.values[i]
        slot = spec.slots[i]
        tp = slot.before if current else slot.touchpoint
        if tp is None:
            continue
        cx = grid_x + (i + 0.5) * w
        ident = _text(tp.id)
        if value is None:
            cy = ypos(0)
            out.append(
                f'<g class="emotion-missing {series.name}" data-touchpoint="{ident}">'
                f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="7" fill="{_PAPER}" stroke="{_MUTED}" '
                'stroke-dasharray="2 2"/>'
                f'<text x="{_n(cx)}" y="{_n(cy + 4)}" font-size="10" fill="{_MUTED}" '
                'text-anchor="middle">?</text>'
                f'<text x="{_n(cx)}" y="{_n(cy + 20)}" font-size="10" fill="{_MUTED}" '
                'text-anchor="middle">no sentiment</text></g>'
            )
            continue
        mood = _mood(value)
        colour = _MOOD_COLOUR[mood]
        cy = ypos(value)
        fill = _PAPER if current else colour
        out.append(
            f'<circle class="emotion-point {series.name} sentiment-{mood}" '
            f'data-touchpoint="{ident}" cx="{_n(cx)}" cy="{_n(cy)}" r="{5 if current else 6.5}" '
            f'fill="{fill}" stroke="{colour}" stroke-width="2"/>'
        )
        if current and spec.series[1].values.get(i, None) == value:
            continue  # the future point carries the same label
        label_y = cy + 17 if current else cy - 11
        weight = "normal" if current else "bold"
        out.append(
            f'<text class="emotion-value" x="{_n(cx)}" y="{_n(label_y)}" font-size="11" '
            f'fill="{_MUTED if current else colour}" font-weight="{weight}" '
            f'text-anchor="middle">{_signed(value)}</text>'
        )


class _YPos(Protocol):
    def __call__(self, s: float, /) -> float: ...


def _bar(
    out: list[str], x: float, y: float, full: float, value: float, scale: float, colour: str
) -> None:
    out.append(_rect(x, y, full, 12, "#eef0f3", rx=3))
    if scale > 0 and value > 0:
        out.append(_rect(x, y, max(full * value / scale, 2.0), 12, colour, rx=3, cls="bar"))


def _draw_leaks(
    out: list[str], spec: _Spec, overlay: _Overlay, grid_x: float, y: float, w: float, h: float
) -> None:
    out.append('<g class="row-leaks">')
    for i, slot in enumerate(spec.slots):
        tp = slot.touchpoint
        x = grid_x + i * w
        attrs = f' data-touchpoint="{_text(tp.id)}"' if tp is not None else ""
        out.append(f'<g class="cell"{attrs}>')
        _slot_card(out, slot, x + 4, y, w - 8, h)
        if tp is None:
            out.append("</g>")
            continue
        flow, share, rate = overlay.leak.get(tp.id, (0.0, 0.0, 0.0))
        rank = overlay.top_leaks.get(tp.id)
        top = y + _PAD
        if rank is not None:
            badge = f"TOP LEAK #{rank}"
            badge_w = _em(badge, bold=True) * 10.5 + 16
            out.append(
                _rect(x + _INSET, top, badge_w, 17, _LEAK, rx=8, cls=f"top-leak rank-{rank}")
            )
            out.append(
                f'<text x="{_n(x + _INSET + badge_w / 2)}" y="{_n(top + 12.5)}" '
                'font-size="10.5" font-weight="bold" fill="#ffffff" '
                f'text-anchor="middle">{badge}</text>'
            )
        top += 22
        width = w - _INSET - 12
        _bar(out, x + _INSET, top, width, flow, overlay.scale, _LEAK)
        if flow > 0:
            blocks = [
                _block(f"{_pct(flow)} of customers", width, _Font(11.5, bold=True), 1),
                _block(f"{_pct(share)} of all churn", width, _BODY_SMALL, 1),
                _block(f"exit rate {_pct(rate)} per visit", width, _SMALL, 1),
            ]
        else:
            blocks = [_block("no churn from here", width, _SMALL, 1)]
        _draw_stack(out, blocks, x + _INSET, top + 16)
        out.append("</g>")
    out.append("</g>")


def _switching_cells(spec: _Spec, overlay: _Overlay, width: float) -> list[list[_Block]]:
    cells: list[list[_Block]] = []
    for slot in spec.slots:
        tp = slot.touchpoint
        if tp is None:
            cells.append([])
            continue
        items = sorted(overlay.switch.get(tp.id, []), key=lambda item: -item[1])
        if not any(flow > 0 for _, flow in items):
            cells.append([_block("no switching from here", width, _SMALL, 1)])
            continue
        blocks = [
            _block(name, width, _BODY_SMALL, 2, prefix=f"{_pct(flow)} to ")
            for name, flow in items[:2]
        ]
        if len(items) > 2:
            rest = [f"{_pct(flow)} to {name}" for name, flow in items[2:]]
            blocks.append(_Block(_Wrapped((f"+{len(rest)} more",), True), _SMALL, "\n".join(rest)))
        cells.append(blocks)
    return cells


def _draw_switching(
    out: list[str], spec: _Spec, overlay: _Overlay, row: _Row, grid_x: float, y: float, w: float
) -> None:
    out.append('<g class="row-switching">')
    for i, (slot, blocks) in enumerate(zip(spec.slots, row.cells, strict=True)):
        tp = slot.touchpoint
        x = grid_x + i * w
        attrs = f' data-touchpoint="{_text(tp.id)}"' if tp is not None else ""
        out.append(f'<g class="cell"{attrs}>')
        _slot_card(out, slot, x + 4, y, w - 8, row.height)
        if tp is not None:
            total = math.fsum(flow for _, flow in overlay.switch.get(tp.id, []))
            _bar(out, x + _INSET, y + _PAD, w - _INSET - 12, total, overlay.scale, _SWITCH)
            _draw_stack(out, blocks, x + _INSET, y + _PAD + 16)
        out.append("</g>")
    out.append("</g>")


def _draw_footer(out: list[str], spec: _Spec, width: float, y: float) -> float:
    out.append('<g class="legend">')
    x = _MARGIN
    baseline = y + 14
    comparison = len(spec.series) == 2
    entries: list[tuple[str, str]] = [
        ("positive", f"positive (above +{_NEUTRAL_BAND:.1f})"),
        ("neutral", f"neutral (−{_NEUTRAL_BAND:.1f} … +{_NEUTRAL_BAND:.1f})"),
        ("negative", f"negative (below −{_NEUTRAL_BAND:.1f})"),
    ]
    for mood, label in entries:
        out.append(
            f'<circle cx="{_n(x + 6)}" cy="{_n(baseline - 4)}" r="6" fill="{_MOOD_COLOUR[mood]}"/>'
        )
        out.append(
            f'<text x="{_n(x + 18)}" y="{_n(baseline)}" font-size="11.5" fill="{_INK}">{label}</text>'
        )
        x += 18 + _em(label) * 11.5 + 22
    if comparison:
        out.append(
            f'<line x1="{_n(x)}" y1="{_n(baseline - 4)}" x2="{_n(x + 28)}" y2="{_n(baseline - 4)}" '
            'stroke="#9aa3ad" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{_n(x + 36)}" y="{_n(baseline)}" font-size="11.5" fill="{_INK}">'
            "current map (dashed, hollow points) · future map (solid)</text>"
        )
    y = baseline + 10
    lines = [*spec.notes]
    if spec.overlay is not None:
        lines.append(
            "Leak and switching flows are the expected share of all entering customers who "
            "leave to churn / a competitor at each touchpoint (absorbing-chain analysis)"
        )
    for line in lines:
        y += 4 + _draw_block(out, _block(line, width - 2 * _MARGIN, _SMALL, 3), _MARGIN, y + 4)
    out.append("</g>")
    return y
