"""jg.top_paths and jg.path_probability against brute-force enumeration.

References: every journey of at most L moves is enumerated by depth-first search over
the dense Q and R of the chain (tests/_sim_maps.py), its probability the product of
entry and move probabilities. The total probability of the journeys of at most L moves
into outcome k is exactly π0 (Σ_{m<L} Q^m) R e_k (the absorbing chain, DESIGN.md), which
tends to the absorption probability π0 N R e_k as L grows.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg

from ._sim_maps import Dense, dense, random_map


def brute_force(
    d: Dense, targets: set[int], max_length: int
) -> list[tuple[tuple[int, ...], int, float]]:
    """Every journey (touchpoints, outcome index, probability) of at most max_length moves."""
    out: list[tuple[tuple[int, ...], int, float]] = []
    t = len(d.touchpoints)

    def walk(path: tuple[int, ...], prob: float) -> None:
        i = path[-1]
        for k in targets:
            if d.R[i, k] > 0:
                out.append((path, k, prob * d.R[i, k]))
        if len(path) < max_length:
            for j in range(t):
                if d.Q[i, j] > 0:
                    walk((*path, j), prob * d.Q[i, j])

    for i in range(t):
        if d.entry[i] > 0:
            walk((i,), d.entry[i])
    return out


def within_bound(d: Dense, k: int, max_length: int) -> float:
    """π0 (Σ_{m<L} Q^m) R e_k: probability of ending in k within L moves."""
    total, power = 0.0, d.entry.copy()
    for _ in range(max_length):
        total += power @ d.R[:, k]
        power = power @ d.Q
    return float(total)


def _dense_loop_map(seed: int) -> jg.JourneyMap:
    # 3 touchpoints; every touchpoint-to-touchpoint move (loops, backtracks) and every
    # move to 'win' exists.
    jm = random_map(seed, 3, competitors=1, stages=2)
    moves = [m.model_dump(by_alias=True) for m in jm.moves]
    have = {(m["from"], m["to"]) for m in moves}
    rng = np.random.default_rng(seed)
    for a in ("t0", "t1", "t2"):
        for b in ("t0", "t1", "t2", "win"):
            if (a, b) not in have:
                moves.append({"from": a, "to": b, "weight": float(rng.integers(1, 20))})
    data = jm.model_dump(by_alias=True)
    data["moves"] = moves
    return jg.JourneyMap.model_validate(data)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("outcome", [None, "conversion", "churn", "lost"])
def test_top_paths_equal_brute_force(seed: int, outcome: str | None) -> None:
    jm = _dense_loop_map(seed)
    d = dense(jm)
    wanted = {
        None: set(range(len(d.outcomes))),
        "conversion": {d.outcomes.index("win")},
        "churn": {d.outcomes.index("lost"), d.outcomes.index("idle")},
        "lost": {d.outcomes.index("lost")},
    }[outcome]
    max_length = 6
    every = brute_force(d, wanted, max_length)
    every.sort(key=lambda x: -x[2])
    k = 25
    got = jg.top_paths(jm, outcome, k=k, max_length=max_length)
    assert len(got) == k
    assert_allclose([p.probability for p in got], [x[2] for x in every[:k]], rtol=1e-12)
    # each returned journey is a real one with the stated probability
    lookup = {(tuple(d.touchpoints[i] for i in path), d.outcomes[o]): p for path, o, p in every}
    for path in got:
        assert path.moves <= max_length
        assert_allclose(path.probability, lookup[(path.touchpoints, path.outcome)], rtol=1e-12)
        assert_allclose(
            jg.path_probability(jm, path.touchpoints, path.outcome), path.probability, rtol=1e-12
        )
    # no duplicates
    assert len({(p.touchpoints, p.outcome) for p in got}) == k


def test_all_paths_sum_to_the_bounded_absorption_and_converge() -> None:
    jm = _dense_loop_map(4)
    d = dense(jm)
    win = d.outcomes.index("win")
    exact = float(d.outcome_probabilities[win])
    previous = 0.0
    for max_length in (1, 2, 4, 6):
        paths = jg.top_paths(jm, "win", k=10**6, max_length=max_length)
        total = sum(p.probability for p in paths)
        assert len(paths) == len(brute_force(d, {win}, max_length))
        assert_allclose(total, within_bound(d, win, max_length), rtol=1e-12)
        assert previous <= total <= exact + 1e-15
        previous = total


def test_path_sums_converge_to_absorption_on_the_tiny_map(tiny: jg.JourneyMap) -> None:
    # In tiny, ad and shop alternate, so there are few journeys and L can be large.
    d = dense(tiny)
    gaps = []
    for max_length in (5, 20, 80):
        paths = jg.top_paths(tiny, "buy", k=10**6, max_length=max_length)
        total = sum(p.probability for p in paths)
        assert_allclose(total, within_bound(d, 0, max_length), rtol=1e-12)
        gaps.append(35 / 88 - total)  # P(buy) = 35/88, tests/conftest.py
    assert gaps[0] > gaps[1] > gaps[2] >= 0
    assert gaps[2] < 1e-12


def test_tiny_top_paths_by_hand(tiny: jg.JourneyMap) -> None:
    # entry ad 0.75, shop 0.25; ad->shop 0.6, shop->buy 0.5, shop->ad 0.2 (conftest)
    got = jg.top_paths(tiny, "buy", k=3)
    assert [(p.touchpoints, p.outcome) for p in got] == [
        (("ad", "shop"), "buy"),
        (("shop",), "buy"),
        (("ad", "shop", "ad", "shop"), "buy"),
    ]
    assert_allclose(
        [p.probability for p in got],
        [0.75 * 0.6 * 0.5, 0.25 * 0.5, 0.75 * 0.6 * 0.2 * 0.6 * 0.5],
        rtol=1e-14,
    )
    assert got[0].to_dict() == {
        "touchpoints": ["ad", "shop"],
        "outcome": "buy",
        "probability": got[0].probability,
    }
    assert str(got[0]) == "ad → shop → buy  (0.225)"
    # entry override: start at shop
    assert jg.top_paths(tiny, "buy", k=1, entry="shop")[0].probability == pytest.approx(0.5)


def test_max_length_bounds_the_journeys(tiny: jg.JourneyMap) -> None:
    got = jg.top_paths(tiny, "buy", k=100, max_length=3)
    assert {p.touchpoints for p in got} == {("shop",), ("ad", "shop"), ("shop", "ad", "shop")}


def test_random_map_top_paths_bounded_by_absorption() -> None:
    jm = random_map(8, 60, competitors=3)
    d = dense(jm)
    got = jg.top_paths(jm, "competitor", k=50, max_length=12)
    assert len(got) == 50
    probs = [p.probability for p in got]
    assert probs == sorted(probs, reverse=True)
    comp = [i for i, o in enumerate(d.outcomes) if o.startswith("rival")]
    assert sum(probs) <= d.outcome_probabilities[comp].sum()
    for p in got[:10]:
        expected = d.entry[d.touchpoints.index(p.touchpoints[0])]
        for a, b in zip(p.touchpoints, p.touchpoints[1:], strict=False):
            expected *= d.Q[d.touchpoints.index(a), d.touchpoints.index(b)]
        expected *= d.R[d.touchpoints.index(p.touchpoints[-1]), d.outcomes.index(p.outcome)]
        assert_allclose(p.probability, expected, rtol=1e-12)


def test_bad_arguments(tiny: jg.JourneyMap) -> None:
    with pytest.raises(jg.MapError, match=r"unknown outcome 'buyy'.*did you mean 'buy'"):
        jg.top_paths(tiny, "buyy")
    jm = jg.load("tests/data/good/tiny_doctest.yaml")
    with pytest.raises(jg.MapError, match="no competitor outcome"):
        jg.top_paths(jm, "competitor")
    with pytest.raises(ValueError, match="k must be a whole number >= 1"):
        jg.top_paths(tiny, k=0)
    with pytest.raises(ValueError, match="max_length must be"):
        jg.top_paths(tiny, max_length=-2)
    with pytest.raises(jg.MapError, match="unknown touchpoint 'shpo'"):
        jg.path_probability(tiny, ["ad", "shpo"], "buy")
    with pytest.raises(jg.MapError, match="unknown outcome"):
        jg.path_probability(tiny, ["ad"], "nope")


def test_expansion_limit_warns_and_keeps_exact_prefix(tiny: jg.JourneyMap) -> None:
    full = jg.top_paths(tiny, "buy", k=10, max_length=40)
    with pytest.warns(jg.JourneyGraphWarning, match="stopped after 3 expansions"):
        part = jg.top_paths(tiny, "buy", k=10, max_length=40, max_expansions=3)
    assert 0 < len(part) < 10
    assert part == full[: len(part)]
