"""Fitting maps from event logs: exact counts on hand-made logs, convergence to the
generating probabilities on seeded synthetic logs, identical counts in every engine,
second-order memory, attribution path tables, stages, SQL safety and bad input.

Every expected number is either counted by hand (the comment shows the journeys) or
drawn from a known map with a seeded numpy generator in this file, checked within
binomial sampling error.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.chain import to_chain
from journeygraph.cli import main

from ._reference import markov_attribution
from .conftest import DATA

BAD_LOGS = DATA / "bad_logs"
OUTCOMES = {"purchase": "conversion", "rival": "competitor"}


def weights(jm: jg.JourneyMap) -> dict[tuple[str, str], float]:
    return {(m.source, m.target): m.weight for m in jm.moves}


def signature(jm: jg.JourneyMap) -> tuple[Any, ...]:
    return (
        dict(jm.entry),
        weights(jm),
        [(t.id, t.stage) for t in jm.touchpoints],
        [(o.id, o.kind) for o in jm.outcomes],
        [s.id for s in jm.stages],
    )


# -- a hand-made log ------------------------------------------------------------------

# Shuffled on purpose. Journeys, by the documented rules (gap=100, window=50, times are
# plain numbers, observed_until defaults to the latest time 400):
#   A: ad@1, email@2, site@2 (tie: email < site), purchase@5       -> A1, converts
#      site@6 (twice: one duplicate), then nothing until 300 (gap) -> A2, churn
#      ad@300, customer's last event, 400-300 >= 50                -> A3, churn
#   B: purchase@10 starts a journey without a touchpoint            -> dropped
#      ad@11, site@12, rival@12 (tie: touchpoints first)            -> B1, competitor
#   C: email@400, last event, 400-400 < 50                          -> censored
#   D: site@20                                                      -> churn
#   one row with a null touchpoint, one with a null customer        -> dropped
HAND = [
    ("A", 300, "ad"),
    ("B", 12, "rival"),
    ("A", 2, "site"),
    ("C", 400, "email"),
    ("A", 1, "ad"),
    ("B", 10, "purchase"),
    ("A", 6, "site"),
    ("D", 20, "site"),
    ("A", 5, "purchase"),
    ("B", 12, "site"),
    ("E", 30, None),
    ("A", 2, "email"),
    (None, 31, "ad"),
    ("A", 6, "site"),
    ("B", 11, "ad"),
]
HAND_ENTRY = {"ad": 3.0, "email": 1.0, "site": 2.0}
HAND_MOVES = {
    ("ad", "email"): 1.0,
    ("ad", "site"): 1.0,
    ("ad", "churn"): 1.0,
    ("email", "site"): 1.0,
    ("site", "purchase"): 1.0,
    ("site", "rival"): 1.0,
    ("site", "churn"): 2.0,
}
HAND_KW: dict[str, Any] = dict(
    customer_column="customer",
    time_column="time",
    touchpoint_column="event",
    outcomes=OUTCOMES,
    gap=100,
    window=50,
)


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame(HAND, columns=["customer", "time", "event"])


@pytest.fixture
def hand_files(tmp_path: Path) -> dict[str, Path]:
    df = hand_frame()
    df.to_parquet(tmp_path / "hand.parquet")
    df.to_csv(tmp_path / "hand.csv", index=False)
    return {"parquet": tmp_path / "hand.parquet", "csv": tmp_path / "hand.csv"}


def _sources(hand_files: dict[str, Path]) -> list[tuple[Any, str]]:
    import pyarrow as pa

    df = hand_frame()
    return [
        (df, "numpy"),
        (pa.Table.from_pandas(df, preserve_index=False), "numpy"),
        (df, "duckdb"),
        (hand_files["parquet"], "auto"),
        (hand_files["csv"], "auto"),
        (hand_files["parquet"], "numpy"),
        (hand_files["csv"], "numpy"),
    ]


def test_hand_log_exact_counts_in_every_engine(hand_files: dict[str, Path]) -> None:
    for source, engine in _sources(hand_files):
        jm = jg.fit(source, engine=engine, **HAND_KW)
        assert isinstance(jm, jg.JourneyMap)
        assert dict(jm.entry) == HAND_ENTRY, (source, engine)
        assert weights(jm) == HAND_MOVES, (source, engine)
        assert {o.id: o.kind for o in jm.outcomes} == {
            "purchase": "conversion",
            "rival": "competitor",
            "churn": "churn",
        }
        report = jg.FitReport.of(jm)
        assert report.input_rows == 15
        assert report.journeys == 6  # A1 A2 A3 B1 C D
        assert report.events == 11  # 4 + 1 + 1 + 3 + 1 + 1
        assert report.censored_journeys == 1  # C
        assert report.single_event_journeys == 4  # A2 A3 C D
        assert report.dropped == {
            "null_customer": 1,
            "null_time": 0,
            "null_segment": 0,
            "null_touchpoint": 1,
            "duplicate": 1,
            "capped": 0,
            "outcome_without_touchpoint": 1,
        }


def test_inferred_stages_follow_expected_moves_left() -> None:
    # From HAND_MOVES: site ends in 1 move; email -> site: 2; ad: 1 + (2 + 1)/3 = 2,
    # a tie with email broken by id -> ad, email, site.
    jm = jg.fit(hand_frame(), **HAND_KW)
    assert isinstance(jm, jg.JourneyMap)
    assert [s.name for s in jm.stages] == ["ad", "email", "site"]
    assert jm.touchpoint("site").stage == "site (stage)"


def test_without_gap_and_window_every_open_journey_is_churn() -> None:
    # No gap: A's site@6 and ad@300 are one journey site -> ad -> churn; C churns.
    kw = {**HAND_KW, "gap": None, "window": None}
    jm = jg.fit(hand_frame(), **kw)
    assert isinstance(jm, jg.JourneyMap)
    w = weights(jm)
    assert w[("site", "ad")] == 1.0
    assert w[("email", "churn")] == 1.0
    assert jg.FitReport.of(jm).censored_journeys == 0
    assert jg.FitReport.of(jm).journeys == 5


def test_observed_until_and_timestamp_durations() -> None:
    base = pd.Timestamp("2024-03-01T00:00:00")
    df = pd.DataFrame(
        {
            "c": ["x", "x", "y"],
            "t": [base, base + pd.Timedelta(hours=2), base + pd.Timedelta(days=1)],
            "e": ["ad", "site", "ad"],
        }
    )
    kw: dict[str, Any] = dict(customer_column="c", time_column="t", touchpoint_column="e")
    # window 12h, observed until +1d: x's last event is 22h old -> churn; y's 0h -> censored.
    jm = jg.fit(df, window="12h", **kw)
    assert isinstance(jm, jg.JourneyMap)
    assert jg.FitReport.of(jm).censored_journeys == 1
    assert weights(jm) == {("ad", "site"): 1.0, ("site", "churn"): 1.0}
    # Observing until +3d makes both journeys old enough to count as churn.
    jm = jg.fit(df, window="12h", observed_until="2024-03-04", **kw)
    assert isinstance(jm, jg.JourneyMap)
    assert jg.FitReport.of(jm).censored_journeys == 0
    assert weights(jm)[("ad", "churn")] == 1.0
    # A gap of 1h splits x's journey in two: ad -> churn and site -> churn.
    jm = jg.fit(df, gap="1h", **kw)
    assert isinstance(jm, jg.JourneyMap)
    assert weights(jm) == {("ad", "churn"): 2.0, ("site", "churn"): 1.0}
    with pytest.raises(jg.EventLogError, match=r"gap=5.*duration"):
        jg.fit(df, gap=5, **kw)


def test_events_after_an_outcome_start_a_new_journey() -> None:
    df = pd.DataFrame(
        {"c": [1, 1, 1, 1], "t": [1, 2, 3, 4], "e": ["ad", "purchase", "site", "purchase"]}
    )
    jm = jg.fit(
        df,
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
        outcomes={"purchase": "conversion"},
    )
    assert isinstance(jm, jg.JourneyMap)
    # ad -> purchase, then site -> purchase: two journeys, two entries.
    assert dict(jm.entry) == {"ad": 1.0, "site": 1.0}
    assert weights(jm) == {("ad", "purchase"): 1.0, ("site", "purchase"): 1.0}


def test_outcome_column_and_timezones(tmp_path: Path) -> None:
    # Row 2 is a visit to checkout that ends in a purchase; row 4 is a pure outcome event
    # (no touchpoint). Times with offsets: 10:30+02:00 is 08:30Z, before 09:00Z.
    df = pd.DataFrame(
        {
            "c": ["a", "a", "b", "b"],
            "t": [
                "2024-05-01T09:00:00Z",
                "2024-05-01T10:30:00+02:00",
                "2024-05-01T12:00:00+00:00",
                "2024-05-01T13:00:00+00:00",
            ],
            "tp": ["home", "checkout", "home", None],
            "result": [None, "order", None, "lost_to_rival"],
        }
    )
    kw: dict[str, Any] = dict(
        customer_column="c",
        time_column="t",
        touchpoint_column="tp",
        outcome_column="result",
        outcomes={"order": "conversion", "lost_to_rival": "competitor"},
    )
    df.to_csv(tmp_path / "log.csv", index=False)
    for source, engine in [(df, "numpy"), (df, "duckdb"), (tmp_path / "log.csv", "auto")]:
        jm = jg.fit(source, engine=engine, **kw)
        assert isinstance(jm, jg.JourneyMap)
        # a: checkout@08:30Z, home@09:00Z -> checkout -> home? No: checkout's row also
        # holds the outcome, so a's journey is checkout -> order; home@09:00 starts anew.
        assert dict(jm.entry) == {"checkout": 1.0, "home": 2.0}, engine
        assert weights(jm) == {
            ("checkout", "order"): 1.0,
            ("home", "churn"): 1.0,
            ("home", "lost_to_rival"): 1.0,
        }, engine


# -- convergence to a known map -------------------------------------------------------

# The generating map: entry and move probabilities (rows sum to 1).
TRUE_ENTRY = {"ad": 0.6, "search": 0.4}
TRUE_MOVES = {
    "ad": {"site": 0.5, "search": 0.2, "<churn>": 0.3},
    "search": {"site": 0.7, "ad": 0.1, "<churn>": 0.2},
    "site": {"purchase": 0.35, "rival": 0.15, "ad": 0.1, "<churn>": 0.4},
}


def sample_log(
    n: int, seed: int, entry: dict[str, float], moves: dict[str, dict[str, float]]
) -> pd.DataFrame:
    """Journeys drawn from a first-order map; '<churn>' ends a journey with no event."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, str]] = []
    starts = list(entry)
    first = rng.choice(len(starts), size=n, p=list(entry.values()))
    for cust in range(n):
        here, t = starts[first[cust]], 0
        while True:
            rows.append((cust, t, here))
            if here not in moves:
                break
            targets = list(moves[here])
            nxt = targets[rng.choice(len(targets), p=list(moves[here].values()))]
            if nxt == "<churn>":
                break
            here, t = nxt, t + int(rng.integers(1, 5))
    df = pd.DataFrame(rows, columns=["customer", "time", "touchpoint"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_fitted_probabilities_converge_to_the_generating_map() -> None:
    n = 20_000
    df = sample_log(n, seed=7, entry=TRUE_ENTRY, moves=TRUE_MOVES)
    jm = jg.fit(
        df,
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
    )
    assert isinstance(jm, jg.JourneyMap)
    assert jg.FitReport.of(jm).journeys == n
    total_entry = sum(jm.entry.values())
    for tp, p in TRUE_ENTRY.items():
        assert abs(jm.entry[tp] / total_entry - p) < 4.5 * np.sqrt(p * (1 - p) / n)
    w = weights(jm)
    for src, row in TRUE_MOVES.items():
        out = sum(v for (a, _), v in w.items() if a == src)
        for dst, p in row.items():
            target = "churn" if dst == "<churn>" else dst
            got = w.get((src, target), 0.0) / out
            assert abs(got - p) < 4.5 * np.sqrt(p * (1 - p) / out), (src, dst, got, p)


def test_all_engines_identical_on_a_messy_random_log(tmp_path: Path) -> None:
    """Ties, exact duplicates, shuffled rows, nulls and orphan outcomes, seed 3."""
    rng = np.random.default_rng(3)
    n = 4000
    df = pd.DataFrame(
        {
            "customer": rng.integers(0, 400, n).astype(str),
            "time": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "h"),
            "touchpoint": rng.choice(
                ["ad", "site", "email", "purchase", "rival", "app"], n, p=[0.2] * 3 + [0.4 / 3] * 3
            ),
        }
    )
    df = pd.concat([df, df.sample(200, random_state=1)]).sample(frac=1.0, random_state=2)
    df.loc[df.index[:5], "touchpoint"] = None
    df.to_parquet(tmp_path / "log.parquet")
    df.to_csv(tmp_path / "log.csv", index=False)
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
        gap="36h",
        window="24h",
        max_events_per_customer=14,
    )
    reference = jg.fit(df, engine="numpy", **kw)
    assert isinstance(reference, jg.JourneyMap)
    ref_report = jg.FitReport.of(reference).to_dict()
    assert ref_report["dropped"]["duplicate"] >= 200
    assert ref_report["dropped"]["capped"] > 0 and ref_report["capped_customers"]
    for order in (1, 2):
        ref = jg.fit(df, engine="numpy", order=order, **kw)
        assert isinstance(ref, jg.JourneyMap)
        for source, engine in [
            (df, "duckdb"),
            (tmp_path / "log.parquet", "auto"),
            (tmp_path / "log.csv", "auto"),
            (tmp_path / "log.csv", "numpy"),
        ]:
            other = jg.fit(source, engine=engine, order=order, **kw)
            assert isinstance(other, jg.JourneyMap)
            assert signature(other) == signature(ref), (source, engine, order)
            got = jg.FitReport.of(other).to_dict()
            for key in ("journeys", "events", "censored_journeys", "dropped"):
                assert got[key] == jg.FitReport.of(ref).to_dict()[key], (key, engine)


