"""jg.simulate: structure of the event log, and Monte Carlo against the exact chain.

Every expected number is computed independently with dense numpy from the map's chain
(tests/_sim_maps.py: N = inv(I - Q), B = N R, steps = N 1; DESIGN.md "The
mathematics") or is the hand-solved tiny map of tests/conftest.py. Monte Carlo figures
(>= 100,000 seeded journeys) must lie within 4 standard errors of the exact value; the
standard errors use exact second moments where a closed form exists:
Var(moves) = π0 (2N - I) N1 - (π0 N1)^2 (Kemeny & Snell, Finite Markov Chains, 3.3.5)
and E[visits_j^2] = π0 N (2 N_dg - I) e_j (ibid. 3.3.6).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import journeygraph as jg

from ._sim_maps import Dense, dense, random_map

N_JOURNEYS = 100_000


def _codes(log: jg.EventLog, d: Dense) -> np.ndarray:
    """Each event's state index: touchpoints 0..t-1, then outcomes t..t+a-1."""
    index = {name: i for i, name in enumerate(d.touchpoints + d.outcomes)}
    return np.array([index[x] for x in log.touchpoint.tolist()], dtype=np.int64)


def _within(mc: float | np.ndarray, exact: float | np.ndarray, se: float | np.ndarray) -> None:
    mc, exact, se = np.asarray(mc), np.asarray(exact), np.asarray(se)
    assert np.all(np.abs(mc - exact) <= 4 * se + 1e-12), (mc, exact, se)


# -- structure of the log -------------------------------------------------------------


def test_log_structure(tiny: jg.JourneyMap) -> None:
    log = jg.simulate(tiny, 2000, seed=3)
    assert list(log.columns) == ["customer_id", "step", "touchpoint", "outcome"]
    assert log.timestamp is None and log.elapsed_hours is None
    assert log.customers == 2000 and log.truncated.size == 0
    # sorted by customer then step; steps run 0, 1, 2, ... within each journey
    assert np.all(np.diff(log.customer_id) >= 0)
    first = np.r_[True, np.diff(log.customer_id) != 0]
    assert_array_equal(log.step[first], 0)
    assert np.all(np.diff(log.step)[~first[1:]] == 1)
    # exactly one outcome event per journey, and it is the journey's last event
    last = np.r_[np.diff(log.customer_id) != 0, True]
    is_outcome = log.outcome != None  # noqa: E711
    assert_array_equal(is_outcome, last)
    kinds = {o.id: o.kind for o in tiny.outcomes}
    assert all(kinds[t] == k for t, k in zip(log.touchpoint[last], log.outcome[last], strict=True))
    assert set(log.touchpoint[~last]) <= {"ad", "shop"}
    assert sum(log.outcome_counts().values()) == 2000
    assert np.unique(log.customer_id).size == 2000


def test_only_moves_of_the_map_are_taken(tiny: jg.JourneyMap) -> None:
    log = jg.simulate(tiny, 5000, seed=4)
    same = log.customer_id[1:] == log.customer_id[:-1]
    pairs = set(zip(log.touchpoint[:-1][same], log.touchpoint[1:][same], strict=True))
    assert pairs == {(m.source, m.target) for m in tiny.moves}


def test_same_seed_same_log_and_generator_accepted(tiny: jg.JourneyMap) -> None:
    a = jg.simulate(tiny, 500, seed=11)
    b = jg.simulate(tiny, 500, seed=np.random.default_rng(11))
    for name in a.columns:
        assert_array_equal(a.columns[name], b.columns[name])
    c = jg.simulate(tiny, 500, seed=12)
    assert not np.array_equal(a.step, c.step) or not np.array_equal(a.touchpoint, c.touchpoint)


def test_entry_override_and_zero_weights_never_used(tiny: jg.JourneyMap) -> None:
    log = jg.simulate(tiny, 3000, seed=5, entry="shop")
    assert set(log.touchpoint[log.step == 0]) == {"shop"}
    log = jg.simulate(tiny, 3000, seed=5, entry={"ad": 1, "shop": 0})
    assert set(log.touchpoint[log.step == 0]) == {"ad"}
    with pytest.raises(jg.MapError, match="did you mean 'shop'"):
        jg.simulate(tiny, 10, entry="shpo")


