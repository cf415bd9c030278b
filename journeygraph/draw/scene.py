"""The scene: what a journey picture shows and its facts, computed once.

A :class:`Scene` is built by :func:`build_scene` from a
:class:`~journeygraph.model.JourneyMap`, an :class:`~journeygraph.analysis.Analysis` or a
:class:`~journeygraph.compare.MapDiff`, reading their public attributes only. Every
writer (the Graphviz diagram, the canvas, the interactive explorer) draws a scene; none
of them recomputes a figure or matches two maps again. See ``docs/rendering.md``.

The contract (stable: fields are added, never renamed):

- **Order.** ``stages`` in stage order; ``touchpoints`` by stage, then in file order
  (``SceneTouchpoint.row`` is the position inside its stage column). A diff keeps the
  *current* map's order, with future-only stages after the stage they follow in the future
  map and future-only touchpoints after their stage's current ones.
- **Ids.** Items carry the map's ids (a diff uses the future map's ids: the renames
  applied) and an ``element_id`` derived from them by :func:`element_id`: a valid XML
  name, distinct for distinct ids, the same on every run. Writers put it on the drawn
  element; ``classes`` go into its ``class`` attribute: ``stage``, ``touchpoint``,
  ``outcome``, ``move`` (plus the move's kind and, for an exit, the outcome's kind),
  ``loss``; in a diff ``added``, ``removed`` or ``changed``.
- **Numbers.** Probabilities and flows are plain floats in [0, 1] (flows are expected
  traversals per entering customer). Where a value can differ between the two maps of a
  diff, the item has the future value in ``<name>`` and the current one in
  ``<name>_before``; outside diffs ``<name>_before`` is ``None``. ``None`` means "not
  known here" (no analysis, or not in that map), never zero.
- **Change.** ``change`` is ``"unchanged"`` outside diffs; in a diff ``"added"`` (future
  only), ``"removed"`` (current only) or ``"changed"`` (re-weighted moves; renamed or
  re-scored touchpoints, whose field changes are in ``changes``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from journeygraph.analysis import Analysis, analyze
from journeygraph.compare import FieldChange, MapDiff
from journeygraph.errors import JourneyGraphError, JourneyGraphWarning
from journeygraph.model import JourneyMap, MoveKind, OutcomeKind, Persona, Stage, Touchpoint

__all__ = [
    "Change",
    "MoveSelection",
    "Scene",
    "SceneCallout",
    "SceneFigure",
    "SceneKind",
    "SceneLoss",
    "SceneMove",
    "SceneOutcome",
    "SceneStage",
    "SceneTouchpoint",
    "Value",
    "build_scene",
    "element_id",
]

#: ``"unchanged"`` outside diffs; in a diff how an item differs from the current map.
Change = Literal["unchanged", "added", "removed", "changed"]
#: What a scene was built from.
SceneKind = Literal["map", "analysis", "diff"]

#: How many leaks, switching points and diff changes are ranked and called out.
TOP = 3
#: Changes smaller than this (a probability or flow) are not called out.
_MIN_CHANGE = 5e-4
#: Separator of a second-order state id written by ``jg.fit(..., order=2)``.
_STATE_SEP = " > "


@dataclass(frozen=True, slots=True)
class Value:
    """One number of a diff's two maps: ``before`` (current) and ``after`` (future)."""

    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        """``after - before``; ``None`` if either is missing."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class SceneStage:
    """A stage column: ``index`` in the scene's stage order."""

    id: str
    element_id: str
    label: str
    description: str | None
    index: int
    change: Change
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneTouchpoint:
    """A touchpoint box, in column ``stage_index`` at position ``row`` (0 = top).

    ``label`` is what to show: the name, or for a second-order state of a fitted map
    ``"docs ← blog post"`` (where the customer is ← where they came from). ``visits``:
    expected visits per entering customer; ``leak``: churn flow leaving here per entrant;
    ``switching``: competitor flow leaving here per entrant (analysis and diff scenes).
    ``leak_rank`` / ``switch_rank``: 1 for the largest leak / switching point, up to 3.
    ``previous_id``: the current map's id of a renamed touchpoint.
    """

    id: str
    element_id: str
    stage: str
    stage_index: int
    row: int
    label: str
    channel: str | None
    owner: str | None
    sentiment: float | None
    sentiment_before: float | None
    pains: tuple[str, ...]
    pains_before: tuple[str, ...]
    goals: tuple[str, ...]
    questions: tuple[str, ...]
    visits: float | None
    visits_before: float | None
    leak: float | None
    leak_before: float | None
    switching: float | None
    switching_before: float | None
    leak_rank: int | None
    switch_rank: int | None
    change: Change
    changes: tuple[FieldChange, ...]
    previous_id: str | None
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneOutcome:
    """An outcome box: ``total`` is its probability from the entry (``None`` if unknown)."""

    id: str
    element_id: str
    label: str
    kind: OutcomeKind
    total: float | None
    total_before: float | None
    change: Change
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneMove:
    """A move (an edge). ``probability``: the share of departures from ``source`` taking
    it; ``flow``: expected traversals per entering customer (``None`` without an
    analysis). ``strength`` is what the drawing's widths show (the scene's
    ``strength_name``); a removed move keeps its current values."""

    source: str
    target: str
    element_id: str
    kind: MoveKind
    probability: float | None
    probability_before: float | None
    flow: float | None
    flow_before: float | None
    strength: float
    change: Change
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneLoss:
    """Customers lost at a touchpoint to one outcome (churn or a competitor), read at
    their source: ``probability`` of leaving per departure from the touchpoint, ``flow``
    per entering customer (``None`` without an analysis)."""

    touchpoint: str
    outcome: str
    outcome_label: str
    kind: OutcomeKind
    element_id: str
    probability: float | None
    probability_before: float | None
    flow: float | None
    flow_before: float | None
    change: Change
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneFigure:
    """A headline figure: ``key`` is ``conversion``, ``churn``, ``competitor``,
    ``steps`` (expected moves per journey) or ``hours`` (expected journey time)."""

    key: str
    value: float
    before: float | None

    def places(self, scale: float = 100.0, fewest: int = 1, most: int = 2) -> int:
        """Decimals to show ``before → after (change)`` with, each times ``scale``.

        The fewest (from ``fewest``) at which the rounded change is the change of the
        rounded values: 27.66 → 28.14 reads "27.66 → 28.14 (+0.48)", not "27.7 → 28.1
        (+0.5)". When even ``most`` decimals do not add up (41.2835 → 35.8455), a
        slide does not grow a third: ``fewest``, and the change stays the exact change
        rounded, as in any table of rounded figures.
        """
        if self.before is None:
            return fewest
        a, b = self.before * scale, self.value * scale
        for d in range(fewest, most + 1):
            if round(round(b, d) - round(a, d), d) == round(b - a, d):
                return d
        return fewest


