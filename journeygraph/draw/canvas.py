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

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from journeygraph._escape import escape_text
from journeygraph._files import atomic_write
from journeygraph.draw import palette
from journeygraph.draw.scene import Scene, SceneTouchpoint, build_scene, element_id
from journeygraph.draw.text import Wrapped as _Wrapped
from journeygraph.draw.text import em as _em
from journeygraph.draw.text import wrap as _wrap
from journeygraph.draw.words import check_lang, word
from journeygraph.errors import RenderError
from journeygraph.model import JourneyMap, Persona, Touchpoint

__all__ = [
    "CanvasAnalysis",
    "CanvasLeak",
    "CanvasSwitch",
    "canvas_of_scene",
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


# -- small SVG writers (numbers and constants only; user text through _text) -----------

_FONT = (
    "DejaVu Sans, Noto Sans, Noto Sans CJK KR, Apple SD Gothic Neo, Malgun Gothic, "
    "NanumGothic, Noto Sans Arabic, Segoe UI, Helvetica Neue, Arial, sans-serif"
)
_INK = "#1f2933"
_MUTED = "#5f6b7a"
_FAINT = "#d5dbe3"
_PAPER = "#ffffff"
_BAND = "#f4f6f9"
# Colour means one thing in every view (journeygraph.draw.palette): sentiment blue /
# grey / vermillion, leaks in the churn colour, switching in the competitor colour.
_MOOD_COLOUR = {
    "positive": palette.colour("positive"),
    "neutral": palette.colour("neutral"),
    "negative": palette.colour("negative"),
}
_LEAK = palette.colour("leak")
_SWITCH = palette.colour("switching")
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

_Change = Literal["", "added", "removed", "changed"]


class _Card(Protocol):
    """What a column shows of a touchpoint (a Touchpoint or a SceneTouchpoint fits)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def sentiment(self) -> float | None: ...
    @property
    def pains(self) -> tuple[str, ...]: ...
    @property
    def goals(self) -> tuple[str, ...]: ...
    @property
    def questions(self) -> tuple[str, ...]: ...


class _StageLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def description(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class _Before:
    """A touchpoint as the current map of a comparison has it (from the scene)."""

    id: str
    label: str
    channel: str | None
    owner: str | None
    sentiment: float | None
    pains: tuple[str, ...]
    goals: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Slot:
    """One touchpoint column (or the placeholder of a stage without touchpoints)."""

    stage: int
    touchpoint: _Card | None
    before: _Card | None = None
    change: _Change = ""
    notes: tuple[str, ...] = ()


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
    leak_before: dict[str, float] = field(default_factory=dict)
    switch_before: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Spec:
    title: str
    subtitle: str | None
    persona: Persona | None
    stages: Sequence[_StageLike]
    slots: list[_Slot]
    series: list[_Series]
    overlay: _Overlay | None = None
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: str | None = None
    lang: str = "en"
    slide: bool = False
    tiles: list[_Tile] = field(default_factory=list)
    loss_rows: list[_LossRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Tile:
    """A headline figure as a tile: its name, value (``12.8% → 16.8%`` in a comparison)
    and change (``+4.0 pts``, coloured by whether it is better for the business)."""

    key: str
    name: str
    value: str
    delta: str | None = None
    better: bool | None = None


@dataclass(frozen=True, slots=True)
class _LossRow:
    """A line of the largest leaks or switching points (``Checkout 6.0% → 2.8% · …``)."""

    key: Literal["leaks", "switching"]
    label: str
    items: tuple[str, ...]


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
    *,
    renames: Mapping[str, str] | None = None,
    lang: str = "en",
) -> str:
    """Draw a current-state and a future-state map on one canvas, as SVG.

    The maps are matched once, by :func:`journeygraph.compare` (``renames`` included),
    and drawn from the comparison's scene: columns follow the current map's stages and
    order, future-only touchpoints after their stage's current ones. Both emotion curves
    share one axis (current grey and dashed, future in colour); added touchpoints are
    marked *new*, removed ones *removed*, renamed or re-scored ones *changed*; pains of
    the current map that the future map no longer has are listed as resolved. A headline
    gives the key figures before → after, and the leak and switching rows show both.

    Parameters
    ----------
    current, future
        The as-is and to-be maps.
    path
        Where to write the SVG (``.svg``), atomically; ``None`` only returns the text.
    renames
        Current id -> future id, as for :func:`journeygraph.compare`.
    lang
        ``"en"`` or ``"ko"``: the interface words.

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
    from journeygraph.compare import compare

    for name, value in (("current", current), ("future", future)):
        if not isinstance(value, JourneyMap):
            raise TypeError(f"{name} must be a JourneyMap, got {type(value).__name__}")
    target = _svg_path(path)
    svg = canvas_of_scene(build_scene(compare(current, future, renames=renames)), lang=lang)
    if target is not None:
        atomic_write(target, svg)
    return svg


def canvas_of_scene(scene: Scene, *, preset: str = "full", lang: str = "en") -> str:
    """The canvas of a scene (a map, an analysis or a comparison), as SVG.

    ``preset="slide"``: a condensed canvas for a 16:9 slide, 1280 px wide with text of
    at least 12 px: the touchpoints, the emotion curve and the leaks; it says that goals,
    questions, pains and owners are on the full canvas.

    Examples
    --------
    >>> from journeygraph.draw import build_scene
    >>> from journeygraph.draw.canvas import canvas_of_scene
    >>> svg = canvas_of_scene(build_scene(jg.analyze(jm)))
    >>> svg.count('class="cell touchpoint"')   # one per touchpoint in the Doing row
    2
    """
    lang = check_lang(lang)
    slide = preset == "slide"
    slots: list[_Slot] = []
    for st in scene.stages:
        here: list[_Slot] = []
        for tp in scene.column(st.index):
            before: _Card | None = None
            if scene.kind == "diff" and tp.change != "added":
                before = _Before(
                    tp.previous_id or tp.id,
                    tp.label,
                    tp.channel,
                    tp.owner,
                    tp.sentiment_before,
                    tp.pains_before,
                    tp.goals,
                    tp.questions,
                )
            change: _Change = "" if tp.change == "unchanged" else tp.change
            notes = tuple(_change_note(c.field, c.before, c.after, lang) for c in tp.changes)
            here.append(_Slot(st.index, tp, before, change, notes))
        slots += here or [_Slot(st.index, None)]
    if slide and len(slots) > _SLIDE_SLOTS:
        slots, hidden = _fewer_slots(scene, slots)
    else:
        hidden = 0
    spec = _Spec(
        title=scene.title,
        subtitle=scene.description,
        persona=scene.persona,
        stages=scene.stages,
        slots=slots,
        series=[],
        lang=lang,
        slide=slide,
    )
    if scene.kind == "diff":
        spec.title = word(lang, "compare_title", name=scene.title)
        spec.series = [
            _Series(
                "current",
                {
                    i: s.before.sentiment
                    for i, s in enumerate(slots)
                    if s.before is not None and s.change != "added"
                },
            ),
            _Series(
                "future",
                {
                    i: s.touchpoint.sentiment
                    for i, s in enumerate(slots)
                    if s.touchpoint is not None and s.change != "removed"
                },
            ),
        ]
        if scene.current_title and scene.current_title != scene.title:
            spec.summary.append(word(lang, "current_map", name=scene.current_title))
        counts = {c: sum(1 for t in scene.touchpoints if t.change == c) for c in _CHANGES}
        spec.summary.append(
            word(
                lang,
                "compare_counts",
                added=counts["added"],
                removed=counts["removed"],
                changed=counts["changed"],
                before=_mean(t.sentiment_before for t in scene.touchpoints),
                after=_mean(t.sentiment for t in scene.touchpoints),
            )
        )
        spec.headline = _headline(scene, lang)
        spec.overlay = _scene_overlay(scene)
        spec.tiles = _tiles(scene, lang)
        spec.loss_rows = _loss_rows(scene, lang)
    else:
        spec.series = [
            _Series(
                "map",
                {i: s.touchpoint.sentiment for i, s in enumerate(slots) if s.touchpoint},
            )
        ]
        average = _mean(t.sentiment for t in scene.touchpoints)
        spec.summary.append(
            word(
                lang,
                "canvas_summary",
                touchpoints=len(scene.touchpoints),
                stages=len(scene.stages),
                value=average,
            )
        )
        if scene.kind == "analysis":
            spec.headline = _headline(scene, lang)
            spec.overlay = _scene_overlay(scene)
            spec.tiles = _tiles(scene, lang)
            spec.loss_rows = _loss_rows(scene, lang)
    missing = [s.touchpoint.label for s in slots if s.touchpoint and s.touchpoint.sentiment is None]
    if missing:
        spec.notes.append(
            word(
                lang,
                "canvas_missing",
                count=len(missing),
                names=", ".join(dict.fromkeys(missing)),
            )
        )
    if hidden:
        spec.notes.append(word(lang, "hidden_touchpoints", count=hidden))
    if slide:
        spec.notes.append(word(lang, "slide_canvas_hides"))
    return _draw(spec)


_CHANGES = ("added", "removed", "changed")


def _mean(values: Iterable[float | None]) -> str:
    """The average of the sentiments a map has, as shown (``n/a`` without any)."""
    known = [v for v in values if v is not None]
    return _signed(math.fsum(known) / len(known)) if known else "n/a"


#: A slide's canvas shows at most this many touchpoint columns.
_SLIDE_SLOTS = 16


def _fewer_slots(scene: Scene, slots: list[_Slot]) -> tuple[list[_Slot], int]:
    """The slots of the most-travelled touchpoints (file order kept), and how many hid."""
    into: dict[str, float] = {}
    for m in scene.moves:
        into[m.target] = into.get(m.target, 0.0) + m.strength
    ranked = sorted(
        (s for s in slots if s.touchpoint is not None),
        key=lambda s: (
            -(into.get(s.touchpoint.id, 0.0) + scene.entry.get(s.touchpoint.id, 0.0))
            if s.touchpoint is not None
            else 0.0
        ),
    )
    keep = {id(s) for s in ranked[:_SLIDE_SLOTS]}
    kept = [s for s in slots if id(s) in keep]
    return kept, len(slots) - len(kept)


def _pct_short(p: float, places: int = 1) -> str:
    return f"{p * 100:.{places}f}%"


def _headline(scene: Scene, lang: str) -> str | None:
    parts = []
    for key in ("conversion", "churn", "competitor", "hours"):
        fig = scene.figure(key)
        if fig is None:
            continue
        if key == "hours":
            value = _hours(fig.value, lang)
            if fig.before is not None:
                value = f"{_hours(fig.before, lang)} → {value}"
        else:
            d = fig.places()
            value = _pct_short(fig.value, d)
            if fig.before is not None:
                delta = (fig.value - fig.before) * 100
                pts = word(lang, "s_pts")
                value = f"{_pct_short(fig.before, d)} → {value} ({delta:+.{d}f} {pts})"
                value = value.replace("-", "−")
        parts.append(word(lang, key, value=value))
    return " · ".join(parts) or None


def _hours(hours: float, lang: str) -> str:
    if hours >= 48:
        return word(lang, "unit_d", value=f"{hours / 24:.0f}")
    return word(lang, "unit_h", value=f"{hours:.1f}")


#: Figures where a fall is the better news (the tile's change is coloured by it).
_LOWER_IS_BETTER = frozenset({"churn", "competitor", "hours"})
#: How many touchpoints a row of the largest leaks or switching points names.
_LOSS_ROW_ITEMS = 4


def _tiles(scene: Scene, lang: str) -> list[_Tile]:
    """The headline figures as tiles, before → after in a comparison."""
    tiles: list[_Tile] = []
    for key in ("conversion", "churn", "competitor", "hours"):
        fig = scene.figure(key)
        if fig is None:
            continue
        days = key == "hours" and max(fig.value, fig.before or 0.0) >= 48
        # Enough decimals for the change to be the change of the values shown.
        d = fig.places(1 / 24 if days else 1.0 if key == "hours" else 100.0)

        def show(value: float, key: str = key, days: bool = days, d: int = d) -> str:
            if key != "hours":
                return _pct_short(value, d)
            if days:
                return word(lang, "unit_d", value=f"{value / 24:.{d}f}")
            return word(lang, "unit_h", value=f"{value:.{d}f}")

        value = show(fig.value)
        delta: str | None = None
        better: bool | None = None
        if fig.before is not None:
            value = f"{show(fig.before)} → {value}"
            change = fig.value - fig.before
            if key == "hours":  # one unit on both sides of the arrow and in the change
                delta = ("+" if change >= 0 else "−") + show(abs(change))
            else:
                delta = f"{change * 100:+.{d}f} {word(lang, 's_pts')}".replace("-", "−")
            if abs(change) >= (0.05 if key == "hours" else 0.0005):
                better = (change < 0) == (key in _LOWER_IS_BETTER)
        tiles.append(_Tile(key, word(lang, f"canvas_fig_{key}"), value, delta, better))
    return tiles


def _loss_rows(scene: Scene, lang: str) -> list[_LossRow]:
    """The touchpoints that lose the most customers to churn and to competitors (a
    comparison: the larger of before and after, shown before → after; renamed
    touchpoints under their new name, as the scene has them)."""
    rows: list[_LossRow] = []
    diff = scene.kind == "diff"
    for key in ("leaks", "switching"):

        def pair(tp: SceneTouchpoint, key: str = key) -> tuple[float | None, float | None]:
            if key == "leaks":
                return tp.leak_before, tp.leak
            return tp.switching_before, tp.switching

        ranked = sorted(
            (tp for tp in scene.touchpoints if max(v or 0.0 for v in pair(tp)) >= 0.0005),
            key=lambda tp: -max(v or 0.0 for v in pair(tp)),
        )[:_LOSS_ROW_ITEMS]
        if not ranked:
            continue
        items = []
        for tp in ranked:
            before, after = pair(tp)
            shown = _pct(after) if after is not None else "—"
            if diff:
                shown = f"{_pct(before) if before is not None else '—'} → {shown}"
            items.append(f"{tp.label} {shown}")
        label = word(lang, f"canvas_{key}_change" if diff else f"canvas_top_{key}")
        rows.append(_LossRow(key, label, tuple(items)))
    return rows


def _change_note(field_name: str, before: object, after: object, lang: str) -> str:
    if field_name == "id":
        return word(lang, "renamed_from", old=before)
    key = f"field_{field_name}"
    label = word(lang, key) if key in _FIELD_WORDS else field_name

    def show(v: object) -> str:
        if isinstance(v, float):
            return _signed(v)
        if isinstance(v, tuple | list):
            return str(len(v))
        return "—" if v is None else str(v)

    return word(lang, "field_change", field=label, before=show(before), after=show(after))


_FIELD_WORDS = frozenset(
    f"field_{f}" for f in ("id", "name", "stage", "channel", "owner", "sentiment", "pains", "goals")
) | {"field_questions", "field_notes"}


def _scene_overlay(scene: Scene) -> _Overlay:
    """Leaks, switching and visits as the scene has them (a diff: the future map's, with
    the current map's in ``leak_before`` / ``switch_before``)."""
    churn = scene.figure("churn")
    total_churn = churn.value if churn is not None else 0.0
    leak: dict[str, tuple[float, float, float]] = {}
    switch: dict[str, list[tuple[str, float]]] = {}
    for tp in scene.touchpoints:
        flow = tp.leak or 0.0
        rate = math.fsum(
            x.probability or 0.0
            for x in scene.losses
            if x.touchpoint == tp.id and x.kind == "churn"
        )
        if flow > 0 or rate > 0:
            leak[tp.id] = (flow, flow / total_churn if total_churn > 0 else 0.0, rate)
    for x in scene.losses:
        if x.kind == "competitor" and (x.flow or 0.0) > 0:
            switch.setdefault(x.touchpoint, []).append((x.outcome_label, x.flow or 0.0))
    flows = [v[0] for v in leak.values()] + [
        math.fsum(f for _, f in items) for items in switch.values()
    ]
    flows += [t.leak_before or 0.0 for t in scene.touchpoints]
    flows += [t.switching_before or 0.0 for t in scene.touchpoints]
    return _Overlay(
        leak=leak,
        switch=switch,
        visits={t.id: t.visits for t in scene.touchpoints if t.visits is not None},
        top_leaks={tp: i + 1 for i, tp in enumerate(scene.top_leaks)},
        scale=max(flows, default=0.0),
        leak_before={t.id: t.leak_before for t in scene.touchpoints if t.leak_before is not None},
        switch_before={
            t.id: t.switching_before for t in scene.touchpoints if t.switching_before is not None
        },
    )


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
_SLIDE_PX = 1280.0  # a slide's width on screen
_SLIDE_PAGE_W = 1066.0  # its page: the smallest text (10) shows at 12.008 px (> 12)
_SLIDE_LABEL_W = 92.0


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    label: str
    hint: str
    height: float
    cells: list[list[_Block]] = field(default_factory=list)


def _draw(spec: _Spec) -> str:
    if spec.slide:
        return _draw_slide(spec)
    n = len(spec.slots)
    lang = spec.lang
    label_w = _LABEL_W
    if spec.slide:
        # A slide is laid out on a narrower page and scaled up to 1280 px, so the
        # smallest text (10 units) shows at 12 px.
        label_w = _SLIDE_LABEL_W
        slot_w = (_SLIDE_PAGE_W - 2 * _MARGIN - label_w) / n
    else:
        slot_w = min(max(_SLOT_MIN, (_MIN_WIDTH - 2 * _MARGIN - label_w) / n), _SLOT_MAX)
    grid_x = _MARGIN + label_w
    width = grid_x + n * slot_w + _MARGIN
    inner = slot_w - _INSET - 12
    comparison = len(spec.series) == 2

    out: list[str] = []
    y = _MARGIN
    y = _draw_header(out, spec, width, y)

    rows = [
        _Row(
            "doing",
            word(lang, "row_doing"),
            word(lang, "row_doing_hint"),
            0,
            _doing_cells(spec, inner),
        ),
        _Row(
            "thinking",
            word(lang, "row_thinking"),
            word(lang, "row_thinking_hint"),
            0,
            _thinking_cells(spec, inner),
        ),
        _Row("feeling", word(lang, "row_feeling"), word(lang, "row_feeling_hint"), _EMOTION_H),
        _Row(
            "pains",
            word(lang, "row_pains"),
            word(lang, "row_pains_hint"),
            0,
            _pain_cells(spec, inner, comparison),
        ),
    ]
    if spec.overlay is not None:
        switching = _switching_cells(spec, spec.overlay, inner)
        before_rows = 16.0 if spec.overlay.leak_before else 0.0
        rows += [
            _Row(
                "leaks", word(lang, "row_leaks"), word(lang, "row_leaks_hint"), 112.0 + before_rows
            ),
            _Row(
                "switching",
                word(lang, "row_switching"),
                word(lang, "row_switching_hint"),
                _cells_height(switching) + 16,
                switching,
            ),
        ]
    if spec.slide:
        rows = [r for r in rows if r.key in ("doing", "feeling", "leaks")]
        rows = [
            _Row(r.key, r.label, "", r.height if r.key != "feeling" else _EMOTION_H * 0.7, r.cells)
            for r in rows
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
        _draw_row_label(out, row, _MARGIN, y, label_w)
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
    shown_w, shown_h = width, height
    if spec.slide:
        height = max(height, width * 9 / 16)
        scale = _SLIDE_PX / width
        shown_w, shown_h = _SLIDE_PX, height * scale

    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(shown_w)}" '
        f'height="{_n(shown_h)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{_FONT}" class="journey-canvas{" slide" if spec.slide else ""}">\n'
        f"<title>{_text(spec.title)}</title>\n"
        "<desc>Journey-map canvas drawn by journeygraph</desc>\n"
        + _rect(0, 0, width, height, _PAPER)
        + "\n"
    )
    return head + "\n".join(out) + "\n</svg>\n"