def test_zero_weight_move_is_never_taken() -> None:
    with pytest.warns(jg.JourneyGraphWarning, match="no journey reaches touchpoint"):
        jm = _zero_weight_map()
    log = jg.simulate(jm, 20_000, seed=0)
    assert "b" not in set(log.touchpoint.tolist())


def _zero_weight_map() -> jg.JourneyMap:
    return jg.JourneyMap(
        name="z",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}, {"id": "b", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": 1, "b": 0},
        moves=[
            {"from": "a", "to": "b", "weight": 0},
            {"from": "a", "to": "win", "weight": 1},
            {"from": "a", "to": "lost", "weight": 1},
            {"from": "b", "to": "lost", "weight": 1},
        ],
    )


def test_empty_and_bad_sizes(tiny: jg.JourneyMap) -> None:
    log = jg.simulate(tiny, 0, seed=1)
    assert len(log) == 0 and log.outcome_counts() == {"buy": 0, "gone": 0, "rival": 0}
    with pytest.raises(ValueError, match="n must be a whole number >= 0"):
        jg.simulate(tiny, -1)
    with pytest.raises(ValueError, match="n must be a whole number"):
        jg.simulate(tiny, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_steps must be a whole number >= 1"):
        jg.simulate(tiny, 10, max_steps=0)
    # the upper bound (issue #17): refused before any memory is taken
    with pytest.raises(
        ValueError, match=r"n=10,000,001 is more than the limit of 10,000,000 journeys"
    ):
        jg.simulate(tiny, 10_000_001)
    assert jg.simulate.__module__ == "journeygraph.simulate"
    from journeygraph.simulate import MAX_JOURNEYS

    assert MAX_JOURNEYS == 10_000_000


def _loop_map() -> jg.JourneyMap:
    return jg.JourneyMap(
        name="loop",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}],
        entry={"a": 1},
        moves=[{"from": "a", "to": "a", "weight": 9}, {"from": "a", "to": "win", "weight": 1}],
    )


def test_max_steps_reports_unfinished_journeys_and_never_invents_an_outcome() -> None:
    # From a, a journey ends with probability 0.1 per move: P(not done after 3) = 0.9^3.
    with pytest.warns(jg.JourneyGraphWarning, match="had not reached an outcome after"):
        log = jg.simulate(_loop_map(), N_JOURNEYS, seed=2, max_steps=3)
    k = log.truncated.size
    p = 0.9**3
    _within(k / N_JOURNEYS, p, np.sqrt(p * (1 - p) / N_JOURNEYS))
    assert log.outcome_counts()["win"] + k == N_JOURNEYS
    # truncated journeys: 4 events (steps 0..3), all at the touchpoint, no outcome
    mask = np.isin(log.customer_id, log.truncated)
    assert np.all(log.outcome[mask] == None)  # noqa: E711
    assert np.bincount(log.customer_id[mask]).max() == 4
    assert log.summary()["truncated"] == k


# -- Monte Carlo against the exact chain ---------------------------------------------