@pytest.mark.parametrize("duplicates", [False, True])
@pytest.mark.parametrize("time_kind", ["timestamp", "seconds", "numbers", "text"])
@pytest.mark.parametrize("segmented", [False, True])
@pytest.mark.parametrize("durations", [True, False])
def test_engines_identical_on_each_counting_path(
    duplicates: bool, time_kind: str, segmented: bool, durations: bool
) -> None:
    """The DuckDB engine's single-window path (no duplicates, packed or two-key sort) and
    its DISTINCT fallback, and the numpy engine's packed / ranked sort keys, must agree
    with each other and with a plain-Python count of the same log (seed 11). Without
    durations (and no gap or window) DuckDB reads only the codes of its packed keys."""
    rng = np.random.default_rng(11)
    n = 3000
    seconds = rng.integers(0, 5000, n) * 60  # ties within customers are common
    times: Any
    if time_kind == "timestamp":
        times = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds + rng.random(n), "s")
    elif time_kind == "seconds":
        times = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, "s")
    elif time_kind == "numbers":
        times = seconds / 7.0
    else:
        times = (pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, "s")).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    df = pd.DataFrame(
        {
            "customer": rng.integers(0, 300, n),
            "time": times,
            "touchpoint": rng.choice(["ad", "site", "email", "purchase", "rival"], n),
            "segment": rng.choice(["a", "b"], n),
        }
    )
    if duplicates:
        df = pd.concat([df, df.sample(150, random_state=4)])
    else:
        df = df.drop_duplicates(["customer", "time", "touchpoint"])
    df = df.sample(frac=1.0, random_state=5)
    kw: dict[str, Any] = dict(
        customer_column="customer", time_column="time", touchpoint_column="touchpoint"
    )
    kw.update(outcomes=OUTCOMES, segment_column="segment" if segmented else None)
    kw.update(durations=durations)
    ref = jg.fit(df, engine="numpy", **kw)
    other = jg.fit(df, engine="duckdb", **kw)
    refs = ref if isinstance(ref, dict) else {"": ref}
    others = other if isinstance(other, dict) else {"": other}
    assert refs.keys() == others.keys()
    for key, jm in refs.items():
        assert signature(others[key]) == signature(jm), key
        got, want = jg.FitReport.of(others[key]), jg.FitReport.of(jm)
        assert got.dropped == want.dropped and got.journeys == want.journeys
        assert (want.dropped["duplicate"] > 0) == duplicates
    # Independent count in plain Python (rules 3, 5, 6, 7 of docs/fitting.md).
    rank = {"ad": 0, "email": 1, "site": 2, "purchase": 3, "rival": 4}
    sort_time = pd.to_datetime(df["time"]) if time_kind == "text" else df["time"]
    events = sorted(
        set(
            zip(
                df["segment"] if segmented else [""] * len(df),
                df["customer"],
                sort_time,
                df["touchpoint"],
                strict=True,
            )
        ),
        key=lambda e: (e[0], e[1], e[2], rank[e[3]]),
    )
    moves: dict[tuple[str, str, str], int] = {}
    for (s, c, _t, a), (s2, c2, _t2, b) in itertools.pairwise(events + [("", None, 0, "ad")]):
        if a in OUTCOMES:
            continue
        same = (s, c) == (s2, c2)
        target = b if same else "churn"
        moves[(s, a, target)] = moves.get((s, a, target), 0) + 1
    for key, jm in refs.items():
        want_moves = {(a, b): float(v) for (s, a, b), v in moves.items() if s == key}
        assert weights(jm) == want_moves


