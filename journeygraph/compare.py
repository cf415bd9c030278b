"""Compare two journey maps: what changed in structure, and what it is worth.

``jg.compare(current, future)`` matches stages, touchpoints, outcomes and moves by id
(optionally through a mapping of renamed ids) and analyses both maps, so every metric
comes as before / after / delta. It works for any two maps: current vs future state,
persona A vs persona B, last quarter vs this quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journeygraph.analysis import Analysis, analyze
from journeygraph.errors import MapError, Problem, did_you_mean
from journeygraph.model import JourneyMap

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FieldChange", "MapDiff", "MetricDelta", "MoveChange", "compare"]

_TOUCHPOINT_FIELDS = (
    "name",
    "stage",
    "channel",
    "owner",
    "sentiment",
    "pains",
    "goals",
    "questions",
    "notes",
)
_PROBABILITY_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a touchpoint that differs between the maps."""

    touchpoint: str
    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class MoveChange:
    """A move present in one or both maps, with its probability and weight in each.

    ``before``/``after`` are move probabilities (the weight normalised over the source
    touchpoint's moves); ``None`` where the move does not exist in that map.
    """

    source: str
    target: str
    before: float | None
    after: float | None
    weight_before: float | None
    weight_after: float | None

    @property
    def delta(self) -> float:
        """Change in move probability (a missing move counts as 0)."""
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """A figure before and after; ``None`` where it does not exist in one map."""

    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        """``after - before``, or ``None`` if either side is missing."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def to_dict(self) -> dict[str, float | None]:
        return {"before": self.before, "after": self.after, "delta": self.delta}


@dataclass(frozen=True, slots=True)
class MapDiff:
    """The difference between two journey maps (``current`` → ``future``).

    Structure: ids added, removed and changed. Metrics: ``metrics`` holds map-level
    figures (``conversion``, ``churn``, ``competitor``, ``outcome:<id>``,
    ``expected_steps``, ``expected_hours`` when a map has durations,
    ``backtrack_rate``, ``skip_rate`` (shares of touchpoint-to-touchpoint moves),
    ``backtracks_per_journey``); ``touchpoint_metrics[touchpoint]`` holds
    ``visits``, ``leak`` (churn flow per entrant), ``switching`` (competitor flow per
    entrant) and ``removal_effect``.
    """

    current: JourneyMap
    future: JourneyMap
    renames: Mapping[str, str]
    stages_added: tuple[str, ...]
    stages_removed: tuple[str, ...]
    stages_reordered: bool
    touchpoints_added: tuple[str, ...]
    touchpoints_removed: tuple[str, ...]
    touchpoints_changed: tuple[FieldChange, ...]
    outcomes_added: tuple[str, ...]
    outcomes_removed: tuple[str, ...]
    moves_added: tuple[MoveChange, ...]
    moves_removed: tuple[MoveChange, ...]
    moves_reweighted: tuple[MoveChange, ...]
    metrics: Mapping[str, MetricDelta]
    touchpoint_metrics: Mapping[str, Mapping[str, MetricDelta]]
    current_analysis: Analysis = field(repr=False)
    future_analysis: Analysis = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"MapDiff({self.current.name!r} -> {self.future.name!r}: "
            f"+{len(self.touchpoints_added)}/-{len(self.touchpoints_removed)} touchpoints, "
            f"+{len(self.moves_added)}/-{len(self.moves_removed)}/"
            f"~{len(self.moves_reweighted)} moves)"
        )

    def _repr_svg_(self) -> str:
        """The diff diagram (both maps in one), so notebooks show it (jg.render)."""
        from journeygraph.draw import render

        svg = render(self, format="svg")
        assert isinstance(svg, str)
        return svg

    @property
    def structure_unchanged(self) -> bool:
        """True when both maps have the same stages, touchpoints, outcomes and moves."""
        return not (
            self.stages_added
            or self.stages_removed
            or self.stages_reordered
            or self.touchpoints_added
            or self.touchpoints_removed
            or self.touchpoints_changed
            or self.outcomes_added
            or self.outcomes_removed
            or self.moves_added
            or self.moves_removed
            or self.moves_reweighted
        )

    @property
    def common_touchpoints(self) -> tuple[str, ...]:
        """Touchpoint ids (future naming) present in both maps, in future-map order."""
        removed = set(self.touchpoints_removed)
        added = set(self.touchpoints_added)
        return tuple(
            t.id for t in self.future.touchpoints if t.id not in added and t.id not in removed
        )

    def summary(self, *, top: int = 3, lang: str = "en") -> str:
        """The few lines an analyst puts on a slide.

        ``lang``: ``"en"`` (default) or ``"ko"``, the interface words (ids and numbers
        stay as they are); the words come from :mod:`journeygraph.draw.words`.

        Examples
        --------
        >>> diff = jg.compare(jm, jm)
        >>> print(diff.summary())
        'tiny' -> 'tiny'
        no structural change
        conversion 75.0% -> 75.0% (+0.0 pts)
        churn 25.0% -> 25.0% (+0.0 pts)
        largest leak 'ad': 25.0% -> 25.0% of entrants
        >>> print(diff.summary(lang="ko").splitlines()[2])
        전환 75.0% -> 75.0% (+0.0 %p)
        """
        from journeygraph.draw.words import word

        def w(key: str, **values: object) -> str:
            return word(lang, key, **values)

        pts = w("s_pts")
        lines = [f"{self.current.name!r} -> {self.future.name!r}"]
        if not self.common_touchpoints:
            lines.append(w("s_no_common"))
        parts = []
        for key, items in (
            ("s_touchpoints_added", self.touchpoints_added),
            ("s_touchpoints_removed", self.touchpoints_removed),
            ("s_stages_added", self.stages_added),
            ("s_stages_removed", self.stages_removed),
            ("s_outcomes_added", self.outcomes_added),
            ("s_outcomes_removed", self.outcomes_removed),
        ):
            if items:
                parts.append(f"{w(key)}: {', '.join(repr(i) for i in items[:6])}")
        if self.touchpoints_changed:
            fields: dict[str, list[str]] = {}
            for c in self.touchpoints_changed:
                fields.setdefault(c.touchpoint, []).append(c.field)
            shown = [f"{tp!r} ({', '.join(f)})" for tp, f in list(fields.items())[:4]]
            more = w("s_and_more", count=len(fields) - 4) if len(fields) > 4 else ""
            parts.append(f"{w('s_touchpoints_changed')}: {', '.join(shown)}{more}")
        moves = (len(self.moves_added), len(self.moves_removed), len(self.moves_reweighted))
        if any(moves):
            big = sum(1 for m in self.moves_reweighted if abs(m.delta) >= 0.01)
            parts.append(
                w("s_moves", added=moves[0], removed=moves[1], reweighted=moves[2], big=big)
            )
        if self.stages_reordered:
            parts.append(w("s_reordered"))
        lines.extend(parts or [w("s_no_change")])

        for key in ("conversion", "churn"):
            lines.append(f"{w('s_' + key)} {_pct_change(self.metrics[key], pts)}")
        competitor = self.metrics.get("competitor")
        if competitor is not None and (competitor.before or competitor.after):
            lines.append(f"{w('s_competitor')} {_pct_change(competitor, pts)}")
        steps = self.metrics["expected_steps"]
        if steps.delta is not None and abs(steps.delta) > 1e-9:
            lines.append(w("s_steps", before=f"{steps.before:.2f}", after=f"{steps.after:.2f}"))
        hours = self.metrics.get("expected_hours")
        if hours is not None and hours.delta is not None and abs(hours.delta) > 1e-9:
            lines.append(w("s_hours", before=_duration(hours.before), after=_duration(hours.after)))

        leak_before = self.current_analysis.leaks
        if leak_before:
            worst = leak_before[0].touchpoint
            future_id = self.renames.get(worst, worst)
            after = self.touchpoint_metrics.get(future_id, {}).get("leak")
            before_flow = leak_before[0].flow
            if after is not None and after.after is not None:
                lines.append(
                    w(
                        "s_largest_leak",
                        name=repr(worst),
                        before=f"{before_flow:.1%}",
                        after=f"{after.after:.1%}",
                    )
                )
            else:
                lines.append(w("s_leak_gone", name=repr(worst), before=f"{before_flow:.1%}"))
        changes = sorted(
            (
                (tp, m["leak"].delta)
                for tp, m in self.touchpoint_metrics.items()
                if m["leak"].delta is not None
            ),
            key=lambda item: -abs(item[1]),
        )
        shown = [f"{tp!r} {d * 100:+.1f} {pts}" for tp, d in changes[:top] if abs(d) >= 5e-4]
        if shown:
            lines.append(w("s_leak_changes") + ", ".join(shown))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready plain values keyed by ids."""
        return {
            "current": self.current.name,
            "future": self.future.name,
            "renames": dict(self.renames),
            "structure": {
                "stages_added": list(self.stages_added),
                "stages_removed": list(self.stages_removed),
                "stages_reordered": self.stages_reordered,
                "touchpoints_added": list(self.touchpoints_added),
                "touchpoints_removed": list(self.touchpoints_removed),
                "touchpoints_changed": [
                    {
                        "touchpoint": c.touchpoint,
                        "field": c.field,
                        "before": _jsonable(c.before),
                        "after": _jsonable(c.after),
                    }
                    for c in self.touchpoints_changed
                ],
                "outcomes_added": list(self.outcomes_added),
                "outcomes_removed": list(self.outcomes_removed),
                "moves_added": [_move_dict(m) for m in self.moves_added],
                "moves_removed": [_move_dict(m) for m in self.moves_removed],
                "moves_reweighted": [_move_dict(m) for m in self.moves_reweighted],
            },
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "touchpoint_metrics": {
                tp: {k: v.to_dict() for k, v in m.items()}
                for tp, m in self.touchpoint_metrics.items()
            },
        }

    def to_frame(self, name: str = "touchpoints") -> pd.DataFrame:
        """A pandas table: ``"metrics"``, ``"touchpoints"``, ``"moves"`` or ``"changes"``."""
        from journeygraph._optional import require

        pd = require("pandas", extra="pandas", feature="MapDiff.to_frame")
        if name == "metrics":
            rows = [{"metric": k, **v.to_dict()} for k, v in self.metrics.items()]
        elif name == "touchpoints":
            rows = [
                {"touchpoint": tp, "metric": k, **v.to_dict()}
                for tp, m in self.touchpoint_metrics.items()
                for k, v in m.items()
            ]
        elif name == "moves":
            rows = [
                {"change": kind, **_move_dict(m)}
                for kind, moves in (
                    ("added", self.moves_added),
                    ("removed", self.moves_removed),
                    ("reweighted", self.moves_reweighted),
                )
                for m in moves
            ]
        elif name == "changes":
            rows = [
                {"touchpoint": c.touchpoint, "field": c.field, "before": c.before, "after": c.after}
                for c in self.touchpoints_changed
            ]
        else:
            raise ValueError(
                f"unknown table {name!r}; choose 'metrics', 'touchpoints', 'moves' or 'changes'"
            )
        return pd.DataFrame(rows)


