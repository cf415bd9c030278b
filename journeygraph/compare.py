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

import numpy as np

from journeygraph import _args
from journeygraph._frozen import FrozenDict, freeze_mapping
from journeygraph.analysis import Analysis, analyze
from journeygraph.errors import MapError, Problem, did_you_mean, quoted
from journeygraph.model import JourneyMap, MapSource
from journeygraph.uncertainty import (
    DEFAULT_PRIOR,
    CredibleInterval,
    CredibleIntervals,
    PosteriorSample,
    equal_tailed,
    posterior_sample,
    weights_not_counts,
)

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
    """A figure before and after; ``None`` where it does not exist in one map.

    ``interval`` is the credible interval of ``after - before`` when
    ``jg.compare(..., intervals=True)`` could sample both maps (both carry counts),
    else ``None``.
    """

    before: float | None
    after: float | None
    interval: CredibleInterval | None = None

    @property
    def credible(self) -> bool | None:
        """Whether the change is credible (its interval excludes 0); ``None`` without one."""
        return None if self.interval is None else self.interval.excludes_zero

    @property
    def delta(self) -> float | None:
        """``after - before``, or ``None`` if either side is missing."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def to_dict(self) -> dict[str, Any]:
        """``before``, ``after``, ``delta``; with an interval also ``interval``, ``credible``."""
        d: dict[str, Any] = {"before": self.before, "after": self.after, "delta": self.delta}
        if self.interval is not None:
            d["interval"] = self.interval.to_dict()
            d["credible"] = self.interval.excludes_zero
        return d


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

    With ``intervals=True``: ``interval_level``; ``current_intervals`` and
    ``future_intervals``, the :class:`CredibleIntervals` of each map that carries
    counts (``None`` for a hypothetical map); ``without_counts``, why a map is
    hypothetical (``{"future": "move 'a' -> 'b' has weight 0.3, not a whole number"}``);
    and an ``interval`` on every :class:`MetricDelta` whose delta could be sampled.
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
    interval_level: float | None = None
    current_intervals: CredibleIntervals | None = field(default=None, repr=False)
    future_intervals: CredibleIntervals | None = field(default=None, repr=False)
    without_counts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only mappings (journeygraph._frozen): "immutable" holds, and a MapDiff
        # hashes (equal diffs hash equal; its two Analysis objects hash by identity).
        for name in ("renames", "metrics", "without_counts"):
            object.__setattr__(self, name, freeze_mapping(getattr(self, name)))
        per_touchpoint = FrozenDict(
            {tp: freeze_mapping(m) for tp, m in self.touchpoint_metrics.items()}
        )
        object.__setattr__(self, "touchpoint_metrics", per_touchpoint)

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
            was, now = _duration(hours.before, lang), _duration(hours.after, lang)
            lines.append(w("s_hours", before=was, after=now))

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
        shown = [
            f"{tp!r} {d * 100:+.1f} {pts}{_credible_mark(self.touchpoint_metrics[tp]['leak'])}"
            for tp, d in changes[:top]
            if abs(d) >= 5e-4
        ]
        if shown:
            lines.append(w("s_leak_changes") + ", ".join(shown))
        lines.extend(self._interval_lines())
        return "\n".join(lines)

    def _interval_lines(self) -> list[str]:
        """The "is the change real?" block of :meth:`summary` (``intervals=True`` only)."""
        if self.interval_level is None:
            return []
        level = f"{self.interval_level:.0%}"
        headline = [
            ("conversion", "conversion"),
            ("churn", "churn"),
            ("competitor", "lost to competitors"),
            ("expected_steps", "expected moves per journey"),
        ]
        rival = self.metrics["competitor"]
        if not (rival.before or rival.after):
            headline.pop(2)
        if not self.without_counts:
            draws = self.current_intervals.draws if self.current_intervals else 0
            lines = [
                f"is the change real? {level} credible intervals of the changes "
                f"({draws} posterior draws of each map):"
            ]
            for key, label in headline:
                m = self.metrics[key]
                if m.interval is None or m.delta is None:
                    continue
                verdict = "credible" if m.credible else "not credible (the interval includes 0)"
                unit = _unit(key)
                lines.append(
                    f"  {label} {_signed(key, m.delta)} {unit}, interval "
                    f"[{_signed(key, m.interval.lower)}, {_signed(key, m.interval.upper)}] "
                    f"{unit}: {verdict}"
                )
            credible = [k for k, m in self.metrics.items() if m.credible]
            lines.append("credible changes: " + (", ".join(credible) if credible else "none"))
            return lines
        lines = []
        for side, why in self.without_counts.items():
            name = self.current.name if side == "current" else self.future.name
            lines.append(
                f"is the change real? the {side} map {name!r} is hypothetical ({why}): "
                "its figures have no sampling error, so the changes get no intervals"
            )
        side, known = (
            ("current", self.current_intervals)
            if self.current_intervals is not None
            else ("future", self.future_intervals)
        )
        if known is not None:
            lines.append(f"{level} credible intervals of the {side} map alone:")
            figures = {
                "conversion": known.conversion_probability,
                "churn": known.churn_probability,
                "competitor": known.competitor_probability,
                "expected_steps": known.expected_steps,
            }
            for key, label in headline:
                ci = figures[key]
                unit = " moves" if key == "expected_steps" else ""
                lines.append(
                    f"  {label} {_level(key, ci.mean)} "
                    f"[{_level(key, ci.lower)}, {_level(key, ci.upper)}]{unit}"
                )
        return lines

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
            "intervals": self._intervals_dict(),
        }

    def _intervals_dict(self) -> dict[str, Any] | None:
        if self.interval_level is None:
            return None
        known = self.current_intervals or self.future_intervals
        return {
            "level": self.interval_level,
            "draws": known.draws if known else None,
            "prior": known.prior if known else None,
            "without_counts": dict(self.without_counts),
            "credible": [k for k, m in self.metrics.items() if m.credible],
            "current": self.current_intervals.to_dict() if self.current_intervals else None,
            "future": self.future_intervals.to_dict() if self.future_intervals else None,
        }

    def to_frame(self, name: str = "touchpoints") -> pd.DataFrame:
        """A pandas table: ``"metrics"``, ``"touchpoints"``, ``"moves"`` or ``"changes"``."""
        from journeygraph._optional import require

        pd = require("pandas", extra="pandas", feature="MapDiff.to_frame")
        if name == "metrics":
            rows = [{"metric": k, **_row(v)} for k, v in self.metrics.items()]
        elif name == "touchpoints":
            rows = [
                {"touchpoint": tp, "metric": k, **_row(v)}
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
    current: MapSource,
    future: MapSource,
    *,
    renames: Mapping[str, str] | None = None,
    entry: str | Mapping[str, float] | None = None,
    intervals: bool = False,
    level: float = 0.9,
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    prior: float = DEFAULT_PRIOR,
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
    intervals
        Is the change real? Sample the Dirichlet posterior of each map that carries
        counts (as :func:`journeygraph.credible_intervals` does) and give every delta
        its credible interval, from the draw-by-draw differences of the two
        independent posteriors. A map whose weights are not whole numbers is
        hypothetical: it has no posterior, its deltas get no interval, and
        ``without_counts`` says why.
    level, draws, seed, prior
        As in :func:`journeygraph.credible_intervals`; used only with ``intervals``.

    Returns
    -------
    MapDiff

    Raises
    ------
    MapError
        A rename names an unknown id; or, with ``intervals``, neither map carries
        counts.
    TypeError
        ``intervals`` is not a bool.
    ValueError
        ``level``, ``draws`` or ``prior`` is out of range (with ``intervals``).

    Notes
    -----
    With ``intervals`` the two maps' draws are independent, so each draw of a delta is
    ``f(future draw) - f(current draw)`` and its interval is the pair of
    ``(1 ∓ level)/2`` quantiles of those differences; a change is credible when the
    interval excludes 0. Expected hours have no interval (durations are not sampled),
    nor do removal effects. With ``entry`` the entry is fixed, not sampled.

    Examples
    --------
    >>> diff = jg.compare(jm, jm)
    >>> diff.structure_unchanged, diff.metrics["conversion"].delta
    (True, 0.0)
    >>> diff = jg.compare(jm, jm, intervals=True, seed=0)
    >>> ci = diff.metrics["conversion"].interval
    >>> ci.lower < 0 < ci.upper, diff.metrics["conversion"].credible
    (True, False)
    """
    current = _args.journey_map(current, "current")
    future = _args.journey_map(future, "future")
    renames = _args.text_mapping(renames, "renames")
    entry = _args.entry(entry)
    if not isinstance(intervals, bool):
        raise TypeError(f"intervals must be True or False, got {type(intervals).__name__}")
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

    a = analyze(current, entry=_entry_for(entry, renames))
    b = analyze(future, entry=entry)
    metrics, per_touchpoint = _metrics(current, future, a, b, new_id)
    found = _Intervals()
    if intervals:
        found = _posterior_deltas(
            current,
            future,
            renames,
            entry,
            metrics,
            per_touchpoint,
            level=level,
            draws=draws,
            seed=seed,
            prior=prior,
        )

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
        interval_level=float(level) if intervals else None,
        current_intervals=found.current,
        future_intervals=found.future,
        without_counts=found.without_counts,
    )


