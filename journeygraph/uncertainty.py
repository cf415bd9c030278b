"""Credible intervals for the figures of an analysis, from the counts behind a map.

When a map's weights are counts of observed customers (as :func:`journeygraph.fit`
produces), each touchpoint's outgoing moves are a multinomial sample and, with a
Dirichlet prior, its row of move probabilities has the posterior
``Dirichlet(counts + prior)`` (DESIGN.md, "The mathematics", last bullet). Sampling
every row (and the entry) and solving each sampled chain gives the posterior of every
figure; :func:`credible_intervals` reports its mean and equal-tailed interval.
See docs/analysis.md, "Uncertainty".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from journeygraph import _args
from journeygraph._blas import one_blas_thread
from journeygraph._frozen import FrozenDict, freeze_mapping
from journeygraph.chain import (
    RESIDUAL_TOLERANCE,
    AbsorbingChain,
    SolverMethod,
    entry_vector,
    factorize,
)
from journeygraph.errors import (
    JourneyGraphWarning,
    MapError,
    NotAbsorbingError,
    Problem,
    did_you_mean,
)
from journeygraph.model import JourneyMap, MapSource

if TYPE_CHECKING:
    import pandas as pd
    from scipy import sparse

__all__ = [
    "BATCHED_LIMIT",
    "DEFAULT_PRIOR",
    "MAX_DRAWS",
    "MAX_DRAW_VALUES",
    "CredibleInterval",
    "CredibleIntervals",
    "IntervalMethod",
    "LeakInterval",
    "PosteriorSample",
    "SwitchInterval",
    "credible_intervals",
    "equal_tailed",
    "posterior_sample",
    "weights_not_counts",
]

#: Largest map (touchpoints) whose draws are solved together as a stack of dense
#: systems (``np.linalg.solve`` on a ``(draws, t, t)`` array) when ``method="auto"``;
#: larger maps solve one draw at a time with :func:`journeygraph.chain.factorize`.
BATCHED_LIMIT = 300

#: Dirichlet concentration added to every move and entry weight by default: small,
#: so a row with many moves is not pulled towards uniform (docs/analysis.md, "Choice
#: of prior", has the coverage measured on the examples).
DEFAULT_PRIOR = 0.1

IntervalMethod = Literal["auto", "batched", "dense", "sparse", "iterative"]

#: Most posterior draws one :func:`credible_intervals` call takes. Beyond ~10,000 draws
#: the intervals hardly change (the Monte Carlo error of a quantile shrinks as
#: 1/sqrt(draws)); the limit only stops a typo from exhausting memory.
MAX_DRAWS = 1_000_000
#: Most ``draws x touchpoints`` per call. The sampled figures (outcomes, leaks,
#: switching, removal effects per draw) take about 85 bytes per draw and touchpoint
#: (measured: 100,000 draws of the 16-touchpoint retail example added 134 MiB), so the
#: limit holds them under ~4 GiB on a 24 GiB machine.
MAX_DRAW_VALUES = 50_000_000

#: Matrix entries (draws x t x t, or draws x moves) held at once while sampling.
_CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True, slots=True)
class CredibleInterval:
    """The posterior of one figure: its mean and the equal-tailed interval.

    ``lower`` and ``upper`` are the ``(1 - level) / 2`` and ``(1 + level) / 2``
    quantiles of the sampled figure.
    """

    mean: float
    lower: float
    upper: float

    @property
    def excludes_zero(self) -> bool:
        """True when 0 lies outside ``[lower, upper]``: for a delta, a credible change."""
        return self.lower > 0 or self.upper < 0

    def to_dict(self) -> dict[str, float]:
        """``{"mean": …, "lower": …, "upper": …}``."""
        return {"mean": self.mean, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True, slots=True)
class LeakInterval:
    """The posterior of one :class:`journeygraph.Leak`: churn flow and share of churn.

    ``flow``: churn exits at the touchpoint per entrant; ``share``: its part of all
    churn (the interval counterparts of ``Leak.flow`` and ``Leak.share``).
    """

    touchpoint: str
    flow: CredibleInterval
    share: CredibleInterval

    def to_dict(self) -> dict[str, Any]:
        """``touchpoint``, the flow's ``mean``/``lower``/``upper``, and ``share``."""
        return {"touchpoint": self.touchpoint, **self.flow.to_dict(), "share": self.share.to_dict()}