@dataclass(frozen=True, slots=True)
class SceneCallout:
    """One of a diff's largest changes: a move's flow (``subject="move"``, from
    ``source`` to ``target``) or a touchpoint's leak (``subject="leak"``, ``target`` is
    ``None``); ``element_id`` names the drawn item."""

    rank: int
    subject: Literal["move", "leak"]
    source: str
    target: str | None
    element_id: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class MoveSelection:
    """The moves to draw (scene order), how many are hidden and the strength threshold."""

    moves: tuple[SceneMove, ...]
    hidden: int
    threshold: float


@dataclass(frozen=True, slots=True)
class Scene:
    """What a picture of a map, an analysis or a diff shows. See the module docstring.

    ``kind``: ``"map"``, ``"analysis"`` or ``"diff"``. ``title``: the map's name (a
    diff: the future map's; ``current_title`` the current one's). ``entry``: share of
    journeys starting at each touchpoint. ``figures``: conversion, churn, competitor
    share (and steps, time), with ``before`` in a diff; outcome totals are on the
    outcomes. ``top_leaks``: touchpoint ids of the largest leaks, ranked;
    ``top_switching``: (touchpoint, competitor) pairs, ranked. ``callouts``: a diff's
    three largest changes in flow or leak. ``strength_name``: what move widths show.
    ``fitted_order``: 2 for a second-order map fitted from logs, else 1.

    Examples
    --------
    >>> from journeygraph.draw import build_scene
    >>> scene = build_scene(jg.analyze(jm))
    >>> [t.id for t in scene.touchpoints], [round(o.total, 2) for o in scene.outcomes]
    (['ad', 'shop'], [0.75, 0.25])
    >>> scene.touchpoints[0].element_id, scene.touchpoints[0].classes
    ('tp-ad', ('touchpoint',))
    """

    kind: SceneKind
    title: str
    current_title: str | None
    description: str | None
    persona: Persona | None
    stages: tuple[SceneStage, ...]
    touchpoints: tuple[SceneTouchpoint, ...]
    outcomes: tuple[SceneOutcome, ...]
    moves: tuple[SceneMove, ...]
    losses: tuple[SceneLoss, ...]
    entry: Mapping[str, float]
    entry_before: Mapping[str, float] | None
    figures: tuple[SceneFigure, ...]
    top_leaks: tuple[str, ...]
    top_switching: tuple[tuple[str, str], ...]
    callouts: tuple[SceneCallout, ...]
    strength_name: str
    fitted_order: int

    def touchpoint(self, touchpoint_id: str) -> SceneTouchpoint:
        """The touchpoint with this id (``KeyError`` if the scene has none)."""
        for tp in self.touchpoints:
            if tp.id == touchpoint_id:
                return tp
        raise KeyError(touchpoint_id)

    def outcome(self, outcome_id: str) -> SceneOutcome:
        """The outcome with this id (``KeyError`` if the scene has none)."""
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(outcome_id)

    def column(self, stage_index: int) -> tuple[SceneTouchpoint, ...]:
        """The touchpoints of one stage column, top to bottom."""
        return tuple(t for t in self.touchpoints if t.stage_index == stage_index)

    def figure(self, key: str) -> SceneFigure | None:
        """The headline figure ``key`` (``conversion``, ``churn``, ...), if shown."""
        return next((f for f in self.figures if f.key == key), None)

    def select_moves(
        self,
        *,
        min_strength: float | None,
        max_moves: int,
        hidden: Collection[str] = (),
        edges_only: bool = False,
    ) -> MoveSelection:
        """The moves worth drawing, leaving no touchpoint without a way in or out.

        With ``min_strength``: the moves at least that strong. Otherwise all moves when
        there are at most ``max_moves``, else the ``max_moves`` strongest. Either way
        each touchpoint keeps its strongest way out and, unless journeys start there,
        its strongest way in (no orphan boxes), and a diff keeps every added, removed
        or changed move. Moves from or to a touchpoint in ``hidden`` (not drawn, e.g. on
        a slide) are left out first and counted as hidden. ``edges_only``: leave out the
        moves into churn and competitor outcomes (a diagram shows them as loss lines), so
        ``max_moves`` counts the moves drawn as edges.

        Examples
        --------
        >>> from journeygraph.draw import build_scene
        >>> pick = build_scene(jm).select_moves(min_strength=0.5, max_moves=100)
        >>> [(m.source, m.target) for m in pick.moves], pick.hidden
        ([('ad', 'shop'), ('shop', 'buy')], 1)
        """
        gone = set(hidden)
        candidates = self.moves
        if edges_only:
            lost = {o.id for o in self.outcomes if o.kind != "conversion"}
            candidates = tuple(m for m in candidates if m.target not in lost)
        moves = tuple(m for m in candidates if m.source not in gone and m.target not in gone)
        order = sorted(range(len(moves)), key=lambda i: (-moves[i].strength, i))
        if min_strength is not None:
            keep = {i for i, m in enumerate(moves) if m.strength >= min_strength}
            threshold = min_strength
        elif len(moves) <= max_moves:
            keep = set(range(len(moves)))
            threshold = 0.0
        else:
            keep = set(order[:max_moves])
            threshold = min(moves[i].strength for i in keep)
        if len(keep) < len(moves):
            out: dict[str, int] = {}
            into: dict[str, int] = {}
            tps = {t.id for t in self.touchpoints} - gone
            for i in order:
                out.setdefault(moves[i].source, i)
                if moves[i].target in tps and moves[i].target != moves[i].source:
                    into.setdefault(moves[i].target, i)
            keep |= set(out.values())
            keep |= {i for tp, i in into.items() if self.entry.get(tp, 0.0) <= 0}
            keep |= {i for i, m in enumerate(moves) if m.change != "unchanged"}
        drawn = tuple(m for i, m in enumerate(moves) if i in keep)
        return MoveSelection(drawn, len(candidates) - len(drawn), threshold)


