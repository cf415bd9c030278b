"""The journey diagram as Graphviz DOT: stage columns, losses at their source, totals.

:func:`write_dot` turns a :class:`~journeygraph.draw.scene.Scene` into DOT with every
position computed here: a stage is a column (titles on one shared top line), its
touchpoints stacked top to bottom in file order, the outcomes in a column at the right
with their totals. Graphviz only routes the edges (the ``nop2`` engine, the same as
``neato -n2``), in the system ``dot`` or the WebAssembly build alike, so both draw the
same picture. Losses are read at their source: under each touchpoint that loses
customers, "−12% lost · 5% → Rival X"; only moves between touchpoints and into a
conversion are edges.

Every user string goes through :func:`journeygraph._escape.escape_text` (quoted DOT
strings, never HTML-like labels); DOT node names are the map's ids, escaped exactly;
each node, cluster and edge carries the scene's ``element_id`` as its SVG ``id`` and its
classes (``stage``, ``touchpoint``, ``outcome``, ``move``, ``loss``; ``added``,
``removed``, ``changed`` in a diff) as its SVG ``class``. Output is byte-identical
across runs. See ``docs/rendering.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from journeygraph._escape import TOOLTIP_LIMIT, escape_id, escape_text
from journeygraph.compare import FieldChange
from journeygraph.draw import palette
from journeygraph.draw.scene import (
    Scene,
    SceneMove,
    SceneOutcome,
    SceneStage,
    SceneTouchpoint,
    element_id,
)
from journeygraph.draw.text import em, wrap
from journeygraph.draw.words import word

__all__ = ["DEFAULT_MAX_EDGES", "FONT", "Preset", "rival_names", "write_dot"]

Preset = Literal["full", "slide"]

#: Above this many moves, the weakest are hidden by default (``min_flow=None``).
DEFAULT_MAX_EDGES = 120
#: At most this many moves on a slide.
SLIDE_MAX_EDGES = 24
#: Fonts that carry Latin, Hangul and CJK (first found wins, per character in librsvg).
FONT = (
    "Noto Sans,Noto Sans CJK KR,Apple SD Gothic Neo,Malgun Gothic,NanumGothic,DejaVu Sans,"
    "Helvetica,Arial,sans-serif"
)


@dataclass(frozen=True, slots=True)
class _Look:
    """Sizes (points) of one preset. A slide is 1280 x 720 pt, drawn 1280 px wide."""

    title: float = 26.0
    headline: float = 17.0
    stage: float = 17.0
    name: float = 14.0
    small: float = 12.0
    name_lines: int = 3
    col_min: float = 170.0
    col_max: float = 230.0
    gap: float = 120.0
    box_gap: float = 16.0
    outcome_w: float = 200.0
    margin: float = 24.0
    details: bool = True  # channel and diff detail lines


_FULL = _Look()
_SLIDE = _Look(
    title=24.0,
    headline=15.0,
    stage=15.0,
    name=13.0,
    small=12.0,
    name_lines=2,
    col_min=120.0,
    col_max=180.0,
    gap=60.0,
    box_gap=10.0,
    outcome_w=170.0,
    margin=16.0,
    details=False,
)
_SLIDE_W, _SLIDE_H = 1280.0, 720.0
_PAD_X, _PAD_Y = 10.0, 7.0
_LEADING = 1.25
_ARC = 30.0  # room left of the first column for arcs within a stage


def _pct(p: float) -> str:
    pct = 100.0 * p
    if pct >= 9.5:
        return f"{pct:.0f}%"
    if pct >= 0.1:
        return f"{pct:.1f}%"
    return "<0.1%" if pct > 0 else "0%"


def _pct1(p: float, places: int = 1) -> str:
    """Headline figures, totals and leaks: one decimal (``23.1%``) unless told."""
    return f"{100.0 * p:.{places}f}%"


def _points(delta: float, places: int = 1) -> str:
    return f"{delta * 100:+.{places}f} pts".replace("-", "−")


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "−")


def _q(text: str, limit: int | None = None) -> str:
    """A quoted DOT string of escaped user text on one line."""
    return '"' + escape_text(text, target="dot", limit=limit) + '"'


def _lines(lines: Sequence[str], *, left: bool = False) -> str:
    """A quoted multi-line DOT label; ``left`` justifies every line to the left."""
    if left:
        return '"' + "".join(escape_text(x, target="dot") + "\\l" for x in lines) + '"'
    return '"' + "\\n".join(escape_text(x, target="dot") for x in lines) + '"'


def _name(ident: str) -> str:
    """A DOT node name: the map's id (or a synthetic one), escaped exactly."""
    return '"' + escape_id(ident, target="dot") + '"'


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _attrs(**attrs: str | float | None) -> str:
    parts = []
    for k, v in attrs.items():
        if v is None:
            continue
        parts.append(f"{k}={_num(v) if isinstance(v, float | int) else v}")
    return "[" + ", ".join(parts) + "]"


def _dash(style: str) -> str:
    return {"solid": "solid", "dashed": "dashed", "dotted": "dotted"}[style]


# -- what each box says ----------------------------------------------------------------


def _field_value(value: object) -> str:
    if isinstance(value, float):
        return _signed(value)
    if isinstance(value, tuple | list):
        return str(len(value))
    return "—" if value is None else str(value)


def _change_line(change: FieldChange, lang: str) -> str:
    if change.field == "id":
        return word(lang, "renamed_from", old=change.before)
    key = f"field_{change.field}"
    field = word(lang, key) if key in _known_fields else change.field
    return word(
        lang,
        "field_change",
        field=field,
        before=_field_value(change.before),
        after=_field_value(change.after),
    )


_known_fields = frozenset(
    f"field_{f}"
    for f in ("id", "name", "stage", "channel", "owner", "sentiment", "pains", "goals", "questions")
) | {"field_notes"}


_BADGE = {"added": "new", "removed": "removed", "changed": "changed"}


@dataclass(frozen=True, slots=True)
class _Box:
    """A touchpoint box: its label lines (the name lines first) and size."""

    tp: SceneTouchpoint
    badge: tuple[str, ...]
    name: tuple[str, ...]
    extra: tuple[str, ...]
    loss: tuple[tuple[str, str, str, str], ...]  # (text, meaning, class, tooltip) lines
    width: float
    height: float