# -- is the change real? -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Intervals:
    current: CredibleIntervals | None = None
    future: CredibleIntervals | None = None
    without_counts: dict[str, str] = field(default_factory=dict)


def _posterior_deltas(
    current: JourneyMap,
    future: JourneyMap,
    renames: Mapping[str, str],
    entry: str | Mapping[str, float] | None,
    metrics: dict[str, MetricDelta],
    per_touchpoint: dict[str, dict[str, MetricDelta]],
    *,
    level: float,
    draws: int,
    seed: int | np.random.Generator | None,
    prior: float,
) -> _Intervals:
    """Sample both posteriors and put the interval of each delta on its MetricDelta.

    ``metrics`` and ``per_touchpoint`` are updated in place (they are not yet frozen
    into the MapDiff).
    """
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    entries = {"current": _entry_for(entry, renames), "future": entry}
    maps = {"current": current, "future": future}
    without = {
        side: why
        for side, jm in maps.items()
        if (why := weights_not_counts(jm, entry=entry is None)) is not None
    }
    if len(without) == 2:
        raise MapError(
            [
                Problem(
                    ("intervals",),
                    "compare(intervals=True): neither map carries counts (current map "
                    f"{current.name!r}: {without['current']}; future map {future.name!r}: "
                    f"{without['future']}); credible intervals need at least one map fitted "
                    "from an event log (jg.fit), whose weights are counts of customers",
                )
            ]
        )
    rng = np.random.default_rng(seed)
    samples = {
        side: posterior_sample(jm, draws=draws, prior=prior, seed=rng, entry=entries[side])
        for side, jm in maps.items()
        if side not in without
    }
    found = _Intervals(
        current=samples["current"].intervals(level) if "current" in samples else None,
        future=samples["future"].intervals(level) if "future" in samples else None,
        without_counts=without,
    )
    if without:
        return found
    before, before_tp = _sampled_figures(samples["current"], lambda s: renames.get(s, s))
    after, after_tp = _sampled_figures(samples["future"], lambda s: s)

    def with_interval(m: MetricDelta, a: np.ndarray | None, b: np.ndarray | None) -> MetricDelta:
        if a is None or b is None or m.delta is None:
            return m
        return MetricDelta(m.before, m.after, equal_tailed(b - a, level))

    for key, m in metrics.items():
        metrics[key] = with_interval(m, before.get(key), after.get(key))
    for tp, per in per_touchpoint.items():
        for key, m in per.items():
            per[key] = with_interval(
                m, before_tp.get(tp, {}).get(key), after_tp.get(tp, {}).get(key)
            )
    return found