# -- ids ------------------------------------------------------------------------------


def _escape_name(ident: str) -> str:
    out = []
    for c in ident:
        if c.isalnum() or c == "_":
            out.append(c)
        else:
            out.append(f"-{ord(c):x}-")
    return "".join(out)


def element_id(prefix: str, *ids: str) -> str:
    """An XML id for a drawn item, derived from map ids: ``prefix-id[-to-id]``.

    Letters, digits and ``_`` are kept; any other character ``c`` becomes
    ``-<hex code of c>-``, so distinct ids give distinct element ids and the result is a
    valid XML name (``-to-`` cannot come from an escape: ``t`` and ``o`` are not hex).

    Examples
    --------
    >>> from journeygraph.draw.scene import element_id
    >>> element_id("tp", "blog_post"), element_id("move", "a b", "c")
    ('tp-blog_post', 'move-a-20-b-to-c')
    >>> element_id("tp", "구매")
    'tp-구매'
    """
    return prefix + "-" + "-to-".join(_escape_name(i) for i in ids)


def _classes(*names: str) -> tuple[str, ...]:
    return tuple(n for n in names if n and n != "unchanged")


# -- building ----------------------------------------------------------------------


def build_scene(obj: JourneyMap | Analysis | MapDiff) -> Scene:
    """The scene of a map, an analysis or a comparison.

    A map alone shows move probabilities; its outcome totals come from
    :func:`journeygraph.analyze` (left out if the map cannot be analysed). An analysis
    adds expected flows, visits, leaks, switching and the headline figures. A diff shows
    the future map's numbers with the current map's as ``*_before``, in the current map's
    layout.

    Parameters
    ----------
    obj
        A :class:`~journeygraph.model.JourneyMap`, an
        :class:`~journeygraph.analysis.Analysis` or a
        :class:`~journeygraph.compare.MapDiff`.

    Returns
    -------
    Scene

    Raises
    ------
    TypeError
        ``obj`` is none of these.

    Examples
    --------
    >>> from journeygraph.draw import build_scene
    >>> scene = build_scene(jm)
    >>> [(s.id, s.index) for s in scene.stages]
    [('aware', 0), ('act', 1)]
    >>> [(m.element_id, m.classes) for m in scene.moves][:2]
    [('move-ad-to-shop', ('move', 'forward')), ('move-ad-to-gone', ('move', 'exit', 'churn'))]
    """
    if isinstance(obj, MapDiff):
        return _diff_scene(obj)
    if isinstance(obj, Analysis):
        return _single_scene(obj.map, obj, "analysis")
    if isinstance(obj, JourneyMap):
        return _single_scene(obj, _quiet_analysis(obj), "map")
    raise TypeError(
        f"build_scene needs a JourneyMap, an Analysis or a MapDiff, not {type(obj).__name__}"
    )