def test_tiny_outcome_probabilities_match_the_hand_solution(tiny: jg.JourneyMap) -> None:
    log = jg.simulate(tiny, N_JOURNEYS, seed=2024)
    counts = log.outcome_counts()
    exact = {"buy": 35 / 88, "gone": 46 / 88, "rival": 7 / 88}  # tests/conftest.py
    for outcome, p in exact.items():
        _within(counts[outcome] / N_JOURNEYS, p, np.sqrt(p * (1 - p) / N_JOURNEYS))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_map_absorption_steps_and_visits(seed: int) -> None:
    jm = random_map(seed, 30, competitors=2)
    d = dense(jm)
    log = jg.simulate(jm, N_JOURNEYS, seed=seed)
    assert log.truncated.size == 0

    # absorption probabilities: binomial standard error
    counts = log.outcome_counts()
    mc = np.array([counts[o] for o in d.outcomes]) / N_JOURNEYS
    p = d.outcome_probabilities
    assert_allclose(p.sum(), 1.0, rtol=1e-12)
    _within(mc, p, np.sqrt(p * (1 - p) / N_JOURNEYS))

    # moves per journey: events per customer minus one
    moves = np.bincount(log.customer_id, minlength=N_JOURNEYS) - 1
    steps = d.steps
    mean = d.entry @ steps
    var = d.entry @ ((2 * d.N - np.eye(len(steps))) @ steps) - mean**2
    _within(moves.mean(), mean, np.sqrt(var / N_JOURNEYS))
    _within(moves.var(), var, 0.05 * var)  # loose sanity check of the spread

    # expected visits per entrant, exact second moments for the standard errors
    codes = _codes(log, d)
    t = len(d.touchpoints)
    visits = np.bincount(codes[codes < t], minlength=t) / N_JOURNEYS
    second = d.entry @ d.N @ (2 * np.diag(np.diag(d.N)) - np.eye(t))
    se = np.sqrt((second - d.visits**2) / N_JOURNEYS)
    _within(visits, d.visits, se)


def test_exit_flows_decompose_the_outcomes() -> None:
    # Customers leaving from touchpoint i into outcome k, per entrant: v_i R_ik (DESIGN).
    jm = random_map(7, 20, competitors=3)
    d = dense(jm)
    log = jg.simulate(jm, N_JOURNEYS, seed=7)
    codes = _codes(log, d)
    t, a = len(d.touchpoints), len(d.outcomes)
    ends = np.flatnonzero(codes >= t)
    flow = np.zeros((t, a))
    np.add.at(flow, (codes[ends - 1], codes[ends] - t), 1.0)
    flow /= N_JOURNEYS
    exact = d.visits[:, None] * d.R
    _within(flow, exact, np.sqrt(exact * (1 - exact) / N_JOURNEYS))


def test_mean_time_to_absorption_matches_n_times_step_hours() -> None:
    jm = random_map(3, 25, durations=True)
    d = dense(jm)
    assert d.step_hours is not None
    log = jg.simulate(jm, N_JOURNEYS, seed=3)
    assert log.elapsed_hours is not None and log.timestamp is not None
    last = np.r_[np.diff(log.customer_id) != 0, True]
    hours = log.elapsed_hours[last]
    exact = d.entry @ d.N @ d.step_hours  # DESIGN: time = N (P∘D) 1
    _within(hours.mean(), exact, hours.std() / np.sqrt(N_JOURNEYS))
    # mean time to absorption from each entry touchpoint separately
    first = log.touchpoint[log.step == 0]
    for tp in ("t0", "t1"):
        i = d.touchpoints.index(tp)
        h = hours[first == tp]
        _within(h.mean(), (d.N @ d.step_hours)[i], h.std() / np.sqrt(h.size))


def test_move_durations_are_exponential_with_the_given_mean() -> None:
    jm = jg.JourneyMap(
        name="one move",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "win", "weight": 1, "duration": {"mean": 2, "unit": "day"}},
            {"from": "a", "to": "lost", "weight": 1},  # no duration: takes no time
        ],
    )
    log = jg.simulate(jm, N_JOURNEYS, seed=9)
    assert log.elapsed_hours is not None
    last = log.step == 1
    won = log.elapsed_hours[last & (log.touchpoint == "win")]
    lost = log.elapsed_hours[last & (log.touchpoint == "lost")]
    assert np.all(lost == 0)
    # Exponential(mean 48 h): mean 48, sd 48, P(X > 48) = e^-1
    _within(won.mean(), 48.0, 48.0 / np.sqrt(won.size))
    q = np.exp(-1)
    _within((won > 48).mean(), q, np.sqrt(q * (1 - q) / won.size))


