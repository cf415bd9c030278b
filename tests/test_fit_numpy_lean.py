"""The numpy engine's lean Parquet path: only the needed columns, touchpoint and outcome
columns read as dictionaries, and the sorted-log check before any sort key is built.

Every expected figure comes from an independent computation in the test: the same log
fitted from a DataFrame (the plain text path), by the DuckDB engine, a ``np.lexsort``
for the order, or the column's own values for the dictionary codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeygraph as jg
from journeygraph.fit.numpy_engine import _encode_labels, _in_order

OUTCOMES = {"purchase": "conversion", "rival": "competitor"}


def _signature(jm: Any) -> tuple[Any, ...]:
    return (
        dict(jm.entry),
        {(m.source, m.target): m.weight for m in jm.moves},
        [(t.id, t.stage) for t in jm.touchpoints],
        [(o.id, o.kind) for o in jm.outcomes],
    )


def _report(jm: Any) -> dict[str, Any]:
    got = jg.FitReport.of(jm).to_dict()
    return {k: got[k] for k in ("journeys", "events", "censored_journeys", "dropped")}


def _messy(n: int, seed: int) -> pd.DataFrame:
    """A log with nulls, duplicates, ties, an extra column and an outcome column."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "note": rng.choice(["x", "y"], n),
            "customer": rng.integers(0, n // 6, n),
            "time": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "h"),
            "touchpoint": rng.choice(["ad", "site", "email", "app"], n),
            "result": rng.choice([None, "purchase", "rival"], n, p=[0.9, 0.07, 0.03]),
        }
    )
    df.loc[df["result"].notna(), "touchpoint"] = None
    df = pd.concat([df, df.sample(n // 20, random_state=1)])
    df.loc[df.index[:4], "touchpoint"] = None
    return df.reset_index(drop=True)


@pytest.mark.parametrize("sort", [False, True])
def test_parquet_read_lean_counts_as_the_frame_and_duckdb(sort: bool, tmp_path: Path) -> None:
    # Several row groups, so the touchpoint dictionaries differ per chunk and are unified.
    df = _messy(3000, 4)
    if sort:  # the already-sorted path, duplicates and all
        df = df.sort_values(["customer", "time", "touchpoint"], kind="stable")
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=500)
    assert pq.ParquetFile(path).num_row_groups > 1
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcome_column="result",
        outcomes=OUTCOMES,
        gap="36h",
        window="24h",
        max_events_per_customer=20,
    )
    for order in (1, 2):
        lean = jg.fit(path, engine="numpy", order=order, durations=False, **kw)
        plain = jg.fit(df, engine="numpy", order=order, durations=False, **kw)
        duck = jg.fit(path, engine="duckdb", order=order, durations=False, **kw)
        assert _signature(lean) == _signature(plain) == _signature(duck)
        assert _report(lean) == _report(plain) == _report(duck)
        assert _report(lean)["dropped"]["duplicate"] > 0


def test_a_missing_column_in_parquet_still_lists_every_column(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _messy(60, 1).to_parquet(path)
    with pytest.raises(jg.EventLogError) as info:
        jg.fit(path, customer_column="customer", time_column="time",
               touchpoint_column="touchpont", outcomes=OUTCOMES, engine="numpy")  # fmt: skip
    assert str(info.value) == (
        f"{path}: touchpoint column 'touchpont' not found (did you mean 'touchpoint'?); "
        "the columns are 'note', 'customer', 'time', 'touchpoint', 'result'"
    )


def test_dictionary_codes_name_the_same_values_as_the_text() -> None:
    texts = ["b", None, "a", "b", "c", None, "a"]
    # Two chunks with their own dictionaries, one of which holds a value no row uses.
    first = pa.DictionaryArray.from_arrays(
        pa.array([0, None, 1, 0], pa.int32()), pa.array(["b", "a", "z"])
    )
    second = pa.array(["c", None, "a"]).dictionary_encode()
    codes, values = _encode_labels(pa.chunked_array([first, second]))
    assert [values[c] if c >= 0 else None for c in codes.tolist()] == texts
    assert sorted(values) == ["a", "b", "c"]  # the unused "z" is gone
    # Plain text takes the hashing path and names the same values.
    codes, values = _encode_labels(pa.chunked_array([pa.array(texts[:3]), pa.array(texts[3:])]))
    assert [values[c] if c >= 0 else None for c in codes.tolist()] == texts
    # Unsigned indices (as polars writes them) with a null.
    unsigned = pa.DictionaryArray.from_arrays(
        pa.array([1, None, 0], pa.uint32()), pa.array(["a", "b"])
    )
    codes, values = _encode_labels(unsigned)
    assert [values[c] if c >= 0 else None for c in codes.tolist()] == ["b", None, "a"]
    # A dictionary holding a null value: that row is a null like any other.
    odd = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), pa.array(["a", None]))
    codes, values = _encode_labels(odd)
    assert [values[c] if c >= 0 else None for c in codes.tolist()] == ["a", None, "a"]