def _box(
    scene: Scene,
    tp: SceneTouchpoint,
    look: _Look,
    col_w: float,
    lang: str,
    callout_rank: dict[str, str],
    compact: bool = False,
) -> _Box:
    inner = col_w - 2 * _PAD_X
    badge_parts = []
    if tp.change in ("added", "removed", "changed"):
        badge_parts.append(word(lang, _BADGE[tp.change]))
    if tp.element_id in callout_rank:
        badge_parts.append("#" + callout_rank[tp.element_id])  # as in the title's list
    if tp.leak_rank is not None and scene.kind != "map":
        badge_parts.append(word(lang, "leak_rank", rank=tp.leak_rank))
    if tp.switch_rank is not None and scene.kind != "map":
        badge_parts.append(word(lang, "switch_rank", rank=tp.switch_rank))
    badge = wrap(" · ".join(badge_parts), inner, look.name, 2).lines if badge_parts else ()
    name = _name_lines(scene, tp, inner, look)
    extra: list[str] = []
    if tp.channel and look.details:
        extra.append(*wrap(f"· {tp.channel} ·", inner, look.small, 1).lines)
    share = scene.entry.get(tp.id, 0.0)
    if share >= 0.0005:
        extra.append(word(lang, "start_here", value=_pct(share)))
    if scene.kind == "analysis" and tp.visits is not None:
        extra.append(word(lang, "visits", value=f"{tp.visits:.2f}"))
    if scene.kind == "diff":
        limit = 3 if look.details else 1
        shown = [c for c in tp.changes if c.field != "notes"]
        for change in shown[:limit]:
            line = _change_line(change, lang)
            if change.field == "name" and not look.details:
                # A slide: the box already shows the new name; say only what it was.
                line = word(lang, "was", value=_field_value(change.before))
            extra.extend(wrap(line, inner, look.name, 2).lines)
        if tp.leak is not None and tp.leak_before is not None:
            if abs(tp.leak - tp.leak_before) >= 0.0005:
                extra.append(
                    word(lang, "leak_change", before=_pct1(tp.leak_before), after=_pct1(tp.leak))
                )
    loss = _loss_lines(scene, tp, lang, col_w - 4, look.small, compact, 2 if look.details else 1)
    lines = len(name) + len(extra) + len(badge)
    height = lines * look.name * _LEADING + 2 * _PAD_Y
    return _Box(tp, badge, tuple(name), tuple(extra), tuple(loss), col_w, height)


def _name_lines(scene: Scene, tp: SceneTouchpoint, inner: float, look: _Look) -> tuple[str, ...]:
    """A box's name, wrapped to the preset's lines. A second-order state of a fitted map
    ("docs ← blog post") keeps a line of its own for where the customer came from, so
    two states of one touchpoint never look the same when the names are cut.

    >>> from dataclasses import replace
    >>> from journeygraph.draw import build_scene
    >>> scene = replace(build_scene(jm), fitted_order=2)
    >>> tp = replace(scene.touchpoints[0], label="Live demo with a solutions engineer ← Pricing page")
    >>> _name_lines(scene, tp, 130.0, _SLIDE)
    ('Live demo with a…', '← Pricing page')
    >>> _name_lines(replace(scene, fitted_order=1), tp, 130.0, _SLIDE)
    ('Live demo with a', 'solutions enginee…')
    """
    where, sep, came = tp.label.rpartition(" ← ")
    if scene.fitted_order == 2 and sep and look.name_lines >= 2:
        first = wrap(where, inner, look.name, look.name_lines - 1).lines
        return first + wrap(sep.strip() + " " + came, inner, look.name, 1).lines
    return wrap(tp.label, inner, look.name, look.name_lines).lines


def _callout_ranks(scene: Scene) -> dict[str, str]:
    """The ranks of a diff's called-out changes to write on each touchpoint box, by its
    element id: a leak's on its touchpoint, a move's on the touchpoint it starts from, so
    every callout is numbered on the picture even where its line has no room for a label.

    >>> from journeygraph.draw import build_scene
    >>> cur, fut = (jg.load(f"examples/theme_park_{x}.yaml") for x in ("current", "future"))
    >>> _callout_ranks(build_scene(jg.compare(cur, fut)))
    {'tp-express_pass': '1', 'tp-ride': '2', 'tp-queue': '3'}
    """
    ranks: dict[str, list[int]] = {}
    for c in scene.callouts:
        ident = c.element_id if c.subject == "leak" else element_id("tp", c.source)
        ranks.setdefault(ident, []).append(c.rank)
    return {k: " #".join(str(r) for r in sorted(v)) for k, v in ranks.items()}


def rival_names(scene: Scene) -> dict[str, str]:
    """Competitor names for the short loss lines: the words they all begin with left out.

    "Bought a Volta" and "Bought a Nordwagen" become "Volta" and "Nordwagen", so a line
    cut to its column still says which rival; one competitor keeps its whole name.

    >>> from journeygraph.draw import build_scene
    >>> rival_names(build_scene(jg.load("examples/decision_journey_current.yaml")))
    {'volta': 'Volta', 'nordwagen': 'Nordwagen'}
    """
    rivals = [(o.id, o.label.split()) for o in scene.outcomes if o.kind == "competitor"]
    if len(rivals) < 2:
        return {}
    common = 0
    shortest = min(len(words) for _, words in rivals)
    while common < shortest - 1 and len({tuple(w[: common + 1]) for _, w in rivals}) == 1:
        common += 1
    return {oid: " ".join(words[common:]) for oid, words in rivals}


def _loss_lines(
    scene: Scene,
    tp: SceneTouchpoint,
    lang: str,
    width: float,
    size: float,
    compact: bool,
    max_lines: int,
) -> list[tuple[str, str, str, str]]:
    """ "−12% lost" and "5% → Rival X" under a touchpoint: flows with an analysis, else
    the share of customers leaving it.

    A line for churn, then at most two competitors, each wrapped to ``width`` (the
    column) at font ``size`` in at most ``max_lines`` lines and cut with an ellipsis
    beyond; the full text is the fourth item (the tooltip).
    ``compact``: everything on one line (a slide column that would not fit otherwise).
    """
    short = rival_names(scene)
    churn = 0.0
    rivals: list[tuple[float, str]] = []
    for loss in scene.losses:
        if loss.touchpoint != tp.id:
            continue
        if loss.change == "removed":
            continue
        if scene.kind in ("analysis", "diff"):
            value = loss.flow or 0.0
        else:
            value = loss.probability or 0.0
        if loss.kind == "churn":
            churn += value
        else:
            rivals.append((value, short.get(loss.outcome, loss.outcome_label)))
    full: list[tuple[str, str, str]] = []
    if churn >= 0.0005:
        full.append((word(lang, "lost_stub", value=_pct(churn)), "churn", "loss churn"))
    rivals.sort(key=lambda item: -item[0])
    shown = [word(lang, "to_competitor", value=_pct(v), name=n) for v, n in rivals if v >= 0.0005]
    full.extend((text, "competitor", "loss competitor") for text in shown[:2])
    tip = " · ".join(text for text, _, _ in full)
    if compact and len(full) > 1:
        # A crowded slide column: one line, coloured as its largest loss.
        meaning = "churn" if churn >= max((v for v, _ in rivals), default=0.0) else "competitor"
        return [(wrap(tip, width, size, 1).lines[0], meaning, f"loss {meaning}", tip)]
    lines: list[tuple[str, str, str, str]] = []
    single = sum(o.kind == "competitor" for o in scene.outcomes) == 1
    for text, m, c in full:
        wrapped = wrap(text, width, size, 1 if m == "churn" else max_lines)
        if wrapped.truncated and m == "competitor" and single:
            # The only rival's name cut to its first word ("Chose…") says nothing; "a
            # competitor" is exact when there is one, and its box names it.
            value = next(v for v, _ in rivals)
            generic = word(
                lang, "to_competitor", value=_pct(value), name=word(lang, "legend_a_competitor")
            )
            wrapped = wrap(generic, width, size, max_lines)
        lines.extend((line, m, c, tip) for line in wrapped.lines)
    return lines


# -- layout -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placed:
    box: _Box
    x: float  # centre
    y: float  # top, y growing downwards


def _outcome_box(o: SceneOutcome, look: _Look, width: float) -> tuple[tuple[str, ...], float]:
    """An outcome's name lines and box height in a column ``width`` wide."""
    label = wrap(o.label, width - 2 * _PAD_X, look.name, 3).lines
    h = (len(label) + 1 + (1 if o.change != "unchanged" else 0)) * look.name * _LEADING
    return label, h + 2 * _PAD_Y + 6


