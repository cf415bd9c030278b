"""Self-loops are solved exactly (journeygraph.chain.loop_free), whatever their weight.

Reference: every figure recomputed here in exact rational arithmetic
(``fractions.Fraction``) straight from the map's integer weights, by Gauss–Jordan
elimination of ``I - Q`` *with* the self-loops (no loop-free trick), so a loop of weight
1e12 (``Q_ii = 1 - 1e-12``) is checked against the definition, not against the method.
Removal effects and sensitivity are checked by re-solving the changed chain exactly.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph import uncertainty

F = Fraction

# tiny (tests/data/good/tiny.yaml, solved by hand in conftest) plus a self-loop on each
# touchpoint and a mean duration on every move, loops included.
STAGES = [{"id": "aware", "name": "Aware"}, {"id": "act", "name": "Act"}]
TOUCHPOINTS = [
    {"id": "ad", "name": "Ad", "stage": "aware"},
    {"id": "shop", "name": "Shop", "stage": "act"},
]
OUTCOMES = [
    {"id": "buy", "name": "Buy", "kind": "conversion"},
    {"id": "gone", "name": "Gone", "kind": "churn"},
    {"id": "rival", "name": "Rival", "kind": "competitor"},
]
BASE = [  # (from, to, weight, hours)
    ("ad", "shop", 6, 2),
    ("ad", "gone", 4, 1),
    ("shop", "buy", 5, 3),
    ("shop", "ad", 2, 5),
    ("shop", "rival", 1, 7),
    ("shop", "gone", 2, 11),
]
TPS = ["ad", "shop"]
OUTS = ["buy", "gone", "rival"]
KIND = {"buy": "conversion", "gone": "churn", "rival": "competitor"}
ENTRY = {"ad": 3, "shop": 1}


def _moves(loop_ad: int, loop_shop: int) -> list[tuple[str, str, int, int]]:
    moves = list(BASE)
    if loop_ad:
        moves.append(("ad", "ad", loop_ad, 13))
    if loop_shop:
        moves.append(("shop", "shop", loop_shop, 17))
    return moves


def _map(moves: list[tuple[str, str, int, int]]) -> jg.JourneyMap:
    return jg.JourneyMap.model_validate(
        {
            "name": "loops",
            "stages": STAGES,
            "touchpoints": TOUCHPOINTS,
            "outcomes": OUTCOMES,
            "entry": ENTRY,
            "moves": [
                {"from": a, "to": b, "weight": float(w), "duration": {"mean": h, "unit": "hour"}}
                for a, b, w, h in moves
            ],
        }
    )


def _inverse(A: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse by Gauss–Jordan elimination."""
    n = len(A)
    M = [row[:] + [F(int(i == j)) for j in range(n)] for i, row in enumerate(A)]
    for c in range(n):
        p = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        piv = M[c][c]
        M[c] = [x / piv for x in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c], strict=True)]
    return [row[n:] for row in M]


class Exact:
    """Every figure of an analysis, in exact arithmetic, from the weights."""

    def __init__(self, moves: list[tuple[str, str, int, int]], states: list[str] = TPS) -> None:
        self.tps = states
        total = {s: sum(F(w) for a, _, w, _ in moves if a == s) for s in states}
        self.P = {(a, b): F(w) / total[a] for a, b, w, _ in moves if a in states}
        self.D = {(a, b): F(h) for a, b, _, h in moves}
        t = len(states)
        Q = [[self.P.get((a, b), F(0)) for b in states] for a in states]
        self.N = _inverse([[F(int(i == j)) - Q[i][j] for j in range(t)] for i in range(t)])
        e_total = sum(F(ENTRY[s]) for s in states if s in ENTRY)
        self.entry = [F(ENTRY.get(s, 0)) / e_total for s in states]

    def nvec(self, c: list[Fraction]) -> list[Fraction]:
        return [sum((n * x for n, x in zip(row, c, strict=True)), F(0)) for row in self.N]

    def visits(self) -> list[Fraction]:
        t = len(self.tps)
        return [sum((self.entry[i] * self.N[i][j] for i in range(t)), F(0)) for j in range(t)]

    def absorb(self, outcome: str) -> list[Fraction]:
        return self.nvec([self.P.get((s, outcome), F(0)) for s in self.tps])

    def prob(self, outcome: str) -> Fraction:
        return sum((e * b for e, b in zip(self.entry, self.absorb(outcome), strict=True)), F(0))

    def steps(self) -> list[Fraction]:
        return self.nvec([F(1)] * len(self.tps))

    def variance_from(self) -> list[Fraction]:
        s = self.steps()
        second = [2 * x - y for x, y in zip(self.nvec(s), s, strict=True)]
        return [a - b * b for a, b in zip(second, s, strict=True)]

    def hours(self) -> list[Fraction]:
        return self.nvec(
            [
                sum((p * self.D[(a, b)] for (a, b), p in self.P.items() if a == s), F(0))
                for s in self.tps
            ]
        )

    def time_by_kind(self, kind: str) -> Fraction:
        outs = [o for o in OUTS if KIND[o] == kind]
        b = [sum(x) for x in zip(*(self.absorb(o) for o in outs), strict=True)]
        pos = {s: i for i, s in enumerate(self.tps)}
        c = []
        for s in self.tps:
            total = F(0)
            for (a, z), p in self.P.items():
                if a != s:
                    continue
                if z in pos:
                    total += p * self.D[(a, z)] * b[pos[z]]
                elif z in outs:
                    total += p * self.D[(a, z)]
            c.append(total)
        w = self.nvec(c)
        pk = sum((e * x for e, x in zip(self.entry, b, strict=True)), F(0))
        return sum((e * x for e, x in zip(self.entry, w, strict=True)), F(0)) / pk