@dataclass(frozen=True, slots=True)
class SwitchInterval:
    """The posterior of one :class:`journeygraph.Switch`: flow to a competitor and share.

    ``flow``: moves from the touchpoint to the competitor per entrant; ``share``: its
    part of everything lost to competitors.
    """

    touchpoint: str
    competitor: str
    flow: CredibleInterval
    share: CredibleInterval

    def to_dict(self) -> dict[str, Any]:
        """``touchpoint``, ``competitor``, the flow's ``mean``/``lower``/``upper``, ``share``."""
        return {
            "touchpoint": self.touchpoint,
            "competitor": self.competitor,
            **self.flow.to_dict(),
            "share": self.share.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class CredibleIntervals:
    """Posterior means and credible intervals of an analysis' figures.

    Returned by :func:`credible_intervals`; shaped like :class:`journeygraph.Analysis`:
    every figure has the same name, and is a :class:`CredibleInterval` where the
    analysis has a float. Immutable: the mappings are read-only; hashable.

    Attributes
    ----------
    draws, level, prior, entry_uncertain
        The arguments the intervals were computed with.
    outcome_probabilities
        By outcome id.
    conversion_probability, churn_probability, competitor_probability
        Totals per outcome kind.
    expected_steps
        Expected moves per journey, from the entry.
    leaks
        Ranked :class:`LeakInterval` records (touchpoint, flow, share), largest
        posterior mean flow first, one for every touchpoint with a move into a churn
        outcome (``Analysis.leaks`` lists only those with a positive flow).
        :attr:`leaks_by_touchpoint` gives the same records by touchpoint.
    switching
        Ranked :class:`SwitchInterval` records (touchpoint, competitor, flow, share)
        for every move into a competitor; :attr:`switching_by_pair` by
        ``(touchpoint, competitor)``.
    removal_effects
        By touchpoint, when asked for (``removal_effects=True``); else ``None``.
    """

    draws: int
    level: float
    prior: float
    entry_uncertain: bool
    outcome_probabilities: Mapping[str, CredibleInterval]
    conversion_probability: CredibleInterval
    churn_probability: CredibleInterval
    competitor_probability: CredibleInterval
    expected_steps: CredibleInterval
    leaks: tuple[LeakInterval, ...]
    switching: tuple[SwitchInterval, ...]
    removal_effects: Mapping[str, CredibleInterval] | None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "outcome_probabilities", freeze_mapping(self.outcome_probabilities)
        )
        if self.removal_effects is not None:
            object.__setattr__(self, "removal_effects", freeze_mapping(self.removal_effects))

    def __repr__(self) -> str:
        c = self.conversion_probability
        return (
            f"CredibleIntervals(conversion={c.mean:.4f} [{c.lower:.4f}, {c.upper:.4f}], "
            f"level={self.level:g}, draws={self.draws})"
        )

    @property
    def leaks_by_touchpoint(self) -> Mapping[str, LeakInterval]:
        """The :attr:`leaks` records keyed by touchpoint id (read-only).

        Examples
        --------
        >>> ci = jg.credible_intervals(jm, draws=200, seed=0)
        >>> ci.leaks_by_touchpoint["ad"] == ci.leaks[0]
        True
        """
        return FrozenDict({x.touchpoint: x for x in self.leaks})

    @property
    def switching_by_pair(self) -> Mapping[tuple[str, str], SwitchInterval]:
        """The :attr:`switching` records keyed by ``(touchpoint, competitor)`` (read-only)."""
        return FrozenDict({(x.touchpoint, x.competitor): x for x in self.switching})

    def to_dict(self) -> dict[str, Any]:
        """Every interval as JSON-ready data (plain floats, keyed by ids).

        ``leaks`` and ``switching`` are lists of records in rank order, as in
        :meth:`journeygraph.Analysis.to_dict`.

        Examples
        --------
        >>> import json
        >>> d = jg.credible_intervals(jm, draws=200, seed=0).to_dict()
        >>> sorted(d["conversion_probability"]), json.loads(json.dumps(d)) == d
        (['lower', 'mean', 'upper'], True)
        """
        return {
            "draws": self.draws,
            "level": self.level,
            "prior": self.prior,
            "entry_uncertain": self.entry_uncertain,
            "outcome_probabilities": {
                o: ci.to_dict() for o, ci in self.outcome_probabilities.items()
            },
            "conversion_probability": self.conversion_probability.to_dict(),
            "churn_probability": self.churn_probability.to_dict(),
            "competitor_probability": self.competitor_probability.to_dict(),
            "expected_steps": self.expected_steps.to_dict(),
            "leaks": [x.to_dict() for x in self.leaks],
            "switching": [x.to_dict() for x in self.switching],
            "removal_effects": (
                None
                if self.removal_effects is None
                else {tp: ci.to_dict() for tp, ci in self.removal_effects.items()}
            ),
        }

    def to_frame(self, name: str) -> pd.DataFrame:
        """One table as a pandas DataFrame (needs pandas).

        ``name`` is ``summary`` (kind totals and expected steps), ``outcomes``,
        ``leaks``, ``switching`` or ``removal_effects``; columns ``mean``, ``lower``,
        ``upper`` next to the ids.
        """
        from journeygraph._optional import require

        tables = ("summary", "outcomes", "leaks", "switching", "removal_effects")
        if name not in tables:
            raise ValueError(
                f"unknown table {name!r}{did_you_mean(name, tables)}; choose one of "
                + ", ".join(tables)
            )
        pandas = require("pandas", extra="pandas", feature="CredibleIntervals.to_frame")
        rows: list[dict[str, Any]]
        if name == "summary":
            figures = {
                "conversion_probability": self.conversion_probability,
                "churn_probability": self.churn_probability,
                "competitor_probability": self.competitor_probability,
                "expected_steps": self.expected_steps,
            }
            rows = [{"figure": k, **ci.to_dict()} for k, ci in figures.items()]
        elif name == "outcomes":
            rows = [{"outcome": o, **ci.to_dict()} for o, ci in self.outcome_probabilities.items()]
        elif name == "leaks":
            rows = [
                {
                    "touchpoint": x.touchpoint,
                    **x.flow.to_dict(),
                    **{f"share_{k}": v for k, v in x.share.to_dict().items()},
                }
                for x in self.leaks
            ]
        elif name == "switching":
            rows = [
                {
                    "touchpoint": x.touchpoint,
                    "competitor": x.competitor,
                    **x.flow.to_dict(),
                    **{f"share_{k}": v for k, v in x.share.to_dict().items()},
                }
                for x in self.switching
            ]
        else:
            if self.removal_effects is None:
                raise ValueError(
                    "removal effects were not sampled; call "
                    "credible_intervals(..., removal_effects=True)"
                )
            rows = [{"touchpoint": tp, **ci.to_dict()} for tp, ci in self.removal_effects.items()]
        return pandas.DataFrame(rows)