def _quiet_analysis(jm: JourneyMap) -> Analysis | None:
    """The map's analysis for outcome totals, or ``None`` if it cannot be solved."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", JourneyGraphWarning)
            return analyze(jm)
    except JourneyGraphError:
        return None


def _state_labels(jm: JourneyMap) -> tuple[dict[str, str], int]:
    """Labels of a second-order fitted map's states: ``"docs ← blog post"``."""
    states = jm.metadata.get("states")
    if not isinstance(states, dict):
        return {}, 1
    pairs = {
        tp.id: (pair, tp.label.replace("_", " "))
        for tp in jm.touchpoints
        if isinstance(pair := states.get(tp.id), list) and len(pair) == 2
    }
    # Where a customer came from is named as the touchpoint is named where it is current
    # (a template's names survive fitting), else by its id.
    named = {str(pair[1]): where for pair, where in pairs.values()}
    labels: dict[str, str] = {}
    for state, (pair, where) in pairs.items():
        prev = pair[0]
        came = "start" if prev is None else named.get(str(prev), str(prev).replace("_", " "))
        labels[state] = f"{where} ← {came}"
    return labels, 2 if labels else 1


def _ordered(jm: JourneyMap) -> list[Touchpoint]:
    return sorted(jm.touchpoints, key=lambda t: jm.stage_position(t.stage))


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = math.fsum(weights.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in weights.items()}