# -- second order ---------------------------------------------------------------------


def test_second_order_recovers_memory_and_collapses_to_first_order() -> None:
    # Journeys start at a or b (1/2 each), then c; from c a journey that came from a
    # converts with probability 0.8, one from b with 0.2, otherwise it churns. A
    # first-order map can only say 0.5.
    rng = np.random.default_rng(11)
    n = 10_000
    start = rng.choice(["a", "b"], size=n)
    converts = rng.random(n) < np.where(start == "a", 0.8, 0.2)
    rows = []
    for i in range(n):
        rows += [(i, 0, start[i]), (i, 1, "c")]
        if converts[i]:
            rows.append((i, 2, "purchase"))
    df = pd.DataFrame(rows, columns=["customer", "time", "touchpoint"])
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes={"purchase": "conversion"},
    )
    m2 = jg.fit(df, order=2, **kw)
    m1 = jg.fit(df, order=1, **kw)
    assert isinstance(m2, jg.JourneyMap) and isinstance(m1, jg.JourneyMap)
    w = weights(m2)
    for prev, p in (("a", 0.8), ("b", 0.2)):
        state = f"{prev} > c"
        total = w[(state, "purchase")] + w[(state, "churn")]
        assert abs(w[(state, "purchase")] / total - p) < 4.5 * np.sqrt(p * (1 - p) / total)
    assert m2.touchpoint("a > c").name == "c"
    assert dict(m2.entry).keys() == {"(start) > a", "(start) > b"}
    collapsed = jg.collapse_order(m2)
    assert signature(collapsed) == signature(m1)
    with pytest.raises(jg.MapError, match=r"not a second-order map"):
        jg.collapse_order(m1)