def credible_intervals(
    jm: MapSource,
    *,
    draws: int = 1000,
    level: float = 0.9,
    prior: float = DEFAULT_PRIOR,
    seed: int | np.random.Generator | None = None,
    entry_uncertain: bool = True,
    entry: str | Mapping[str, float] | None = None,
    removal_effects: bool = False,
    method: IntervalMethod = "auto",
) -> CredibleIntervals:
    """Posterior means and credible intervals of a map's figures, from its counts.

    The weights must be **counts** (observed customers per move and per entry
    touchpoint, as :func:`journeygraph.fit` writes them) for the intervals to mean
    anything: the width of an interval is set by how many customers were seen.
    Relative frequencies or shares give meaningless intervals; weights that look like
    them (any non-integer weight, which includes shares below 1) raise a :class:`JourneyGraphWarning`.

    Parameters
    ----------
    jm
        The journey map, its weights counts.
    draws
        Posterior samples (2 to :data:`MAX_DRAWS`; at the default 1000 an interval
        end varies by about 2 % of the interval's width from seed to seed).
    level
        Probability inside each interval, in (0, 1); default 0.9.
    prior
        Dirichlet concentration added to every move (and entry) weight, > 0. The
        default :data:`DEFAULT_PRIOR` (0.1) keeps 90 % intervals near 90 % coverage
        down to 200 journeys; 0.5 (Jeffreys' for a two-way split) pulls rows with many
        moves towards uniform and undercovers rare outcomes there (docs/analysis.md,
        "Choice of prior").
    seed
        Seed or ``numpy.random.Generator``; the same seed gives the same intervals.
    entry_uncertain
        Sample the entry distribution from ``Dirichlet(entry weights + prior)`` too
        (default); ``False`` keeps it fixed at the map's normalised entry.
    entry
        Where journeys start, as in :func:`journeygraph.analyze`: ``None`` for the
        map's entry, a touchpoint id, or a dict of weights by touchpoint id. A given
        entry is fixed (not sampled), so it implies ``entry_uncertain=False``.
    removal_effects
        Also sample removal effects (needs the diagonal of N for every draw: slower).
    method
        ``"auto"`` stacks the draws into batched dense solves up to
        :data:`BATCHED_LIMIT` touchpoints and otherwise solves draw by draw with the
        chain solver; ``"batched"`` forces the former; ``"dense"``, ``"sparse"`` or
        ``"iterative"`` the latter with that solver (see
        :func:`journeygraph.chain.factorize`). All give the same draws for a seed.

    Returns
    -------
    CredibleIntervals

    Raises
    ------
    ValueError
        ``draws``, ``level``, ``prior`` or ``method`` is out of range; ``draws`` above
        :data:`MAX_DRAWS` or ``draws x touchpoints`` above :data:`MAX_DRAW_VALUES`.
    MapError
        A sampled row has no probability left (weights and prior too small to sample).
    NotAbsorbingError
        A sampled chain is numerically singular (a group of touchpoints is almost never
        left).

    Notes
    -----
    Each touchpoint's row of move probabilities is drawn from
    ``Dirichlet(w + prior)`` over the map's moves out of it, independently of the other
    rows; moves written with weight 0 get the prior alone, so they can carry a little
    probability in a draw. The entry is drawn the same way over the touchpoints listed
    in ``entry``. Each draw is solved exactly as :func:`journeygraph.analyze` does
    (visits ``v = π₀ᵀN``, flows ``v_i P_ij``, removal ``1 - P_without/P``), and each
    interval is the pair of empirical ``(1 ∓ level)/2`` quantiles. With a single
    touchpoint splitting ``a`` conversions from ``b`` churns, the conversion
    probability is exactly ``Beta(a + prior, b + prior)``.

    Examples
    --------
    >>> ci = jg.credible_intervals(jm, draws=2000, seed=1)
    >>> c = ci.conversion_probability
    >>> c.lower < jg.analyze(jm).conversion_probability < c.upper
    True
    """
    jm = _args.journey_map(jm, "jm")
    seed = _args.seed(seed)
    entry_uncertain = _args.flag(entry_uncertain, "entry_uncertain")
    entry = _args.entry(entry)
    entry_uncertain = entry_uncertain and entry is None
    removal_effects = _args.flag(removal_effects, "removal_effects")
    draws = _args.number(draws, "draws")
    level = _args.number(level, "level")
    prior = _args.number(prior, "prior")
    method = _args.choice(  # type: ignore[assignment]
        method, "method", ("auto", "batched", "dense", "sparse", "iterative")
    )
    _check_arguments(draws, level, prior, method)
    _warn_unless_counts(jm, entry_uncertain)
    sample = posterior_sample(
        jm,
        draws=draws,
        prior=prior,
        seed=seed,
        entry_uncertain=entry_uncertain,
        entry=entry,
        removal_effects=removal_effects,
        method=method,
    )
    return sample.intervals(level)