def _figures(res: Analysis | None, before: Analysis | None, jm: JourneyMap) -> list[SceneFigure]:
    if res is None:
        return []

    def pick(a: Analysis | None, key: str) -> float | None:
        if a is None:
            return None
        if key == "steps":
            return a.expected_steps
        if key == "hours":
            return a.expected_time.mean if a.expected_time is not None else None
        value: float = getattr(a, f"{key}_probability")
        return value

    keys = ["conversion", "churn"]
    competitors = jm.outcomes_of_kind("competitor") or (
        before is not None and before.competitor_probability > 0
    )
    if competitors:
        keys.append("competitor")
    keys.append("steps")
    if res.expected_time is not None:
        keys.append("hours")
    out = []
    for key in keys:
        value = pick(res, key)
        if value is not None:
            out.append(SceneFigure(key, value, pick(before, key)))
    return out


def _single_scene(jm: JourneyMap, res: Analysis | None, kind: SceneKind) -> Scene:
    full = kind == "analysis" and res is not None
    labels, order = _state_labels(jm)
    stages = tuple(
        SceneStage(
            s.id, element_id("stage", s.id), s.label, s.description, i, "unchanged", ("stage",)
        )
        for i, s in enumerate(jm.stages)
    )
    leak_flow = {lk.touchpoint: lk.flow for lk in res.leaks} if full and res else {}
    switch_flow: dict[str, float] = {}
    if full and res is not None:
        for sw in res.switching:
            switch_flow[sw.touchpoint] = switch_flow.get(sw.touchpoint, 0.0) + sw.flow
    top_leaks = (
        tuple(lk.touchpoint for lk in res.leaks if lk.flow > 0)[:TOP] if full and res else ()
    )
    top_switching = (
        tuple((sw.touchpoint, sw.competitor) for sw in res.switching if sw.flow > 0)[:TOP]
        if full and res
        else ()
    )
    tps = _touchpoints(
        _ordered(jm),
        jm,
        labels,
        visits=res.expected_visits if full and res else None,
        leak=leak_flow if full else None,
        switching=switch_flow if full else None,
        top_leaks=top_leaks,
        top_switching=top_switching,
    )
    totals = res.outcome_probabilities if res is not None else {}
    outcomes = tuple(
        SceneOutcome(
            o.id,
            element_id("outcome", o.id),
            o.label,
            o.kind,
            totals.get(o.id),
            None,
            "unchanged",
            ("outcome", o.kind),
        )
        for o in jm.outcomes
    )
    probs = jm.move_probabilities()
    kinds = jm.move_kinds()
    flows = res.move_flows if full and res is not None else None
    okind = {o.id: o.kind for o in jm.outcomes}
    moves = tuple(
        _move(
            s,
            t,
            kinds[(s, t)],
            okind.get(t),
            p,
            None,
            flows.get((s, t), 0.0) if flows is not None else None,
            None,
            "unchanged",
            by_flow=flows is not None,
        )
        for (s, t), p in probs.items()
    )
    losses = _losses(moves, {o.id: o.label for o in jm.outcomes}, okind)
    entry = res.entry if full and res is not None else _normalised(jm.entry)
    return Scene(
        kind=kind,
        title=jm.name,
        current_title=None,
        description=jm.description,
        persona=jm.persona,
        stages=stages,
        touchpoints=tps,
        outcomes=outcomes,
        moves=moves,
        losses=losses,
        entry=entry,
        entry_before=None,
        figures=tuple(_figures(res if full else None, None, jm)),
        top_leaks=top_leaks,
        top_switching=top_switching,
        callouts=(),
        strength_name="flow" if full else "probability",
        fitted_order=order,
    )


def _touchpoints(
    ordered: Iterable[Touchpoint],
    jm: JourneyMap,
    labels: Mapping[str, str],
    *,
    visits: Mapping[str, float] | None,
    leak: Mapping[str, float] | None,
    switching: Mapping[str, float] | None,
    top_leaks: tuple[str, ...],
    top_switching: tuple[tuple[str, str], ...],
) -> tuple[SceneTouchpoint, ...]:
    rows: dict[str, int] = {}
    out = []
    switch_rank: dict[str, int] = {}
    for i, (tp_id, _) in enumerate(top_switching):
        switch_rank.setdefault(tp_id, i + 1)
    for tp in ordered:
        row = rows.get(tp.stage, 0)
        rows[tp.stage] = row + 1
        out.append(
            SceneTouchpoint(
                id=tp.id,
                element_id=element_id("tp", tp.id),
                stage=tp.stage,
                stage_index=jm.stage_position(tp.stage),
                row=row,
                label=labels.get(tp.id, tp.label),
                channel=tp.channel,
                owner=tp.owner,
                sentiment=tp.sentiment,
                sentiment_before=None,
                pains=tp.pains,
                pains_before=(),
                goals=tp.goals,
                questions=tp.questions,
                visits=visits.get(tp.id, 0.0) if visits is not None else None,
                visits_before=None,
                leak=leak.get(tp.id, 0.0) if leak is not None else None,
                leak_before=None,
                switching=switching.get(tp.id, 0.0) if switching is not None else None,
                switching_before=None,
                leak_rank=top_leaks.index(tp.id) + 1 if tp.id in top_leaks else None,
                switch_rank=switch_rank.get(tp.id),
                change="unchanged",
                changes=(),
                previous_id=None,
                classes=("touchpoint",),
            )
        )
    return tuple(out)