def _column_width(scene: Scene, look: _Look) -> float:
    widest = 0.0
    for tp in scene.touchpoints:
        widest = max(widest, em(tp.label) * look.name / look.name_lines * 1.15)
    for st in scene.stages:
        widest = max(widest, min(em(st.label) * look.stage * 1.1 / 2, look.col_max))
    return max(look.col_min, min(look.col_max, widest + 2 * _PAD_X))


def _step(b: _Box, look: _Look, box_gap: float) -> float:
    """How far down the next box of a column starts: this box, its loss lines, a gap."""
    return b.height + len(b.loss) * look.small * _LEADING + box_gap + (4 if b.loss else 0)


def _stack(boxes: Sequence[_Box], look: _Look) -> float:
    return sum(_step(b, look, look.box_gap) for b in boxes)


#: Between the two sub-columns of a crowded stage on a slide (room for the arcs of moves
#: within the second one).
_SUB_GAP = 30.0


def _span(col_w: float, split: bool) -> float:
    """A stage's width: one column, or two sub-columns side by side."""
    return 2 * col_w + _SUB_GAP if split else col_w


def _first_new(column: Sequence[SceneTouchpoint]) -> int:
    """Where a column's future-only (added) touchpoints begin, if they close it after at
    least one other (a diff puts them after their stage's current ones); else 0."""
    first = next((i for i, tp in enumerate(column) if tp.change == "added"), 0)
    if first > 0 and all(tp.change == "added" for tp in column[first:]):
        return first
    return 0


def _split_at(boxes: Sequence[_Box], look: _Look, beside: bool) -> int:
    """Where a crowded column is cut into two sub-columns (file order kept: the first
    ``k`` boxes on the left, the rest on the right).

    ``beside``: a diff's future-only touchpoints go beside their stage's current ones
    (the current map's column stays as it was), if the column has any; otherwise, the
    cut that makes the taller sub-column shortest.
    """
    if len(boxes) < 2:
        return len(boxes)
    if beside and (first := _first_new([b.tp for b in boxes])):
        return first
    return min(
        range(1, len(boxes)),
        key=lambda k: (max(_stack(boxes[:k], look), _stack(boxes[k:], look)), -k),
    )


def _column_h(
    boxes: Sequence[_Box], look: _Look, cut: int | None, extra: float
) -> tuple[float, int]:
    """(height, rows) of a column at the preset's gaps, cut in two at ``cut`` if given,
    with ``extra`` points under it (the "+N unchanged" line)."""
    if cut is None:
        return _stack(boxes, look) + extra, len(boxes)
    parts = (boxes[:cut], boxes[cut:])
    tallest = max(parts, key=lambda part: _stack(part, look))
    return _stack(tallest, look) + extra, len(tallest)


def _stage_h(scene: Scene, look: _Look, spans: Sequence[float]) -> float:
    """Height of the stage titles' shared top line (one or two lines)."""
    lines = max(
        (
            len(wrap(s.label, spans[s.index] - 8, look.stage, 2, bold=True).lines)
            for s in scene.stages
        ),
        default=1,
    )
    return lines * look.stage * _LEADING + 14


def _outcome_h(scene: Scene, look: _Look, width: float) -> float:
    """Height of the outcome column (headings, boxes, the preset's gaps)."""
    if not scene.outcomes:
        return 0.0
    n_head = len({o.kind == "conversion" for o in scene.outcomes})
    boxes = sum(_outcome_box(o, look, width)[1] + look.box_gap for o in scene.outcomes)
    return boxes + n_head * (look.stage * _LEADING + 14)


def _slide_widths(
    natural: float, n_stages: int, n_split: int, outcome_w: float, look: _Look
) -> tuple[float, float]:
    """(column width, gap between stages) on a slide with ``n_split`` stages in two
    sub-columns: fit the columns into the slide's width (narrower gaps, then narrower
    boxes), or spread them over it (wider boxes first, then wider gaps)."""
    units = n_stages + n_split
    avail = _SLIDE_W - 2 * look.margin - _ARC - outcome_w - n_split * _SUB_GAP
    gap = max(36.0, min(look.gap, (avail - units * look.col_min) / n_stages))
    col_w = min(natural, (avail - n_stages * gap) / units)
    spare = avail - n_stages * gap - units * col_w
    if spare > 0:
        grow = max(min(spare / units, look.col_max - col_w), 0.0)
        col_w += grow
        spare -= units * grow
        gap += spare / n_stages
    return col_w, gap


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where the columns go: widths, the boxes, what a slide hides and which stages it
    stacks in two sub-columns (stage index -> boxes in the left one); ``over``: how far
    the tallest column (or the outcome column) overflows the slide's room (<= 0: fits)."""

    col_w: float
    gap: float
    outcome_w: float
    boxes: dict[str, _Box]
    hidden: frozenset[str]
    cut: dict[int, int]
    over: float


def _full_plan(
    scene: Scene, look: _Look, lang: str, callout_rank: dict[str, str], natural: float
) -> _Plan:
    """The full preset: every touchpoint, columns as tall as they need."""
    boxes = {tp.id: _box(scene, tp, look, natural, lang, callout_rank) for tp in scene.touchpoints}
    return _Plan(natural, look.gap, look.outcome_w, boxes, frozenset(), {}, 0.0)


def _fit_column(
    whole: Sequence[_Box],
    look: _Look,
    room: float,
    fold_h: float,
    split: bool,
    beside: bool,
    keep: Callable[[SceneTouchpoint], tuple[bool, float, int]],
) -> tuple[list[_Box], set[str]]:
    """A slide column's boxes after hiding, one by one, the touchpoints it may hide
    (``keep``) until it fits ``room`` (with its "+N" line), and the ids hidden."""
    col = list(whole)
    gone: set[str] = set()

    def height(col: list[_Box]) -> float:
        k = _split_at(col, look, beside) if split else None
        return _column_h(col, look, k, fold_h if gone else 0.0)[0]

    while col and height(col) > room:
        optional = [b for b in col if not keep(b.tp)[0]]
        if not optional:
            break
        weakest = min(optional, key=lambda b: keep(b.tp)[1:])
        gone.add(weakest.tp.id)
        col = [b for b in col if b is not weakest]
    return col, gone