# -- attribution path tables ----------------------------------------------------------


def _removal_effects_from_map(jm: jg.JourneyMap) -> dict[str, float]:
    """Removal effects from the fitted map's chain (dense numpy, DESIGN.md formula)."""
    chain = to_chain(jm)
    Q, R = chain.Q.toarray(), chain.R.toarray()
    N = np.linalg.inv(np.eye(chain.size) - Q)
    conv = [j for j, o in enumerate(chain.outcomes) if jm.outcome(o).kind == "conversion"]
    b = (N @ R)[:, conv].sum(axis=1)
    base = float(chain.entry @ b)
    effects = {}
    for k, tp in enumerate(chain.touchpoints):
        h = N[:, k] / N[k, k]  # probability of ever hitting k
        without = chain.entry @ (b - h * b[k])
        effects[tp] = 1.0 - float(without) / base
    return effects


def test_fit_paths_hand_counts_and_removal_effects() -> None:
    # a > b: 1 conversion; a: 1 null; b: 1 conversion, 1 null.
    # Chain: start -> a 1/2, b 1/2; a -> b 1/2, null 1/2; b -> conv 2/3, null 1/3.
    # P(conv) = 1/2 * 1/2 * 2/3 + 1/2 * 2/3 = 1/2; without a: 1/3 -> effect 1/3;
    # without b: 0 -> effect 1.
    table = pd.DataFrame(
        {"path": ["a > b", "a", "b"], "total_conversions": [1, 0, 1], "total_null": [0, 1, 1]}
    )
    jm = jg.fit_paths(table)
    assert dict(jm.entry) == {"a": 2.0, "b": 2.0}
    assert weights(jm) == {
        ("a", "b"): 1.0,
        ("a", "churn"): 1.0,
        ("b", "conversion"): 2.0,
        ("b", "churn"): 1.0,
    }
    effects = _removal_effects_from_map(jm)
    assert_allclose([effects["a"], effects["b"]], [1 / 3, 1.0], rtol=1e-12)


