"""Absorbing-chain analysis of a journey map: every figure an analyst asks of it.

:func:`analyze` factorises ``I - Q`` once (:func:`journeygraph.chain.factorize`) and
derives outcome probabilities, visits, steps, time, leaks, competitor switching,
removal effects, stage flow and sensitivity from a handful of solves. The formulas
are in DESIGN.md ("The mathematics") and docs/analysis.md; ``N = (I - Q)⁻¹`` is never
formed for large maps.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from journeygraph import _args
from journeygraph._frozen import FrozenDict, freeze_mapping
from journeygraph.chain import (
    AbsorbingChain,
    ChainSolver,
    MapArrays,
    SolverMethod,
    auto_method,
    factorize,
    map_arrays,
    to_chain,
)
from journeygraph.errors import MapError, NotAbsorbingError, Problem, did_you_mean
from journeygraph.model import JourneyMap, MapSource, OutcomeKind

if TYPE_CHECKING:
    import pandas as pd

    from journeygraph.uncertainty import CredibleInterval, CredibleIntervals

__all__ = [
    "Analysis",
    "ExpectedTime",
    "Leak",
    "Sensitivity",
    "StageFlow",
    "Switch",
    "analyze",
]

#: Rows of B (absorption probabilities) must sum to 1 within this.
ROW_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Leak:
    """Customers lost to churn at one touchpoint.

    ``flow``: expected churn exits there per entering customer (``v_i · R_i,churn``);
    ``share``: its part of all churn; ``exit_rate``: probability of churning on a visit.
    """

    touchpoint: str
    flow: float
    share: float
    exit_rate: float


@dataclass(frozen=True, slots=True)
class Switch:
    """Customers lost to one competitor at one touchpoint.

    ``flow``: expected moves from the touchpoint to the competitor per entrant;
    ``share``: its part of everything lost to competitors.
    """

    touchpoint: str
    competitor: str
    flow: float
    share: float


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """The exact effect of cutting one touchpoint's churn exit by a fraction.

    ``churn_exit``: the touchpoint's churn probability per visit before the cut;
    ``gain``: new minus old conversion probability (from the entry);
    ``conversion``: the new conversion probability.
    """

    touchpoint: str
    churn_exit: float
    gain: float
    conversion: float


@dataclass(frozen=True, slots=True)
class StageFlow:
    """Expected moves between stages per entering customer.

    ``moves[(from_stage, to_stage)]`` counts touchpoint-to-touchpoint moves;
    ``exits[(stage, outcome)]`` counts moves from a stage into an outcome;
    ``per_journey[kind]`` is the expected number of forward / skip / backtrack /
    within moves per journey and ``rates[kind]`` its share of all touchpoint-to-
    touchpoint moves; ``backtracks_per_journey`` repeats ``per_journey["backtrack"]``.
    """

    stages: tuple[str, ...]
    moves: Mapping[tuple[str, str], float]
    exits: Mapping[tuple[str, str], float]
    per_journey: Mapping[str, float]
    rates: Mapping[str, float]
    backtracks_per_journey: float

    def __post_init__(self) -> None:
        _freeze_fields(self, "moves", "exits", "per_journey", "rates")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (pairs become lists of records)."""
        return {
            "stages": list(self.stages),
            "moves": [{"from": a, "to": b, "flow": f} for (a, b), f in self.moves.items()],
            "exits": [{"stage": a, "outcome": b, "flow": f} for (a, b), f in self.exits.items()],
            "per_journey": dict(self.per_journey),
            "rates": dict(self.rates),
            "backtracks_per_journey": self.backtracks_per_journey,
        }


@dataclass(frozen=True, slots=True)
class ExpectedTime:
    """Expected journey time in hours, when moves carry mean durations.

    ``mean``: from the entry to any outcome; ``by_kind[kind]``: conditional mean time
    of the journeys that end in that kind of outcome (kinds that never happen are
    left out); ``from_touchpoint[id]``: mean time to an outcome starting there.
    """

    mean: float
    by_kind: Mapping[str, float]
    from_touchpoint: Mapping[str, float]

    def __post_init__(self) -> None:
        _freeze_fields(self, "by_kind", "from_touchpoint")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "mean": self.mean,
            "by_kind": dict(self.by_kind),
            "from_touchpoint": dict(self.from_touchpoint),
        }


