"""Move durations of fitted maps (issue #13): mean, lower median and count of the
observed gaps, equal in every engine, and time to outcome recovered by a round trip.

The references: gaps written out by hand; an independent pandas computation of each
journey's consecutive gaps; and, for the round trip, the sample mean and standard
error of the simulated journeys' total times.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import journeygraph as jg

from .conftest import EXAMPLES

ENGINES = ["numpy", "duckdb"]
KW: dict[str, Any] = {"customer_column": "c", "time_column": "t", "touchpoint_column": "e"}

# Journeys (hours after 2024-01-01 00:00):
#   1: ad@0, site@2, buy@3      2: ad@0, site@6, buy@6.5      3: ad@0, site@1 (churn)
# ad -> site gaps 2, 6, 1: mean 3, lower median 2, count 3.
# site -> buy gaps 1, 0.5: mean 0.75, lower median 0.5, count 2. site -> churn: none.
HAND = pd.DataFrame(
    {
        "c": [1, 1, 1, 2, 2, 2, 3, 3],
        "t": [
            "2024-01-01T00:00",
            "2024-01-01T02:00",
            "2024-01-01T03:00",
            "2024-01-01T00:00",
            "2024-01-01T06:00",
            "2024-01-01T06:30",
            "2024-01-01T00:00",
            "2024-01-01T01:00",
        ],
        "e": ["ad", "site", "buy", "ad", "site", "buy", "ad", "site"],
    }
)


def durations(jm: Any) -> dict[tuple[str, str], tuple[float, str, float | None, int | None]]:
    assert isinstance(jm, jg.JourneyMap)
    return {
        (m.source, m.target): (
            m.duration.mean,
            m.duration.unit,
            m.duration.median,
            m.duration.count,
        )
        for m in jm.moves
        if m.duration is not None
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_hand_log_mean_median_and_count(engine: str) -> None:
    jm = jg.fit(HAND, **KW, outcomes={"buy": "conversion"}, engine=engine)
    assert durations(jm) == {
        ("ad", "site"): (3.0, "hour", 2.0, 3),
        ("site", "buy"): (0.75, "hour", 0.5, 2),
    }
    m2 = jg.fit(HAND, **KW, outcomes={"buy": "conversion"}, engine=engine, order=2)
    assert durations(m2) == {
        ("(start) > ad", "ad > site"): (3.0, "hour", 2.0, 3),
        ("ad > site", "buy"): (0.75, "hour", 0.5, 2),
    }
    # Expected time to an outcome from the entry, by hand: every journey starts at ad;
    # 3 h to site, then 2/3 go on to buy in 0.75 h and 1/3 churn in no (unobserved)
    # time: 3 + 2/3 * 0.75 = 3.5 h.
    assert jg.analyze(jm).expected_time is not None
    assert jg.analyze(jm).expected_time.mean == pytest.approx(3.5, rel=1e-12)  # type: ignore[union-attr]


@pytest.mark.parametrize("engine", ENGINES)
def test_gaps_longer_than_gap_and_numeric_times_give_no_durations(engine: str) -> None:
    # ad@0h, site@100h: with gap=24h these are two journeys, so no ad -> site move.
    log = pd.DataFrame(
        {
            "c": [1, 1, 2, 2],
            "t": ["2024-01-01", "2024-01-05T04:00", "2024-01-01", "2024-01-01T00:30"],
            "e": ["ad", "site", "ad", "site"],
        }
    )
    jm = jg.fit(log, **KW, gap="24h", engine=engine)
    assert durations(jm) == {("ad", "site"): (30.0, "minute", 30.0, 1)}
    numeric = log.assign(t=[0, 100, 0, 0.5])
    assert durations(jg.fit(numeric, **KW, engine=engine)) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_durations_false_skips_the_gaps_and_keeps_every_weight(engine: str) -> None:
    # The hand log of test_hand_log_mean_median_and_count: same entry and weights
    # (ad 3; ad -> site 3, site -> buy 2, site -> churn 1), no durations.
    full = jg.fit(HAND, **KW, outcomes={"buy": "conversion"}, engine=engine)
    bare = jg.fit(HAND, **KW, outcomes={"buy": "conversion"}, engine=engine, durations=False)
    assert isinstance(full, jg.JourneyMap) and isinstance(bare, jg.JourneyMap)
    assert durations(bare) == {}
    assert jg.analyze(bare).expected_time is None  # no gaps, so no time to outcome
    assert dict(bare.entry) == dict(full.entry) == {"ad": 3.0}
    weights = {(m.source, m.target): m.weight for m in bare.moves}
    assert weights == {(m.source, m.target): m.weight for m in full.moves}
    assert weights == {("ad", "site"): 3.0, ("site", "buy"): 2.0, ("site", "churn"): 1.0}


def test_durations_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="durations must be True or False, not str"):
        jg.fit(HAND, **KW, durations="no")  # type: ignore[arg-type]


def _pandas_gaps(
    log: pd.DataFrame, unit_us: float
) -> dict[tuple[str, str], tuple[float, float, int]]:
    """Independent reference: consecutive events per customer (no outcomes, no ties)."""
    df = log.assign(t=pd.to_datetime(log.t, utc=True)).sort_values(["c", "t"])
    df["nxt"] = df.groupby("c").e.shift(-1)
    df["gap"] = (df.groupby("c").t.shift(-1) - df.t) / pd.Timedelta(microseconds=1)
    out = {}
    for (a, b), g in df.dropna(subset=["nxt"]).groupby(["e", "nxt"]):
        gaps = np.sort(g.gap.to_numpy())
        out[(a, b)] = (
            float(gaps.mean() / unit_us),
            float(gaps[(len(gaps) - 1) // 2] / unit_us),
            len(gaps),
        )
    return out


@pytest.mark.parametrize("minutes_range", [100_000, 300])
def test_every_engine_agrees_with_pandas_on_a_random_log(
    tmp_path: Path, minutes_range: int
) -> None:
    # 400 customers, 1-6 events each, distinct times per customer (seed 13): no ties,
    # no duplicates. Over 300 minutes many gaps repeat, so medians fall on tied values
    # (the numpy engine's partition at the median ranks must still pick the lower one).
    rng = np.random.default_rng(13)
    rows = []
    for c in range(400):
        k = int(rng.integers(1, 7))
        minutes = np.sort(rng.choice(minutes_range, size=k, replace=False))
        for m in minutes:
            stamp = pd.Timestamp("2024-03-01") + pd.Timedelta(minutes=int(m))
            rows.append((c, stamp.isoformat(), str(rng.choice(["ad", "mail", "site", "shop"]))))
    log = pd.DataFrame(rows, columns=["c", "t", "e"])
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    fits = {
        "numpy": jg.fit(log, **KW, engine="numpy"),
        "duckdb-frame": jg.fit(log, **KW, engine="duckdb"),
        "duckdb-csv": jg.fit(path, **KW),
    }
    first = durations(fits["numpy"])
    unit = next(iter(first.values()))[1]
    size = {"week": 604_800e6, "day": 86_400e6, "hour": 3_600e6, "minute": 60e6}[unit]
    want = _pandas_gaps(log, size)
    assert set(first) == set(want)
    for move, (mean, median, count) in want.items():
        got = first[move]
        assert got[0] == pytest.approx(mean, rel=1e-12)
        assert (got[2], got[3]) == (pytest.approx(median, rel=1e-12), count)
    for name, jm in fits.items():
        assert durations(jm).keys() == first.keys(), name
        for move, got in durations(jm).items():
            assert got[1:] == first[move][1:], (name, move)
            assert got[0] == pytest.approx(first[move][0], rel=1e-12), (name, move)


def test_simulate_fit_round_trip_recovers_the_expected_time(tmp_path: Path) -> None:
    """b2b_saas_current.yaml, 20,000 simulated journeys (seed 8). Two checks:

    - exact: a first-order fit of complete journeys reproduces the empirical visits
      (flow conservation), so the fitted expected time equals the sample mean of the
      journeys' total times;
    - sampling: that mean lies within 4.5 standard errors (sample sd / sqrt(n)) of
      the generating map's expected time.
    """
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    truth = jg.analyze(jm).expected_time
    assert truth is not None
    n = 20_000
    log = jg.simulate(jm, n, seed=8)
    path = log.write(tmp_path / "events.parquet")
    fitted = jg.fit(
        path,
        customer_column="customer_id",
        time_column="timestamp",
        touchpoint_column="touchpoint",
        outcomes=jm,
        stages=jm,
    )
    got = jg.analyze(fitted).expected_time
    assert got is not None
    frame = pd.DataFrame(log.columns)
    spans = frame.groupby("customer_id").timestamp.agg(lambda s: s.max() - s.min())
    hours = spans / pd.Timedelta(hours=1)
    assert len(hours) == n
    assert got.mean == pytest.approx(float(hours.mean()), rel=1e-9)
    se = float(hours.std(ddof=1)) / math.sqrt(n)
    assert abs(got.mean - truth.mean) <= 4.5 * se, (got.mean, truth.mean, se)


@pytest.mark.parametrize("cap", [None, 3])
def test_a_log_already_sorted_counts_as_the_shuffled_one(cap: int | None) -> None:
    # The numpy engine skips its sort for a log already in (customer, time) order. The
    # same rows sorted and shuffled (seed 5) must give identical maps and reports, with
    # exact duplicates (customer 0's second row twice, customer 2's last row twice) and
    # a cap of 3 events (which leaves out customers 0 and 3).
    rows = [
        (0, "2024-01-01T00:00", "ad"),
        (0, "2024-01-01T01:00", "site"),
        (0, "2024-01-01T01:00", "site"),
        (0, "2024-01-01T02:00", "buy"),
        (0, "2024-01-01T03:00", "ad"),
        (1, "2024-01-01T00:00", "site"),
        (1, "2024-01-01T00:30", "buy"),
        (2, "2024-01-01T00:00", "ad"),
        (2, "2024-01-01T04:00", "site"),
        (2, "2024-01-01T04:00", "site"),
        (3, "2024-01-01T00:00", "ad"),
        (3, "2024-01-01T00:10", "ad"),
        (3, "2024-01-01T00:20", "site"),
        (3, "2024-01-01T00:40", "buy"),
    ]
    ordered = pd.DataFrame(rows, columns=["c", "t", "e"])
    shuffled = ordered.sample(frac=1.0, random_state=5).reset_index(drop=True)
    assert not shuffled.equals(ordered)
    kw = {**KW, "outcomes": {"buy": "conversion"}, "max_events_per_customer": cap}
    fits = [
        jg.fit(ordered, **kw, engine="numpy"),
        jg.fit(shuffled, **kw, engine="numpy"),
        jg.fit(shuffled, **kw, engine="duckdb"),
    ]
    for jm in fits:
        assert isinstance(jm, jg.JourneyMap)
    first = fits[0]
    assert isinstance(first, jg.JourneyMap)
    report = jg.FitReport.of(first)
    assert report.dropped["duplicate"] == 2  # customer 0's and customer 2's repeats
    assert report.dropped["capped"] == (0 if cap is None else 8)  # customers 0 and 3
    for jm in fits[1:]:
        assert isinstance(jm, jg.JourneyMap)
        assert dict(jm.entry) == dict(first.entry)
        assert [(m.source, m.target, m.weight) for m in jm.moves] == [
            (m.source, m.target, m.weight) for m in first.moves
        ]
        assert durations(jm) == durations(first)
        assert jg.FitReport.of(jm).dropped == report.dropped
        assert jg.FitReport.of(jm).capped_customers == report.capped_customers