def _slide_plan(
    scene: Scene,
    look: _Look,
    lang: str,
    callout_rank: dict[str, str],
    natural: float,
    top: float,
    legend_h: float,
    outcome_w: float,
    split: frozenset[int],
) -> _Plan:
    """One slide layout: the stages in ``split`` get two sub-columns; each column hides
    its least-travelled touchpoints that a slide may hide until it fits, then, if still
    too tall, writes one loss line per box."""
    n_stages = max(len(scene.stages), 1)
    col_w, gap = _slide_widths(natural, n_stages, len(split), outcome_w, look)
    spans = [_span(col_w, s.index in split) for s in scene.stages]
    # 6: the gap above the legend.
    room = _SLIDE_H - top - _stage_h(scene, look, spans) - legend_h - look.margin - 6
    boxes = {tp.id: _box(scene, tp, look, col_w, lang, callout_rank) for tp in scene.touchpoints}
    fold_h = look.small * _LEADING + 6
    strength_in: dict[str, float] = {}
    for m in scene.moves:
        strength_in[m.target] = strength_in.get(m.target, 0.0) + m.strength
    called_out = {c.source for c in scene.callouts} | {c.target for c in scene.callouts}

    def keep(tp: SceneTouchpoint) -> tuple[bool, float, int]:
        """(whether a slide must show it, how travelled it is, -row): what a slide must
        keep is a diff's marked items, ranked leaks and switching points, the ends of
        called-out changes; of the rest the least travelled (the lowest on a tie) go first."""
        must = (
            tp.change != "unchanged"
            or tp.leak_rank is not None
            or tp.switch_rank is not None
            or tp.id in called_out
        )
        return must, strength_in.get(tp.id, 0.0) + scene.entry.get(tp.id, 0.0), -tp.row

    hidden: set[str] = set()
    cut: dict[int, int] = {}
    modes: dict[int, bool] = {}  # a stacked stage's cut: new touchpoints beside, or balanced
    tallest = 0.0
    for st in scene.stages:
        whole = [boxes[t.id] for t in scene.column(st.index)]
        # A stacked stage keeps its current touchpoints in one sub-column and puts the
        # future-only ones beside it if hiding what a slide may hide makes that fit;
        # else it balances the two.
        for beside in (True, False) if st.index in split else (False,):
            col, gone = _fit_column(whole, look, room, fold_h, st.index in split, beside, keep)
            k = _split_at(col, look, beside) if st.index in split else None
            if _column_h(col, look, k, fold_h if gone else 0.0)[0] <= room:
                break
        if _column_h(col, look, k, fold_h if gone else 0.0)[0] > room:
            # Still too tall with only what must stay: one loss line per box.
            col = [_box(scene, b.tp, look, col_w, lang, callout_rank, True) for b in col]
            boxes.update((b.tp.id, b) for b in col)
            k = _split_at(col, look, beside) if st.index in split else None
        hidden |= gone
        if k is not None:
            cut[st.index], modes[st.index] = k, beside
        tallest = max(tallest, _column_h(col, look, k, fold_h if gone else 0.0)[0])
    orphans = _orphans(scene, hidden, keep)
    hidden |= orphans
    for index in cut:  # a stacked stage that lost orphans is cut again, the same way
        if any(t.id in orphans for t in scene.column(index)):
            col = [boxes[t.id] for t in scene.column(index) if t.id not in hidden]
            cut[index] = _split_at(col, look, modes[index])
    tallest = max(tallest, _outcome_h(scene, look, outcome_w))
    return _Plan(col_w, gap, outcome_w, boxes, frozenset(hidden), cut, tallest - room)


def _orphans(
    scene: Scene, hidden: set[str], keep: Callable[[SceneTouchpoint], tuple[bool, float, int]]
) -> set[str]:
    """Touchpoints a slide may hide that would be drawn with no way in: journeys do not
    start there and every move into them comes from a hidden touchpoint (often in a
    fitted map, whose second-order states are entered from one touchpoint's states
    only). Hiding one can orphan another, so this runs until none is left."""
    tps = {t.id: t for t in scene.touchpoints}
    gone = set(hidden)
    found: set[str] = set()
    while True:
        sources: dict[str, set[str]] = {}
        for m in scene.moves:
            if m.target in tps and m.source != m.target and m.source not in gone:
                sources.setdefault(m.target, set()).add(m.source)
        new = {
            t
            for t in tps
            if t not in gone
            and not sources.get(t)
            and scene.entry.get(t, 0.0) <= 0
            and not keep(tps[t])[0]
        }
        if not new:
            return found
        gone |= new
        found |= new


def _fit_slide(
    scene: Scene,
    look: _Look,
    lang: str,
    callout_rank: dict[str, str],
    natural: float,
    head_lines: list[tuple[tuple[str, ...], float, str]],
    legend_h: float,
) -> _Plan:
    """The slide layout that fits 1280 x 720 pt with 12 pt text, denser step by step.

    For each outcome column width (the preset's, then wider so long outcome names take
    fewer lines): the columns as they are; if one is still too tall with only what a
    slide must keep, the tallest such stage is stacked in two sub-columns (a diff's
    future-only touchpoints beside their stage's current ones), and so on while that
    helps. The first layout that fits wins; if none does, the one that overflows least
    (the picture then grows past 720 pt, keeping 16:9).
    """
    head_h = sum(size * _LEADING * len(lines) for lines, size, _ in head_lines) + 10
    top = look.margin + head_h
    best: _Plan | None = None
    for outcome_w in (look.outcome_w, look.outcome_w + 30, look.outcome_w + 60):
        split: frozenset[int] = frozenset()
        plan = _slide_plan(
            scene, look, lang, callout_rank, natural, top, legend_h, outcome_w, split
        )
        # A diff's future-only touchpoints go beside their stage when the slide has the
        # width for it (and hides nothing more for it).
        beside = frozenset(
            st.index
            for st in scene.stages
            if scene.kind == "diff" and _first_new(scene.column(st.index))
        )
        if beside and plan.over <= 0:
            wide = _slide_plan(
                scene, look, lang, callout_rank, natural, top, legend_h, outcome_w, beside
            )
            if wide.over <= 0 and len(wide.hidden) <= len(plan.hidden) and wide.col_w >= 140:
                return wide
        while plan.over > 0 and len(split) < len(scene.stages):
            tries = [
                _slide_plan(
                    scene,
                    look,
                    lang,
                    callout_rank,
                    natural,
                    top,
                    legend_h,
                    outcome_w,
                    split | {st.index},
                )
                for st in scene.stages
                if st.index not in split and len(scene.column(st.index)) >= 2
            ]
            better = min(tries, key=lambda p: p.over, default=None)
            if better is None or better.over >= plan.over:
                break
            plan, split = better, frozenset(better.cut)
        if plan.over <= 0:
            return plan
        if best is None or plan.over < best.over:
            best = plan
    assert best is not None
    return best