def test_fit_paths_removal_effects_equal_markov_attribution_of_the_paths() -> None:
    rng = np.random.default_rng(5)
    channels = ["search", "email", "social", "display", "direct"]
    paths = {}
    for _ in range(300):
        k = int(rng.integers(1, 6))
        steps = rng.choice(channels, size=k)
        paths[" > ".join(steps)] = (float(rng.integers(0, 20)), float(rng.integers(0, 40)))
    rows = [(p, c, n) for p, (c, n) in paths.items() if c + n > 0]
    table = pd.DataFrame(rows, columns=["path", "total_conversions", "total_null"])
    jm = jg.fit_paths(table)
    from_map = _removal_effects_from_map(jm)
    _, exact = markov_attribution(rows, sep=" > ")
    assert from_map.keys() == exact.keys()
    assert_allclose([from_map[k] for k in exact], list(exact.values()), rtol=1e-9)


def test_fit_paths_bad_tables(tmp_path: Path) -> None:
    with pytest.raises(jg.EventLogError, match=r"'paths' not found.*did you mean 'path'"):
        jg.fit_paths(pd.DataFrame({"path": ["a"], "total_conversions": [1]}), path_column="paths")
    bad = pd.DataFrame({"path": ["a", "b"], "total_conversions": [1, -2], "total_null": [0, 1]})
    with pytest.raises(jg.EventLogError, match=r"row 3.*'total_conversions'.*-2"):
        jg.fit_paths(bad)
    empty_step = pd.DataFrame({"path": ["a >  > b"], "total_conversions": [1], "total_null": [0]})
    with pytest.raises(jg.EventLogError, match=r"empty step"):
        jg.fit_paths(empty_step)
    table = pd.DataFrame({"path": ["x > y"], "conv": [2], "null": [1]})
    table.to_csv(tmp_path / "paths.csv", index=False)
    jm = jg.fit_paths(tmp_path / "paths.csv", conversions_column="conv", nulls_column="null")
    assert weights(jm) == {("x", "y"): 3.0, ("y", "conversion"): 2.0, ("y", "churn"): 1.0}