def _move(
    source: str,
    target: str,
    kind: MoveKind,
    outcome_kind: str | None,
    probability: float | None,
    probability_before: float | None,
    flow: float | None,
    flow_before: float | None,
    change: Change,
    *,
    by_flow: bool,
) -> SceneMove:
    if change == "removed":
        strength = flow_before if by_flow else probability_before
    else:
        strength = flow if by_flow else probability
    return SceneMove(
        source=source,
        target=target,
        element_id=element_id("move", source, target),
        kind=kind,
        probability=probability,
        probability_before=probability_before,
        flow=flow,
        flow_before=flow_before,
        strength=strength or 0.0,
        change=change,
        classes=_classes("move", kind, outcome_kind or "", change),
    )


def _losses(
    moves: Iterable[SceneMove], labels: Mapping[str, str], kinds: Mapping[str, OutcomeKind]
) -> tuple[SceneLoss, ...]:
    out = []
    for m in moves:
        kind = kinds.get(m.target)
        if m.kind != "exit" or kind is None or kind == "conversion":
            continue
        out.append(
            SceneLoss(
                touchpoint=m.source,
                outcome=m.target,
                outcome_label=labels[m.target],
                kind=kind,
                element_id=element_id("loss", m.source, m.target),
                probability=m.probability,
                probability_before=m.probability_before,
                flow=m.flow,
                flow_before=m.flow_before,
                change=m.change,
                classes=_classes("loss", kind, m.change),
            )
        )
    return tuple(out)


# -- diffs ---------------------------------------------------------------------------


def _diff_stages(diff: MapDiff) -> list[tuple[Stage, Change]]:
    """The current map's stages (renamed), future-only stages after their predecessor."""
    ren = diff.renames
    cur, fut = diff.current, diff.future
    future_ids = {s.id for s in fut.stages}
    merged: list[tuple[Stage, Change]] = []
    for s in cur.stages:
        sid = ren.get(s.id, s.id)
        if sid in future_ids:
            after = next(x for x in fut.stages if x.id == sid)
            merged.append((after, "unchanged"))
        else:
            merged.append((s.model_copy(update={"id": sid}), "removed"))
    known = {s.id for s, _ in merged}
    for i, s in enumerate(fut.stages):
        if s.id in known:
            continue
        at = 0
        for earlier in reversed(fut.stages[:i]):
            if earlier.id in known:
                at = next(k for k, (x, _) in enumerate(merged) if x.id == earlier.id) + 1
                break
        merged.insert(at, (s, "added"))
        known.add(s.id)
    return merged