def compare(
    current: JourneyMap,
    future: JourneyMap,
    *,
    renames: Mapping[str, str] | None = None,
    entry: str | Mapping[str, float] | None = None,
) -> MapDiff:
    """Compare two maps: structural differences and before/after metrics.

    Parameters
    ----------
    current, future
        The two maps, e.g. the as-is and to-be journey.
    renames
        ``{current_id: future_id}`` for stages, touchpoints or outcomes whose id changed;
        they are matched as the same thing.
    entry
        Entry override for both analyses (a touchpoint id or weights); by default each
        map uses its own entry.

    Returns
    -------
    MapDiff

    Examples
    --------
    >>> diff = jg.compare(jm, jm)
    >>> diff.structure_unchanged, diff.metrics["conversion"].delta
    (True, 0.0)
    """
    renames = dict(renames or {})
    _check_renames(current, future, renames)

    def new_id(ident: str) -> str:
        return renames.get(ident, ident)

    stages_cur = [new_id(s.id) for s in current.stages]
    stages_fut = [s.id for s in future.stages]
    common_stages = [s for s in stages_cur if s in set(stages_fut)]
    reordered = common_stages != [s for s in stages_fut if s in set(stages_cur)]

    tp_cur = {new_id(t.id): t for t in current.touchpoints}
    tp_fut = {t.id: t for t in future.touchpoints}
    changed: list[FieldChange] = []
    for ident, after in tp_fut.items():
        before = tp_cur.get(ident)
        if before is None:
            continue
        for name in _TOUCHPOINT_FIELDS:
            old, new = getattr(before, name), getattr(after, name)
            if name == "stage":
                old = new_id(old)
            if old != new:
                changed.append(FieldChange(ident, name, old, new))

    oc_cur = [new_id(o.id) for o in current.outcomes]
    oc_fut = [o.id for o in future.outcomes]

    moves_cur = _move_table(current, new_id)
    moves_fut = _move_table(future, lambda s: s)
    added, removed, reweighted = [], [], []
    for key, (p_after, w_after) in moves_fut.items():
        if key not in moves_cur:
            added.append(MoveChange(*key, None, p_after, None, w_after))
            continue
        p_before, w_before = moves_cur[key]
        if abs(p_after - p_before) > _PROBABILITY_TOLERANCE:
            reweighted.append(MoveChange(*key, p_before, p_after, w_before, w_after))
    for key, (p_before, w_before) in moves_cur.items():
        if key not in moves_fut:
            removed.append(MoveChange(*key, p_before, None, w_before, None))

    a = analyze(current, entry=_entry_for(current, entry, renames, inverse=True))
    b = analyze(future, entry=entry)
    metrics, per_touchpoint = _metrics(current, future, a, b, new_id)

    return MapDiff(
        current=current,
        future=future,
        renames=renames,
        stages_added=tuple(s for s in stages_fut if s not in set(stages_cur)),
        stages_removed=tuple(s for s in stages_cur if s not in set(stages_fut)),
        stages_reordered=reordered,
        touchpoints_added=tuple(t for t in tp_fut if t not in tp_cur),
        touchpoints_removed=tuple(t for t in tp_cur if t not in tp_fut),
        touchpoints_changed=tuple(changed),
        outcomes_added=tuple(o for o in oc_fut if o not in set(oc_cur)),
        outcomes_removed=tuple(o for o in oc_cur if o not in set(oc_fut)),
        moves_added=tuple(added),
        moves_removed=tuple(removed),
        moves_reweighted=tuple(reweighted),
        metrics=metrics,
        touchpoint_metrics=per_touchpoint,
        current_analysis=a,
        future_analysis=b,
    )