# -- stages, segments, options ---------------------------------------------------------


def test_stage_mappings_template_and_unknown_touchpoints(tmp_path: Path) -> None:
    df = hand_frame()
    by_touchpoint = {"ad": "aware", "email": "consider", "site": "consider"}
    jm = jg.fit(df, stages=by_touchpoint, **HAND_KW)
    assert isinstance(jm, jg.JourneyMap)
    assert [s.id for s in jm.stages] == ["aware", "consider"]
    assert jm.move_kinds()[("ad", "email")] == "forward"
    by_stage = {"act": ["site"], "aware": ["ad", "email"]}
    jm = jg.fit(df, stages=by_stage, **HAND_KW)
    assert isinstance(jm, jg.JourneyMap)
    assert [s.id for s in jm.stages] == ["act", "aware"]
    assert jm.move_kinds()[("ad", "site")] == "backtrack"

    with pytest.raises(
        jg.EventLogError, match=r"'site' have no stage.*unknown_touchpoints='other'"
    ):
        jg.fit(df, stages={"ad": "aware", "email": "aware"}, **HAND_KW)
    jm = jg.fit(
        df, stages={"ad": "aware", "email": "aware"}, unknown_touchpoints="other", **HAND_KW
    )
    assert isinstance(jm, jg.JourneyMap)
    assert jm.touchpoint("site").stage == "other" and jm.stages[-1].id == "other"

    template = jg.JourneyMap(
        name="template",
        stages=[{"id": "aware"}, {"id": "act"}],
        touchpoints=[
            {"id": "ad", "stage": "aware", "channel": "social", "owner": "marketing"},
            {"id": "email", "stage": "aware"},
            {"id": "site", "stage": "act", "sentiment": 0.5},
        ],
        outcomes=[{"id": "purchase", "kind": "conversion"}],
        entry={"ad": 1, "email": 1},
        moves=[
            {"from": "ad", "to": "site", "weight": 1},
            {"from": "email", "to": "site", "weight": 1},
            {"from": "site", "to": "purchase", "weight": 1},
        ],
    )
    jg.save(template, tmp_path / "template.yaml")
    jm = jg.fit(df, stages=tmp_path / "template.yaml", **HAND_KW)
    assert isinstance(jm, jg.JourneyMap)
    assert jm.touchpoint("ad").channel == "social" and jm.touchpoint("site").sentiment == 0.5
    assert weights(jm) == HAND_MOVES