@dataclass(frozen=True, slots=True, eq=False)
class Analysis:
    """The analysis of a journey map: returned by :func:`analyze`; immutable.

    Every number is a plain float keyed by ids and computed exactly from the absorbing
    chain. Removal effects and sensitivity need the diagonal of N and are computed on
    first access (then cached).
    """

    outcome_probabilities: Mapping[str, float]
    conversion_probability: float
    churn_probability: float
    competitor_probability: float
    expected_visits: Mapping[str, float]
    expected_steps: float
    steps_variance: float
    steps_from: Mapping[str, float]
    steps_variance_from: Mapping[str, float]
    expected_time: ExpectedTime | None
    switching_by_stage: Mapping[str, Mapping[str, float]]
    solver_method: str
    fix_fraction: float
    _map: JourneyMap = field(repr=False)
    _chain: AbsorbingChain = field(repr=False)
    _solver: ChainSolver = field(repr=False)
    _B: np.ndarray = field(repr=False)
    _R: np.ndarray = field(repr=False)
    _visits: np.ndarray = field(repr=False)
    _cache: dict[str, Any] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only mappings (journeygraph._frozen), so "immutable" holds for the dicts
        # too; the object hashes by identity (eq=False), so hash(res) works.
        _freeze_fields(
            self,
            "outcome_probabilities",
            "expected_visits",
            "steps_from",
            "steps_variance_from",
        )
        by_stage = self.switching_by_stage
        if not isinstance(by_stage, FrozenDict) or not all(
            isinstance(d, FrozenDict) for d in by_stage.values()
        ):
            by_stage = FrozenDict(
                {s: freeze_mapping(d) for s, d in self.switching_by_stage.items()}
            )
            object.__setattr__(self, "switching_by_stage", by_stage)

    def __repr__(self) -> str:
        return (
            f"Analysis({self._map.name!r}, conversion={self.conversion_probability:.4f}, "
            f"churn={self.churn_probability:.4f}, competitor={self.competitor_probability:.4f})"
        )

    @property
    def map(self) -> JourneyMap:
        """The journey map this analysis is of.

        Examples
        --------
        >>> jg.analyze(jm).map is jm
        True
        """
        return self._map

    @property
    def entry(self) -> dict[str, float]:
        """The entry distribution the analysis used: touchpoint id -> share (sums to 1).

        The map's own entry, normalised, or the one passed to :func:`analyze`.

        Examples
        --------
        >>> jg.analyze(jm, entry="shop").entry
        {'ad': 0.0, 'shop': 1.0}
        """
        chain = self._chain
        return {tp: float(w) for tp, w in zip(chain.touchpoints, chain.entry, strict=True)}

    def _repr_svg_(self) -> str:
        """The map with this analysis drawn on it, so notebooks show it (jg.render)."""
        from journeygraph.draw import render

        svg = render(self, format="svg")
        assert isinstance(svg, str)
        return svg

    # -- per-touchpoint absorption ---------------------------------------------------

    def absorption(self, touchpoint_id: str) -> dict[str, float]:
        """Outcome probabilities for a journey starting at ``touchpoint_id`` (row of B).

        Examples
        --------
        >>> res = jg.analyze(jm)
        >>> {k: round(v, 4) for k, v in res.absorption("ad").items()}
        {'buy': 0.75, 'gone': 0.25}
        """
        i = self._index(touchpoint_id)
        return {o: float(p) for o, p in zip(self._chain.outcomes, self._B[i], strict=True)}

    def _index(self, touchpoint_id: str) -> int:
        _args.text(touchpoint_id, "touchpoint_id")
        try:
            return self._chain.index[touchpoint_id]
        except KeyError:
            raise MapError(
                [
                    Problem(
                        ("touchpoints",),
                        f"unknown touchpoint {touchpoint_id!r}"
                        f"{did_you_mean(touchpoint_id, self._chain.index)}",
                    )
                ]
            ) from None

    @property
    def leaks(self) -> tuple[Leak, ...]:
        """Touchpoints where customers churn, largest churn flow first (ties in map order).

        ``flow = v_i · R_i,churn`` per entering customer; the flows sum to
        :attr:`churn_probability`. Built on first access (then cached).

        Examples
        --------
        >>> jg.analyze(jm).leaks[0]
        Leak(touchpoint='ad', flow=0.25, share=1.0, exit_rate=0.25)
        """
        if "leaks" not in self._cache:
            self._cache["leaks"] = _leaks(
                self._map, self._chain, self._R, self._visits, self.churn_probability
            )
        result: tuple[Leak, ...] = self._cache["leaks"]
        return result

    @property
    def switching(self) -> tuple[Switch, ...]:
        """Moves to competitors by touchpoint and competitor, largest flow first.

        Ties in touchpoint order, then competitor id; the flows sum to
        :attr:`competitor_probability`. Built on first access (then cached).
        """
        if "switching" not in self._cache:
            self._cache["switching"] = _switching(
                self._map, self._chain, self._R, self._visits, self.competitor_probability
            )
        result: tuple[Switch, ...] = self._cache["switching"]
        return result

    @property
    def stage_flow(self) -> StageFlow:
        """Expected moves between stages and into outcomes, and the move kinds' rates.

        Flows ``v_i P_ij`` grouped by the stages of both ends; built on first access
        (a random map's 200 stages give up to 40,000 stage pairs), then cached.

        Examples
        --------
        >>> jg.analyze(jm).stage_flow.rates["forward"]
        1.0
        """
        if "stage_flow" not in self._cache:
            self._cache["stage_flow"] = _stage_flow(self._map, self._chain, self._visits)
        result: StageFlow = self._cache["stage_flow"]
        return result

    @property
    def move_flows(self) -> Mapping[tuple[str, str], float]:
        """Expected traversals of each move per entering customer, ``v_i P_ij``.

        Keyed by ``(from, to)``: touchpoint-to-touchpoint moves first, then moves into
        outcomes. A map of 20,000 touchpoints has ~110,000 moves, so the mapping is
        built on first access (then cached; read-only).

        Examples
        --------
        >>> round(jg.analyze(jm).move_flows[("ad", "shop")], 4)
        0.75
        """
        if "move_flows" not in self._cache:
            self._cache["move_flows"] = _move_flows(self._chain, self._visits)
        result: Mapping[tuple[str, str], float] = self._cache["move_flows"]
        return result

    # -- figures that need diag(N) ---------------------------------------------------

    @property
    def visits_from_self(self) -> dict[str, float]:
        """``N_kk``: expected visits to each touchpoint for a journey starting there."""
        return dict(zip(self._chain.touchpoints, map(float, self._diagonal()), strict=True))

    def _diagonal(self) -> np.ndarray:
        if "diag" not in self._cache:
            self._cache["diag"] = self._solver.diagonal()
        diag: np.ndarray = self._cache["diag"]
        return diag

    @property
    def removal_effects(self) -> Mapping[str, float]:
        """Relative drop in conversion if journeys through each touchpoint were lost.

        ``1 - P_without_k / P`` with ``P_without_k = P - (v_k / N_kk) · b_k`` (DESIGN.md;
        Anderl et al. 2016). 0 for every touchpoint when the map never converts.

        Examples
        --------
        >>> {k: round(v, 4) for k, v in jg.analyze(jm).removal_effects.items()}
        {'ad': 1.0, 'shop': 1.0}
        """
        if "removal" not in self._cache:
            p = self.conversion_probability
            hit = self._visits / self._diagonal()
            lost = hit * self._conversion_from()
            effects = np.clip(lost / p, 0.0, 1.0) if p > 0 else np.zeros_like(lost)
            self._cache["removal"] = FrozenDict(
                zip(self._chain.touchpoints, map(float, effects), strict=True)
            )
        result: Mapping[str, float] = self._cache["removal"]
        return result

    def _conversion_from(self) -> np.ndarray:
        cols = [self._chain.outcome_index[o.id] for o in self._map.outcomes_of_kind("conversion")]
        b: np.ndarray = self._B[:, cols].sum(axis=1)
        return b

    @property
    def sensitivity(self) -> tuple[Sensitivity, ...]:
        """Exact conversion gain from cutting each touchpoint's churn by ``fix_fraction``.

        Ranked by gain (largest first); touchpoints without a churn exit, or whose only
        exit is churn (nowhere to send the saved customers), are left out.
        """
        if "sensitivity" not in self._cache:
            self._cache["sensitivity"] = self.sensitivity_at(self.fix_fraction)
        result: tuple[Sensitivity, ...] = self._cache["sensitivity"]
        return result

    def sensitivity_at(self, fraction: float) -> tuple[Sensitivity, ...]:
        """:attr:`sensitivity` for another fraction (0 < fraction <= 1), in O(t).

        Notes
        -----
        Cutting row i's churn by ``f`` and scaling its other exits by
        ``α = f c_i / (1 - c_i)`` (``c_i`` its churn probability) changes row i of Q by
        the rank-one ``α e_i Q_i``. Sherman–Morrison, with ``N_ii`` and the first-step
        identities ``Σ_j Q_ij N_ji = N_ii - 1`` and ``(Q b)_i = b_i - g_i``, gives the new
        conversion probability exactly::

            P' = P + v_i Δg_i + v_i α (b_i - g_i + (N_ii - 1) Δg_i) / (1 - α (N_ii - 1))

        where ``g_i`` is row i's one-step conversion probability and ``Δg_i`` its change.
        """
        fraction = float(fraction)
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        chain, jm = self._chain, self._map
        churn = [chain.outcome_index[o.id] for o in jm.outcomes_of_kind("churn")]
        conv = [chain.outcome_index[o.id] for o in jm.outcomes_of_kind("conversion")]
        # Row sums straight from the sparse R (the dense copy only for small maps gave
        # the same numbers: a size switch that changed nothing; issue #14).
        c = _row_sums(chain.R, churn)
        g = _row_sums(chain.R, conv)
        b = self._conversion_from()
        v = self._visits
        diag = self._diagonal()
        p = self.conversion_probability
        ok = (c > 0) & (c < 1 - 1e-15)
        alpha = np.where(ok, fraction * c / np.where(ok, 1 - c, 1.0), 0.0)
        dg = alpha * g
        denom = 1 - alpha * (diag - 1)
        if (ok & (denom <= 1e-12)).any():
            i = int(np.flatnonzero(ok & (denom <= 1e-12))[0])
            raise NotAbsorbingError(
                [
                    Problem(
                        ("moves",),
                        f"cutting the churn of {chain.touchpoints[i]!r} by {fraction:g} leaves "
                        "journeys through it no way out; use a smaller fraction",
                    )
                ]
            )
        gain = v * dg + v * alpha * (b - g + (diag - 1) * dg) / np.where(ok, denom, 1.0)
        gain = np.where(ok, gain, 0.0)
        ranked = sorted(np.flatnonzero(ok), key=lambda i: (-gain[i], i))
        return tuple(
            Sensitivity(chain.touchpoints[i], float(c[i]), float(gain[i]), float(p + gain[i]))
            for i in ranked
        )

    # -- export ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready data (plain floats, keyed by ids).

        Examples
        --------
        >>> import json
        >>> d = jg.analyze(jm).to_dict()
        >>> round(d["conversion_probability"], 4), json.loads(json.dumps(d)) == d
        (0.75, True)
        """
        return {
            "map": self._map.name,
            "outcome_probabilities": dict(self.outcome_probabilities),
            "conversion_probability": self.conversion_probability,
            "churn_probability": self.churn_probability,
            "competitor_probability": self.competitor_probability,
            "expected_steps": {"mean": self.expected_steps, "variance": self.steps_variance},
            "expected_time": self.expected_time.to_dict() if self.expected_time else None,
            "touchpoints": [
                {
                    "touchpoint": tp,
                    "expected_visits": self.expected_visits[tp],
                    "steps_mean": self.steps_from[tp],
                    "steps_variance": self.steps_variance_from[tp],
                    "absorption": self.absorption(tp),
                    "removal_effect": self.removal_effects[tp],
                }
                for tp in self._chain.touchpoints
            ],
            "leaks": [_record(x) for x in self.leaks],
            "switching": [_record(x) for x in self.switching],
            "switching_by_stage": {s: dict(d) for s, d in self.switching_by_stage.items()},
            "removal_effects": dict(self.removal_effects),
            "sensitivity": {
                "fraction": self.fix_fraction,
                "ranked": [_record(x) for x in self.sensitivity],
            },
            "stage_flow": self.stage_flow.to_dict(),
            "move_flows": [
                {"from": a, "to": b, "flow": f} for (a, b), f in self.move_flows.items()
            ],
            "solver": self.solver_method,
        }

    def to_frame(self, name: str) -> pd.DataFrame:
        """One table as a pandas DataFrame (needs pandas).

        ``name`` is one of ``outcomes``, ``touchpoints``, ``leaks``, ``switching``,
        ``switching_by_stage``, ``removal_effects``, ``sensitivity``, ``stage_flow``,
        ``move_flows``.
        """
        from journeygraph._optional import require

        tables = (
            "outcomes",
            "touchpoints",
            "leaks",
            "switching",
            "switching_by_stage",
            "removal_effects",
            "sensitivity",
            "stage_flow",
            "move_flows",
        )
        if name not in tables:
            raise ValueError(
                f"unknown table {name!r}{did_you_mean(name, tables)}; choose one of "
                + ", ".join(tables)
            )
        pandas = require("pandas", extra="pandas", feature="Analysis.to_frame")
        d = self.to_dict()
        rows: list[dict[str, Any]]
        if name == "outcomes":
            kinds = {o.id: o.kind for o in self._map.outcomes}
            rows = [
                {"outcome": o, "kind": kinds[o], "probability": p}
                for o, p in self.outcome_probabilities.items()
            ]
        elif name == "touchpoints":
            rows = []
            for r in d["touchpoints"]:
                flat = {k: v for k, v in r.items() if k != "absorption"}
                flat.update({f"absorption_{o}": p for o, p in r["absorption"].items()})
                rows.append(flat)
        elif name in ("leaks", "switching", "move_flows"):
            rows = d[name]
        elif name == "switching_by_stage":
            rows = [
                {"stage": s, "competitor": c, "flow": f}
                for s, comp in self.switching_by_stage.items()
                for c, f in comp.items()
            ]
        elif name == "removal_effects":
            rows = [{"touchpoint": k, "removal_effect": v} for k, v in self.removal_effects.items()]
        elif name == "sensitivity":
            rows = d["sensitivity"]["ranked"]
        else:
            rows = d["stage_flow"]["moves"]
        return pandas.DataFrame(rows)

    # -- the text report -------------------------------------------------------------

    def summary(self, *, top: int = 5, intervals: CredibleIntervals | None = None) -> str:
        """The text report ``journeygraph analyze`` prints, one table per figure.

        Parameters
        ----------
        top
            Rows per ranked table (leaks, switching, removal effects, fixes, stage flow).
        intervals
            The :func:`journeygraph.credible_intervals` of the same map, to print an
            interval beside each outcome probability, leak and switching flow.

        Returns
        -------
        str
            Lines joined by newlines (no final newline).

        Examples
        --------
        >>> text = jg.analyze(jm).summary(top=1)
        >>> print(text.splitlines()[0])
        tiny  (2 touchpoints, solver: dense)
        >>> print(next(line for line in text.splitlines() if line.endswith("(conversion)")))
            75.00%  buy (conversion)
        """
        top = _args.number(top, "top")
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top!r}")
        from journeygraph import uncertainty

        if intervals is not None and not isinstance(intervals, uncertainty.CredibleIntervals):
            raise TypeError(
                "intervals must be the CredibleIntervals of jg.credible_intervals(...) or "
                f"None, not {type(intervals).__name__}"
            )
        return "\n".join(_report(self, top, intervals))


def _report(res: Analysis, k: int, ci: CredibleIntervals | None) -> list[str]:
    """The lines of :meth:`Analysis.summary`.

    One unit per quantity, each labelled, as in :meth:`journeygraph.MapDiff.summary`:
    probabilities and flows in % of entrants, shares in % of the losses they split,
    conversion gains in percentage points, time in hours, moves per journey.
    """
    jm = res._map
    lines: list[str] = []
    out = lines.append

    def interval(item: CredibleInterval | None) -> str:
        if item is None:
            return ""
        return f"[{item.lower:6.2%}, {item.upper:6.2%}]  "

    out(f"{jm.name}  ({len(jm.touchpoints)} touchpoints, solver: {res.solver_method})")
    level = f"; {ci.level:.0%} credible interval" if ci is not None else ""
    out(f"\nOutcomes (% of entrants{level})")
    kinds = {o.id: o.kind for o in jm.outcomes}
    for o, p in res.outcome_probabilities.items():
        o_ci = ci.outcome_probabilities[o] if ci else None
        out(f"  {p:8.2%}  {interval(o_ci)}{o} ({kinds[o]})")
    out(
        f"  conversion {res.conversion_probability:.2%}, churn {res.churn_probability:.2%}, "
        f"competitor {res.competitor_probability:.2%}"
    )
    out(f"  moves per journey: {res.expected_steps:.2f} (sd {res.steps_variance**0.5:.2f})")
    if res.expected_time is not None:
        by_kind = ", ".join(f"{kind} {_hours(h)}" for kind, h in res.expected_time.by_kind.items())
        out(f"  time per journey: {_hours(res.expected_time.mean)} ({by_kind})")
    flow_ci = ", its interval" if ci is not None else ""
    out(
        f"\nTop leaks (churn flow in % of entrants{flow_ci}; share in % of churn; "
        "exit rate in % of visits)"
    )
    leak_ci = ci.leaks_by_touchpoint if ci else {}
    for x in res.leaks[:k]:
        x_ci = leak_ci[x.touchpoint].flow if x.touchpoint in leak_ci else None
        out(f"  {x.flow:8.2%}  {interval(x_ci)}{x.share:6.1%}  {x.exit_rate:6.1%}  {x.touchpoint}")
    out(f"\nCompetitor switching (flow in % of entrants{flow_ci}; share in % of competitor losses)")
    switch_ci = ci.switching_by_pair if ci else {}
    for s in res.switching[:k]:
        pair = (s.touchpoint, s.competitor)
        s_ci = switch_ci[pair].flow if pair in switch_ci else None
        out(f"  {s.flow:8.2%}  {interval(s_ci)}{s.share:6.1%}  {s.touchpoint} -> {s.competitor}")
    if not res.switching:
        out("  none")
    out("\nRemoval effects (relative drop in conversion without the touchpoint, %)")
    ranked = sorted(res.removal_effects.items(), key=lambda kv: -kv[1])
    for tp, effect in ranked[:k]:
        out(f"  {effect:7.1%}  {tp}")
    out(f"\nFix first (conversion gain in pts from {res.fix_fraction:.0%} less churn)")
    for fix in res.sensitivity[:k]:
        out(f"  {fix.gain * 100:+6.2f} pts  {fix.touchpoint}")
    flow = res.stage_flow
    rates = ", ".join(f"{kind} {r:.0%}" for kind, r in flow.rates.items())
    out(
        f"\nStage flow (% of moves between touchpoints): {rates}; backtracks per journey "
        f"{flow.backtracks_per_journey:.3f}"
    )
    for (a, b), f in sorted(flow.moves.items(), key=lambda kv: -kv[1])[:k]:
        out(f"  {f:8.4f}  {a} -> {b} (moves per journey)")
    return lines


def _hours(hours: float) -> str:
    """A time, always in hours (as ``ExpectedTime`` and ``MapDiff.summary`` give it)."""
    return f"{hours:.1f} hours"


def _freeze_fields(obj: object, *names: str) -> None:
    """Replace the named dict fields of a frozen dataclass by read-only copies."""
    for name in names:
        object.__setattr__(obj, name, freeze_mapping(getattr(obj, name)))


def _record(item: Leak | Switch | Sensitivity) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def _row_sums(M: Any, cols: list[int]) -> np.ndarray:
    if not cols:
        return np.zeros(M.shape[0])
    result: np.ndarray = np.asarray(M[:, cols].sum(axis=1)).ravel()
    return result


def analyze(
    jm: MapSource,
    *deprecated_entry: str | Mapping[str, float] | None,
    entry: str | Mapping[str, float] | None = None,
    fix_fraction: float = 0.1,
    method: SolverMethod = "auto",
) -> Analysis:
    """Analyse a journey map as an absorbing Markov chain.

    Parameters
    ----------
    jm
        The journey map.
    entry
        Where journeys start: ``None`` for the map's entry, a touchpoint id, or a dict
        of weights by touchpoint id. Keyword-only, as in every function that takes it;
        ``analyze(jm, "ad")`` still works but raises a :class:`DeprecationWarning`.
    fix_fraction
        The churn cut used by :attr:`Analysis.sensitivity` (default 10 %).
    method
        Linear solver: ``"auto"`` (by size and structure), ``"dense"``, ``"sparse"``
        or ``"iterative"``; see :func:`journeygraph.chain.factorize`.

    Returns
    -------
    Analysis

    Raises
    ------
    MapError
        The entry names an unknown touchpoint or has no positive weight.
    NotAbsorbingError
        A group of touchpoints is (numerically) never left.

    Notes
    -----
    With ``N = (I - Q)⁻¹``: ``B = N R``, visits ``v = π₀ᵀ N``, steps ``s = N 1``,
    variance ``(2N - I) s - s∘s``; see docs/analysis.md. Every figure is checked to be
    finite and every row of B to sum to 1 within 1e-9.

    Examples
    --------
    >>> res = jg.analyze(jm)
    >>> round(res.conversion_probability, 4), round(res.churn_probability, 4)
    (0.75, 0.25)
    >>> res.leaks[0]
    Leak(touchpoint='ad', flow=0.25, share=1.0, exit_rate=0.25)
    """
    jm = _args.journey_map(jm, "jm")
    entry = _args.entry(_positional_entry(deprecated_entry, entry))
    fix_fraction = _args.real_number(fix_fraction, "fix_fraction")
    method = _args.choice(method, "method", ("auto", "dense", "sparse", "iterative"))  # type: ignore[assignment]
    if not 0 < fix_fraction <= 1:
        raise ValueError(f"fix_fraction must be in (0, 1], got {fix_fraction!r}")
    arrays = map_arrays(jm)
    chain = to_chain(jm, entry)
    solver = factorize(chain, auto_method(jm) if method == "auto" else method)
    t = chain.size
    tps, outs = chain.touchpoints, chain.outcomes
    kinds = dict(zip(outs, arrays.outcome_kinds, strict=True))

    R = chain.R.toarray()  # t x a; a is small
    visits = solver.solve_transposed(chain.entry)
    rhs = np.column_stack([R, np.ones(t)])
    sol = solver.solve(rhs)
    B, steps = sol[:, :-1], sol[:, -1]
    second = 2 * solver.solve(steps) - steps  # (2N - I) s
    _check_rows(B, tps)

    out_p = chain.entry @ B
    outcome_probabilities = {o: float(p) for o, p in zip(outs, out_p, strict=True)}
    kind_p = {
        k: float(sum(p for o, p in outcome_probabilities.items() if kinds[o] == k))
        for k in ("conversion", "churn", "competitor")
    }
    mean_steps = float(chain.entry @ steps)
    var_steps = float(max(chain.entry @ second - mean_steps**2, 0.0))
    var_from = np.maximum(second - steps**2, 0.0)

    # Stage position of every touchpoint: arrays built once per map (map_arrays).
    by_stage = _switching_by_stage(jm, chain, R, visits, arrays.stage_position)
    expected_time = (
        _expected_time(jm, chain, arrays, solver, B) if chain.step_hours is not None else None
    )

    result = Analysis(
        outcome_probabilities=outcome_probabilities,
        conversion_probability=kind_p["conversion"],
        churn_probability=kind_p["churn"],
        competitor_probability=kind_p["competitor"],
        # Plain Python floats (tolist) without numpy scalars; read-only already.
        expected_visits=FrozenDict(zip(tps, visits.tolist(), strict=True)),
        expected_steps=mean_steps,
        steps_variance=var_steps,
        steps_from=FrozenDict(zip(tps, steps.tolist(), strict=True)),
        steps_variance_from=FrozenDict(zip(tps, var_from.tolist(), strict=True)),
        expected_time=expected_time,
        switching_by_stage=by_stage,
        solver_method=solver.method,
        fix_fraction=float(fix_fraction),
        _map=jm,
        _chain=chain,
        _solver=solver,
        _B=B,
        _R=R,
        _visits=visits,
    )
    _check_finite(visits, steps, second, B)
    return result


def _move_flows(chain: AbsorbingChain, visits: np.ndarray) -> FrozenDict[tuple[str, str], float]:
    """``v_i P_ij`` for every move, keyed by ``(from, to)`` (Q's moves, then R's)."""
    tps, outs = chain.touchpoints, chain.outcomes
    Qc, Rc = chain.Q.tocoo(), chain.R.tocoo()
    # Plain Python ints and floats (tolist) build the keys without numpy scalars.
    q_keys = zip(
        map(tps.__getitem__, Qc.row.tolist()), map(tps.__getitem__, Qc.col.tolist()), strict=True
    )
    r_keys = zip(
        map(tps.__getitem__, Rc.row.tolist()), map(outs.__getitem__, Rc.col.tolist()), strict=True
    )
    return FrozenDict(
        itertools.chain(
            zip(q_keys, (visits[Qc.row] * Qc.data).tolist(), strict=True),
            zip(r_keys, (visits[Rc.row] * Rc.data).tolist(), strict=True),
        )
    )


def _positional_entry(
    given: tuple[str | Mapping[str, float] | None, ...],
    entry: str | Mapping[str, float] | None,
) -> str | Mapping[str, float] | None:
    """``analyze(jm, "ad")``: the entry given the old, positional way (deprecated)."""
    if not given:
        return entry
    if len(given) > 1:
        raise TypeError(
            f"analyze() takes the map and keyword arguments, but {1 + len(given)} "
            "positional arguments were given; write analyze(jm, entry=..., fix_fraction=...)"
        )
    if entry is not None:
        raise TypeError("analyze() got the entry twice (positionally and as entry=)")
    _args.entry(given[0])  # a wrong type is a TypeError first, as for entry=
    warnings.warn(
        "the entry of analyze() is keyword-only now, as in compare(), simulate() and "
        "credible_intervals(); write analyze(jm, entry=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return given[0]


def _check_rows(B: np.ndarray, tps: tuple[str, ...]) -> None:
    err = np.abs(B.sum(axis=1) - 1)
    bad = np.flatnonzero(~(err <= ROW_SUM_TOLERANCE) | (B < -ROW_SUM_TOLERANCE).any(axis=1))
    if bad.size:
        names = ", ".join(repr(tps[i]) for i in bad[:10])
        raise NotAbsorbingError(
            [
                Problem(
                    ("moves",),
                    f"absorption probabilities from touchpoint(s) {names} do not sum to 1 "
                    "(the chain is numerically singular there); give them a real way out",
                )
            ]
        )


def _check_finite(*arrays: np.ndarray) -> None:
    for a in arrays:
        if not np.isfinite(a).all():
            raise NotAbsorbingError(
                [Problem(("moves",), "the analysis produced a non-finite figure")]
            )


def _leaks(
    jm: JourneyMap, chain: AbsorbingChain, R: np.ndarray, visits: np.ndarray, churn_p: float
) -> tuple[Leak, ...]:
    cols = [chain.outcome_index[o.id] for o in jm.outcomes_of_kind("churn")]
    rate = R[:, cols].sum(axis=1)
    flow = visits * rate
    where = np.flatnonzero(flow > 0)
    # Largest flow first, ties in touchpoint order (lexsort is stable on ``where``).
    order = where[np.lexsort((where, -flow[where]))]
    shares = flow[order] / churn_p if churn_p > 0 else np.zeros(order.size)
    tps = chain.touchpoints
    return tuple(
        Leak(tps[i], f, s, r)
        for i, f, s, r in zip(
            order.tolist(),
            flow[order].tolist(),
            shares.tolist(),
            rate[order].tolist(),
            strict=True,
        )
    )


def _switching_by_stage(
    jm: JourneyMap,
    chain: AbsorbingChain,
    R: np.ndarray,
    visits: np.ndarray,
    stage_pos: np.ndarray,
) -> Mapping[str, Mapping[str, float]]:
    rivals = [o.id for o in jm.outcomes_of_kind("competitor")]
    if not rivals:
        return FrozenDict()
    cols = [chain.outcome_index[o] for o in rivals]
    flow = visits[:, None] * R[:, cols]  # t x rivals
    n_stages = len(jm.stages)
    per_stage = np.column_stack(
        [np.bincount(stage_pos, weights=flow[:, r], minlength=n_stages) for r in range(len(cols))]
    )  # stages x rivals
    return FrozenDict(
        (s.id, FrozenDict(zip(rivals, row, strict=True)))
        for s, row in zip(jm.stages, per_stage.tolist(), strict=True)
    )


def _switching(
    jm: JourneyMap, chain: AbsorbingChain, R: np.ndarray, visits: np.ndarray, comp_p: float
) -> tuple[Switch, ...]:
    rivals = [o.id for o in jm.outcomes_of_kind("competitor")]
    if not rivals:
        return ()
    cols = [chain.outcome_index[o] for o in rivals]
    flow = visits[:, None] * R[:, cols]  # t x rivals
    tp_i, rival_i = np.nonzero(flow > 0)
    f = flow[tp_i, rival_i]
    # Largest flow first; ties by touchpoint order, then competitor id.
    rival_rank = np.argsort(np.argsort(np.array(rivals, dtype=object), kind="stable"))
    order = np.lexsort((rival_rank[rival_i], tp_i, -f))
    tps = chain.touchpoints
    return tuple(
        Switch(tps[i], rivals[r], x, x / comp_p if comp_p > 0 else 0.0)
        for i, r, x in zip(
            tp_i[order].tolist(), rival_i[order].tolist(), f[order].tolist(), strict=True
        )
    )


def _stage_flow(jm: JourneyMap, chain: AbsorbingChain, visits: np.ndarray) -> StageFlow:
    # Flows: expected traversals of each move per entrant, v_i P_ij.
    Qc, Rc = chain.Q.tocoo(), chain.R.tocoo()
    q_flow = visits[Qc.row] * Qc.data
    r_flow = visits[Rc.row] * Rc.data
    pos = map_arrays(jm).stage_position
    stages = tuple(s.id for s in jm.stages)
    src, dst = pos[Qc.row], pos[Qc.col]
    s = len(stages)
    table = np.bincount(src * s + dst, weights=q_flow, minlength=s * s).reshape(s, s)
    # Keys and plain floats built by C-level zips (a random map's 200 stages give up to
    # 40,000 stage pairs).
    moves = _nonzero_pairs(table, stages, stages)
    a = len(chain.outcomes)
    ex = np.bincount(pos[Rc.row] * a + Rc.col, weights=r_flow, minlength=s * a).reshape(s, a)
    exits = _nonzero_pairs(ex, stages, chain.outcomes)
    # Move kinds by stage order, as JourneyMap.move_kind classifies them.
    gap = dst - src
    kind_flow = {
        "forward": float(q_flow[gap == 1].sum()),
        "skip": float(q_flow[gap > 1].sum()),
        "backtrack": float(q_flow[gap < 0].sum()),
        "within": float(q_flow[gap == 0].sum()),
    }
    total = sum(kind_flow.values())
    rates = {k: (f / total if total > 0 else 0.0) for k, f in kind_flow.items()}
    return StageFlow(stages, moves, exits, kind_flow, rates, kind_flow["backtrack"])


def _expected_time(
    jm: JourneyMap, chain: AbsorbingChain, arrays: MapArrays, solver: ChainSolver, B: np.ndarray
) -> ExpectedTime:
    """Mean time to absorption, and conditional mean time per outcome kind.

    With per-move mean durations ``D``: ``w_K = N c_K`` where
    ``c_K,i = Σ_j Q_ij D_ij b_K,j + Σ_{k∈K} R_ik D_ik`` is ``E[T · 1{end in K}]``
    (first-step analysis), so the conditional mean is ``π₀ᵀ w_K / P(K)``.
    """
    assert chain.step_hours is not None
    # P∘D split into its touchpoint and outcome parts, built once per map.
    QD, RD = arrays.QD, arrays.RD
    assert QD is not None and RD is not None
    tps = chain.touchpoints
    kinds: tuple[OutcomeKind, ...] = ("conversion", "churn", "competitor")
    rhs = [chain.step_hours]
    present = []
    for kind in kinds:
        cols = [chain.outcome_index[o.id] for o in jm.outcomes_of_kind(kind)]
        if not cols:
            continue
        bK = B[:, cols].sum(axis=1)
        rhs.append(QD @ bK + np.asarray(RD[:, cols].sum(axis=1)).ravel())
        present.append((kind, bK))
    W = solver.solve(np.column_stack(rhs))
    mean_from = W[:, 0]
    by_kind: dict[str, float] = {}
    for j, (kind, bK) in enumerate(present, start=1):
        pK = float(chain.entry @ bK)
        if pK > 1e-15:
            by_kind[kind] = float(chain.entry @ W[:, j] / pK)
    _check_finite(W)
    return ExpectedTime(
        mean=float(chain.entry @ mean_from),
        by_kind=by_kind,
        from_touchpoint=dict(zip(tps, map(float, mean_from), strict=True)),
    )


def _nonzero_pairs(
    table: np.ndarray, rows: Sequence[str], cols: Sequence[str]
) -> FrozenDict[tuple[str, str], float]:
    """``{(rows[i], cols[j]): table[i, j]}`` for the nonzero cells, as plain floats."""
    r, c = np.nonzero(table)
    keys = zip(map(rows.__getitem__, r.tolist()), map(cols.__getitem__, c.tolist()), strict=True)
    return FrozenDict(zip(keys, table[r, c].tolist(), strict=True))
