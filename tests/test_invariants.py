"""Seeded random maps (50-300 touchpoints, loops, skips, backtracks, 3 competitors):
invariants, brute force and independent dense numpy (tests/_reference.py).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import journeygraph as jg

from ._reference import dense, sample_journeys
from .random_maps import random_map, random_map_data

CASES = [(50, 1, False), (120, 2, True), (300, 3, False), (300, 4, True)]


def _map(data: dict[str, Any]) -> jg.JourneyMap:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.JourneyMap(**data)


@pytest.mark.parametrize(("n", "seed", "staged"), CASES)
def test_invariants_and_dense_reference(n: int, seed: int, staged: bool) -> None:
    jm = random_map(n, seed=seed, stage_ordered=staged)
    res = jg.analyze(jm)
    d = dense(jm)
    # rows of B sum to 1 (B = N R, N from numpy's dense inverse)
    assert_allclose(res._B.sum(axis=1), 1.0, atol=1e-12)
    assert_allclose(res._B, d.B, atol=1e-12)
    assert_allclose(list(res.expected_visits.values()), d.entry @ d.N, rtol=1e-10, atol=1e-14)
    assert_allclose(list(res.visits_from_self.values()), np.diag(d.N), rtol=1e-10)
    # leak flows sum to churn, switching flows to each competitor's probability
    assert_allclose(sum(x.flow for x in res.leaks), res.churn_probability, rtol=1e-10)
    for o in jm.outcomes_of_kind("competitor"):
        total = sum(x.flow for x in res.switching if x.competitor == o.id)
        assert_allclose(total, res.outcome_probabilities[o.id], rtol=1e-10, atol=1e-15)
        by_stage = sum(row[o.id] for row in res.switching_by_stage.values())
        assert_allclose(by_stage, res.outcome_probabilities[o.id], rtol=1e-10, atol=1e-15)
    # every expected move is counted once: move flows sum to expected steps
    assert_allclose(sum(res.move_flows.values()), res.expected_steps, rtol=1e-10)
    flow = res.stage_flow
    assert_allclose(
        sum(flow.moves.values()) + sum(flow.exits.values()), res.expected_steps, rtol=1e-10
    )
    kinds = jm.move_kinds()
    back = sum(f for k, f in res.move_flows.items() if kinds[k] == "backtrack")
    assert_allclose(flow.backtracks_per_journey, back, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("n", "seed", "staged"), CASES[:3])
def test_solvers_agree(n: int, seed: int, staged: bool) -> None:
    jm = random_map(n, seed=seed, stage_ordered=staged)
    results = [jg.analyze(jm, method=m) for m in ("dense", "sparse", "iterative")]
    ref = results[0]
    for other in results[1:]:
        assert_allclose(other._B, ref._B, atol=1e-10)
        assert_allclose(other._visits, ref._visits, atol=1e-10)
        assert_allclose(list(other.steps_from.values()), list(ref.steps_from.values()), rtol=1e-10)
        assert_allclose(other._diagonal(), ref._diagonal(), rtol=1e-10)


def _without(data: dict[str, Any], k: str) -> dict[str, Any]:
    """Brute force: journeys that reach k are lost (k's moves replaced by k -> churn)."""
    moves = [m for m in data["moves"] if m["from"] != k]
    moves.append({"from": k, "to": "lost", "weight": 1.0})
    return {**data, "moves": moves}


@pytest.mark.parametrize(("n", "seed", "staged"), [(50, 5, False), (80, 6, True)])
def test_removal_effects_equal_brute_force(n: int, seed: int, staged: bool) -> None:
    data = random_map_data(n, seed=seed, stage_ordered=staged)
    jm = _map(data)
    res = jg.analyze(jm)
    p = res.conversion_probability
    for tp in jm.touchpoints:
        brute = dense(_map(_without(data, tp.id))).conversion(jm)
        assert_allclose(res.removal_effects[tp.id], 1 - brute / p, rtol=1e-9, atol=1e-12)


def _cut_churn(data: dict[str, Any], k: str, f: float, churn: set[str]) -> dict[str, Any]:
    """The edited map: k's churn weights times (1 - f), other exits scaled up to keep 1."""
    out = [m for m in data["moves"] if m["from"] == k]
    total = sum(m["weight"] for m in out)
    c = sum(m["weight"] for m in out if m["to"] in churn) / total
    alpha = f * c / (1 - c)
    moves = [m for m in data["moves"] if m["from"] != k]
    for m in out:
        scale = (1 - f) if m["to"] in churn else (1 + alpha)
        moves.append({**m, "weight": m["weight"] * scale})
    return {**data, "moves": moves}


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_sensitivity_equals_resolving_the_edited_map(fraction: float) -> None:
    data = random_map_data(60, seed=7, stage_ordered=True)
    jm = _map(data)
    res = jg.analyze(jm, fix_fraction=fraction)
    churn = {o.id for o in jm.outcomes_of_kind("churn")}
    assert res.sensitivity
    for s in res.sensitivity:
        new = dense(_map(_cut_churn(data, s.touchpoint, fraction, churn))).conversion(jm)
        assert_allclose(s.conversion, new, rtol=1e-9)
        assert_allclose(s.gain, new - res.conversion_probability, atol=1e-12)


def test_monte_carlo_agrees() -> None:
    jm = random_map(50, seed=11, stage_ordered=True)
    res = jg.analyze(jm)
    d = dense(jm)
    n = 100_000
    mc = sample_journeys(d, n, seed=11)
    # Binomial standard error; 5 sigma bounds (false alarm < 1e-6 per figure).
    for k, o in enumerate(d.outs):
        p = res.outcome_probabilities[o]
        assert abs(np.mean(mc["outcome"] == k) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12, o
    steps = mc["steps"]
    assert abs(steps.mean() - res.expected_steps) < 5 * steps.std() / np.sqrt(n)
    assert abs(steps.var() - res.steps_variance) < 0.05 * res.steps_variance


@st.composite
def small_maps(draw: st.DrawFn) -> dict[str, Any]:
    t = draw(st.integers(1, 6))
    weight = st.floats(0.01, 100)
    outs = ["buy", "lost", "rival"]
    moves = []
    for i in range(t):
        targets = draw(st.sets(st.sampled_from([f"t{j}" for j in range(t)] + outs), max_size=5))
        exit_to = draw(st.sampled_from(outs))
        for target in sorted(targets | {exit_to}):
            moves.append({"from": f"t{i}", "to": target, "weight": draw(weight)})
    return {
        "name": "h",
        "stages": [{"id": "a"}, {"id": "b"}],
        "touchpoints": [{"id": f"t{i}", "stage": "ab"[i % 2]} for i in range(t)],
        "outcomes": [
            {"id": "buy", "kind": "conversion"},
            {"id": "lost", "kind": "churn"},
            {"id": "rival", "kind": "competitor"},
        ],
        "entry": {"t0": 1.0},
        "moves": moves,
    }


@settings(max_examples=60, deadline=None)
@given(small_maps())
def test_property_random_small_maps(data: dict[str, Any]) -> None:
    jm = _map(data)
    res = jg.analyze(jm)
    d = dense(jm)
    assert_allclose(res._B.sum(axis=1), 1.0, atol=1e-9)
    assert_allclose(list(res.outcome_probabilities.values()), d.entry @ d.B, atol=1e-10)
    assert_allclose(sum(x.flow for x in res.leaks), res.churn_probability, atol=1e-10)
    assert_allclose(sum(x.flow for x in res.switching), res.competitor_probability, atol=1e-10)
    p = res.conversion_probability
    for tp in jm.touchpoints:
        brute = dense(_map(_without(data, tp.id))).conversion(jm)
        expected = 1 - brute / p if p > 0 else 0.0
        assert_allclose(res.removal_effects[tp.id], expected, atol=1e-9)
    values = res.to_dict()
    assert np.isfinite(values["expected_steps"]["mean"])