# -- helpers ------------------------------------------------------------------------


def _check_renames(current: JourneyMap, future: JourneyMap, renames: Mapping[str, str]) -> None:
    known_cur = (
        {s.id for s in current.stages}
        | {t.id for t in current.touchpoints}
        | {o.id for o in current.outcomes}
    )
    known_fut = (
        {s.id for s in future.stages}
        | {t.id for t in future.touchpoints}
        | {o.id for o in future.outcomes}
    )
    problems = []
    for old, new in renames.items():
        if old not in known_cur:
            problems.append(
                Problem(
                    ("renames", old),
                    f"renames: {old!r} is not an id of the current map"
                    f"{did_you_mean(old, known_cur)}",
                )
            )
        if new not in known_fut:
            problems.append(
                Problem(
                    ("renames", old),
                    f"renames: {new!r} is not an id of the future map"
                    f"{did_you_mean(new, known_fut)}",
                )
            )
    if len(set(renames.values())) != len(renames):
        problems.append(Problem(("renames",), "renames: two ids are renamed to the same id"))
    if problems:
        raise MapError(problems)


def _entry_for(
    jm: JourneyMap,
    entry: str | Mapping[str, float] | None,
    renames: Mapping[str, str],
    *,
    inverse: bool,
) -> str | Mapping[str, float] | None:
    """Translate an entry given in future ids back to the current map's ids."""
    if entry is None or not renames:
        return entry
    back = {v: k for k, v in renames.items()} if inverse else dict(renames)
    if isinstance(entry, str):
        return back.get(entry, entry)
    return {back.get(k, k): w for k, w in entry.items()}


