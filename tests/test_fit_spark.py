"""The Spark engine, run for real in local mode: the same counts as the numpy engine.

One SparkSession serves the whole test run (session-scoped fixture, local[2], four
shuffle partitions, no UI). The tests skip only when PySpark or a Java runtime is
missing, and say which.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import journeygraph as jg

from .test_fit import HAND, HAND_ENTRY, HAND_KW, HAND_MOVES, OUTCOMES, signature, weights

pytestmark = pytest.mark.spark


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(
        home and os.path.exists(os.path.join(home, "bin", "java"))
    )


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
    if not _java_available():
        pytest.skip("no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("journeygraph-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _frame(spark: Any, rows: list[tuple[Any, ...]], schema: str) -> Any:
    return spark.createDataFrame(rows, schema=schema)


def test_spark_hand_log_exact_counts(spark: Any) -> None:
    df = _frame(spark, HAND, "customer string, time long, event string")
    jm = jg.fit(df, **HAND_KW)
    assert isinstance(jm, jg.JourneyMap)
    assert dict(jm.entry) == HAND_ENTRY
    assert weights(jm) == HAND_MOVES
    report = jg.FitReport.of(jm)
    assert report.engine == "spark"
    assert (report.journeys, report.events, report.censored_journeys) == (6, 11, 1)
    assert report.dropped["duplicate"] == 1
    assert report.dropped["outcome_without_touchpoint"] == 1


def test_spark_matches_numpy_on_a_messy_random_log(spark: Any) -> None:
    """Seeded log with ties, duplicates, shuffled rows, nulls and a bot (seed 4)."""
    rng = np.random.default_rng(4)
    n = 3000
    base = datetime.datetime(2024, 1, 1)
    rows = [
        (
            f"c{int(c)}",
            base + datetime.timedelta(hours=int(h)),
            str(tp),
            "loyal" if int(c) % 3 == 0 else "new",
        )
        for c, h, tp in zip(
            rng.integers(0, 300, n),
            rng.integers(0, 250, n),
            rng.choice(["ad", "site", "email", "purchase", "rival"], n),
            strict=True,
        )
    ]
    rows += rows[:150]  # exact duplicates
    rows += [("bot", base + datetime.timedelta(minutes=i), "site", "new") for i in range(60)]
    rows.append((None, base, "ad", "new"))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    pdf = pd.DataFrame(rows, columns=["customer", "time", "touchpoint", "persona"])
    sdf = _frame(spark, rows, "customer string, time timestamp, touchpoint string, persona string")
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
        gap="30h",
        window="20h",
        max_events_per_customer=40,
    )
    for order_ in (1, 2):
        ref = jg.fit(pdf, engine="numpy", order=order_, **kw)
        got = jg.fit(sdf, order=order_, **kw)
        assert isinstance(ref, jg.JourneyMap) and isinstance(got, jg.JourneyMap)
        assert signature(got) == signature(ref), order_
        a, b = jg.FitReport.of(got).to_dict(), jg.FitReport.of(ref).to_dict()
        for key in ("journeys", "events", "censored_journeys", "dropped", "capped_customers"):
            assert a[key] == b[key], key
        assert a["capped_customers"] == ["bot"]
    ref_seg = jg.fit(pdf, segment_column="persona", **kw)
    got_seg = jg.fit(sdf, segment_column="persona", **kw)
    assert isinstance(ref_seg, dict) and isinstance(got_seg, dict)
    assert {k: signature(v) for k, v in got_seg.items()} == {
        k: signature(v) for k, v in ref_seg.items()
    }


def test_spark_hostile_column_names(spark: Any) -> None:
    df = _frame(spark, HAND, "customer string, time long, event string").toDF(
        "cust`; DROP", "select", "touch.point's"
    )
    kw = {
        **HAND_KW,
        "customer_column": "cust`; DROP",
        "time_column": "select",
        "touchpoint_column": "touch.point's",
    }
    jm = jg.fit(df, **kw)
    assert isinstance(jm, jg.JourneyMap)
    assert weights(jm) == HAND_MOVES


def test_spark_text_times_and_bad_input(spark: Any) -> None:
    rows = [("a", "2024-05-01T10:00:00Z", "ad"), ("a", "2024-05-01T12:30:00+02:00", "site")]
    # 12:30+02:00 is 10:30Z: ad -> site.
    jm = jg.fit(
        _frame(spark, rows, "c string, t string, e string"),
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
    )
    assert isinstance(jm, jg.JourneyMap)
    assert weights(jm) == {("ad", "site"): 1.0, ("site", "churn"): 1.0}
    bad = _frame(spark, [*rows, ("b", "soon", "ad")], "c string, t string, e string")
    with pytest.raises(jg.EventLogError, match=r"time column 't'.*not a date.*'soon'"):
        jg.fit(bad, customer_column="c", time_column="t", touchpoint_column="e")
    with pytest.raises(jg.EventLogError, match=r"touchpoint column 'event' not found"):
        jg.fit(bad, customer_column="c", time_column="t", touchpoint_column="event")
    with pytest.raises(jg.EventLogError, match=r"engine='numpy' cannot read a Spark DataFrame"):
        jg.fit(bad, customer_column="c", time_column="t", touchpoint_column="e", engine="numpy")


def test_spark_progress_reports_phases_and_stages(
    spark: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback hears Spark's phases in order, and the stage poll reaches it."""
    from journeygraph.fit import spark_engine

    polled: list[tuple[float, str] | None] = []
    real = spark_engine._spark_stage_poll

    def recording(df: Any) -> Any:
        poll = real(df)

        def wrapped() -> tuple[float, str] | None:
            polled.append(poll())
            return polled[-1]

        return wrapped

    monkeypatch.setattr(spark_engine, "_spark_stage_poll", recording)
    df = _frame(spark, HAND, "customer string, time long, event string")
    calls: list[tuple[str, float, float | None]] = []
    jm = jg.fit(df, progress=lambda *c: calls.append(c), **HAND_KW)
    assert isinstance(jm, jg.JourneyMap) and weights(jm) == HAND_MOVES
    phases = [c[0] for c in calls]
    assert [p for i, p in enumerate(phases) if p not in phases[:i]] == [
        "statistics",
        "count",
        "maps",
        "done",
    ]
    assert calls[-1] == ("done", 3.0, 3.0)
    # The count job is waited for while polling the status tracker: at least once, and
    # every stage progress it found is reported within the count phase (phase 2 of 3).
    assert polled
    best, expected = 1.0, []
    for p in polled:
        if p is not None:  # None: no stage running at that moment
            best = max(best, 1.0 + p[0])  # the report never goes backwards
            expected.append(("count", best, 3.0))
    assert [c for c in calls if c[0] == "count"] == [("count", 1.0, 3.0), *expected]
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)
    # progress=True: tqdm's bar (or lines) on stderr; progress=False: nothing.
    jg.fit(df, progress=True, **HAND_KW)
    err = capsys.readouterr().err
    assert "fit (spark): " in err and "done" in err and err.endswith("\n")
    jg.fit(df, progress=False, **HAND_KW)
    assert capsys.readouterr().err == ""