def _diff_scene(diff: MapDiff) -> Scene:
    ren = diff.renames

    def new(ident: str) -> str:
        return ren.get(ident, ident)

    cur, fut = diff.current, diff.future
    before_res, after_res = diff.current_analysis, diff.future_analysis
    stage_list = _diff_stages(diff)
    position = {s.id: i for i, (s, _) in enumerate(stage_list)}
    stages = tuple(
        SceneStage(
            s.id,
            element_id("stage", s.id),
            s.label,
            s.description,
            i,
            change,
            _classes("stage", change),
        )
        for i, (s, change) in enumerate(stage_list)
    )
    now = {new(t.id): t for t in cur.touchpoints}
    then = {t.id: t for t in fut.touchpoints}
    cur_index = {new(t.id): i for i, t in enumerate(cur.touchpoints)}
    fut_index = {t.id: i for i, t in enumerate(fut.touchpoints)}
    added, removed = set(diff.touchpoints_added), set(diff.touchpoints_removed)
    changes: dict[str, list[FieldChange]] = {}
    for c in diff.touchpoints_changed:
        changes.setdefault(c.touchpoint, []).append(c)
    for old, renamed in ren.items():
        if renamed in then and old in {t.id for t in cur.touchpoints} and old != renamed:
            changes.setdefault(renamed, []).insert(0, FieldChange(renamed, "id", old, renamed))

    ids = list(dict.fromkeys([*now, *then]))

    def stage_of(tp_id: str) -> str:
        tp = then.get(tp_id)
        return tp.stage if tp is not None else new(now[tp_id].stage)

    ids.sort(
        key=lambda t: (
            position[stage_of(t)],
            0 if t in cur_index else 1,
            cur_index.get(t, fut_index.get(t, 0)),
        )
    )
    cur_labels, _ = _state_labels(cur)
    fut_labels, order = _state_labels(fut)
    leak_after = {lk.touchpoint: lk.flow for lk in after_res.leaks}
    leak_before = {new(lk.touchpoint): lk.flow for lk in before_res.leaks}
    sw_after: dict[str, float] = {}
    for sw in after_res.switching:
        sw_after[sw.touchpoint] = sw_after.get(sw.touchpoint, 0.0) + sw.flow
    sw_before: dict[str, float] = {}
    for sw in before_res.switching:
        sw_before[new(sw.touchpoint)] = sw_before.get(new(sw.touchpoint), 0.0) + sw.flow
    top_leaks = tuple(lk.touchpoint for lk in after_res.leaks if lk.flow > 0)[:TOP]
    top_switching = tuple(
        (sw.touchpoint, sw.competitor) for sw in after_res.switching if sw.flow > 0
    )[:TOP]
    switch_rank: dict[str, int] = {}
    for i, (tp_id, _) in enumerate(top_switching):
        switch_rank.setdefault(tp_id, i + 1)
    rows: dict[str, int] = {}
    tps = []
    for tp_id in ids:
        after_tp, before_tp = then.get(tp_id), now.get(tp_id)
        shown = after_tp or before_tp
        assert shown is not None
        sid = stage_of(tp_id)
        row = rows.get(sid, 0)
        rows[sid] = row + 1
        change: Change = (
            "added"
            if tp_id in added
            else "removed"
            if tp_id in removed
            else "changed"
            if tp_id in changes
            else "unchanged"
        )
        label = (
            fut_labels.get(tp_id, shown.label)
            if after_tp is not None
            else cur_labels.get(before_tp.id if before_tp else "", shown.label)
        )
        in_after, in_before = after_tp is not None, before_tp is not None
        tps.append(
            SceneTouchpoint(
                id=tp_id,
                element_id=element_id("tp", tp_id),
                stage=sid,
                stage_index=position[sid],
                row=row,
                label=label,
                channel=shown.channel,
                owner=shown.owner,
                sentiment=after_tp.sentiment if after_tp is not None else None,
                sentiment_before=before_tp.sentiment if before_tp is not None else None,
                pains=after_tp.pains if after_tp is not None else (),
                pains_before=before_tp.pains if before_tp is not None else (),
                goals=shown.goals,
                questions=shown.questions,
                visits=after_res.expected_visits.get(tp_id, 0.0) if in_after else None,
                visits_before=(
                    before_res.expected_visits.get(before_tp.id, 0.0)
                    if before_tp is not None
                    else None
                ),
                leak=leak_after.get(tp_id, 0.0) if in_after else None,
                leak_before=leak_before.get(tp_id, 0.0) if in_before else None,
                switching=sw_after.get(tp_id, 0.0) if in_after else None,
                switching_before=sw_before.get(tp_id, 0.0) if in_before else None,
                leak_rank=top_leaks.index(tp_id) + 1 if tp_id in top_leaks else None,
                switch_rank=switch_rank.get(tp_id),
                change=change,
                changes=tuple(changes.get(tp_id, ())),
                previous_id=next((o for o, n in ren.items() if n == tp_id and o != n), None),
                classes=_classes("touchpoint", change),
            )
        )

    # Outcomes: the current map's order, future-only ones after.
    fut_out = {o.id: o for o in fut.outcomes}
    cur_out = {new(o.id): o for o in cur.outcomes}
    outcome_ids = list(dict.fromkeys([*cur_out, *fut_out]))
    totals_before = {new(k): v for k, v in before_res.outcome_probabilities.items()}
    outcomes = []
    for oid in outcome_ids:
        o = fut_out.get(oid) or cur_out[oid]
        change = (
            "added"
            if oid in diff.outcomes_added
            else "removed"
            if oid in diff.outcomes_removed
            else "unchanged"
        )
        outcomes.append(
            SceneOutcome(
                oid,
                element_id("outcome", oid),
                o.label,
                o.kind,
                after_res.outcome_probabilities.get(oid) if oid in fut_out else None,
                totals_before.get(oid) if oid in cur_out else None,
                change,
                _classes("outcome", o.kind, change),
            )
        )
    okind = {o.id: o.kind for o in outcomes}

    # Moves: the current map's order (renamed), then future-only moves.
    p_after = fut.move_probabilities()
    p_before = {(new(s), new(t)): p for (s, t), p in cur.move_probabilities().items()}
    f_after = after_res.move_flows
    f_before = {(new(s), new(t)): f for (s, t), f in before_res.move_flows.items()}
    added_moves = {(m.source, m.target) for m in diff.moves_added}
    removed_moves = {(m.source, m.target) for m in diff.moves_removed}
    changed_moves = {(m.source, m.target) for m in diff.moves_reweighted}
    kinds_after = fut.move_kinds()
    kinds_before = {(new(s), new(t)): k for (s, t), k in cur.move_kinds().items()}
    moves = []
    for key in dict.fromkeys([*p_before, *p_after]):
        mchange: Change = (
            "added"
            if key in added_moves
            else "removed"
            if key in removed_moves
            else "changed"
            if key in changed_moves
            else "unchanged"
        )
        kind = kinds_after.get(key) or kinds_before[key]
        in_after, in_before = key in p_after, key in p_before
        moves.append(
            _move(
                key[0],
                key[1],
                kind,
                okind.get(key[1]),
                p_after[key] if in_after else None,
                p_before[key] if in_before else None,
                f_after.get(key, 0.0) if in_after else None,
                f_before.get(key, 0.0) if in_before else None,
                mchange,
                by_flow=False,
            )
        )
    losses = _losses(moves, {o.id: o.label for o in outcomes}, okind)
    return Scene(
        kind="diff",
        title=fut.name,
        current_title=cur.name,
        description=fut.description or cur.description,
        persona=fut.persona or cur.persona,
        stages=stages,
        touchpoints=tuple(tps),
        outcomes=tuple(outcomes),
        moves=tuple(moves),
        losses=losses,
        entry=after_res.entry,
        entry_before={new(k): v for k, v in before_res.entry.items()},
        figures=tuple(_figures(after_res, before_res, fut)),
        top_leaks=top_leaks,
        top_switching=top_switching,
        callouts=_callouts(tuple(tps), tuple(moves)),
        strength_name="probability",
        fitted_order=order,
    )