def write_dot(
    scene: Scene,
    *,
    preset: Preset = "full",
    lang: str = "en",
    color_by: str = "sentiment",
    min_flow: float | None = None,
    max_edges: int = DEFAULT_MAX_EDGES,
    edge_labels: bool | None = None,
) -> str:
    """The DOT source of a scene, laid out for Graphviz's ``nop2`` engine.

    Parameters
    ----------
    scene
        From :func:`journeygraph.draw.scene.build_scene`.
    preset
        ``"full"``: every touchpoint and detail. ``"slide"``: 1280 x 720 pt (16:9),
        text at least 12 pt, the strongest moves only; a crowded slide folds its
        least-travelled touchpoints ("+2 unchanged" at a column's foot), stacks a stage
        still too tall in two sub-columns (a diff's new touchpoints beside the current
        ones) and widens the outcome column (:func:`_fit_slide`); what it hides is said
        at the bottom.
    lang
        ``"en"`` or ``"ko"``: the interface words.
    color_by
        Box fill: ``"sentiment"``, ``"leaks"`` (needs an analysis) or ``"none"``.
    min_flow, max_edges
        Which moves to draw (:meth:`Scene.select_moves`).
    edge_labels
        Label moves with their percentage; ``None``: the strongest ones.

    Returns
    -------
    str
        DOT source; render it with ``engine="nop2"``.

    Examples
    --------
    >>> from journeygraph.draw import build_scene
    >>> from journeygraph.draw.dot import write_dot
    >>> dot = write_dot(build_scene(jm))
    >>> '"ad" -> "shop"' in dot, 'class="touchpoint"' in dot
    (True, True)
    """
    look = _SLIDE if preset == "slide" else _FULL
    slide = preset == "slide"
    natural_w = _column_width(scene, look)
    callout_rank = _callout_ranks(scene)
    margin = look.margin
    title = scene.title
    if scene.kind == "diff":
        title = word(lang, "current_vs_future", name=scene.title)
    headline = _headline(scene, lang)
    fold_h = look.small * _LEADING + 6  # a stage's "+N unchanged" line

    def legend_height(width: float) -> float:
        rows = _legend_rows(scene, lang, color_by, look, width)
        return rows * (look.small * _LEADING + 4) + 2 * look.small * _LEADING + 12

    if slide:
        # The title block and the legend span the slide, whatever the columns do.
        head_lines = _wrap_title(title, headline, scene, _SLIDE_W - 2 * margin, look, lang, slide)
        legend_h = legend_height(_SLIDE_W)
        plan = _fit_slide(scene, look, lang, callout_rank, natural_w, head_lines, legend_h)
    else:
        plan = _full_plan(scene, look, lang, callout_rank, natural_w)
    col_w, gap, outcome_w, boxes = plan.col_w, plan.gap, plan.outcome_w, plan.boxes
    hidden_tps, cut = plan.hidden, plan.cut
    spans = [_span(col_w, st.index in cut) for st in scene.stages]
    width = 2 * margin + _ARC + sum(w + gap for w in spans) + outcome_w
    if slide:
        width = max(width, _SLIDE_W)
    else:
        head_lines = _wrap_title(title, headline, scene, width - 2 * margin, look, lang, slide)
        legend_h = legend_height(width)
    head_h = sum(size * _LEADING * len(lines) for lines, size, _ in head_lines) + 10
    stage_h = _stage_h(scene, look, spans)
    top = margin + head_h
    room = _SLIDE_H - top - stage_h - legend_h - margin
    folded = {
        st.index: [t for t in scene.column(st.index) if t.id in hidden_tps] for st in scene.stages
    }

    # Spread the rows of a slide over its height: the room left under each column goes
    # into the gaps between its boxes (at most 40 pt more each), as much as the column
    # with the least room per row allows (the tallest, or one with more rows).
    box_gap = look.box_gap
    if slide:
        extra = 40.0
        for st in scene.stages:
            shown = [boxes[t.id] for t in scene.column(st.index) if t.id not in hidden_tps]
            h, n = _column_h(shown, look, cut.get(st.index), fold_h if folded[st.index] else 0)
            if n:
                extra = min(extra, (room - 6 - h) / n)  # 6: the legend's top gap
        box_gap += max(0.0, extra)
        # ... and the outcome column must still fit with those gaps.
        out_h = [_outcome_box(o, look, outcome_w)[1] for o in scene.outcomes]
        if out_h:
            n_head = len({o.kind == "conversion" for o in scene.outcomes})
            fixed = sum(out_h) + n_head * (look.stage * _LEADING + 14)
            box_gap = max(look.box_gap, min(box_gap, (room - 6 - fixed) / len(out_h)))

    # The strongest moves among the touchpoints shown.
    selection = scene.select_moves(
        min_strength=min_flow,
        max_moves=min(max_edges, SLIDE_MAX_EDGES) if slide else max_edges,
        hidden=hidden_tps,
        edges_only=True,
    )
    placed: dict[str, _Placed] = {}
    column_x: list[float] = []  # each stage's centre
    fold_at: dict[int, float] = {}  # y of a stage's "+N unchanged" line
    bottom = top + stage_h
    left = margin + _ARC
    for st, span in zip(scene.stages, spans, strict=True):
        column_x.append(left + span / 2)
        kept = [t for t in scene.column(st.index) if t.id not in hidden_tps]
        k = cut.get(st.index, len(kept))
        lowest = top + stage_h
        for part, rows in enumerate((kept[:k], kept[k:])):
            x = left + col_w / 2 + part * (col_w + _SUB_GAP)
            y = top + stage_h
            for tp in rows:
                placed[tp.id] = _Placed(boxes[tp.id], x, y)
                y += _step(boxes[tp.id], look, box_gap)
            lowest = max(lowest, y)
        if folded[st.index]:
            # Right under the last box (the preset's gap), then a gap like any row's.
            fold_at[st.index] = max(top + stage_h, lowest - box_gap + look.box_gap)
            lowest = fold_at[st.index] + fold_h + box_gap - look.box_gap
        bottom = max(bottom, lowest)
        left += span + gap
    out_x = left + outcome_w / 2
    out_boxes = []
    y = top + stage_h
    conversions = [o for o in scene.outcomes if o.kind == "conversion"]
    lost = [o for o in scene.outcomes if o.kind != "conversion"]
    heading_pos: list[tuple[str, float]] = []
    for heading, group in (("converted", conversions), ("lost_heading", lost)):
        if not group:
            continue
        heading_pos.append((heading, y))
        y += look.stage * _LEADING + 6
        for o in group:
            label, h = _outcome_box(o, look, outcome_w)
            out_boxes.append((o, label, y, h))
            y += h + box_gap
        y += 8
    bottom = max(bottom, y)
    if slide:
        # The columns reach down to the legend, and the legend sits on the bottom margin
        # even when the rows could not spread far enough (at most 40 pt more per gap).
        bottom = max(bottom, _SLIDE_H - margin - legend_h - 6)
    legend_top = bottom + 6
    height = legend_top + legend_h + margin
    if slide:
        height = max(height, _SLIDE_H)
        width = max(width, height * 16 / 9)
        height = width * 9 / 16

    def gy(y_down: float) -> float:
        """Graphviz's y (up) from a y measured down from the top."""
        return height - y_down

    def pos(x: float, y_down: float) -> str:
        return f'"{_num(x)},{_num(gy(y_down))}!"'

    out: list[str] = ['digraph "journey" {']
    out.append(
        "  graph "
        + _attrs(
            charset='"UTF-8"',
            bb=f'"0,0,{_num(width)},{_num(height)}"',
            splines='"spline"' if len(selection.moves) <= 150 else '"polyline"',
            outputorder="edgesfirst",
            pad=0.0,
            bgcolor='"white"',
            fontname=f'"{FONT}"',
            tooltip=_q(scene.title, TOOLTIP_LIMIT),
            id='"journey"',
        )
        + ";"
    )
    out.append(
        "  node "
        + _attrs(
            shape="box",
            style='"rounded,filled"',
            fontname=f'"{FONT}"',
            fontsize=look.name,
            fontcolor=f'"{palette.INK}"',
            color='"#6B7280"',
            penwidth=1.0,
            fixedsize="true",
            margin=0.0,
        )
        + ";"
    )
    out.append("  edge " + _attrs(fontname=f'"{FONT}"', fontsize=look.small, arrowsize=0.7) + ";")

    # Two invisible corners fix the picture's extent (Graphviz would shrink it to the
    # drawn items, and a slide must stay 16:9).
    for ident, cx, cy in ((" corner 0", 0.5, height - 0.5), (" corner 1", width - 0.5, 0.5)):
        out.append(
            f"  {_name(ident)} "
            + _attrs(
                shape="point",
                width=0.01,
                height=0.01,
                style='"invis"',
                pos=f'"{_num(cx)},{_num(cy)}!"',
            )
            + ";"
        )

    # Title block: left-justified text nodes, one per font size.
    y = margin
    for i, (text_lines, size, colour) in enumerate(head_lines):
        h = size * _LEADING
        out.append(
            f"  {_name(f' title {i}')} "
            + _attrs(
                label=_lines(text_lines, left=True),
                shape="plaintext",
                style='""',
                fontsize=size,
                fontcolor=f'"{colour}"',
                width=(width - 2 * margin) / 72,
                height=h * len(text_lines) / 72,
                pos=pos(width / 2, y + h * len(text_lines) / 2),
                id=f'"title-{i}"',
                **{"class": '"title"'},
            )
            + ";"
        )
        y += h * len(text_lines)

    # Stage columns: a cluster each, its title on the shared top line.
    col_bottom = bottom - box_gap / 2 + 6
    for st in scene.stages:
        x = column_x[st.index]
        span = spans[st.index]
        members = [placed[t.id] for t in scene.column(st.index) if t.id in placed]
        label = wrap(st.label, span - 8, look.stage, 2, bold=True).lines
        fill = palette.fill("stage") if st.index % 2 == 0 else palette.fill("stage_alt")
        border = palette.colour(st.change) if st.change != "unchanged" else "#D0D5DD"
        out.append(f'  subgraph "cluster_{escape_id(st.element_id, target="dot")}" {{')
        out.append(
            "    graph "
            + _attrs(
                label=_lines(label),
                labelloc="t",
                bb=f'"{_num(x - span / 2 - 10)},{_num(gy(col_bottom))},'
                f'{_num(x + span / 2 + 10)},{_num(gy(top))}"',
                style='"rounded,filled,dashed"' if st.change == "removed" else '"rounded,filled"',
                fillcolor=f'"{fill}"',
                color=f'"{border}"',
                penwidth=2.0 if st.change != "unchanged" else None,
                fontsize=look.stage,
                fontcolor=f'"{palette.INK}"',
                tooltip=_q(
                    st.label + (f": {st.description}" if st.description else ""), TOOLTIP_LIMIT
                ),
                id=f'"{st.element_id}"',
                **{"class": '"' + " ".join(st.classes) + '"'},
            )
            + ";"
        )
        if folded[st.index]:
            at = pos(x, fold_at[st.index] + look.small * _LEADING / 2)
            out.append(f"    {_fold_node(scene, st, folded[st.index], look, lang, span, at)};")
        elif not members:
            out.append(
                f"    {_name(f' empty {st.index}')} "
                + _attrs(
                    label=_q(word(lang, "no_touchpoints")),
                    shape="plaintext",
                    style='""',
                    fontsize=look.small,
                    width=span / 72,
                    height=0.3,
                    pos=pos(x, top + stage_h + 12),
                )
                + ";"
            )
        for p in members:
            out.append("    " + _touchpoint_node(scene, p, look, color_by, pos, lang) + ";")
        out.append("  }")
    # Losses under their touchpoints.
    for p in placed.values():
        y = p.y + p.box.height + 2
        for i, (text, meaning, cls, tip) in enumerate(p.box.loss):
            h = look.small * _LEADING
            out.append(
                f"  {_name(f' loss {p.box.tp.id} {i}')} "
                + _attrs(
                    label=_lines([text], left=True),
                    shape="plaintext",
                    style='""',
                    fontsize=look.small,
                    fontcolor=f'"{palette.text_colour(meaning)}"',
                    width=(p.box.width - 4) / 72,
                    height=h / 72,
                    pos=pos(p.x, y + h / 2),
                    tooltip=_q(f"{p.box.tp.label}: {tip}", TOOLTIP_LIMIT),
                    id=f'"loss-{i}-{p.box.tp.element_id}"',
                    **{"class": f'"{cls}"'},
                )
                + ";"
            )
            y += h

    # Outcomes at the right, with their totals.
    for heading, hy in heading_pos:
        out.append(
            f"  {_name(f' heading {heading}')} "
            + _attrs(
                label=_q(word(lang, heading)),
                shape="plaintext",
                style='""',
                fontsize=look.stage,
                width=outcome_w / 72,
                height=look.stage * _LEADING / 72,
                pos=pos(out_x, hy + look.stage * _LEADING / 2),
                id=f'"heading-{heading}"',
                **{"class": '"heading"'},
            )
            + ";"
        )
    for o, label, oy, h in out_boxes:
        lines = list(label)
        if o.change != "unchanged":
            lines.insert(0, word(lang, _BADGE[o.change]))
        if o.total is not None:
            total = _pct1(o.total)
            if o.total_before is not None and scene.kind == "diff":
                total = f"{_pct1(o.total_before)} → {total}"
            lines.append(total)
        elif o.total_before is not None:
            lines.append(word(lang, "was", value=_pct1(o.total_before)))
        shape = {"conversion": "box", "churn": "octagon", "competitor": "hexagon"}[o.kind]
        border = palette.colour(o.kind)
        style = "filled," + palette.DASH[o.kind]
        if o.change == "removed":
            style, border = "filled,dashed", palette.colour("removed")
        elif o.change == "added":
            border = palette.colour("added")
        out.append(
            f"  {_name(o.id)} "
            + _attrs(
                label=_lines(lines),
                shape=shape,
                style=f'"{style}"',
                peripheries=2 if o.kind == "conversion" or o.change == "added" else None,
                fillcolor=f'"{palette.fill(o.kind)}"',
                color=f'"{border}"',
                penwidth=2.0,
                width=outcome_w / 72,
                height=h / 72,
                pos=pos(out_x, oy + h / 2),
                tooltip=_q(f"{o.label} ({o.kind})", TOOLTIP_LIMIT),
                id=f'"{o.element_id}"',
                **{"class": '"' + " ".join(o.classes) + '"'},
            )
            + ";"
        )

    # Moves between the drawn boxes, and into conversions.
    shown_outcomes = {o.id for o in conversions}
    drawn = [
        m
        for m in selection.moves
        if m.source in placed and (m.target in placed or m.target in shown_outcomes)
    ]
    top_strength = max((m.strength for m in drawn), default=0.0)
    if edge_labels is None:
        ranked = sorted(drawn, key=lambda m: -m.strength)
        limit = 10 if slide else (len(drawn) if len(drawn) <= 40 else 24)
        labelled = {m.element_id for m in ranked[:limit]}
        labelled |= {m.element_id for m in drawn if _marked(m)}
    elif edge_labels:
        labelled = {m.element_id for m in drawn}
    else:
        labelled = set()
    callouts = {c.element_id: c.rank for c in scene.callouts}
    for m in drawn:
        # Moves between the two sub-columns of a stage are routed freely, not as arcs.
        arc = m.target not in placed or placed[m.source].x == placed[m.target].x
        out.append(
            "  "
            + _edge(scene, m, top_strength, m.element_id in labelled, callouts, look, lang, arc)
            + ";"
        )

    # Legend and notes along the bottom.
    out.extend(
        _legend(
            scene,
            lang,
            look,
            legend_top,
            width,
            pos,
            color_by,
            selection.hidden,
            selection.threshold,
            len(hidden_tps),
            slide,
            bool(labelled),
        )
    )
    out.append("}")
    return "\n".join(out) + "\n"