def test_segments_give_one_map_each_with_shared_stages() -> None:
    df = hand_frame()
    df["persona"] = np.where(df["customer"].isin(["A", "C"]), "loyal", "new")
    maps = jg.fit(df, segment_column="persona", **HAND_KW)
    assert isinstance(maps, dict) and sorted(maps) == ["loyal", "new"]
    # loyal = A and C: entries ad (A1, A3), site (A2), email (C).
    assert dict(maps["loyal"].entry) == {"ad": 2.0, "email": 1.0, "site": 1.0}
    assert maps["loyal"].persona is not None and maps["loyal"].persona.id == "loyal"
    total: dict[tuple[str, str], float] = {}
    for jm in maps.values():
        assert [s.id for s in jm.stages] == [s.id for s in maps["loyal"].stages]
        for k, v in weights(jm).items():
            total[k] = total.get(k, 0.0) + v
    assert total == HAND_MOVES
    assert jg.FitReport.of(maps["new"]).segment == "new"


def test_strict_cap_and_too_many_touchpoints() -> None:
    df = hand_frame()
    with pytest.raises(jg.EventLogError, match=r"strict=True.*1 null customer.*1 duplicate"):
        jg.fit(df, strict=True, **HAND_KW)
    # Capping A leaves out the log's only conversion (A1): allowed here on purpose.
    jm = jg.fit(
        df, max_events_per_customer=5, allow_no_conversion=True, **{**HAND_KW, "window": None}
    )
    assert isinstance(jm, jg.JourneyMap)
    report = jg.FitReport.of(jm)
    # A has 6 events once its duplicate is removed (ad, email, site, purchase, site, ad):
    # more than 5, so all are left out.
    assert report.capped_customers == ("A",) and report.dropped["capped"] == 6
    assert report.journeys == 3  # B1, C, D
    with pytest.raises(jg.EventLogError, match=r"3 distinct touchpoints.*map the raw values"):
        jg.fit(df, max_touchpoints=2, **HAND_KW)
    with pytest.raises(jg.EventLogError, match=r"'buy' -> 'sale' is not an outcome kind"):
        jg.fit(df, **{**HAND_KW, "outcomes": {"buy": "sale"}})


def test_hostile_column_names_and_values_are_never_sql(tmp_path: Path) -> None:
    names = {
        "customer": 'cust"; DROP TABLE x; --',
        "time": "select",
        "event": 'touch point\'s "name"',
    }
    df = hand_frame().rename(columns=names)
    df[names["event"]] = df[names["event"]].replace({"ad": "ad'); DELETE FROM y; --"})
    df.to_parquet(tmp_path / "odd.parquet")
    df.to_csv(tmp_path / "odd.csv", index=False)
    kw = {
        **HAND_KW,
        "customer_column": names["customer"],
        "time_column": names["time"],
        "touchpoint_column": names["event"],
        "outcomes": {"purchase": "conversion", "rival": "competitor"},
    }
    results = [
        jg.fit(src, engine=eng, **kw)
        for src, eng in [
            (df, "numpy"),
            (df, "duckdb"),
            (tmp_path / "odd.parquet", "auto"),
            (tmp_path / "odd.csv", "auto"),
        ]
    ]
    for jm in results:
        assert isinstance(jm, jg.JourneyMap)
        assert jm.entry["ad'); DELETE FROM y; --"] == 3.0
        assert sum(weights(jm).values()) == sum(HAND_MOVES.values())


def test_outcome_values_with_quotes_are_parameters(tmp_path: Path) -> None:
    df = pd.DataFrame({"c": [1, 1], "t": [1, 2], "e": ["ad", "it's'; --"]})
    df.to_parquet(tmp_path / "q.parquet")
    jm = jg.fit(
        tmp_path / "q.parquet",
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
        outcomes={"it's'; --": "conversion"},
    )
    assert isinstance(jm, jg.JourneyMap)
    assert weights(jm) == {("ad", "it's'; --"): 1.0}


def test_glob_and_folder_sources(tmp_path: Path) -> None:
    df = hand_frame()
    folder = tmp_path / "parts"
    folder.mkdir()
    df.iloc[:7].to_parquet(folder / "a.parquet")
    df.iloc[7:].to_parquet(folder / "b.parquet")
    for source in (folder, str(folder / "*.parquet")):
        jm = jg.fit(source, **HAND_KW)
        assert isinstance(jm, jg.JourneyMap)
        assert weights(jm) == HAND_MOVES
    with pytest.raises(jg.EventLogError, match=r"no files match"):
        jg.fit(str(folder / "*.csv"), **HAND_KW)


