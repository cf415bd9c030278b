"""The DuckDB engine's footer path: a Parquet file whose footer proves that no customer,
time or segment is null is counted without the statistics scan of those columns
(journeygraph/fit/footer.py). It must give the very same counts as the scan.

Every expected figure comes from an independent computation: the same file counted by
the scan path (the footer switched off), by the numpy engine, or by hand (the comments
show the journeys).
"""

from __future__ import annotations

import datetime
import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeygraph as jg
from journeygraph.fit.footer import Footer, parquet_footer
from journeygraph.fit.numpy_engine import count_arrow
from journeygraph.fit.spec import Counts, Spec

engine = importlib.import_module("journeygraph.fit.duckdb_engine")
OUTCOMES = ("purchase", "rival")
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _log(
    n: int, seed: int, *, unit: str = "us", tz: str | None = None, outcome_column: bool = False,
    null: str | None = None, start: int = 1_704_067_200,
) -> pa.Table:  # fmt: skip
    """A seeded log: ties, exact duplicates, null touchpoints, sub-second times, and
    (``null``) a few nulls in one more column; times start at ``start`` seconds."""
    rng = np.random.default_rng(seed)
    seconds = start + rng.integers(0, 300, n) * 3600
    raw = seconds * _PER_SECOND[unit] + (rng.integers(0, 999, n) if unit != "ms" else 0)
    touch = rng.choice(["ad", "site", "email", "app", *OUTCOMES], n).astype(object)
    touch[rng.random(n) < 0.03] = None
    columns: dict[str, Any] = {
        "customer": rng.integers(0, n // 6, n),
        "time": raw,
        "touchpoint": touch,
        "segment": rng.choice(["a", "b", "c"], n).astype(object),
    }
    if outcome_column:
        result = rng.choice(np.array([None, *OUTCOMES], dtype=object), n, p=[0.85, 0.1, 0.05])
        columns["touchpoint"] = np.where(result == None, touch, None)  # noqa: E711
        columns["touchpoint"][np.isin(columns["touchpoint"], OUTCOMES)] = "site"
        columns["result"] = result
    dup = rng.integers(0, n, n // 15)  # exact duplicates of earlier rows
    columns = {k: np.concatenate([v, v[dup]]) for k, v in columns.items()}
    if null is not None:
        values = columns[null].astype(object)
        values[rng.integers(0, len(values), 7)] = None
        columns[null] = values
    arrays = {k: pa.array(list(v)) for k, v in columns.items()}
    stamps = pa.array(list(columns["time"]), type=pa.int64())
    arrays["time"] = stamps.cast(pa.timestamp(unit, tz=tz))
    return pa.table(arrays)


def _spec(**kw: Any) -> Spec:
    base = dict(customer="customer", time="time", touchpoint="touchpoint", outcome=None)
    return Spec(**{**base, "segment": None, "outcome_values": OUTCOMES, **kw})


def _normal(counts: Counts) -> dict[str, Any]:
    """Every figure of a count table, in an order that does not depend on the engine."""
    return {
        "rows": sorted(counts.rows, key=repr),
        "input_rows": counts.input_rows,
        "dropped": counts.dropped,
        "capped": counts.capped_customers,
        "first_seen": counts.first_seen,
        "durations": counts.durations,
        "segments": counts.segments,
        "segment_capped": counts.segment_capped,
    }


def _both(
    path: Path, spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> tuple[Counts, Counts, list[Footer | None]]:
    """The file counted with the footer (recording what it proved) and with the scan."""
    seen: list[Footer | None] = []

    def spy(*args: Any) -> Footer | None:
        seen.append(parquet_footer(*args))
        return seen[-1]

    monkeypatch.setattr(engine, "parquet_footer", spy)
    fast = engine.count_duckdb(None, spec, str(path), kind="parquet", files=[str(path)])
    monkeypatch.setattr(engine, "parquet_footer", lambda *a: None)
    slow = engine.count_duckdb(None, spec, str(path), kind="parquet", files=[str(path)])
    return fast, slow, seen


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("plain", {}, {}),
    ("no durations", {}, {"durations": False}),
    ("outcome column", {"outcome_column": True}, {"outcome": "result"}),
    ("segments", {}, {"segment": "segment"}),
    ("segments, outcome column", {"outcome_column": True}, {"segment": "segment", "outcome": "result"}),
    ("second order", {}, {"order": 2}),
    ("gap", {}, {"gap": "36h"}),
    ("window, default end", {}, {"window": "24h"}),
    ("window, outcome column", {"outcome_column": True}, {"window": "24h", "outcome": "result"}),
    ("window, given end", {}, {"window": "24h", "observed_until": "2024-01-14"}),
    ("milliseconds", {"unit": "ms"}, {"window": "24h"}),
    ("seconds, written as milliseconds", {"unit": "s"}, {"window": "24h"}),
    ("nanoseconds", {"unit": "ns"}, {"gap": "36h"}),
    ("nanoseconds before 1970", {"unit": "ns", "start": -86_400 * 30}, {"window": "24h"}),
    ("time zone", {"unit": "us", "tz": "Europe/Paris"}, {"window": "24h"}),
    ("nanoseconds, time zone", {"unit": "ns", "tz": "UTC"}, {"window": "24h"}),
    ("nanoseconds, time zone, before 1970", {"unit": "ns", "tz": "UTC", "start": -86_400 * 30}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("log", "spec_kw"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_footer_path_counts_as_the_scan_and_the_numpy_engine(
    log: dict[str, Any], spec_kw: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _log(2400, 5, **log)
    path = tmp_path / "log.parquet"
    pq.write_table(table, path, row_group_size=700)  # several row groups
    spec = _spec(**spec_kw)
    fast, slow, seen = _both(path, spec, monkeypatch)
    assert seen and seen[0] is not None and seen[0].rows == table.num_rows  # the footer was used
    assert _normal(fast) == _normal(slow)
    assert fast.dropped["duplicate"] > 0 and fast.dropped["null_touchpoint"] > 0
    assert fast.first_seen and fast.durations == (slow.durations if spec.durations else {})
    numpy_counts = count_arrow(pq.read_table(path), spec, str(path))
    want = _normal(numpy_counts)
    if spec.segment is None:  # the numpy engine reports one unnamed segment: no figure
        assert want.pop("segments") == {"": {}} and _normal(fast).pop("segments") == {}
        want["segments"] = {}
    assert _normal(fast) == want


@pytest.mark.parametrize("column", ["customer", "time", "segment"])
def test_a_null_customer_time_or_segment_takes_the_scan_and_is_reported(
    column: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _log(1200, 8, null=column)
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    spec = _spec(segment="segment")
    fast, slow, seen = _both(path, spec, monkeypatch)
    assert seen == [None]
    assert _normal(fast) == _normal(slow)
    # The seven nulls written into the column (seed 8: no row drew the same index twice
    # and no null customer row also has a null time, so each is counted once by rule 1).
    nulls = table.column(column).null_count
    assert nulls == 7
    key = {"customer": "null_customer", "time": "null_time", "segment": "null_segment"}[column]
    assert fast.dropped[key] == nulls


def test_missing_statistics_and_a_cap_take_the_scan_dates_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _log(1500, 9, outcome_column=True)
    spec = _spec(outcome="result", window="24h", segment="segment")
    bare = tmp_path / "bare.parquet"
    pq.write_table(table, bare, write_statistics=False)
    fast, slow, seen = _both(bare, spec, monkeypatch)
    assert seen == [None] and _normal(fast) == _normal(slow)
    # Statistics for some columns only: the time column's are missing.
    part = tmp_path / "part.parquet"
    pq.write_table(table, part, write_statistics=["customer", "segment"])
    fast, slow, seen = _both(part, spec, monkeypatch)
    assert seen == [None] and _normal(fast) == _normal(slow)
    # Dates: the footer's smallest and largest days, through the engine's own cast.
    dates = tmp_path / "dates.parquet"
    days = pa.array(np.arange(table.num_rows) % 40, pa.int32()).cast(pa.date32())
    pq.write_table(table.set_column(1, "time", days), dates)
    fast, slow, seen = _both(dates, spec, monkeypatch)
    assert seen[0] == Footer(table.num_rows, 0, 39 * 86_400_000_000)  # days 0-39 since 1970
    assert _normal(fast) == _normal(slow)
    # With a cap, first appearances count capped customers too: the scan gives them.
    capped = replace(spec, max_events=3)  # a customer is (segment, id)
    fast, slow, seen = _both(bare, capped, monkeypatch)
    assert seen == [] and fast.dropped["capped"] > 0 and _normal(fast) == _normal(slow)


def test_several_files_use_every_footer_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _log(1500, 9, outcome_column=True)
    folder = tmp_path / "folder"
    folder.mkdir()
    pq.write_table(table.slice(0, 700), folder / "a.parquet")
    # The second file in milliseconds (its sub-millisecond parts cut off when written).
    late = table.slice(700).set_column(
        1, "time", table.column("time").slice(700).cast(pa.timestamp("ms"), safe=False)
    )
    pq.write_table(late, folder / "b.parquet")
    files = [str(folder / "a.parquet"), str(folder / "b.parquet")]
    spec = _spec(outcome="result", window="24h", segment="segment")
    seen: list[Footer | None] = []

    def spy(*args: Any) -> Footer | None:
        seen.append(parquet_footer(*args))
        return seen[-1]

    def count(footer: Any) -> Counts:
        monkeypatch.setattr(engine, "parquet_footer", footer)
        return engine.count_duckdb(None, spec, str(folder), kind="parquet", files=files)

    fast, slow = count(spy), count(lambda *a: None)
    assert [f is not None and f.rows for f in seen] == [table.num_rows]
    assert _normal(fast) == _normal(slow)
    # Independent: the same rows in one table, counted by the numpy engine.
    whole = pa.concat_tables([table.slice(0, 700), late.cast(table.schema)])
    assert _normal(fast) == _normal(count_arrow(whole, spec, str(folder)))
    # A file without the segment column: read by name, its rows get a null segment.
    pq.write_table(late.drop_columns(["segment"]), folder / "b.parquet")
    seen.clear()
    fast, slow = count(spy), count(lambda *a: None)
    assert seen[-1] is None and _normal(fast) == _normal(slow)
    assert fast.dropped["null_segment"] == table.num_rows - 700


def test_the_default_end_of_observation_is_the_last_event_not_the_last_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A: ad@0h, site@1h; B: ad@10h; C: a row without touchpoint at 100h (dropped).
    # The last event is at 10h, so with window=5h B's journey is censored (10 - 10 < 5)
    # and A's churns (10 - 1 >= 5). Were the end the last row's time (100h), both churn.
    hours = [0, 1, 10, 100]
    table = pa.table(
        {
            "customer": ["A", "A", "B", "C"],
            "time": pa.array([h * 3_600_000_000 for h in hours], type=pa.timestamp("us")),
            "touchpoint": ["ad", "site", "ad", None],
        }
    )
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    fast, slow, seen = _both(path, _spec(window="5h"), monkeypatch)
    assert seen[0] == Footer(4, 0, 100 * 3_600_000_000)
    assert _normal(fast) == _normal(slow)
    kinds = {(r[2], r[5]): r[7] for r in fast.rows}
    assert kinds == {("ad", 0): 1, ("site", 2): 1, ("ad", 3): 1}  # move, churn, censored
    assert fast.dropped["null_touchpoint"] == 1
    # First appearances: ad at 0 h, site at 1 h (microseconds since 1970).
    assert fast.first_seen == {"ad": 0.0, "site": 3_600_000_000.0}


def test_first_appearances_are_of_touchpoint_events_before_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'purchase' as an outcome at 0 h does not make it a touchpoint; 'ad' is first seen
    # at 2 h though its row is repeated; 'site' at 1 h in customer B's journey.
    base = datetime.datetime(2024, 5, 1)
    rows = [("A", 0, "purchase"), ("A", 2, "ad"), ("A", 2, "ad"), ("B", 1, "site"), ("B", 3, "ad")]
    table = pa.table(
        {
            "customer": [r[0] for r in rows],
            "time": pa.array([base + datetime.timedelta(hours=r[1]) for r in rows], pa.timestamp("ms")),
            "touchpoint": [r[2] for r in rows],
        }
    )  # fmt: skip
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    fast, slow, seen = _both(path, _spec(), monkeypatch)
    assert seen[0] is not None
    epoch = base.replace(tzinfo=datetime.UTC).timestamp() * 1e6
    assert fast.first_seen == {"ad": epoch + 2 * 3.6e9, "site": epoch + 3.6e9}
    assert _normal(fast) == _normal(slow)
    assert fast.dropped["duplicate"] == 1 and fast.dropped["null_touchpoint"] == 0


def test_a_file_whose_footer_disagrees_with_its_rows_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.parquet"
    pq.write_table(_log(300, 1), path)
    monkeypatch.setattr(engine, "parquet_footer", lambda *a: Footer(5, 0, 1))
    with pytest.raises(jg.EventLogError, match=r"log\.parquet: the file changed while it was read"):
        engine.count_duckdb(None, _spec(), str(path), kind="parquet", files=[str(path)])


def test_the_footer_says_nothing_it_cannot_prove(tmp_path: Path) -> None:
    con = duckdb.connect()
    path = str(tmp_path / "log.parquet")
    stamps = pa.array([3, 1, 2], type=pa.timestamp("us"))
    pq.write_table(pa.table({"c": [1, 2, 3], "t": stamps, "s": ["x", None, "y"]}), path)
    time = ("t", "TIMESTAMP", 'epoch_us("t")')
    assert parquet_footer(con, [path], ["c", "t", "s"], ["c", "t"], time) == Footer(3, 1, 3)
    assert parquet_footer(con, [path], ["c", "t", "s"], ["c", "t", "s"], time) is None  # s: null
    assert parquet_footer(con, [path], ["c", "t"], ["c", "t"], time) is None  # not the columns
    assert parquet_footer(con, [path], ["c", "t", "s"], ["c"], ("t", "BIGINT", '"t"')) is None
    # Nested columns; a file without rows (nothing to bound).
    pq.write_table(pa.table({"c": [{"a": 1}], "t": stamps.slice(0, 1)}), path)
    assert parquet_footer(con, [path], ["c", "t"], ["t"], time) is None
    pq.write_table(pa.table({"t": pa.array([], pa.timestamp("us"))}), path)
    assert parquet_footer(con, [path], ["t"], ["t"], time) == Footer(0, None, None)