def _fold_node(
    scene: Scene,
    stage: SceneStage,
    folded: Sequence[SceneTouchpoint],
    look: _Look,
    lang: str,
    span: float,
    at: str,
) -> str:
    """A slide column's "+2 unchanged" line (a diff; "+2 less visited" otherwise) at
    position ``at``: what the slide leaves out of the stage; the tooltip names them."""
    key = "folded_unchanged" if scene.kind == "diff" else "folded_less_visited"
    text = wrap(word(lang, key, count=len(folded)), span - 4, look.small, 1).lines[0]
    names = ", ".join(t.label for t in folded)
    return f"{_name(f' fold {stage.index}')} " + _attrs(
        label=_lines([text]),
        shape="plaintext",
        style='""',
        fontsize=look.small,
        fontcolor=f'"{palette.MUTED}"',
        width=(span - 4) / 72,
        height=look.small * _LEADING / 72,
        pos=at,
        tooltip=_q(f"{stage.label}: {names}", TOOLTIP_LIMIT),
        id=f'"fold-{stage.element_id}"',
        **{"class": '"fold"'},
    )


def _headline(scene: Scene, lang: str) -> str | None:
    if scene.kind == "map":
        return None
    parts = []
    for key in ("conversion", "churn", "competitor"):
        fig = scene.figure(key)
        if fig is None:
            continue
        d = fig.places()  # the change is the change of the values shown
        value = _pct1(fig.value, d)
        if fig.before is not None:
            value = f"{_pct1(fig.before, d)} → {value} ({_points(fig.value - fig.before, d)})"
        parts.append(word(lang, key, value=value))
    if not parts:
        return None
    text = " · ".join(parts)
    return text if scene.kind == "diff" else f"{text} {word(lang, 'of_entrants')}"