@dataclass(frozen=True, slots=True)
class PosteriorSample:
    """Posterior draws of every figure of one map (:func:`posterior_sample`).

    ``values[name]`` is an array with one row per draw: ``(draws,)`` for a single
    figure, ``(draws, k)`` for a keyed one, its columns in the order of
    ``touchpoints`` (``visits``, ``removal_effects``), ``outcomes``
    (``outcome_probabilities``), ``leak_touchpoints`` (``leaks``, ``leak_shares``) or
    ``switch_pairs`` (``switching``, ``switching_shares``). The single figures are
    those of :class:`CredibleIntervals` plus ``backtrack_rate``, ``skip_rate`` and
    ``backtracks_per_journey`` (as :class:`journeygraph.analysis.StageFlow` defines
    them). Draws of two maps taken with one generator are independent, so the
    difference of two samples, draw by draw, is a sample of the posterior of the
    difference.
    """

    touchpoints: tuple[str, ...]
    outcomes: tuple[str, ...]
    leak_touchpoints: tuple[str, ...]
    switch_pairs: tuple[tuple[str, str], ...]
    values: dict[str, np.ndarray]
    draws: int
    prior: float
    entry_uncertain: bool
    removal_effects: bool

    def intervals(self, level: float = 0.9) -> CredibleIntervals:
        """The :class:`CredibleIntervals` of this sample at ``level``."""
        v = self.values

        def keyed(keys: tuple[Any, ...], name: str) -> dict[Any, CredibleInterval]:
            return dict(zip(keys, _equal_tailed_columns(v[name], level), strict=True))

        def ranked(flows: list[CredibleInterval]) -> list[int]:
            # As Analysis ranks its point figures: largest (mean) flow first, then order.
            return sorted(range(len(flows)), key=lambda i: (-flows[i].mean, i))

        leak_flow = _equal_tailed_columns(v["leaks"], level)
        leak_share = _equal_tailed_columns(v["leak_shares"], level)
        switch_flow = _equal_tailed_columns(v["switching"], level)
        switch_share = _equal_tailed_columns(v["switching_shares"], level)
        leaks = tuple(
            LeakInterval(self.leak_touchpoints[i], leak_flow[i], leak_share[i])
            for i in ranked(leak_flow)
        )
        switching = tuple(
            SwitchInterval(*self.switch_pairs[i], switch_flow[i], switch_share[i])
            for i in ranked(switch_flow)
        )

        return CredibleIntervals(
            draws=int(self.draws),
            level=float(level),
            prior=float(self.prior),
            entry_uncertain=bool(self.entry_uncertain),
            outcome_probabilities=keyed(self.outcomes, "outcome_probabilities"),
            conversion_probability=equal_tailed(v["conversion_probability"], level),
            churn_probability=equal_tailed(v["churn_probability"], level),
            competitor_probability=equal_tailed(v["competitor_probability"], level),
            expected_steps=equal_tailed(v["expected_steps"], level),
            leaks=leaks,
            switching=switching,
            removal_effects=(
                keyed(self.touchpoints, "removal_effects") if self.removal_effects else None
            ),
        )


