"""jg.analyze on maps with known answers: the hand-solved tiny map, gambler's ruin,
Monte Carlo for time, near-singular maps, and the examples.

Sources of expected numbers are cited next to each assertion.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg

from ._reference import dense, sample_journeys
from .conftest import EXAMPLES

# -- the tiny map, solved by hand in tests/conftest.py --------------------------------


def test_tiny_outcomes_visits_absorption(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    # conftest.py: P(buy) = 35/88, P(gone) = 46/88, P(rival) = 7/88; v = (0.8, 0.7)/0.88
    assert_allclose(
        list(res.outcome_probabilities.values()), [35 / 88, 46 / 88, 7 / 88], rtol=1e-12
    )
    assert_allclose(res.conversion_probability, 35 / 88, rtol=1e-12)
    assert_allclose(res.churn_probability, 46 / 88, rtol=1e-12)
    assert_allclose(res.competitor_probability, 7 / 88, rtol=1e-12)
    assert_allclose(list(res.expected_visits.values()), [0.8 / 0.88, 0.7 / 0.88], rtol=1e-12)
    # B = N R with N = [[1, .6], [.2, 1]] / .88: row ad = (0.3, 0.52, 0.06) / 0.88
    assert_allclose(list(res.absorption("ad").values()), [0.3 / 0.88, 0.52 / 0.88, 0.06 / 0.88])
    assert_allclose(list(res.absorption("shop").values()), [0.5 / 0.88, 0.28 / 0.88, 0.1 / 0.88])
    for v in res.outcome_probabilities.values():
        assert type(v) is float


def test_tiny_steps_and_variance(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    # s = N 1 = (1.6, 1.2)/0.88; second moment (2N - I)s, computed here in exact fractions.
    N = [[F(1) / F(88, 100), F(6, 10) / F(88, 100)], [F(2, 10) / F(88, 100), F(1) / F(88, 100)]]
    s = [N[0][0] + N[0][1], N[1][0] + N[1][1]]
    m2 = [2 * (N[i][0] * s[0] + N[i][1] * s[1]) - s[i] for i in range(2)]
    entry = [F(3, 4), F(1, 4)]
    mean = sum(e * x for e, x in zip(entry, s, strict=True))
    var = sum(e * x for e, x in zip(entry, m2, strict=True)) - mean**2
    assert_allclose(res.expected_steps, float(mean), rtol=1e-12)
    assert_allclose(res.steps_variance, float(var), rtol=1e-12)
    assert_allclose(list(res.steps_from.values()), [float(x) for x in s], rtol=1e-12)
    assert_allclose(
        list(res.steps_variance_from.values()),
        [float(m2[i] - s[i] ** 2) for i in range(2)],
        rtol=1e-12,
    )


def test_tiny_leaks_switching_removal(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    # churn flows: ad 0.4 * v_ad = 0.32/0.88, shop 0.2 * v_shop = 0.14/0.88
    assert [x.touchpoint for x in res.leaks] == ["ad", "shop"]
    assert_allclose([x.flow for x in res.leaks], [0.32 / 0.88, 0.14 / 0.88], rtol=1e-12)
    assert_allclose([x.share for x in res.leaks], [32 / 46, 14 / 46], rtol=1e-12)
    assert [x.exit_rate for x in res.leaks] == pytest.approx([0.4, 0.2], rel=1e-12)
    (switch,) = res.switching
    assert (switch.touchpoint, switch.competitor) == ("shop", "rival")
    assert_allclose([switch.flow, switch.share], [7 / 88, 1.0], rtol=1e-12)
    assert res.switching_by_stage == {
        "aware": {"rival": 0.0},
        "act": {"rival": pytest.approx(7 / 88, rel=1e-12)},
    }
    # Removing ad: entrants at ad (3/4) are lost; from shop, b_shop - h(shop->ad) b_ad
    # = 0.5/0.88 - 0.2 * 0.3/0.88 = 0.5, so P = 1/4 * 0.5 = 1/8 (by hand).
    assert_allclose(res.removal_effects["ad"], 1 - (1 / 8) / (35 / 88), rtol=1e-12)
    # Removing shop: every conversion passes through shop.
    assert_allclose(res.removal_effects["shop"], 1.0, rtol=1e-12)
    # Move flows: v_i P_ij; stage flow aware->act = v_ad * 0.6, act->aware = v_shop * 0.2
    assert_allclose(res.move_flows[("ad", "shop")], 0.8 / 0.88 * 0.6, rtol=1e-12)
    assert_allclose(res.stage_flow.moves[("act", "aware")], 0.7 / 0.88 * 0.2, rtol=1e-12)
    assert_allclose(res.stage_flow.backtracks_per_journey, 0.7 / 0.88 * 0.2, rtol=1e-12)
    assert_allclose(res.stage_flow.rates["forward"], 0.48 / (0.48 + 0.14), rtol=1e-12)


def test_tiny_sensitivity_by_hand(tiny: jg.JourneyMap) -> None:
    # Cut ad's churn by 10%: ad -> shop 0.6 + 0.04, ad -> gone 0.36. Re-solved by hand:
    # b_shop = 0.5 + 0.2 b_ad, b_ad = 0.64 b_shop -> b_shop = 0.5/0.872, b_ad = 0.32/0.872
    res = jg.analyze(tiny)
    by_tp = {s.touchpoint: s for s in res.sensitivity}
    new = 0.75 * 0.32 / 0.872 + 0.25 * 0.5 / 0.872
    assert_allclose(by_tp["ad"].conversion, new, rtol=1e-12)
    assert_allclose(by_tp["ad"].gain, new - 35 / 88, rtol=1e-10)
    assert res.sensitivity == tuple(sorted(res.sensitivity, key=lambda s: -s.gain))


def test_entry_override(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny, entry="shop")
    assert_allclose(list(res.outcome_probabilities.values()), [0.5 / 0.88, 0.28 / 0.88, 0.1 / 0.88])
    res = jg.analyze(tiny, entry={"ad": 3, "shop": 1})
    assert_allclose(res.conversion_probability, 35 / 88, rtol=1e-12)
    with pytest.raises(jg.MapError, match="did you mean 'shop'"):
        jg.analyze(tiny, entry="shpo")
    with pytest.raises(jg.MapError, match="did you mean 'shop'"):
        jg.analyze(tiny).absorption("shpo")


# -- gambler's ruin / symmetric random walk (Feller, vol. 1, ch. XIV) ----------------


def _walk(n: int, p: float, start: int) -> jg.JourneyMap:
    """States 1..n-1; up with p (to n = conversion), down with 1-p (to 0 = churn)."""

    def node(k: int) -> str:
        return "win" if k == n else "lose" if k == 0 else f"s{k}"

    moves = []
    for k in range(1, n):
        moves.append({"from": f"s{k}", "to": node(k + 1), "weight": p})
        moves.append({"from": f"s{k}", "to": node(k - 1), "weight": 1 - p})
    return jg.JourneyMap(
        name="walk",
        stages=[{"id": f"st{k}"} for k in range(1, n)],
        touchpoints=[{"id": f"s{k}", "stage": f"st{k}"} for k in range(1, n)],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lose", "kind": "churn"}],
        entry={f"s{start}": 1},
        moves=moves,
    )


@pytest.mark.parametrize("method", ["dense", "sparse", "iterative"])
def test_symmetric_random_walk_closed_forms(method: str) -> None:
    n, start = 12, 4
    res = jg.analyze(_walk(n, 0.5, start), method=method)  # type: ignore[arg-type]
    i = np.arange(1, n)
    # P(win from i) = i/n; E[T] = i(n-i); Var[T] = i(n-i)((n-i)^2 + i^2 - 2)/3 (Feller XIV.3)
    assert_allclose([res.absorption(f"s{k}")["win"] for k in i], i / n, rtol=1e-12)
    assert_allclose(list(res.steps_from.values()), i * (n - i), rtol=1e-12)
    var = i * (n - i) * ((n - i) ** 2 + i**2 - 2) / 3
    assert_allclose(list(res.steps_variance_from.values()), var, rtol=1e-12)
    assert_allclose(res.steps_variance, var[start - 1], rtol=1e-12)
    # Green's function N_ij = 2 min(i,j)(n - max(i,j))/n: visits from `start`.
    green = 2 * np.minimum(start, i) * (n - np.maximum(start, i)) / n
    assert_allclose(list(res.expected_visits.values()), green, rtol=1e-12)
    # diag N_kk = 2k(n-k)/n
    assert_allclose(list(res.visits_from_self.values()), 2 * i * (n - i) / n, rtol=1e-12)


def test_gamblers_ruin_biased() -> None:
    n, p, start = 10, 0.4, 3
    res = jg.analyze(_walk(n, p, start))
    r = (1 - p) / p
    i = np.arange(1, n)
    win = (1 - r**i) / (1 - r**n)  # Feller XIV.2
    steps = i / (1 - 2 * p) - n / (1 - 2 * p) * win  # Feller XIV.3 (q != p)
    assert_allclose([res.absorption(f"s{k}")["win"] for k in i], win, rtol=1e-12)
    assert_allclose(list(res.steps_from.values()), steps, rtol=1e-12)
    assert_allclose(res.conversion_probability, win[start - 1], rtol=1e-12)


# -- expected time: Monte Carlo ------------------------------------------------------


def test_expected_time_matches_monte_carlo() -> None:
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    res = jg.analyze(jm)
    assert res.expected_time is not None
    d = dense(jm)
    n = 200_000
    mc = sample_journeys(d, n, seed=20240501)
    kinds = {o.id: o.kind for o in jm.outcomes}
    # 5 standard errors: a false alarm has probability < 1e-6 per figure.
    t = mc["time"]
    assert abs(res.expected_time.mean - t.mean()) < 5 * t.std() / np.sqrt(n)
    for kind, exact in res.expected_time.by_kind.items():
        mask = np.array([kinds[d.outs[k]] == kind for k in mc["outcome"]])
        sel = t[mask]
        assert abs(exact - sel.mean()) < 5 * sel.std() / np.sqrt(mask.sum()), kind
    # the mean time from each touchpoint: exact dense N (P∘D)1
    step_hours = (d.Q * d.D_Q).sum(1) + (d.R * d.D_R).sum(1)
    assert_allclose(list(res.expected_time.from_touchpoint.values()), d.N @ step_hours, rtol=1e-10)
    steps = mc["steps"]
    assert abs(res.expected_steps - steps.mean()) < 5 * steps.std() / np.sqrt(n)


def test_no_durations_no_time(tiny: jg.JourneyMap) -> None:
    assert jg.analyze(tiny).expected_time is None


# -- ill-posed and near-singular -----------------------------------------------------


def _looped(stay: float, leave: float) -> jg.JourneyMap:
    return jg.JourneyMap(
        name="sticky",
        stages=[{"id": "s"}],
        touchpoints=[
            {"id": "a", "stage": "s"},
            {"id": "b", "stage": "s"},
            {"id": "c", "stage": "s"},
        ],
        outcomes=[{"id": "buy", "kind": "conversion"}, {"id": "gone", "kind": "churn"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "b", "weight": 1},
            {"from": "a", "to": "gone", "weight": 1},
            {"from": "b", "to": "c", "weight": stay},
            {"from": "c", "to": "b", "weight": stay},
            {"from": "c", "to": "buy", "weight": leave},
        ],
    )


def test_near_singular_group_is_named() -> None:
    with pytest.raises(jg.NotAbsorbingError, match=r"'b', 'c'.*below 1e-12"):
        jg.analyze(_looped(1e15, 1e-3))


def test_sticky_but_resolvable_group_is_fine() -> None:
    res = jg.analyze(_looped(1e6, 1.0))
    # a -> b w.p. 1/2, from b conversion is certain: P(buy) = 1/2 (by hand)
    assert_allclose(res.conversion_probability, 0.5, rtol=1e-9)
    assert all(np.isfinite(list(res.expected_visits.values())))


def test_trapped_map_is_refused_before_analysis() -> None:
    with pytest.raises(jg.NotAbsorbingError, match="'b', 'c'"):
        _looped(1.0, 0.0)


# -- export ---------------------------------------------------------------------------


def test_to_dict_is_json_ready(tiny: jg.JourneyMap) -> None:
    d = jg.analyze(tiny).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["outcome_probabilities"]["buy"] == pytest.approx(35 / 88, rel=1e-12)
    assert {r["touchpoint"] for r in d["touchpoints"]} == {"ad", "shop"}


def test_to_frame(tiny: jg.JourneyMap) -> None:
    pytest.importorskip("pandas")
    res = jg.analyze(tiny)
    leaks = res.to_frame("leaks")
    assert list(leaks.columns) == ["touchpoint", "flow", "share", "exit_rate"]
    assert leaks["flow"].sum() == pytest.approx(46 / 88, rel=1e-12)
    for name in (
        "outcomes",
        "touchpoints",
        "switching",
        "switching_by_stage",
        "removal_effects",
        "sensitivity",
        "stage_flow",
        "move_flows",
    ):
        assert len(res.to_frame(name)) > 0, name
    with pytest.raises(ValueError, match="did you mean 'leaks'"):
        res.to_frame("leak")


def test_to_frame_without_pandas(tiny: jg.JourneyMap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(jg.MissingDependencyError, match=r"pip install 'journeygraph\[pandas\]'"):
        jg.analyze(tiny).to_frame("leaks")


# -- the examples -------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_analyse(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    d = dense(jm)
    # against dense numpy built straight from the file's moves
    assert_allclose(list(res.outcome_probabilities.values()), d.entry @ d.B, rtol=1e-10)
    assert_allclose(list(res.expected_visits.values()), d.entry @ d.N, rtol=1e-10)
    assert sum(x.flow for x in res.leaks) == pytest.approx(res.churn_probability, rel=1e-10)
    data: dict[str, Any] = res.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data


# -- tables built on first access (leaks, switching, move flows) -------------------------


@pytest.mark.parametrize("staged", [False, True])
def test_lazy_tables_equal_the_dense_reference_and_are_cached(staged: bool) -> None:
    from .random_maps import random_map

    jm = random_map(200, seed=7, stage_ordered=staged)
    res = jg.analyze(jm)
    d = dense(jm)  # N from numpy's dense inverse (tests/_reference.py)
    v = d.entry @ d.N
    churn = d.R[:, d.kind_cols(jm, "churn")].sum(axis=1)
    flow = v * churn
    # The documented rank: largest flow first, ties in map order.
    ranked = sorted((i for i in range(len(d.tps)) if flow[i] > 0), key=lambda i: (-flow[i], i))
    assert [x.touchpoint for x in res.leaks] == [d.tps[i] for i in ranked]
    assert_allclose([x.flow for x in res.leaks], flow[ranked], rtol=1e-10)
    assert_allclose([x.exit_rate for x in res.leaks], churn[ranked], rtol=1e-15)
    rivals = [o.id for o in jm.outcomes_of_kind("competitor")]
    pairs = [
        (-v[i] * d.R[i, d.outs.index(o)], i, o, v[i] * d.R[i, d.outs.index(o)])
        for i in range(len(d.tps))
        for o in rivals
        if d.R[i, d.outs.index(o)] > 0 and v[i] > 0
    ]
    want = [(d.tps[i], o) for _, i, o, _ in sorted(pairs)]
    assert [(s.touchpoint, s.competitor) for s in res.switching] == want
    moves = {(a, b): v[i] * d.Q[i, j] for i, a in enumerate(d.tps) for j, b in enumerate(d.tps)}
    for (a, b), f in res.move_flows.items():
        if b in d.tps:
            assert_allclose(f, moves[(a, b)], rtol=1e-10, atol=1e-300)
    assert res.leaks is res.leaks and res.switching is res.switching
    assert res.move_flows is res.move_flows