def _move_table(jm: JourneyMap, new_id: Any) -> dict[tuple[str, str], tuple[float, float]]:
    probabilities = jm.move_probabilities()
    return {
        (new_id(m.source), new_id(m.target)): (probabilities[(m.source, m.target)], m.weight)
        for m in jm.moves
    }


def _metrics(
    current: JourneyMap,
    future: JourneyMap,
    a: Analysis,
    b: Analysis,
    new_id: Any,
) -> tuple[dict[str, MetricDelta], dict[str, dict[str, MetricDelta]]]:
    metrics: dict[str, MetricDelta] = {
        "conversion": MetricDelta(a.conversion_probability, b.conversion_probability),
        "churn": MetricDelta(a.churn_probability, b.churn_probability),
        "competitor": MetricDelta(a.competitor_probability, b.competitor_probability),
    }
    out_a = {new_id(k): v for k, v in a.outcome_probabilities.items()}
    out_b = dict(b.outcome_probabilities)
    for ident in list(out_a) + [o for o in out_b if o not in out_a]:
        metrics[f"outcome:{ident}"] = MetricDelta(out_a.get(ident), out_b.get(ident))
    metrics["expected_steps"] = MetricDelta(a.expected_steps, b.expected_steps)
    hours_a = a.expected_time.mean if a.expected_time else None
    hours_b = b.expected_time.mean if b.expected_time else None
    if hours_a is not None or hours_b is not None:
        metrics["expected_hours"] = MetricDelta(hours_a, hours_b)
    for kind in ("backtrack", "skip"):
        metrics[f"{kind}_rate"] = MetricDelta(
            a.stage_flow.rates.get(kind), b.stage_flow.rates.get(kind)
        )
    metrics["backtracks_per_journey"] = MetricDelta(
        a.stage_flow.backtracks_per_journey, b.stage_flow.backtracks_per_journey
    )

    def per_touchpoint(res: Analysis, rename: Any) -> dict[str, dict[str, float]]:
        leak = {x.touchpoint: x.flow for x in res.leaks}
        switching: dict[str, float] = {}
        for s in res.switching:
            switching[s.touchpoint] = switching.get(s.touchpoint, 0.0) + s.flow
        return {
            rename(tp): {
                "visits": visits,
                "leak": leak.get(tp, 0.0),
                "switching": switching.get(tp, 0.0),
                "removal_effect": res.removal_effects[tp],
            }
            for tp, visits in res.expected_visits.items()
        }

    ta = per_touchpoint(a, new_id)
    tb = per_touchpoint(b, lambda s: s)
    order = [t.id for t in future.touchpoints] + [t for t in ta if t not in tb]
    per = {
        tp: {
            key: MetricDelta(ta.get(tp, {}).get(key), tb.get(tp, {}).get(key))
            for key in ("visits", "leak", "switching", "removal_effect")
        }
        for tp in order
    }
    return metrics, per


def _pct_change(m: MetricDelta, pts: str = "pts") -> str:
    before = m.before or 0.0
    after = m.after or 0.0
    return f"{before:.1%} -> {after:.1%} ({(after - before) * 100:+.1f} {pts})"


def _duration(hours: float | None) -> str:
    if hours is None or not math.isfinite(hours):
        return "n/a"
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours:.1f} hours"


def _move_dict(m: MoveChange) -> dict[str, Any]:
    return {
        "from": m.source,
        "to": m.target,
        "before": m.before,
        "after": m.after,
        "delta": m.delta,
        "weight_before": m.weight_before,
        "weight_after": m.weight_after,
    }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