def test_import_stays_light_until_fit_is_called() -> None:
    import subprocess
    import sys

    code = (
        "import sys, journeygraph as jg; jg.fit; "
        "print([m for m in ('pandas', 'duckdb', 'pyarrow', 'pyspark') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the bad-log corpus ---------------------------------------------------------------


def _bad_cases() -> list[Path]:
    return sorted(p for p in BAD_LOGS.iterdir() if not p.name.endswith(".expect"))


@pytest.mark.parametrize("engine", ["auto", "numpy"])
@pytest.mark.parametrize("path", _bad_cases(), ids=[p.name for p in _bad_cases()])
def test_bad_log_raises_one_clear_error(path: Path, engine: str) -> None:
    """Each file has a sidecar ``<name>.expect``: line 1 a regex the message must
    match, optional line 2 extra fit() arguments as JSON."""
    lines = path.with_name(path.name + ".expect").read_text(encoding="utf-8").splitlines()
    pattern = lines[0]
    extra = json.loads(lines[1]) if len(lines) > 1 else {}
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
    )
    kw.update(extra)
    with pytest.raises(jg.EventLogError) as info:
        jg.fit(path, engine=engine, **kw)
    message = str(info.value)
    assert re.search(pattern, message), message
    assert "Traceback" not in message and "duckdb" not in message.lower()


def test_bad_log_corpus_covers_the_reliability_table() -> None:
    assert len(_bad_cases()) >= 12


# -- command line ---------------------------------------------------------------------


def test_cli_fit_writes_a_map_atomically(
    tmp_path: Path, hand_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "map.yaml"
    args = [
        "fit",
        str(hand_files["parquet"]),
        "--customer",
        "customer",
        "--time",
        "time",
        "--touchpoint",
        "event",
        "--outcomes",
        "purchase=conversion,rival=competitor",
        "--gap",
        "100",
        "-o",
        str(out),
    ]
    # --gap 100 is text; numeric time columns need a number: a clear error, no file.
    assert main(args) == 1
    assert "gap='100'" in capsys.readouterr().err and not out.exists()
    args[args.index("--gap") : args.index("--gap") + 2] = []
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    jm = jg.load(out)
    assert sum(jm.entry.values()) == 5.0  # no gap or window: A1, A2+A3, B1, C, D
    assert main(args) == 1
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["journeys"] == 5 and report["dropped"]["duplicate"] == 1
    bad = [*args[:-1], str(tmp_path / "other.yaml")]
    bad[bad.index("event")] = "evnt"
    assert main(bad) == 1
    err = capsys.readouterr().err
    assert "touchpoint column 'evnt' not found (did you mean 'event'?)" in err
    assert not (tmp_path / "other.yaml").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_fit_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fit", "log.csv", "--customer", "c"])
    assert info.value.code == 2
    capsys.readouterr()


def test_cli_fit_no_durations_keeps_the_weights(
    tmp_path: Path, hand_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-durations is fit(..., durations=False): the same moves and weights as the
    API's fit with durations, and no move carries a duration."""
    log = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "b", "b", "c", "c"],
            "time": pd.to_datetime(
                [
                    "2024-01-01 10:00",
                    "2024-01-01 11:00",
                    "2024-01-01 13:00",
                    "2024-01-02 09:00",
                    "2024-01-02 09:30",
                    "2024-01-03 08:00",
                    "2024-01-04 08:00",
                ]
            ),
            "event": ["ad", "site", "buy", "ad", "site", "site", "buy"],
        }
    )
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    kw = {"customer_column": "customer", "time_column": "time", "touchpoint_column": "event"}
    timed = jg.fit(log, outcomes={"buy": "conversion"}, **kw)
    out = tmp_path / "map.yaml"
    base = ["fit", str(path), "--customer", "customer", "--time", "time"]
    args = [*base, "--touchpoint", "event", "--outcomes", "buy=conversion", "-o", str(out)]
    assert main([*args, "--no-durations"]) == 0
    capsys.readouterr()
    plain = jg.load(out)
    assert {(m.source, m.target): m.weight for m in plain.moves} == {
        (m.source, m.target): m.weight for m in timed.moves
    }
    assert all(m.duration is None for m in plain.moves)
    assert any(m.duration is not None for m in timed.moves)