def _sampled_figures(
    sample: PosteriorSample, rename: Any
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """The draws of each MapDiff metric (by metric key) and touchpoint metric, renamed."""
    v = sample.values
    figures = {
        "conversion": v["conversion_probability"],
        "churn": v["churn_probability"],
        "competitor": v["competitor_probability"],
        "expected_steps": v["expected_steps"],
        "backtrack_rate": v["backtrack_rate"],
        "skip_rate": v["skip_rate"],
        "backtracks_per_journey": v["backtracks_per_journey"],
    }
    for i, o in enumerate(sample.outcomes):
        figures[f"outcome:{rename(o)}"] = v["outcome_probabilities"][:, i]
    zeros = np.zeros(sample.draws)
    leak = {tp: v["leaks"][:, i] for i, tp in enumerate(sample.leak_touchpoints)}
    switching: dict[str, np.ndarray] = {}
    for i, (tp, _) in enumerate(sample.switch_pairs):
        switching[tp] = switching.get(tp, zeros) + v["switching"][:, i]
    per = {
        rename(tp): {
            "visits": v["visits"][:, i],
            "leak": leak.get(tp, zeros),
            "switching": switching.get(tp, zeros),
        }
        for i, tp in enumerate(sample.touchpoints)
    }
    return figures, per


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
    problems.extend(_rename_clashes(current, future, renames, known_cur))
    if problems:
        raise MapError(problems)


def _section_of(jm: JourneyMap, ident: str) -> str:
    if any(s.id == ident for s in jm.stages):
        return "stage"
    if any(o.id == ident for o in jm.outcomes):
        return "outcome"
    return "touchpoint"


def _rename_clashes(
    current: JourneyMap, future: JourneyMap, renames: Mapping[str, str], known_cur: set[str]
) -> list[Problem]:
    """A rename onto an id the current map keeps, or onto a different kind of thing.

    ``{"ad": "shop"}`` when the current map has its own ``shop`` (not renamed away)
    would match two current things to one future thing; a touchpoint renamed to a
    future outcome or stage would compare unlike things.
    """
    problems = []
    for old, new in renames.items():
        if new != old and new in known_cur and new not in renames:
            problems.append(
                Problem(
                    ("renames", old),
                    f"renames: {quoted(old)} -> {quoted(new)} clashes with the current map's "
                    f"own {_section_of(current, new)} {quoted(new)}, which is not renamed; "
                    "two current ids would be matched to one future id: rename "
                    f"{quoted(new)} too, or drop this rename",
                )
            )
        if old in known_cur and new in {
            *(s.id for s in future.stages),
            *(t.id for t in future.touchpoints),
            *(o.id for o in future.outcomes),
        }:
            was, becomes = _section_of(current, old), _section_of(future, new)
            if was != becomes:
                problems.append(
                    Problem(
                        ("renames", old),
                        f"renames: {quoted(old)} -> {quoted(new)} renames the current map's "
                        f"{was} {quoted(old)} to the future map's {becomes} {quoted(new)}; "
                        f"a rename matches a {was} only with a {was}: fix the rename",
                    )
                )
    return problems


def _entry_for(
    entry: str | Mapping[str, float] | None,
    renames: Mapping[str, str],
) -> str | Mapping[str, float] | None:
    """Translate an entry given in future ids back to the current map's ids."""
    if entry is None or not renames:
        return entry
    back = {v: k for k, v in renames.items()}
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


def _credible_mark(m: MetricDelta) -> str:
    if m.interval is None:
        return ""
    return " (credible)" if m.credible else " (not credible)"


def _signed(key: str, value: float) -> str:
    """A change, in the unit of :func:`_unit`."""
    if key == "expected_steps":
        return f"{value:+.2f}"
    return f"{value * 100:+.1f}"


def _unit(key: str) -> str:
    """Points for probabilities, moves for expected steps."""
    return "moves" if key == "expected_steps" else "pts"


def _level(key: str, value: float) -> str:
    """A figure: a percentage for probabilities, moves (2 decimals) for expected steps."""
    if key == "expected_steps":
        return f"{value:.2f}"
    return f"{value:.1%}"


def _row(m: MetricDelta) -> dict[str, Any]:
    """One table row: before, after, delta and, with an interval, its ends."""
    row: dict[str, Any] = {"before": m.before, "after": m.after, "delta": m.delta}
    if m.interval is not None:
        row.update(
            lower=m.interval.lower, upper=m.interval.upper, credible=m.interval.excludes_zero
        )
    return row


def _pct_change(m: MetricDelta, pts: str = "pts") -> str:
    before = m.before or 0.0
    after = m.after or 0.0
    return f"{before:.1%} -> {after:.1%} ({(after - before) * 100:+.1f} {pts})"


def _duration(hours: float | None, lang: str = "en") -> str:
    from journeygraph.draw.words import word

    if hours is None or not math.isfinite(hours):
        return "n/a"
    # One unit, as Analysis.summary() prints time.
    return word(lang, "s_duration", value=f"{hours:.1f}")


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