def test_timestamps_are_start_plus_elapsed() -> None:
    jm = random_map(5, 8, durations=True)
    start = datetime.datetime(
        2025, 3, 1, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    log = jg.simulate(jm, 1000, seed=1, start=start)
    assert log.timestamp is not None and log.elapsed_hours is not None
    origin = np.datetime64("2025-03-01T07:30:00", "us")  # 09:30+02:00 in UTC
    assert_array_equal(log.timestamp[log.step == 0], origin)
    delta_h = (log.timestamp - origin) / np.timedelta64(1, "h")
    assert_allclose(delta_h, log.elapsed_hours, atol=1e-6)
    same = log.customer_id[1:] == log.customer_id[:-1]
    assert np.all(np.diff(log.timestamp)[same] >= np.timedelta64(0, "us"))
    log2 = jg.simulate(jm, 10, seed=1, start="2025-03-01")
    assert log2.timestamp is not None and log2.timestamp[0] == np.datetime64("2025-03-01", "us")
    with pytest.raises(jg.JourneyGraphError, match="not an ISO date"):
        jg.simulate(jm, 10, seed=1, start="yesterday")


def test_absurd_durations_are_reported_not_overflowed() -> None:
    jm = jg.JourneyMap(
        name="slow",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "win", "weight": 1, "duration": {"mean": 1e300, "unit": "week"}}
        ],
    )
    with pytest.raises(jg.MapError, match="too long for a timestamp"):
        jg.simulate(jm, 10, seed=0)


# -- output -------------------------------------------------------------------------


def _hostile_map() -> jg.JourneyMap:
    return jg.JourneyMap(
        name="hostile",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "=HYPERLINK(1)", "stage": "s"}, {"id": "-2+3", "stage": "s"}],
        outcomes=[{"id": "@SUM(A1)", "kind": "conversion"}, {"id": 'gone, "x"', "kind": "churn"}],
        entry={"=HYPERLINK(1)": 1},
        moves=[
            {"from": "=HYPERLINK(1)", "to": "-2+3", "weight": 1, "duration": {"mean": 1}},
            {"from": "-2+3", "to": "@SUM(A1)", "weight": 1},
            {"from": "-2+3", "to": 'gone, "x"', "weight": 1},
        ],
    )


def test_csv_escapes_formulas_and_round_trips(tmp_path: Path) -> None:
    import csv

    log = jg.simulate(_hostile_map(), 200, seed=1)
    path = log.write(tmp_path / "events.csv")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["customer_id", "step", "timestamp", "touchpoint", "outcome", "elapsed_hours"]
    cells = {r[3] for r in rows[1:]}
    assert cells == {"'=HYPERLINK(1)", "'-2+3", "'@SUM(A1)", 'gone, "x"'}
    assert len(rows) - 1 == len(log)
    assert [int(r[0]) for r in rows[1:]] == log.customer_id.tolist()
    assert [r[4] or None for r in rows[1:]] == log.outcome.tolist()
    assert os.listdir(tmp_path) == ["events.csv"]  # no temporary file left