def _callouts(
    tps: tuple[SceneTouchpoint, ...], moves: tuple[SceneMove, ...]
) -> tuple[SceneCallout, ...]:
    """The diff's largest changes in a move's flow or a touchpoint's leak."""
    found: list[tuple[float, int, SceneCallout]] = []
    for i, m in enumerate(moves):
        if m.kind == "exit" and "conversion" not in m.classes:
            continue  # losses are counted per touchpoint below, not per exit move
        before, after = m.flow_before or 0.0, m.flow or 0.0
        delta = after - before
        if abs(delta) >= _MIN_CHANGE:
            found.append(
                (
                    abs(delta),
                    i,
                    SceneCallout(0, "move", m.source, m.target, m.element_id, before, after),
                )
            )
    for i, t in enumerate(tps):
        before, after = t.leak_before or 0.0, t.leak or 0.0
        delta = after - before
        if abs(delta) >= _MIN_CHANGE:
            found.append(
                (
                    abs(delta),
                    len(moves) + i,
                    SceneCallout(0, "leak", t.id, None, t.element_id, before, after),
                )
            )
    found.sort(key=lambda item: (-item[0], item[1]))
    return tuple(
        SceneCallout(rank + 1, c.subject, c.source, c.target, c.element_id, c.before, c.after)
        for rank, (_, _, c) in enumerate(found[:TOP])
    )