def _wrap_title(
    title: str,
    headline: str | None,
    scene: Scene,
    width: float,
    look: _Look,
    lang: str,
    slide: bool,
) -> list[tuple[tuple[str, ...], float, str]]:
    """(lines, font size, colour) blocks of the title area."""
    blocks = [(wrap(title, width, look.title, 2, bold=False).lines, look.title, palette.INK)]
    if headline:
        blocks.append((wrap(headline, width, look.headline, 2).lines, look.headline, palette.INK))
    sub = []
    if scene.persona is not None:
        sub.append(word(lang, "persona", name=scene.persona.label))
    if scene.callouts:
        items = []
        for c in scene.callouts:
            if c.subject == "leak":
                name = scene.touchpoint(c.source).label
                text = word(
                    lang, "leak_callout", name=name, before=_pct1(c.before), after=_pct1(c.after)
                )
            else:
                src = scene.touchpoint(c.source).label
                tgt = c.target or ""
                try:
                    tgt = scene.touchpoint(tgt).label
                except KeyError:
                    tgt = scene.outcome(tgt).label
                text = f"{src} → {tgt}: {_pct(c.before)} → {_pct(c.after)}"
            items.append(f"#{c.rank} {text}")
        sub.append(word(lang, "largest_changes") + ": " + " · ".join(items))
    if sub:
        lines: list[str] = []
        for s in sub:
            lines.extend(wrap(s, width, look.small, 2).lines)
        blocks.append((tuple(lines), look.small, palette.MUTED))
    return blocks


def _fill(scene: Scene, tp: SceneTouchpoint, color_by: str) -> str:
    if tp.change == "removed":
        return palette.fill("removed")
    if color_by == "leaks" and tp.leak is not None:
        top = max((t.leak or 0.0 for t in scene.touchpoints), default=0.0)
        return palette.leak_fill(tp.leak / top if top > 0 else 0.0)
    if color_by == "sentiment":
        return palette.sentiment_fill(tp.sentiment)
    return palette.fill("touchpoint")


def _touchpoint_node(
    scene: Scene,
    p: _Placed,
    look: _Look,
    color_by: str,
    pos: object,
    lang: str,
) -> str:
    tp, box = p.box.tp, p.box
    lines = list(box.badge) + list(box.name) + list(box.extra)
    tip = [tp.label]
    facts = [f"stage: {tp.stage}"]
    if tp.channel:
        facts.append(f"channel: {tp.channel}")
    if tp.owner:
        facts.append(f"owner: {tp.owner}")
    if tp.sentiment is not None:
        facts.append(f"sentiment: {tp.sentiment:+.2f}")
    tip.append("; ".join(facts))
    tip.extend(f"pain: {x}" for x in tp.pains)
    if tp.visits is not None:
        tip.append(f"expected visits per entering customer: {tp.visits:.3f}")
    if tp.leak is not None and tp.leak > 0:
        tip.append(f"churn leaving here: {tp.leak:.1%} of entering customers")
    tip.extend(_change_line(c, lang) for c in tp.changes)
    tooltip = "\\n".join(escape_text(x, target="dot", limit=TOOLTIP_LIMIT) for x in tip)
    border, penwidth, style, peripheries = "#6B7280", 1.0, "rounded,filled", None
    if tp.change == "added":
        border, penwidth, peripheries = palette.colour("added"), 2.0, 2
    elif tp.change == "removed":
        border, penwidth, style = palette.colour("removed"), 2.0, "rounded,filled,dashed"
    elif tp.change == "changed":
        border, penwidth = palette.colour("changed"), 3.0
    elif tp.leak_rank is not None and scene.kind == "analysis":
        border, penwidth = palette.colour("leak"), 2.5
    assert callable(pos)
    return f"{_name(tp.id)} " + _attrs(
        label=_lines(lines),
        fillcolor=f'"{_fill(scene, tp, color_by)}"',
        color=f'"{border}"',
        penwidth=penwidth,
        style=f'"{style}"',
        peripheries=peripheries,
        fontcolor=f'"{palette.MUTED}"' if tp.change == "removed" else None,
        width=box.width / 72,
        height=box.height / 72,
        pos=pos(p.x, p.y + box.height / 2),
        tooltip=f'"{tooltip}"',
        id=f'"{tp.element_id}"',
        **{"class": '"' + " ".join(tp.classes) + '"'},
    )


def _edge(
    scene: Scene,
    m: SceneMove,
    top: float,
    labelled: bool,
    callouts: dict[str, int],
    look: _Look,
    lang: str,
    arc: bool = True,
) -> str:
    share = m.strength / top if top > 0 else 0.0
    width = 0.8 + 5.2 * math.sqrt(share)
    meaning = m.kind if m.kind != "exit" else "conversion"
    colour = palette.colour(meaning)
    style = "dashed" if m.kind == "backtrack" else "solid"
    if _marked(m):
        colour = palette.colour(m.change)
        if m.change == "removed":
            style = "dashed"
    value = m.strength
    text = _pct(value)
    if scene.kind == "diff":
        if m.change == "added":
            text = word(lang, "new_move", value=_pct(m.probability or 0.0))
        elif m.change == "removed":
            text = word(lang, "was", value=_pct(m.probability_before or 0.0))
        elif m.probability is not None and m.probability_before is not None:
            delta = m.probability - m.probability_before
            if abs(delta) >= 0.001:
                text = f"{_pct(m.probability)} ({_points(delta)})"
    if m.element_id in callouts:
        text = f"#{callouts[m.element_id]} {text}"
    src = scene.touchpoint(m.source).label
    try:
        tgt = scene.touchpoint(m.target).label
    except KeyError:
        tgt = scene.outcome(m.target).label
    tooltip = (
        escape_text(src, target="dot", limit=200)
        + " → "
        + escape_text(tgt, target="dot", limit=200)
        + escape_text(f": {text} ({m.kind})", target="dot")
    )
    ports: dict[str, str | None] = {"tailport": None, "headport": None}
    if m.kind == "within" and m.source != m.target and arc:
        # Down the column on the left side of the boxes, up on the right: the arcs stay
        # clear of the names and of the loss lines under each box.
        below = scene.touchpoint(m.target).row > scene.touchpoint(m.source).row
        side = '"w"' if below else '"e"'
        ports = {"tailport": side, "headport": side}
    return f"{_name(m.source)} -> {_name(m.target)} " + _attrs(
        **ports,
        penwidth=width,
        color=f'"{colour}"',
        style=f'"{_dash(style)}"' if style != "solid" else None,
        label=f'"{escape_text(text, target="dot")}"' if labelled else None,
        fontcolor=f'"{_text_of(colour)}"' if labelled else None,
        fontsize=look.small if labelled else None,
        arrowsize=0.6 + 0.4 * math.sqrt(share),
        tooltip=f'"{tooltip}"',
        labeltooltip=f'"{tooltip}"' if labelled else None,
        id=f'"{m.element_id}"',
        **{"class": '"' + " ".join(m.classes) + '"'},
    )