def _conversion(exact: Exact) -> Fraction:
    return exact.prob("buy")


CASES = {
    "moderate": (1, 3),
    "large": (10**9, 7),
    "huge": (5, 10**12),
    "both huge": (10**11, 10**12),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(
    request: pytest.FixtureRequest,
) -> tuple[jg.Analysis, Exact, list[tuple[str, str, int, int]]]:
    moves = _moves(*CASES[request.param])
    return jg.analyze(_map(moves)), Exact(moves), moves


def test_every_figure_equals_exact_fractions(
    case: tuple[jg.Analysis, Exact, list[tuple[str, str, int, int]]],
) -> None:
    res, ex, _ = case
    for o in OUTS:
        assert res.outcome_probabilities[o] == pytest.approx(float(ex.prob(o)), rel=1e-12)
        for i, tp in enumerate(TPS):
            assert res.absorption(tp)[o] == pytest.approx(float(ex.absorb(o)[i]), rel=1e-11)
    visits, steps, var = ex.visits(), ex.steps(), ex.variance_from()
    for i, tp in enumerate(TPS):
        assert res.expected_visits[tp] == pytest.approx(float(visits[i]), rel=1e-11)
        assert res.steps_from[tp] == pytest.approx(float(steps[i]), rel=1e-11)
        assert res.steps_variance_from[tp] == pytest.approx(float(var[i]), rel=1e-9)
        assert res.visits_from_self[tp] == pytest.approx(float(ex.N[i][i]), rel=1e-11)
    mean_steps = sum((e * s for e, s in zip(ex.entry, steps, strict=True)), F(0))
    assert res.expected_steps == pytest.approx(float(mean_steps), rel=1e-11)
    assert res.expected_time is not None
    hours = ex.hours()
    for i, tp in enumerate(TPS):
        assert res.expected_time.from_touchpoint[tp] == pytest.approx(float(hours[i]), rel=1e-11)
    for kind in ("conversion", "churn", "competitor"):
        assert res.expected_time.by_kind[kind] == pytest.approx(
            float(ex.time_by_kind(kind)), rel=1e-9
        )


def test_flows_leaks_and_switching_are_exact(
    case: tuple[jg.Analysis, Exact, list[tuple[str, str, int, int]]],
) -> None:
    res, ex, _ = case
    visits = dict(zip(TPS, ex.visits(), strict=True))
    for (a, b), p in ex.P.items():
        assert res.move_flows[(a, b)] == pytest.approx(float(visits[a] * p), rel=1e-11)
    leaks = {x.touchpoint: x for x in res.leaks}
    for tp in TPS:
        p = ex.P.get((tp, "gone"), F(0))
        assert leaks[tp].flow == pytest.approx(float(visits[tp] * p), rel=1e-11)
        assert leaks[tp].exit_rate == pytest.approx(float(p), rel=1e-12)
    (switch,) = res.switching
    assert switch.flow == pytest.approx(float(visits["shop"] * ex.P[("shop", "rival")]), rel=1e-11)
    # A self-loop is a move within its stage: it counts in the stage flow.
    within = sum(float(visits[a] * p) for (a, b), p in ex.P.items() if a == b)
    assert res.stage_flow.per_journey["within"] == pytest.approx(within, rel=1e-11)


def test_removal_effects_equal_resolving_without_the_touchpoint(
    case: tuple[jg.Analysis, Exact, list[tuple[str, str, int, int]]],
) -> None:
    # Journeys through k are lost: solve the chain with k made absorbing (not converting).
    res, ex, moves = case
    base = _conversion(ex)
    for k in TPS:
        others = [s for s in TPS if s != k]
        kept = [m for m in moves if m[0] != k]
        without = Exact(kept, others)
        # Rows of the other touchpoints keep their totals; a move into k is lost.
        total = {s: sum(F(w) for a, _, w, _ in moves if a == s) for s in others}
        without.P = {(a, b): F(w) / total[a] for a, b, w, _ in kept if b != k}
        t = len(others)
        Qk = [[without.P.get((a, b), F(0)) for b in others] for a in others]
        without.N = _inverse([[F(int(i == j)) - Qk[i][j] for j in range(t)] for i in range(t)])
        e_total = sum(F(w) for w in ENTRY.values())
        without.entry = [F(ENTRY.get(s, 0)) / e_total for s in others]
        expected = 1 - without.prob("buy") / base
        assert res.removal_effects[k] == pytest.approx(float(expected), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_sensitivity_equals_resolving_the_cut_row(
    case: tuple[jg.Analysis, Exact, list[tuple[str, str, int, int]]], fraction: float
) -> None:
    # Cut row i's churn by f and scale its other moves (the loop too) to keep the total.
    res, ex, moves = case
    base = _conversion(ex)
    f = F(fraction)
    by_tp = {s.touchpoint: s for s in res.sensitivity_at(fraction)}
    for tp in TPS:
        c = ex.P[(tp, "gone")]
        alpha = f * c / (1 - c)
        cut = Exact(moves)
        cut.P = {
            (a, b): (p * (1 - f) if b == "gone" else p * (1 + alpha)) if a == tp else p
            for (a, b), p in ex.P.items()
        }
        Q = [[cut.P.get((a, b), F(0)) for b in TPS] for a in TPS]
        cut.N = _inverse([[F(int(i == j)) - Q[i][j] for j in range(2)] for i in range(2)])
        gain = cut.prob("buy") - base
        assert by_tp[tp].churn_exit == pytest.approx(float(c), rel=1e-12)
        assert by_tp[tp].gain == pytest.approx(float(gain), rel=1e-8, abs=1e-15)


def test_moderate_loops_match_the_unreduced_dense_solve() -> None:
    # The figures before loop_free: dense inv(I - Q) with the loops in Q (tests/_reference).
    from ._reference import dense

    jm = _map(_moves(1, 3))
    ref = dense(jm)
    res = jg.analyze(jm)
    assert_allclose(
        [res.expected_visits[t] for t in ref.tps], ref.entry @ ref.N, rtol=1e-12, atol=0
    )
    assert res.conversion_probability == pytest.approx(ref.conversion(jm), rel=1e-12)
    assert_allclose([res.visits_from_self[t] for t in ref.tps], np.diag(ref.N), rtol=1e-12)


@pytest.mark.parametrize("method", ["dense", "sparse", "iterative"])
def test_every_solver_treats_a_huge_loop_exactly(method: str) -> None:
    moves = _moves(5, 10**12)
    ex = Exact(moves)
    res = jg.analyze(_map(moves), method=method)  # type: ignore[arg-type]
    dense = jg.analyze(_map(moves), method="dense")  # checked against fractions above
    assert res.expected_visits["shop"] == pytest.approx(float(ex.visits()[1]), rel=1e-10)
    for tp in TPS:
        assert res.removal_effects[tp] == pytest.approx(dense.removal_effects[tp], rel=1e-10)
    assert res.visits_from_self["shop"] == pytest.approx(float(ex.N[1][1]), rel=1e-10)


def test_a_touchpoint_with_only_a_vanishing_way_out_is_refused_by_name() -> None:
    # 1e300 against 1e-300: the way out is beyond float64, so the loop is all there is.
    jm = jg.JourneyMap.model_validate(
        {
            "name": "stuck",
            "stages": STAGES,
            "touchpoints": TOUCHPOINTS,
            "outcomes": OUTCOMES,
            "entry": {"ad": 1},
            "moves": [
                {"from": "ad", "to": "shop", "weight": 1.0},
                {"from": "shop", "to": "shop", "weight": 1e300},
                {"from": "shop", "to": "buy", "weight": 1e-300},
            ],
        }
    )
    with pytest.raises(jg.NotAbsorbingError, match="'shop'") as info:
        jg.analyze(jm)
    assert "'ad'" not in str(info.value)


def test_credible_intervals_with_a_huge_loop_match_the_unreduced_draws() -> None:
    # Per draw, visits from the loop-free solve equal a dense solve of I - Q with the
    # loop (a moderate loop, where that solve is well conditioned), and a 1e12 loop
    # gives finite intervals in both the batched and the draw-by-draw solvers.
    jm = _map(_moves(1, 3))
    pattern = uncertainty._Pattern(jm)
    probs, entry, leave = pattern.sample(np.random.default_rng(4), 20, 0.5, True)
    visits, _ = uncertainty._solve_batched(pattern, probs, entry, leave, False)
    for d in range(20):
        A = np.eye(2)
        np.subtract.at(
            A, (pattern.source[pattern.q], pattern.target[pattern.q]), probs[d, pattern.q]
        )
        assert_allclose(visits[d], np.linalg.solve(A.T, entry[d]), rtol=1e-12)
    huge = _map(_moves(5, 10**12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        a = jg.credible_intervals(huge, draws=200, seed=3, removal_effects=True)
        b = jg.credible_intervals(huge, draws=200, seed=3, removal_effects=True, method="sparse")
    assert a.expected_steps.mean > 1e10
    assert a.expected_steps.mean == pytest.approx(b.expected_steps.mean, rel=1e-9)
    assert a.conversion_probability.mean == pytest.approx(b.conversion_probability.mean, rel=1e-12)
    assert a.removal_effects is not None and b.removal_effects is not None
    for tp in TPS:
        assert a.removal_effects[tp].mean == pytest.approx(b.removal_effects[tp].mean, rel=1e-9)