def posterior_sample(
    jm: JourneyMap,
    *,
    draws: int = 1000,
    prior: float = DEFAULT_PRIOR,
    seed: int | np.random.Generator | None = None,
    entry_uncertain: bool = True,
    entry: str | Mapping[str, float] | None = None,
    removal_effects: bool = False,
    method: IntervalMethod = "auto",
) -> PosteriorSample:
    """Posterior draws of a map's figures, before they are summarised into intervals.

    The sampling of :func:`credible_intervals` (same arguments, same draws for a seed),
    without the warning for non-count weights (see :func:`weights_not_counts`).
    ``entry`` fixes the entry at a touchpoint or weights, as ``jg.analyze(entry=...)``
    does; it implies ``entry_uncertain=False``. :func:`journeygraph.compare` takes the
    difference of two samples draw by draw.

    Examples
    --------
    >>> s = posterior_sample(jm, draws=50, seed=0)
    >>> s.values["conversion_probability"].shape, s.values["leaks"].shape
    ((50,), (50, 1))
    """
    _check_arguments(draws, 0.5, prior, method)
    pattern = _Pattern(jm, entry)
    entry_uncertain = entry_uncertain and entry is None
    if draws * pattern.t > MAX_DRAW_VALUES:
        raise ValueError(
            f"draws={draws:,} for {pattern.t:,} touchpoints is more than the limit of "
            f"{MAX_DRAW_VALUES:,} draws x touchpoints (journeygraph.uncertainty."
            f"MAX_DRAW_VALUES, set by memory use); use at most "
            f"{max(MAX_DRAW_VALUES // pattern.t, 2):,} draws; see docs/reliability.md"
        )
    rng = np.random.default_rng(seed)
    batched = method == "batched" or (method == "auto" and pattern.t <= BATCHED_LIMIT)
    solver: SolverMethod = "auto" if method in ("auto", "batched") else method  # type: ignore[assignment]
    chunk = max(1, min(draws, _CHUNK_ENTRIES // max(pattern.t * pattern.t, pattern.m, 1)))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        probs, entry_draws, leave = pattern.sample(rng, n, prior, entry_uncertain)
        if batched:
            visits, hit_conv = _solve_batched(pattern, probs, entry_draws, leave, removal_effects)
        else:
            visits, hit_conv = _solve_looped(
                pattern, probs, entry_draws, leave, removal_effects, solver
            )
        parts.append(pattern.figures(probs, visits, hit_conv))
    samples = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    for name, values in samples.items():
        if not np.isfinite(values).all():
            raise NotAbsorbingError(
                [
                    Problem(
                        ("moves",), f"a posterior draw gave a non-finite {name.replace('_', ' ')}"
                    )
                ]
            )
    return PosteriorSample(
        touchpoints=pattern.touchpoints,
        outcomes=pattern.outcomes,
        leak_touchpoints=pattern.leak_touchpoints,
        switch_pairs=pattern.switch_pairs,
        values=samples,
        draws=int(draws),
        prior=float(prior),
        entry_uncertain=bool(entry_uncertain),
        removal_effects=bool(removal_effects),
    )


def equal_tailed(values: np.ndarray, level: float) -> CredibleInterval:
    """The mean and the equal-tailed ``level`` interval of a 1-d sample.

    Examples
    --------
    >>> ci = equal_tailed(np.arange(101.0), 0.9)
    >>> ci.mean, round(ci.lower, 9), round(ci.upper, 9)
    (50.0, 5.0, 95.0)
    """
    lo, hi = np.quantile(values, ((1 - level) / 2, (1 + level) / 2))
    return CredibleInterval(float(values.mean()), float(lo), float(hi))


def _equal_tailed_columns(values: np.ndarray, level: float) -> list[CredibleInterval]:
    """:func:`equal_tailed` of each column of a ``(draws, k)`` sample, in one pass."""
    mean = values.mean(axis=0)
    lo, hi = np.quantile(values, ((1 - level) / 2, (1 + level) / 2), axis=0)
    return [
        CredibleInterval(float(m), float(a), float(b)) for m, a, b in zip(mean, lo, hi, strict=True)
    ]


def weights_not_counts(jm: JourneyMap, *, entry: bool = True) -> str | None:
    """Why a map's weights are not counts of observed customers, or ``None`` if they are.

    Counts are whole numbers; a positive weight that is not (shares, percentages,
    relative frequencies written by hand) makes the map hypothetical for
    :func:`credible_intervals`. ``entry=False`` ignores the entry weights.

    Examples
    --------
    >>> weights_not_counts(jm) is None
    True
    """
    weights = [(f"move {m.source!r} -> {m.target!r}", m.weight) for m in jm.moves if m.weight > 0]
    if entry:
        weights += [(f"entry {k!r}", w) for k, w in jm.entry.items() if w > 0]
    # Shares and relative frequencies (all below 1) are non-integers too.
    fractional = next(((what, w) for what, w in weights if not float(w).is_integer()), None)
    if fractional is None:
        return None
    return f"{fractional[0]} has weight {fractional[1]:g}, not a whole number"


def _check_arguments(draws: int, level: float, prior: float, method: str) -> None:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 2:
        raise ValueError(f"draws must be an integer >= 2, got {draws!r}")
    if draws > MAX_DRAWS:
        raise ValueError(
            f"draws={draws:,} is more than the limit of {MAX_DRAWS:,} "
            "(journeygraph.uncertainty.MAX_DRAWS, set by memory use); 1,000 to 10,000 "
            "draws give stable intervals; see docs/reliability.md"
        )
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    if (
        isinstance(prior, bool)
        or not isinstance(prior, (int, float))
        or not (math.isfinite(prior) and prior > 0)
    ):
        raise ValueError(f"prior must be a finite number > 0 (e.g. 0.5 or 1), got {prior!r}")
    methods = ("auto", "batched", "dense", "sparse", "iterative")
    if method not in methods:
        raise ValueError(
            f"unknown method {method!r}{did_you_mean(method, methods)}; use " + ", ".join(methods)
        )


def _warn_unless_counts(jm: JourneyMap, entry_uncertain: bool) -> None:
    why = weights_not_counts(jm, entry=entry_uncertain)
    if why is None:
        return
    warnings.warn(
        f"map {jm.name!r}: {why}; credible intervals treat weights as counts of observed "
        "customers, so for shares or relative frequencies they are not meaningful "
        "(fit the map from the event log to get counts)",
        JourneyGraphWarning,
        stacklevel=3,
    )


class _Pattern:
    """The map's moves in a fixed order, and everything the draws need about them.

    Moves are sorted by (source, into an outcome, target), so the touchpoint-to-
    touchpoint moves are in CSR order and each row's moves are contiguous.
    """

    def __init__(self, jm: JourneyMap, entry: str | Mapping[str, float] | None = None) -> None:
        from scipy import sparse

        self.touchpoints = tuple(t.id for t in jm.touchpoints)
        self.outcomes = tuple(o.id for o in jm.outcomes)
        self.index = {t: i for i, t in enumerate(self.touchpoints)}
        self.outcome_index = {o: i for i, o in enumerate(self.outcomes)}
        self.kinds = {o.id: o.kind for o in jm.outcomes}
        self.t, self.a = len(self.touchpoints), len(self.outcomes)
        keyed = sorted(
            (
                self.index[m.source],
                m.target in self.outcome_index,
                self.outcome_index[m.target]
                if m.target in self.outcome_index
                else self.index[m.target],
                float(m.weight),
            )
            for m in jm.moves
        )
        self.m = len(keyed)
        self.source = np.array([k[0] for k in keyed], dtype=np.int64)
        self.to_outcome = np.array([k[1] for k in keyed], dtype=bool)
        self.target = np.array([k[2] for k in keyed], dtype=np.int64)
        self.weight = np.array([k[3] for k in keyed])
        self.row_start = np.searchsorted(self.source, np.arange(self.t))
        self.q = np.flatnonzero(~self.to_outcome)
        # Self-loops are solved exactly (journeygraph.chain.loop_free): moves other than
        # a loop, and the loop-free touchpoint-to-touchpoint moves.
        is_loop = ~self.to_outcome & (self.source == self.target)
        self.other = np.flatnonzero(~is_loop)
        self.q_free = np.flatnonzero(~self.to_outcome & ~is_loop)
        self.r = np.flatnonzero(self.to_outcome)
        self.q_indptr = np.searchsorted(self.source[self.q], np.arange(self.t + 1))
        self.r_indptr = np.searchsorted(self.source[self.r], np.arange(self.t + 1))
        kind_of_move = np.array(
            [self.kinds[self.outcomes[c]] for c in self.target[self.r]], dtype=object
        )
        # flows of outcome moves -> outcome probabilities
        self.to_outcome_sum = sparse.csr_matrix(
            (np.ones(self.r.size), (np.arange(self.r.size), self.target[self.r])),
            shape=(self.r.size, self.a),
        )
        churn = np.flatnonzero(kind_of_move == "churn")
        self.leak_touchpoints = tuple(
            dict.fromkeys(self.touchpoints[self.source[self.r[j]]] for j in churn)
        )
        leak_pos = {tp: i for i, tp in enumerate(self.leak_touchpoints)}
        self.leak_sum = sparse.csr_matrix(
            (
                np.ones(churn.size),
                (churn, [leak_pos[self.touchpoints[self.source[self.r[j]]]] for j in churn]),
            ),
            shape=(self.r.size, len(self.leak_touchpoints)),
        )
        self.rival_moves = np.flatnonzero(kind_of_move == "competitor")
        self.switch_pairs = tuple(
            (self.touchpoints[self.source[self.r[j]]], self.outcomes[self.target[self.r[j]]])
            for j in self.rival_moves
        )
        conv = np.flatnonzero(kind_of_move == "conversion")
        self.conversion_sum = sparse.csr_matrix(
            (np.ones(conv.size), (conv, self.source[self.r[conv]])), shape=(self.r.size, self.t)
        )
        self.kind_cols = {
            kind: [self.outcome_index[o.id] for o in jm.outcomes_of_kind(kind)]
            for kind in ("conversion", "churn", "competitor")
        }
        entry_ids = [k for k in jm.entry if k in self.index]
        self.entry_pos = np.array([self.index[k] for k in entry_ids], dtype=np.int64)
        self.entry_weight = np.array([float(jm.entry[k]) for k in entry_ids])
        self.entry_fixed = entry_vector(jm, entry, self.index)
        # Stage gap of each touchpoint-to-touchpoint move, as JourneyMap.move_kind.
        position = np.array([jm.stage_position(t.stage) for t in jm.touchpoints], dtype=np.int64)
        gap = position[self.target[self.q]] - position[self.source[self.q]]
        self.backtrack_moves = self.q[gap < 0]
        self.skip_moves = self.q[gap > 1]

    # -- sampling ----------------------------------------------------------------------

    def sample(
        self, rng: np.random.Generator, n: int, prior: float, entry_uncertain: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` draws of every move probability ``(n, m)``, of the entry ``(n, t)`` and
        of each touchpoint's probability of moving on ``(n, t)`` (``1 - Q_ii``, from the
        draws' weights without cancellation)."""
        gam = rng.standard_gamma(self.weight + prior, size=(n, self.m))
        totals = np.add.reduceat(gam, self.row_start, axis=1)
        empty = np.flatnonzero((totals <= 0).any(axis=0))
        if empty.size:
            tp = self.touchpoints[int(empty[0])]
            raise MapError(
                [
                    Problem(
                        ("moves",),
                        f"a posterior draw gave touchpoint {tp!r} no probability on any move "
                        f"(its weights plus the prior {prior:g} are too small to sample); "
                        "use counts as weights or a larger prior",
                    )
                ]
            )
        probs: np.ndarray = gam / totals[:, self.source]
        others = np.zeros((n, self.t))
        np.add.at(others.T, self.source[self.other], gam[:, self.other].T)
        leave = others / totals
        if not (leave > 0).all():
            raise _singular_draw()
        if entry_uncertain:
            eg = rng.standard_gamma(self.entry_weight + prior, size=(n, self.entry_pos.size))
            esum = eg.sum(axis=1, keepdims=True)
            if (esum <= 0).any():
                raise MapError(
                    [
                        Problem(
                            ("entry",),
                            f"a posterior draw gave the entry no probability (its weights plus "
                            f"the prior {prior:g} are too small to sample); use counts or a "
                            "larger prior",
                        )
                    ]
                )
            entry = np.zeros((n, self.t))
            entry[:, self.entry_pos] = eg / esum
        else:
            entry = np.broadcast_to(self.entry_fixed, (n, self.t)).copy()
        return probs, entry, leave

    def chain(self, probs: np.ndarray, entry: np.ndarray, leave: np.ndarray) -> AbsorbingChain:
        """One draw as an :class:`AbsorbingChain` (for :func:`factorize`)."""
        from scipy import sparse

        Q = sparse.csr_matrix(
            (probs[self.q], self.target[self.q], self.q_indptr), shape=(self.t, self.t)
        )
        R = sparse.csr_matrix(
            (probs[self.r], self.target[self.r], self.r_indptr), shape=(self.t, self.a)
        )
        src = self.source[self.q_free]
        Q_free = sparse.csr_matrix(
            (probs[self.q_free] / leave[src], (src, self.target[self.q_free])),
            shape=(self.t, self.t),
        )
        return AbsorbingChain(
            touchpoints=self.touchpoints,
            outcomes=self.outcomes,
            Q=Q,
            R=R,
            entry=entry,
            step_hours=None,
            index=self.index,
            outcome_index=self.outcome_index,
            leave=leave,
            Q_free=Q_free,
        )

    # -- figures -----------------------------------------------------------------------

    def figures(
        self, probs: np.ndarray, visits: np.ndarray, hit_conv: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        """Every figure of each draw from its visits (as :func:`journeygraph.analyze`)."""
        flows = visits[:, self.source[self.r]] * probs[:, self.r]  # v_i R_ik per move
        outcome_p = _times(flows, self.to_outcome_sum)
        kind_p = {k: outcome_p[:, cols].sum(axis=1) for k, cols in self.kind_cols.items()}
        leak = _times(flows, self.leak_sum)
        switch = flows[:, self.rival_moves]
        figures = {
            "outcome_probabilities": outcome_p,
            "conversion_probability": kind_p["conversion"],
            "churn_probability": kind_p["churn"],
            "competitor_probability": kind_p["competitor"],
            "expected_steps": visits.sum(axis=1),
            "leaks": leak,
            "leak_shares": _share(leak, kind_p["churn"]),
            "switching": switch,
            "switching_shares": _share(switch, kind_p["competitor"]),
            "visits": visits,
        }
        # stage flow: backtrack and skip flows over all touchpoint-to-touchpoint flow
        moving = visits[:, self.source[self.q]] * probs[:, self.q]
        total = moving.sum(axis=1)
        backtrack = (
            visits[:, self.source[self.backtrack_moves]] * probs[:, self.backtrack_moves]
        ).sum(axis=1)
        skip = (visits[:, self.source[self.skip_moves]] * probs[:, self.skip_moves]).sum(axis=1)
        figures["backtracks_per_journey"] = backtrack
        figures["backtrack_rate"] = _share(backtrack, total)
        figures["skip_rate"] = _share(skip, total)
        if hit_conv is not None:
            # P - P_without_k = (v_k / N_kk) b_k; effect = that / P (0 when P = 0)
            figures["removal_effects"] = np.clip(_share(hit_conv, kind_p["conversion"]), 0, 1)
        return figures


def _times(dense: np.ndarray, indicator: sparse.csr_matrix) -> np.ndarray:
    """``dense @ indicator`` for a (draws x k) array and a sparse (k x j) 0/1 matrix."""
    result: np.ndarray = np.asarray((indicator.T @ dense.T).T)
    return result


def _share(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    if part.ndim == 2:
        total = total[:, None]
    safe = np.where(total > 0, total, 1.0)
    result: np.ndarray = np.where(total > 0, part / safe, 0.0)
    return result


# -- solving the draws -----------------------------------------------------------------


@one_blas_thread()
def _solve_batched(
    pattern: _Pattern, probs: np.ndarray, entry: np.ndarray, leave: np.ndarray, removal: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Visits ``v = π₀ᵀN`` of every draw at once by stacked dense solves.

    Each draw is solved without its self-loops, ``N = (I - Q_free)⁻¹ D⁻¹`` with
    ``D = diag(leave)`` (journeygraph.chain.loop_free), so a loop that keeps customers
    with probability ``1 - 1e-12`` costs no precision. With ``removal``, the loop-free
    inverse is formed per draw (``np.linalg.inv``), for its diagonal: returns
    ``(v_k / N_kk) b_k`` with ``b = N r_conversion`` (the ratio ``v_k / N_kk`` is the
    same with or without loops).
    """
    n, t = entry.shape
    src = pattern.source[pattern.q_free]
    A = np.zeros((n, t, t))
    A[:, np.arange(t), np.arange(t)] = 1.0
    A[:, src, pattern.target[pattern.q_free]] -= probs[:, pattern.q_free] / leave[:, src]
    try:
        if removal:
            N = np.linalg.inv(A)
            visits = np.einsum("bi,bij->bj", entry, N)
            r_conv = _times(probs[:, pattern.r], pattern.conversion_sum) / leave
            conv_from = np.einsum("bij,bj->bi", N, r_conv)
            hit_conv: np.ndarray | None = visits / np.diagonal(N, axis1=1, axis2=2) * conv_from
        else:
            visits = np.linalg.solve(np.swapaxes(A, 1, 2), entry[:, :, None])[:, :, 0]
            hit_conv = None
    except np.linalg.LinAlgError:
        raise _singular_draw() from None
    # Residual check, as ChainSolver does for every solve.
    residual = np.abs(np.einsum("bji,bj->bi", A, visits) - entry)
    scale = np.abs(entry) + np.einsum("bji,bj->bi", np.abs(A), np.abs(visits))
    if not (np.isfinite(visits).all() and (residual <= RESIDUAL_TOLERANCE * scale + 1e-300).all()):
        raise _singular_draw()
    return visits / leave, hit_conv


def _solve_looped(
    pattern: _Pattern,
    probs: np.ndarray,
    entry: np.ndarray,
    leave: np.ndarray,
    removal: bool,
    method: SolverMethod,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Visits of each draw with the chain solver (:func:`journeygraph.chain.factorize`)."""
    n = entry.shape[0]
    visits = np.empty_like(entry)
    hit_conv = np.empty_like(entry) if removal else None
    for d in range(n):
        chain = pattern.chain(probs[d], entry[d], leave[d])
        solver = factorize(chain, method)
        visits[d] = solver.solve_transposed(entry[d])
        if hit_conv is not None:
            r_conv = _times(probs[d : d + 1, pattern.r], pattern.conversion_sum)[0]
            hit_conv[d] = visits[d] / solver.diagonal() * solver.solve(r_conv)
    return visits, hit_conv


def _singular_draw() -> NotAbsorbingError:
    return NotAbsorbingError(
        [
            Problem(
                ("moves",),
                "a posterior draw made the chain numerically singular (a group of "
                "touchpoints is almost never left); give those touchpoints larger counts "
                "on their way out, or use a larger prior",
            )
        ]
    )