def _marked(m: SceneMove) -> bool:
    """Whether a diff's move is drawn as changed: added, removed, or re-weighted by at
    least 1 pt (smaller re-weightings keep their kind's look; the tooltip has them)."""
    if m.change in ("added", "removed"):
        return True
    if m.change == "changed" and m.probability is not None and m.probability_before is not None:
        return abs(m.probability - m.probability_before) >= 0.01
    return False


def _text_of(line_colour: str) -> str:
    """Label text in a line's hue, dark enough to read."""
    for meaning, value in palette.COLOURS.items():
        if value == line_colour:
            return palette.text_colour(meaning)
    return line_colour


def _legend_entries(scene: Scene, lang: str, color_by: str) -> list[tuple[str, str, str, str]]:
    """(kind, colour, style, text) of each legend entry: a line, a text or a fill."""
    entries: list[tuple[str, str, str, str]] = [  # (kind, colour, style, text)
        ("line", palette.colour("forward"), "solid", word(lang, "legend_forward")),
        ("line", palette.colour("backtrack"), "dashed", word(lang, "legend_backtrack")),
        ("line", palette.colour("conversion"), "solid", word(lang, "legend_conversion")),
        ("text", palette.text_colour("churn"), "", word(lang, "lost_stub", value="x%")),
        (
            "text",
            palette.text_colour("competitor"),
            "",
            word(lang, "to_competitor", value="y%", name=word(lang, "legend_a_competitor")),
        ),
    ]
    if scene.kind == "diff":
        entries += [
            ("line", palette.colour("added"), "solid", word(lang, "legend_added")),
            ("line", palette.colour("removed"), "dashed", word(lang, "legend_removed")),
            ("line", palette.colour("changed"), "solid", word(lang, "legend_changed")),
        ]
    # Box fills, drawn as filled boxes.
    if color_by == "sentiment":
        entries += [
            ("fill", palette.sentiment_fill(-1.0), "", word(lang, "fill_negative")),
            ("fill", palette.sentiment_fill(0.0), "", word(lang, "fill_neutral")),
            ("fill", palette.sentiment_fill(1.0), "", word(lang, "fill_positive")),
            ("fill", palette.sentiment_fill(None), "", word(lang, "no_sentiment")),
        ]
    elif color_by == "leaks" and scene.kind == "analysis":
        entries += [
            ("fill", palette.leak_fill(0.0), "", word(lang, "fill_no_leak")),
            ("fill", palette.leak_fill(1.0), "", word(lang, "fill_top_leak")),
        ]
    return entries


def _legend_rows(scene: Scene, lang: str, color_by: str, look: _Look, width: float) -> int:
    """How many rows the legend entries take at this width (as ``_legend`` places them)."""
    x, rows = look.margin, 1
    for kind, _, _, text in _legend_entries(scene, lang, color_by):
        need = (40 if kind == "line" else 0) + em(text) * look.small + 30
        if x + need > width - look.margin:
            x, rows = look.margin, rows + 1
        x += need
    return rows


def _legend(
    scene: Scene,
    lang: str,
    look: _Look,
    top: float,
    width: float,
    pos: object,
    color_by: str,
    hidden: int,
    threshold: float,
    hidden_tps: int,
    slide: bool,
    labels: bool,
) -> list[str]:
    """Legend entries drawn as what they mean: a line for each edge style, the loss
    texts in their colours, outlined boxes for a diff's marks; then the notes."""
    assert callable(pos)
    out: list[str] = []
    entries = _legend_entries(scene, lang, color_by)
    x = look.margin
    row_h = look.small * _LEADING + 4
    y = top + row_h / 2
    for i, (kind, colour, style, text) in enumerate(entries):
        text_w = em(text) * look.small + 12
        need = (40 if kind == "line" else 0) + text_w + 18
        if x + need > width - look.margin:
            x = look.margin
            y += row_h
        if kind == "line":
            a, b = f" legend {i} a", f" legend {i} b"
            for ident, px in ((a, x), (b, x + 34)):
                out.append(
                    f"  {_name(ident)} "
                    + _attrs(
                        shape="point", width=0.01, height=0.01, style='"invis"', pos=pos(px, y)
                    )
                    + ";"
                )
            out.append(
                f"  {_name(a)} -> {_name(b)} "
                + _attrs(
                    color=f'"{colour}"',
                    penwidth=2.5,
                    style=f'"{style}"',
                    arrowsize=0.6,
                    id=f'"legend-line-{i}"',
                    **{"class": '"legend"'},
                )
                + ";"
            )
            x += 40
        filled = kind == "fill"
        out.append(
            f"  {_name(f' legend {i} text')} "
            + _attrs(
                label=_lines([text]) if filled else _lines([text], left=True),
                shape="box" if filled else "plaintext",
                style='"rounded,filled"' if filled else '""',
                fillcolor=f'"{colour}"' if filled else None,
                color='"#6B7280"' if filled else None,
                fontsize=look.small,
                fontcolor=f'"{colour}"' if kind == "text" else f'"{palette.INK}"',
                penwidth=1.0 if filled else None,
                width=text_w / 72,
                height=row_h / 72,
                pos=pos(x + text_w / 2, y),
                id=f'"legend-{i}"',
                **{"class": '"legend"'},
            )
            + ";"
        )
        x += text_w + 18
    notes = [
        word(lang, "width_flow" if scene.strength_name == "flow" else "width_probability"),
        word(lang, "loss_probability" if scene.kind == "map" else "loss_flow"),
    ]
    if hidden:
        if threshold > 0:
            key = "hidden_move" if hidden == 1 else "hidden_moves"
            notes.append(word(lang, key, count=hidden, value=_pct(threshold)))
        else:  # every move among the shown touchpoints is drawn
            notes.append(word(lang, "hidden_moves_of_hidden", count=hidden))
    if hidden_tps:
        notes.append(word(lang, "hidden_touchpoints", count=hidden_tps))
    if slide:
        notes.append(word(lang, "slide_hides"))
    if labels:
        notes.append(word(lang, "crowded_labels"))
    note = " · ".join(notes)
    lines = wrap(note, width - 2 * look.margin, look.small, 2).lines
    y += row_h / 2 + 2
    h = len(lines) * look.small * _LEADING
    out.append(
        f"  {_name(' legend note')} "
        + _attrs(
            label=_lines(lines, left=True),
            shape="plaintext",
            style='""',
            fontsize=look.small,
            fontcolor=f'"{palette.MUTED}"',
            width=(width - 2 * look.margin) / 72,
            height=h / 72,
            pos=pos(width / 2, y + h / 2),
            id='"legend-note"',
            **{"class": '"legend note"'},
        )
        + ";"
    )
    return out