def test_parquet_round_trips(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    log = jg.simulate(_hostile_map(), 300, seed=2)
    table = pq.read_table(log.write(tmp_path / "events.parquet"))
    assert table.column_names == list(log.columns)
    for name, values in log.columns.items():
        assert table.column(name).to_pylist() == values.tolist(), name
    assert os.listdir(tmp_path) == ["events.parquet"]


def test_frame_and_dict(tiny: jg.JourneyMap) -> None:
    pytest.importorskip("pandas")
    log = jg.simulate(tiny, 50, seed=1)
    frame = log.to_frame()
    assert list(frame.columns) == list(log.columns) and len(frame) == len(log)
    data = log.to_dict()
    assert data["customers"] == 50 and data["data"]["touchpoint"] == log.touchpoint.tolist()
    assert repr(log) == f"EventLog(50 customers, {len(log)} events, 0 truncated)"


def test_unknown_suffix_is_refused_and_old_file_kept(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    log = jg.simulate(tiny, 10, seed=1)
    target = tmp_path / "events.xlsx"
    target.write_text("old")
    with pytest.raises(jg.JourneyGraphError, match=r"use a \.parquet or \.csv"):
        log.write(target)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["events.xlsx"]


def test_speed_of_a_large_simulation() -> None:
    import time

    jm = random_map(11, 300, competitors=3)
    began = time.perf_counter()
    log = jg.simulate(jm, N_JOURNEYS, seed=1)
    elapsed = time.perf_counter() - began
    assert log.customers == N_JOURNEYS
    assert elapsed < 5.0, elapsed  # measured 0.1 s on the 2-core dev machine


# -- the sampler: a row-wise binary search, the same draws as searchsorted ------------


class _Uniforms:
    """Stands in for a Generator: ``random(size)`` returns the given numbers."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def random(self, size: int) -> np.ndarray:
        assert size == self.values.size
        return self.values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_search_picks_the_move_searchsorted_picks(seed: int) -> None:
    # The table's two ways to draw (a branchless binary search within each touchpoint's
    # row; one searchsorted over every move, clipped to the row) must pick the same
    # move for every number, including the numbers exactly on a bound, just below one,
    # and the largest double below 1 (where state + u can round up to state + 1).
    import dataclasses

    from journeygraph.chain import to_chain
    from journeygraph.simulate import _MoveTable

    jm = random_map(seed, 40, competitors=3)
    chain = to_chain(jm, None)
    table = _MoveTable.of(jm, chain)
    assert table.rows is not None and table.width >= int(np.diff(table.start).max())
    flat = dataclasses.replace(table, width=0, rows=None, move_of=None)
    rng = np.random.default_rng(seed)
    row = np.repeat(np.arange(chain.size), np.diff(table.start))
    on_bound = table.bounds - row  # within-row cumulative probabilities
    state = np.concatenate([rng.integers(0, chain.size, 50_000), row, row, row, row])
    u = np.concatenate(
        [
            rng.random(50_000),
            np.minimum(on_bound, np.nextafter(1.0, 0.0)),
            np.nextafter(on_bound, 0.0),
            np.full(row.size, np.nextafter(1.0, 0.0)),
            np.zeros(row.size),
        ]
    )
    state = state.astype(np.int32)
    got = table.draw(state, _Uniforms(u))  # type: ignore[arg-type]
    want = flat.draw(state, _Uniforms(u))  # type: ignore[arg-type]
    assert_array_equal(got, want)
    # and every pick is a move of the customer's own touchpoint
    assert np.all((table.start[state] <= got) & (got < table.start[state + 1]))


def test_huge_rows_fall_back_to_searchsorted_with_the_same_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    simulate_module = importlib.import_module("journeygraph.simulate")  # not jg.simulate()
    jm = random_map(3, 25, durations=True)
    searched = jg.simulate(jm, 3000, seed=4)
    monkeypatch.setattr(simulate_module, "_ROW_TABLE_LIMIT", 0)
    flat = jg.simulate(jm, 3000, seed=4)
    for name in searched.columns:
        assert_array_equal(searched.columns[name], flat.columns[name])


def test_same_seed_gives_the_log_of_the_sort_based_sampler() -> None:
    # Pinned from the sampler before issue #16 (searchsorted per step, events sorted by
    # a stable argsort; commit cdbb718): the faster sampler reads the random stream in
    # the same order, so a seed gives the very same log.
    jm = jg.load(Path(__file__).parents[1] / "examples" / "retail_five_a_current.yaml")
    log = jg.simulate(jm, 10_000, seed=0)
    assert len(log) == 42309 and int(log.step.sum()) == 95152
    assert log.outcome_counts() == {
        "order_kept": 1235,
        "abandoned": 7229,
        "returned": 235,
        "marketplace": 1301,
    }
    assert log.touchpoint[:5].tolist() == [
        "search",
        "category_page",
        "abandoned",
        "social_ad",
        "abandoned",
    ]
    assert {c: v.dtype.name for c, v in log.columns.items()} == {
        "customer_id": "int64",
        "step": "int64",
        "touchpoint": "object",
        "outcome": "object",
    }
    timed = jg.simulate(random_map(3, 25, durations=True), 2000, seed=5)
    assert len(timed) == 12333 and timed.elapsed_hours is not None
    assert_allclose(timed.elapsed_hours.sum(), 5483348.092459063, rtol=1e-12)
    assert timed.touchpoint[:6].tolist() == ["t2", "t7", "t2", "t7", "t8", "t9"]
    assert timed.truncated.dtype == np.int64