def _draw_header(out: list[str], spec: _Spec, width: float, y: float) -> float:
    """Title, the headline figures and the largest losses, then the summary and the
    persona. The title, figures and losses grow with the canvas (``k``), so that shown
    1280 px wide a wide canvas still reads them at 12 px or more; the rest is detail
    to zoom into."""
    full = width - 2 * _MARGIN
    k = max(width / _SLIDE_PAGE_W, 1.0)
    title = _TITLE if 20 * k <= _TITLE.size else _Font(20 * k, bold=True)
    y += _draw_block(out, _block(spec.title, full, title, 2), _MARGIN, y, cls="map-name")
    if spec.subtitle and not spec.slide:
        sub = _SUBTITLE if 10 * k <= _SUBTITLE.size else _Font(10 * k, fill=_MUTED)
        y += 4 + _draw_block(out, _block(spec.subtitle, full, sub, 2), _MARGIN, y + 4)
    if spec.tiles or spec.loss_rows:
        y += 8 * k + _draw_summary(out, spec, _MARGIN, y + 8 * k, full, k)
    elif spec.headline:
        y += 6 + _draw_block(
            out,
            _block(spec.headline, full, _Font(16, bold=True), 2),
            _MARGIN,
            y + 6,
            cls="headline",
        )
    small = _SMALL if 10 * k <= _SMALL.size else _Font(10 * k, fill=_MUTED)
    for line in spec.summary:
        y += 4 + _draw_block(out, _block(line, full, small, 2), _MARGIN, y + 4)
    y += 12
    persona = spec.persona
    if persona is None or spec.slide:
        return y
    col = (full - 2 * 16) / 3
    text_w = col - 2 * _PAD
    left: list[_Block] = [
        _block(word(spec.lang, "persona", name=persona.label), text_w, _HEADING, 2)
    ]
    if persona.description:
        left.append(_block(persona.description, text_w, _BODY, 4))
    columns = [
        left,
        [_Block(_Wrapped((word(spec.lang, "goals"),), False), _HEADING, "Goals")]
        + _items(persona.goals, text_w, _BODY, 2, "• "),
        [
            _Block(
                _Wrapped((word(spec.lang, "pains"),), False),
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


def _draw_summary(out: list[str], spec: _Spec, x: float, y: float, full: float, k: float) -> float:
    """The headline figures as tiles and the rows of the largest leaks and switching
    points, at ``k`` times the slide's sizes (the smallest text is ``10 k``); return the
    height drawn. A canvas ``1066 k`` wide shown 1280 px wide shows it at 12 px or more."""
    start = y
    if spec.tiles:
        out.append('<g class="headline">')
        pad, gap = 7 * k, 10 * k
        name_f = _Font(10 * k, fill=_MUTED)
        value_f = _Font(15 * k, bold=True)
        delta_size = 11 * k
        tile_h = pad + name_f.leading + value_f.leading + pad
        tx, ty = x, y
        for tile in spec.tiles:
            value_w = _em(tile.value, bold=True) * value_f.size
            delta_w = _em(tile.delta, bold=True) * delta_size + 6 * k if tile.delta else 0.0
            # wrap() fills at most 97 % of a line: leave that room.
            need = max(_em(tile.name) * name_f.size, value_w + delta_w) / 0.96 + 2
            w = min(need + 2 * pad, full)
            if tx > x and tx + w > x + full:
                tx, ty = x, ty + tile_h + gap / 2
            out.append(f'<g class="figure figure-{tile.key}">')
            out.append(_rect(tx, ty, w, tile_h, "#f1f4f8", stroke=_FAINT, rx=6 * k))
            inner = w - 2 * pad
            _draw_block(out, _block(tile.name, inner, name_f, 1), tx + pad, ty + pad)
            value = _block(tile.value, inner - delta_w, value_f, 1)
            vy = ty + pad + name_f.leading
            _draw_block(out, value, tx + pad, vy, cls="figure-value")
            if tile.delta:
                mood = {True: "positive", False: "negative", None: "neutral"}[tile.better]
                colour = _MOOD_COLOUR[mood] if tile.better is not None else _MUTED
                dx = tx + pad + _em(value.wrapped.lines[0], bold=True) * value_f.size + 6 * k
                out.append(
                    f'<text class="figure-delta" x="{_n(dx)}" y="{_n(vy + value_f.size)}" '
                    f'font-size="{_n(delta_size)}" font-weight="bold" fill="{colour}">'
                    f"{_text(tile.delta)}</text>"
                )
            out.append("</g>")
            tx += w + gap
        out.append("</g>")
        y = ty + tile_h + 6 * k
    # The rows' items start at one x, a column after the longest label.
    label_w = max((_em(r.label + ":", bold=True) * 10 * k for r in spec.loss_rows), default=0.0)
    label_w += 8 * k
    for row in spec.loss_rows:
        font = _Font(10 * k)
        label_font = _Font(
            10 * k,
            bold=True,
            fill=palette.text_colour("churn" if row.key == "leaks" else "competitor"),
        )
        out.append(f'<g class="loss-row loss-row-{row.key}">')
        _draw_block(out, _block(row.label + ":", label_w, label_font, 1), x, y)
        # As many items as one line holds (at least two; they wrap to a second line).
        items = list(row.items)
        while (
            len(items) > 2 and _block(" · ".join(items), full - label_w, font, 1).wrapped.truncated
        ):
            items.pop()
        text = _block(" · ".join(items), full - label_w, font, 2)
        y += _draw_block(out, text, x + label_w, y, cls="loss-row-items") + 3 * k
        out.append("</g>")
    return y - start


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
        out.append(f'<g class="stage" id="{element_id("stage", stage.id)}">')
        out.append(_rect(x + 2, y, span - 4, grid_h, _BAND if i % 2 else "#fafbfc", rx=4))
        out.append(_rect(x + 2, y, span - 4, band_h, fill, rx=4, cls="stage-band"))
        blocks = [_block(stage.label, span - 2 * _PAD, _STAGE, 2)]
        if stage.description and not spec.slide:
            blocks.append(_block(stage.description, span - 2 * _PAD, _SMALL, 2))
        _draw_stack(out, blocks, x + _PAD, y + _PAD)
        out.append("</g>")
        x += span
    out.append("</g>")


def _draw_row_label(out: list[str], row: _Row, x: float, y: float, label_w: float) -> None:
    w = label_w - 10
    out.append(_rect(x, y, w, row.height, "#e9edf2", rx=4))
    _draw_block(out, _block(row.label, w - 2 * _PAD, _Font(14, bold=True), 1), x + _PAD, y + 8)
    if row.hint:
        _draw_block(out, _block(row.hint, w - 2 * _PAD, _SMALL, 3), x + _PAD, y + 30)


def _cells_height(cells: list[list[_Block]]) -> float:
    return max(max((_stack_height(c) for c in cells), default=0.0) + 2 * _PAD + 4, _ROW_MIN)


def _doing_cells(spec: _Spec, width: float) -> list[list[_Block]]:
    cells: list[list[_Block]] = []
    for slot in spec.slots:
        tp = slot.touchpoint
        lang = spec.lang
        if tp is None:
            cells.append([_block(word(lang, "no_stage_touchpoints"), width, _SMALL, 2)])
            continue
        blocks: list[_Block] = []
        if slot.change:
            badge = word(lang, f"{_BADGE_WORD[slot.change]}_in_future")
            colour = palette.text_colour(slot.change)
            blocks.append(_block(badge, width, _Font(10, fill=colour, bold=True), 2))
        name_font = (
            _Font(13, bold=True, fill=_MUTED, strike=True) if slot.change == "removed" else _NAME
        )
        blocks.append(_block(tp.label, width, name_font, 3))
        if not spec.slide:
            channel, owner = word(lang, "channel"), word(lang, "owner")
            blocks.append(_block(tp.channel or "—", width, _SMALL, 2, prefix=channel))
            blocks.append(_block(tp.owner or "—", width, _Font(11, fill=_INK), 2, prefix=owner))
        for note in slot.notes[: 1 if spec.slide else 3]:
            blocks.append(_block(note, width, _Font(11, fill=palette.text_colour("changed")), 2))
        if spec.overlay is not None and tp.id in spec.overlay.visits:
            visits = spec.overlay.visits[tp.id]
            blocks.append(_block(word(lang, "visits", value=f"{visits:.2f}"), width, _SMALL, 2))
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
            blocks += _items(resolved, width, resolved_font, 3, word(spec.lang, "resolved"))
        cells.append(blocks)
    return cells


_BADGE_WORD = {"added": "new", "removed": "removed", "changed": "changed"}


def _slot_card(out: list[str], slot: _Slot, x: float, y: float, w: float, h: float) -> None:
    """A cell's card; a comparison marks added (blue), removed (grey, dashed) and changed
    (orange) touchpoints by outline, never by the conversion colour."""
    if slot.change == "added":
        out.append(_rect(x, y, w, h, palette.fill("added"), stroke=palette.colour("added"), rx=5))
    elif slot.change == "removed":
        out.append(_rect(x, y, w, h, "#f3f4f6", stroke=_MUTED, rx=5, dash=True))
    elif slot.change == "changed":
        out.append(
            _rect(x, y, w, h, palette.fill("changed"), stroke=palette.colour("changed"), rx=5)
        )
    else:
        out.append(_rect(x, y, w, h, _PAPER, stroke=_FAINT, rx=5))


def _draw_cells(out: list[str], spec: _Spec, row: _Row, grid_x: float, y: float, w: float) -> None:
    out.append(f'<g class="row-{row.key}">')
    for i, (slot, blocks) in enumerate(zip(spec.slots, row.cells, strict=True)):
        x = grid_x + i * w
        tp = slot.touchpoint
        attrs = ""
        cls = "cell"
        if tp is not None:
            attrs = f' data-touchpoint="{_text(tp.id)}"'
            if slot.change:
                attrs += f' data-change="{slot.change}"'
            if row.key == "doing":
                # The touchpoint's own element: classes and an id a program can find.
                cls += " touchpoint" + (f" {slot.change}" if slot.change else "")
                attrs = f' id="{element_id("tp", tp.id)}"' + attrs
        out.append(f'<g class="{cls}"{attrs}>')
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
                f'text-anchor="middle">{_text(word(spec.lang, "no_sentiment"))}</text></g>'
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


def _draw_slide(spec: _Spec) -> str:
    """The slide canvas: the headline figures and largest losses, one card per stage
    listing its touchpoints (sentiment dot, name, churn lost there), the emotion curve
    under the cards over the same stage columns, its points named, the notes. The page
    is ``_SLIDE_PAGE_W`` wide and 16:9, shown 1280 px wide, so 10-unit text is 12 px."""
    width = _SLIDE_PAGE_W
    height = width * 9 / 16
    lang = spec.lang
    out: list[str] = []
    full = width - 2 * _MARGIN
    y = _MARGIN * 0.75
    y += _draw_block(
        out, _block(spec.title, full, _Font(20, bold=True), 1), _MARGIN, y, cls="map-name"
    )
    if spec.tiles or spec.loss_rows:
        y += 6 + _draw_summary(out, spec, _MARGIN, y + 6, full, 1.0)
    elif spec.headline:
        y += 4 + _draw_block(
            out,
            _block(spec.headline, full, _Font(13, bold=True), 1),
            _MARGIN,
            y + 4,
            cls="headline",
        )
    for line in spec.summary[:2]:
        y += 1 + _draw_block(out, _block(line, full, _Font(10, fill=_MUTED), 1), _MARGIN, y + 1)
    y += 8
    n_stages = max(len(spec.stages), 1)
    col_gap = 8.0
    col_w = (full - (n_stages - 1) * col_gap) / n_stages
    row_h = 17.0
    band_h = 22.0
    footer_h = 30.0 + (13.0 if spec.notes else 0.0)
    rows_room = height - y - band_h - _SLIDE_CURVE_MIN - footer_h - 16
    longest = max((sum(1 for s in spec.slots if s.stage == i) for i in range(n_stages)), default=1)
    row_h = max(row_h, min(22.0, rows_room / max(longest, 1)))
    per_column = max(int(rows_room // row_h), 1)
    overlay = spec.overlay
    hidden = 0
    positions: dict[int, float] = {}  # slot index -> x of its point on the curve
    columns: list[tuple[float, float]] = []  # each stage's x and width
    top = y
    for i, stage in enumerate(spec.stages):
        x = _MARGIN + i * (col_w + col_gap)
        columns.append((x, col_w))
        members = [k for k, slot in enumerate(spec.slots) if slot.stage == i]
        shown = members[:per_column]
        hidden += len(members) - len(shown)
        card_h = band_h + max(len(shown), 1) * row_h + 8
        out.append(f'<g class="stage" id="{element_id("stage", stage.id)}">')
        out.append(_rect(x, top, col_w, card_h, "#fafbfc", stroke=_FAINT, rx=5))
        fill = _STAGE_FILLS[i % len(_STAGE_FILLS)]
        out.append(_rect(x, top, col_w, band_h, fill, rx=5, cls="stage-band"))
        _draw_block(out, _block(stage.label, col_w - 12, _Font(12, bold=True), 1), x + 6, top + 4)
        out.append("</g>")
        for r, k in enumerate(shown):
            slot = spec.slots[k]
            tp = slot.touchpoint
            ry = top + band_h + 4 + r * row_h
            if tp is None:
                _draw_block(
                    out,
                    _block(
                        word(lang, "no_stage_touchpoints"), col_w - 12, _Font(10, fill=_MUTED), 1
                    ),
                    x + 6,
                    ry,
                )
                continue
            cls = "cell touchpoint" + (f" {slot.change}" if slot.change else "")
            attrs = f' id="{element_id("tp", tp.id)}" data-touchpoint="{_text(tp.id)}"'
            if slot.change:
                attrs += f' data-change="{slot.change}"'
            out.append(f'<g class="{cls}"{attrs}>')
            if slot.change:
                out.append(
                    _rect(x + 2, ry - 1, col_w - 4, row_h - 1, palette.fill(slot.change), rx=3)
                )
            mood = _mood(tp.sentiment) if tp.sentiment is not None else "neutral"
            dot_fill = _MOOD_COLOUR[mood] if tp.sentiment is not None else _PAPER
            out.append(
                f'<circle cx="{_n(x + 10)}" cy="{_n(ry + row_h / 2 - 1)}" r="4" '
                f'fill="{dot_fill}" stroke="{_MOOD_COLOUR[mood]}"/>'
            )
            leak_w = 0.0
            if overlay is not None:
                flow = overlay.leak.get(tp.id, (0.0, 0.0, 0.0))[0]
                if flow >= 0.0005:
                    text = f"−{_pct(flow)}"
                    leak_w = _em(text) * 10 + 4
                    out.append(
                        f'<text x="{_n(x + col_w - 6)}" y="{_n(ry + 11.5)}" font-size="10" '
                        f'fill="{palette.text_colour("churn")}" text-anchor="end" '
                        f'class="loss churn">{_text(text)}</text>'
                    )
            name = tp.label
            if slot.change:
                name = f"{word(lang, _BADGE_WORD[slot.change] + '_short')} {name}"
            font = _Font(11, fill=_MUTED if slot.change == "removed" else _INK)
            _draw_block(out, _block(name, col_w - 26 - leak_w, font, 1), x + 18, ry + 0.5)
            out.append("</g>")
            positions[k] = x + col_w * (r + 0.5) / max(len(shown), 1)
    cards_bottom = top + band_h + min(longest, per_column) * row_h + 14
    curve_h = height - cards_bottom - footer_h - 4
    _draw_slide_curve(out, spec, positions, columns, cards_bottom, curve_h)
    y = cards_bottom + curve_h + 6
    notes = [*spec.notes]
    if hidden:
        notes.insert(0, word(lang, "hidden_touchpoints", count=hidden))
    if overlay is not None:
        notes.insert(0, word(lang, "loss_flow"))
    notes.insert(0, word(lang, "canvas_curve_labels"))
    lines = [" · ".join(notes[:2]), *notes[2:4]]
    for line in lines[: 3 if spec.notes else 2]:
        y += _draw_block(out, _block(line, full, _Font(10, fill=_MUTED), 1), _MARGIN, y)
    scale = _SLIDE_PX / width
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(_SLIDE_PX)}" '
        f'height="{_n(height * scale)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{_FONT}" class="journey-canvas slide">\n'
        f"<title>{_text(spec.title)}</title>\n"
        "<desc>Journey-map canvas (slide) drawn by journeygraph</desc>\n"
        + _rect(0, 0, width, height, _PAPER)
        + "\n"
    )
    return head + "\n".join(out) + "\n</svg>\n"


#: The least height of a slide's emotion curve (its stage names, points and labels).
_SLIDE_CURVE_MIN = 150.0
#: The width a touchpoint's name gets next to its point on a slide's curve, at least
#: (more, up to twice as much, when the curve has few points).
_SLIDE_POINT_NAME_W = 150.0


def _draw_slide_curve(
    out: list[str],
    spec: _Spec,
    positions: Mapping[int, float],
    columns: Sequence[tuple[float, float]],
    top: float,
    height: float,
) -> None:
    """The emotion curve of a slide: a band per stage under its card, a point per shown
    touchpoint under its card row, and the points named (:func:`_curve_labels`)."""
    strip = 15.0  # the stage names
    pad = 14.0
    plot_top, plot_bottom = top + strip + pad, top + height - pad
    mid = (plot_top + plot_bottom) / 2
    amp = (plot_bottom - plot_top) / 2

    def ypos(v: float) -> float:
        return mid - v * amp

    left, right = _MARGIN, _SLIDE_PAGE_W - _MARGIN
    out.append('<g class="row-feeling">')
    for i, stage in enumerate(spec.stages):
        x, w = columns[i]
        out.append(
            f'<g class="curve-stage" id="{element_id("curve-stage", stage.id)}" '
            f'data-stage="{_text(stage.id)}">'
        )
        fill = _STAGE_FILLS[i % len(_STAGE_FILLS)]
        out.append(
            _rect(x, top, w, height, fill, rx=5, cls="stage-band").replace(
                "/>", ' fill-opacity="0.55"/>'
            )
        )
        name = _block(stage.label, w - 12, _Font(10, bold=True, fill=_MUTED), 1)
        _draw_block(out, name, x + 6, top + 1)
        out.append("</g>")
    for level in (1.0, 0.5, 0.0, -0.5, -1.0):
        stroke = "#aab3bf" if level == 0 else _FAINT
        out.append(_line(left, ypos(level), right, ypos(level), stroke, dash=level != 0))
        label = {1.0: "+1", 0.0: "0", -1.0: "−1"}.get(level)
        if label:
            out.append(
                f'<text x="{_n(left - 3)}" y="{_n(ypos(level) + 3.5)}" font-size="10" '
                f'fill="{_MUTED}" text-anchor="end">{label}</text>'
            )
    drawn: list[tuple[float, float, float]] = []  # every point: x, y, radius
    segments: list[tuple[float, float, float, float]] = []  # the curves' lines
    for series in spec.series:
        current = series.name == "current"
        runs: list[list[tuple[float, float]]] = [[]]
        for i in sorted(series.values, key=lambda i: positions.get(i, 0.0)):
            value = series.values[i]
            if i not in positions:
                continue
            if value is None:
                runs.append([])
            else:
                runs[-1].append((positions[i], ypos(value)))
        stroke = "#9aa3ad" if current else "#3b4a5a"
        dash = ' stroke-dasharray="6 4"' if current else ""
        for run in runs:
            segments += [(*a, *b) for a, b in itertools.pairwise(run)]
            if len(run) >= 2:
                path = " ".join(f"{_n(px)},{_n(py)}" for px, py in run)
                out.append(
                    f'<polyline class="emotion-curve {series.name}" points="{path}" '
                    f'fill="none" stroke="{stroke}" stroke-width="2"{dash} '
                    'stroke-linejoin="round"/>'
                )
        for i, v in series.values.items():
            slot = spec.slots[i]
            tp = slot.before if current else slot.touchpoint
            if i not in positions or tp is None:
                continue
            ident = _text(tp.id)
            cx = positions[i]
            if v is None:
                if current:
                    continue
                out.append(
                    f'<g class="emotion-missing {series.name}" data-touchpoint="{ident}">'
                    f'<circle cx="{_n(cx)}" cy="{_n(mid)}" r="6" fill="{_PAPER}" '
                    f'stroke="{_MUTED}" stroke-dasharray="2 2"/>'
                    f'<text x="{_n(cx)}" y="{_n(mid + 3.5)}" font-size="10" fill="{_MUTED}" '
                    'text-anchor="middle">?</text></g>'
                )
                drawn.append((cx, mid, 6.0))
                continue
            mood = _mood(v)
            colour = _MOOD_COLOUR[mood]
            r = 3.5 if current else 4.5
            out.append(
                f'<circle class="emotion-point {series.name} sentiment-{mood}" '
                f'data-touchpoint="{ident}" cx="{_n(cx)}" cy="{_n(ypos(v))}" r="{r}" '
                f'fill="{_PAPER if current else colour}" stroke="{colour}" stroke-width="1.5"/>'
            )
            drawn.append((cx, ypos(v), r))
    area = (left, top + strip, right, top + height)
    _curve_labels(out, spec, positions, ypos, drawn, segments, area)
    out.append("</g>")


def _curve_labels(
    out: list[str],
    spec: _Spec,
    positions: Mapping[int, float],
    ypos: _YPos,
    drawn: Sequence[tuple[float, float, float]],
    segments: Sequence[tuple[float, float, float, float]],
    area: tuple[float, float, float, float],
) -> None:
    """Name the points of a slide's curve: the lowest and the highest first, then a
    comparison's added and changed ones, the touchpoints with pains (lowest first), the
    top leaks, then the others by distance from neutral; each above or below its point
    (centred on it, or beside it) where it covers no other name and no point (and, where
    it can, no line of the curve), else left out."""
    series = spec.series[-1]  # the map's, or the future map's
    before = spec.series[0] if len(spec.series) == 2 else None
    known = [(i, v) for i, v in series.values.items() if v is not None and i in positions]
    if not known:
        return
    order: list[int] = [
        min(known, key=lambda item: (item[1], positions[item[0]]))[0],
        max(known, key=lambda item: (item[1], -positions[item[0]]))[0],
    ]
    order += [
        i for i, _ in sorted(known, key=lambda item: positions[item[0]]) if spec.slots[i].change
    ]
    with_pains = [(v, i) for i, v in known if (tp := spec.slots[i].touchpoint) and tp.pains]
    order += [i for _, i in sorted(with_pains)]
    tops = spec.overlay.top_leaks if spec.overlay is not None else {}
    order += sorted(
        (i for i, _ in known if (tp := spec.slots[i].touchpoint) and tp.id in tops),
        key=lambda i: tops[spec.slots[i].touchpoint.id],  # type: ignore[union-attr]
    )
    order += [i for i, _ in sorted(known, key=lambda item: -abs(item[1]))]
    left, top, right, bottom = area
    placed: list[tuple[float, float, float, float]] = []
    named = {i: (positions[i], ypos(v)) for i, v in known}
    room = 1.2 * (right - left) / len(known)
    name_w = min(max(_SLIDE_POINT_NAME_W, room), 2 * _SLIDE_POINT_NAME_W)
    size = 10.0
    for i in dict.fromkeys(order):
        tp = spec.slots[i].touchpoint
        value = series.values[i]
        if tp is None or value is None:
            continue
        value_text = _signed(value)
        old = before.values.get(i) if before is not None else None
        if old is not None and old != value:
            value_text += " (" + word(spec.lang, "canvas_was", value=_signed(old)) + ")"
        name = _block(tp.label, name_w, _Font(size), 1)
        shown = name.wrapped.lines[0] if name.wrapped.lines else ""
        w = _em(shown) * size + _em(" " + value_text, bold=True) * size + 2
        px, py = positions[i], ypos(value)
        spots = [
            (cx - w / 2, baseline - 9.5, cx + w / 2, baseline + 3)
            for baseline in (py - 9, py + 17, py - 21, py + 29, py - 33, py + 41, py - 45, py + 53)
            for shift in (0.0, w / 2 - 8, 8 - w / 2)
            for cx in [min(max(px + shift, left + w / 2), right - w / 2)]
        ]
        free = [
            box
            for box in spots
            if top <= box[1]
            and box[3] <= bottom
            and not any(
                box[0] < b[2] + 2 and b[0] < box[2] + 2 and box[1] < b[3] + 1 and b[1] < box[3] + 1
                for b in placed
            )
            and not any(
                box[0] - r < x < box[2] + r and box[1] - r < y < box[3] + r for x, y, r in drawn
            )
        ]
        # A name nearer to another named point than to its own would name the wrong
        # one, unless a leader line (a name set further off) points at its own.
        others = [at for k, at in named.items() if k != i]
        free = [
            box
            for box in free
            if _gap(box, (px, py)) > _LEADER_GAP
            or all(_gap(box, at) > _gap(box, (px, py)) for at in others)
        ]
        clear = [box for box in free if not any(_crosses(box, seg) for seg in segments)]
        for box in (clear or free)[:1]:
            baseline, cx = box[3] - 3, (box[0] + box[2]) / 2
            placed.append(box)
            colour = _MOOD_COLOUR[_mood(value)]
            tip = f"<title>{_text(tp.label)}</title>" if name.wrapped.truncated else ""
            leader = ""
            if _gap(box, (px, py)) > _LEADER_GAP:  # further off: a line to its point
                nx, ny = min(max(px, box[0]), box[2]), min(max(py, box[1]), box[3])
                leader = (
                    f'<line class="emotion-leader" x1="{_n(px)}" y1="{_n(py)}" '
                    f'x2="{_n(nx)}" y2="{_n(ny)}" stroke="#9aa3ad" stroke-width="0.8"/>'
                )
            out.append(
                f'<g class="emotion-label" data-touchpoint="{_text(tp.id)}">{tip}{leader}'
                f'<text x="{_n(cx)}" y="{_n(baseline)}" font-size="{_n(size)}" fill="{_INK}" '
                f'text-anchor="middle" stroke="{_PAPER}" stroke-width="3" '
                f'stroke-linejoin="round" paint-order="stroke">'
                f"<tspan>{_text(shown)}</tspan>"
                f'<tspan dx="{_n(size * 0.32)}" font-weight="bold" fill="{colour}">'
                f"{_text(value_text)}</tspan>"
                "</text></g>"
            )


#: A curve name further than this from its point gets a leader line to it.
_LEADER_GAP = 12.0


def _gap(box: tuple[float, float, float, float], at: tuple[float, float]) -> float:
    """The distance from a point to a box (0 inside it)."""
    dx = max(box[0] - at[0], 0.0, at[0] - box[2])
    dy = max(box[1] - at[1], 0.0, at[1] - box[3])
    return math.hypot(dx, dy)


def _crosses(
    box: tuple[float, float, float, float], seg: tuple[float, float, float, float]
) -> bool:
    """Whether a line segment passes through a box (sampled every few units)."""
    x0, y0, x1, y1 = seg
    steps = max(int(math.hypot(x1 - x0, y1 - y0) / 3), 1)
    return any(
        box[0] < x0 + (x1 - x0) * t / steps < box[2]
        and box[1] < y0 + (y1 - y0) * t / steps < box[3]
        for t in range(steps + 1)
    )


class _YPos(Protocol):
    def __call__(self, s: float, /) -> float: ...


def _bar(
    out: list[str],
    x: float,
    y: float,
    full: float,
    value: float,
    scale: float,
    colour: str,
    *,
    thin: bool = False,
) -> None:
    if thin:
        if scale > 0 and value > 0:
            out.append(
                _rect(x, y, max(full * value / scale, 2.0), 4, colour, rx=2, cls="bar before")
            )
        return
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
        before = overlay.leak_before.get(tp.id)
        rank = overlay.top_leaks.get(tp.id)
        top = y + _PAD
        if rank is not None:
            badge = word(spec.lang, "top_leak", rank=rank)
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
        lang = spec.lang
        if before is not None and overlay.leak_before:
            # A comparison: the current map's leak as a thin grey bar under the future's.
            _bar(out, x + _INSET, top + 13, width, before, overlay.scale, "#9aa3ad", thin=True)
            top += 6
        if flow > 0 or (before or 0.0) > 0:
            text = _pct(flow)
            if before is not None and overlay.leak_before:
                text = f"{_pct(before)} → {_pct(flow)}"
            blocks = [
                _block(word(lang, "of_customers", value=text), width, _Font(11.5, bold=True), 2),
                _block(word(lang, "of_all_churn", value=_pct(share)), width, _BODY_SMALL, 1),
            ]
            if not spec.slide:
                blocks.append(_block(word(lang, "exit_rate", value=_pct(rate)), width, _SMALL, 1))
        else:
            blocks = [_block(word(lang, "no_churn_here"), width, _SMALL, 1)]
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
            before = overlay.switch_before.get(tp.id)
            text = word(spec.lang, "no_switching_here")
            if before:
                text = f"{_pct(before)} → 0%"
            cells.append([_block(text, width, _SMALL, 1)])
            continue
        blocks = [
            _block(name, width, _BODY_SMALL, 2, prefix=word(spec.lang, "to_name", value=_pct(flow)))
            for name, flow in items[:2]
        ]
        if len(items) > 2:
            rest = [f"{_pct(flow)} → {name}" for name, flow in items[2:]]
            more = word(spec.lang, "more", count=len(rest))
            blocks.append(_Block(_Wrapped((more,), True), _SMALL, "\n".join(rest)))
        before = overlay.switch_before.get(tp.id)
        if overlay.switch_before and before is not None:
            after = math.fsum(flow for _, flow in items)
            change = f"{_pct(before)} → {_pct(after)}"
            blocks.insert(0, _block(change, width, _Font(11.5, bold=True), 1))
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
    band = f"{_NEUTRAL_BAND:.1f}"
    entries: list[tuple[str, str]] = [
        (mood, word(spec.lang, mood, value=band)) for mood in ("positive", "neutral", "negative")
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
            f"{_text(word(spec.lang, 'current_future_curves'))}</text>"
        )
    y = baseline + 10
    lines = [*spec.notes]
    if spec.overlay is not None:
        lines.append(word(spec.lang, "canvas_flows_note"))
    for line in lines:
        y += 4 + _draw_block(out, _block(line, width - 2 * _MARGIN, _SMALL, 3), _MARGIN, y + 4)
    out.append("</g>")
    return y