@pytest.mark.parametrize("seed", range(6))
def test_in_order_agrees_with_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    who = np.sort(rng.integers(0, 20, n))
    t = rng.integers(0, 4, n).astype(np.float64)
    code = rng.integers(0, 3, n)
    # Sorted by lexsort itself, then (for odd seeds) one neighbour pair swapped.
    order = np.lexsort((code, t, who))
    who, t, code = who[order], t[order], code[order]
    if seed % 2:
        i = int(
            np.flatnonzero((who[1:] == who[:-1]) & ((t[1:] != t[:-1]) | (code[1:] != code[:-1])))[0]
        )
        for a in (who, t, code):
            a[[i, i + 1]] = a[[i + 1, i]]
    # lexsort is stable: the log is in order exactly when it leaves every row in place.
    expected = bool((np.lexsort((code, t, who)) == np.arange(n)).all())
    assert _in_order(who, t, code) == expected == (seed % 2 == 0)


def test_one_parquet_column_in_two_roles_reads_as_the_frame(tmp_path: Path) -> None:
    # The touchpoint column named as the outcome column too: read once from Parquet,
    # used in both roles, with the same result (or error) as the DataFrame.
    df = _messy(600, 2)
    path = tmp_path / "log.parquet"
    df.to_parquet(path)
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcome_column="touchpoint",
        outcomes=OUTCOMES,
    )
    outcome = None
    for source in (df, path):
        try:
            got: Any = jg.fit(source, engine="numpy", **kw)
            result = (_signature(got), _report(got))
        except jg.JourneyGraphError as exc:
            result = ("error", str(exc).split(": ", 1)[1])
        if outcome is None:
            outcome = result
        assert result == outcome


def _durations(jm: Any) -> dict[tuple[str, str], Any]:
    return {(m.source, m.target): m.duration for m in jm.moves}


@pytest.mark.parametrize("order", [1, 2])
def test_a_clean_log_counts_as_the_masked_path_and_duckdb(order: int, tmp_path: Path) -> None:
    # A log without nulls, outcome column or segments skips every null mask; adding one
    # row with a null customer sends the same events down the masked path. Both, and the
    # DuckDB engine, must give the same map, durations and first appearances.
    rng = np.random.default_rng(7)
    n = 4000
    clean = pd.DataFrame(
        {
            "customer": rng.integers(0, 600, n),
            "time": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 900, n), "h"),
            "touchpoint": rng.choice(["ad", "site", "email", "app", "purchase", "rival"], n),
        }
    )
    clean = pd.concat([clean, clean.head(50)], ignore_index=True)  # duplicates too
    masked = pd.concat(
        [
            clean,
            pd.DataFrame({"customer": [None], "time": [clean["time"][0]], "touchpoint": ["ad"]}),
        ],
        ignore_index=True,
    )
    masked["customer"] = masked["customer"].astype("Int64")
    path = tmp_path / "clean.parquet"
    pq.write_table(pa.Table.from_pandas(clean, preserve_index=False), path)
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
        gap="48h",
        window="72h",
        order=order,
    )
    fast = jg.fit(path, engine="numpy", **kw)
    slow = jg.fit(masked, engine="numpy", **kw)
    duck = jg.fit(path, engine="duckdb", **kw)
    assert _signature(fast) == _signature(slow) == _signature(duck)
    assert _durations(fast) == _durations(slow) == _durations(duck)
    assert [t.id for t in fast.touchpoints] == [t.id for t in duck.touchpoints]
    report, masked_report = _report(fast), _report(slow)
    assert report == _report(duck)
    assert masked_report["dropped"].pop("null_customer") == 1
    assert report["dropped"].pop("null_customer") == 0
    assert report == masked_report
    assert report["censored_journeys"] > 0 and report["dropped"]["duplicate"] > 0