def test_spark_reads_text_times_by_the_shared_rule(spark: Any) -> None:
    """The same far dates, number forms and refusals as tests/test_fit_logs.py."""
    from .test_fit_logs import FAR, FAR_MOVES

    kw: dict[str, Any] = {"customer_column": "c", "time_column": "t", "touchpoint_column": "e"}
    far = [(str(c), t, e) for c, t, e in FAR.itertuples(index=False)]
    df = spark.createDataFrame(far).toDF("c", "t", "e")
    assert weights(jg.fit(df, **kw)) == FAR_MOVES
    numbers = spark.createDataFrame([("1", "1e1", "c"), ("1", "+.5", "b"), ("1", "-3", "a")])
    want = {("a", "b"): 1.0, ("b", "c"): 1.0, ("c", "churn"): 1.0}
    assert weights(jg.fit(numbers.toDF("c", "t", "e"), **kw)) == want
    for good, value in [("1", "1_000"), ("1", "inf"), ("2024-01-01", "10000-01-01")]:
        bad = spark.createDataFrame([("1", good, "a"), ("1", value, "b"), ("1", good, "a")])
        with pytest.raises(jg.EventLogError, match=f"not a date or time.*found {value!r}"):
            jg.fit(bad.toDF("c", "t", "e"), **kw)
    twice = spark.createDataFrame([("1", "1", "a", "5")]).toDF("c", "t", "e", "t")
    with pytest.raises(jg.EventLogError, match="column 't' appears 2 times"):
        jg.fit(twice, **kw)


def test_spark_durations_equal_the_other_engines(spark: Any) -> None:
    """Mean, lower median and count of every move's gaps, as tests/test_fit_durations.py."""
    from .test_fit_durations import HAND, durations

    rows = [(str(c), t, e) for c, t, e in HAND.itertuples(index=False)]
    df = spark.createDataFrame(rows).toDF("c", "t", "e")
    kw: dict[str, Any] = {"customer_column": "c", "time_column": "t", "touchpoint_column": "e"}
    for order in (1, 2):
        got = jg.fit(df, **kw, outcomes={"buy": "conversion"}, order=order)
        want = jg.fit(HAND, **kw, outcomes={"buy": "conversion"}, order=order, engine="numpy")
        assert durations(got) == durations(want)
        assert [t.id for t in got.touchpoints] == [t.id for t in want.touchpoints]


def test_spark_segment_reports_equal_the_other_engines(spark: Any) -> None:
    """Each segment's own figures and the pooled report, as tests/test_fit_template.py."""
    from .test_fit_template import SEGMENTED

    rows = [tuple(None if pd.isna(v) else v for v in r) for r in SEGMENTED.itertuples(index=False)]
    rows = [(s, c, None if t is None else int(t), e) for s, c, t, e in rows]
    df = spark.createDataFrame(rows, "s string, c string, t long, e string")
    kw: dict[str, Any] = dict(
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
        segment_column="s",
        outcomes={"purchase": "conversion"},
        max_events_per_customer=3,
    )
    got = jg.fit(df, **kw)
    want = jg.fit(SEGMENTED, **kw, engine="numpy")
    assert isinstance(got, dict) and isinstance(want, dict)
    for seg in ("x", "y"):
        a, b = jg.FitReport.of(got[seg]), jg.FitReport.of(want[seg])
        assert a.engine == "spark"
        assert a.to_dict() | {"engine": "numpy", "pooled": None} == b.to_dict() | {"pooled": None}
        assert a.pooled is not None and b.pooled is not None
        assert (a.pooled.input_rows, a.pooled.dropped) == (b.pooled.input_rows, b.pooled.dropped)
