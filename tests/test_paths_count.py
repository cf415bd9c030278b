"""fit_paths counts whole columns (journeygraph/fit/paths_count.py), no Python loop per row.

Reference: a plain row-by-row reading of the table in this file (``str.split``, dict
counters: the method fit_paths used before), independent of Arrow and numpy.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import journeygraph as jg
from journeygraph.fit import paths_count
from journeygraph.fit.paths_count import count_paths


@pytest.fixture(params=["one call", "two halves"])
def split(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the paths split in one call, and as two halves on two threads
    (the path for large tables), whatever the table's size."""
    limit = 10**12 if request.param == "one call" else 0
    monkeypatch.setattr(paths_count, "_PARALLEL_ROWS", limit)
    monkeypatch.setattr(paths_count.os, "cpu_count", lambda: 2)
    return str(request.param)


def _row_by_row(
    paths: list[object], conv: list[float], lost: list[float], sep: str = " > "
) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    entry: dict[str, float] = defaultdict(float)
    moves: dict[tuple[str, str], float] = defaultdict(float)
    for text, c, n in zip(paths, conv, lost, strict=True):
        if c + n == 0:
            continue
        assert isinstance(text, str)
        steps = [s.strip() for s in text.split(sep)]
        entry[steps[0]] += c + n
        for a, b in itertools.pairwise(steps):
            moves[(a, b)] += c + n
        if c:
            moves[(steps[-1], "conversion")] += c
        if n:
            moves[(steps[-1], "churn")] += n
    return dict(entry), dict(moves)


def _random_table(rows: int, channels: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = [f"ch {i}" if i % 7 else f"카널{i}" for i in range(channels)]
    paths = []
    for _ in range(rows):
        steps = rng.choice(names, size=int(rng.integers(1, 7)))  # repeats give self-loops
        paths.append(" > ".join(f"  {s} " if rng.random() < 0.1 else s for s in steps))
    conv = rng.integers(0, 4, rows)
    lost = rng.integers(0, 5, rows)
    lost[rng.random(rows) < 0.05] = 0
    conv[lost == 0] = 0  # some rows without journeys, skipped
    return pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": lost})


@pytest.mark.parametrize(("rows", "channels", "seed"), [(300, 12, 1), (2000, 60, 2), (500, 1, 3)])
def test_counts_equal_a_row_by_row_reading(rows: int, channels: int, seed: int, split: str) -> None:
    df = _random_table(rows, channels, seed)
    entry, moves = _row_by_row(
        df.path.tolist(), df.total_conversions.tolist(), df.total_null.tolist()
    )
    jm = jg.fit_paths(df)
    assert dict(jm.entry) == pytest.approx(entry, rel=0, abs=0)
    assert {(m.source, m.target): m.weight for m in jm.moves} == moves
    assert {t.id for t in jm.touchpoints} == {a for a, _ in moves}


def test_many_channels_count_pairs_by_sorting() -> None:
    # More channels than the dense k x k pair table allows (_DENSE_PAIRS = 4096).
    n = 5000
    paths = [f"c{i} > c{(i * 7 + 1) % n} > c{i}" for i in range(n)]
    df = pd.DataFrame({"path": paths, "total_conversions": [1] * n, "total_null": [2] * n})
    entry, moves = _row_by_row(paths, [1] * n, [2] * n)
    jm = jg.fit_paths(df)
    assert {(m.source, m.target): m.weight for m in jm.moves} == moves
    assert dict(jm.entry) == entry


def test_arrow_chunks_and_categorical_paths_count_the_same(split: str) -> None:
    df = _random_table(400, 9, 4)
    expected = jg.fit_paths(df)
    chunked = pa.concat_tables(
        [pa.Table.from_pandas(df.iloc[:150]), pa.Table.from_pandas(df.iloc[150:])]
    )
    assert jg.fit_paths(chunked).moves == expected.moves
    categorical = df.assign(path=df.path.astype("category"))
    assert jg.fit_paths(categorical).moves == expected.moves


@pytest.mark.parametrize(
    ("paths", "conv", "message"),
    [
        (["a > b", None, "a"], [1, 1, 1], r"row 3: path column 'path' is empty or null"),
        (["a > b", "   ", "a >  > b"], [1, 1, 1], r"row 3: path column 'path' is empty"),
        (["a > b", "a >  > b", None], [1, 1, 1], r"row 3: path 'a >  > b' has an empty step"),
        (["a > b", "a > ", None], [1, 1, 1], r"row 3: path 'a > ' has an empty step"),
        ([None, "a > b", "a >  > b"], [0, 1, 1], r"row 4: path 'a >  > b' has an empty step"),
        (["a > b", "", "a >  > b"], [1, 1, 1], r"row 3: path column 'path' is empty or null"),
        (["a > b", "b >  > a", ""], [1, 1, 1], r"row 3: path 'b >  > a' has an empty step"),
        (["", "a > b", "a >  > b"], [0, 1, 1], r"row 4: path 'a >  > b' has an empty step"),
    ],
)
def test_the_first_bad_path_is_reported_by_row(
    paths: list[str | None], conv: list[int], message: str, split: str
) -> None:
    df = pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": [0] * 3})
    with pytest.raises(jg.EventLogError, match=message):
        jg.fit_paths(df)


def test_a_path_column_that_is_not_text_is_refused() -> None:
    table = pa.table({"path": [1, 2], "total_conversions": [1, 1], "total_null": [0, 0]})
    with pytest.raises(jg.EventLogError, match=r"row 2: path column 'path' is empty or null"):
        jg.fit_paths(table)


@pytest.mark.parametrize(
    ("values", "row", "found"),
    [
        ([1.0, -1.0, float("nan")], 3, "-1.0"),
        ([1.0, float("nan"), -1.0], 3, "nan"),
        ([1.0, 2.0, float("inf")], 4, "inf"),
        ([1, None, 3], 3, "None"),
    ],
)
def test_count_columns_are_checked_on_the_whole_array(
    values: list[float | None], row: int, found: str
) -> None:
    table = pa.table({"path": ["a", "b", "c"], "total_conversions": values, "total_null": [0] * 3})
    with pytest.raises(
        jg.EventLogError, match=rf"row {row}: column 'total_conversions' must be a count >= 0 "
    ) as info:
        jg.fit_paths(table)
    assert f"found {found}" in str(info.value)


def test_text_and_boolean_counts_keep_their_rules() -> None:
    text = pa.table({"path": ["a", "b"], "total_conversions": ["3", "1"], "total_null": [1, 0]})
    assert {(m.source, m.target): m.weight for m in jg.fit_paths(text).moves} == {
        ("a", "conversion"): 3.0,
        ("a", "churn"): 1.0,
        ("b", "conversion"): 1.0,
    }
    flags = pa.table({"path": ["a"], "total_conversions": [True], "total_null": [0]})
    with pytest.raises(jg.EventLogError, match=r"row 2: column 'total_conversions'"):
        jg.fit_paths(flags)


def test_report_counts_every_row_and_journey() -> None:
    df = _random_table(200, 5, 6)
    report = jg.fit_paths(df).metadata["fit"]
    assert report["input_rows"] == 200
    assert report["journeys"] == int(df.total_conversions.sum() + df.total_null.sum())


def _counted(table: pd.DataFrame) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """count_paths' entries and moves (pairs and ends) by channel name."""
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    conv = table.total_conversions.to_numpy(dtype=float)
    lost = table.total_null.to_numpy(dtype=float)
    counts = count_paths(arrow, "path", conv, lost, " > ", "test")
    names = counts.channels
    assert list(names) == sorted(names)
    entry = {names[i]: float(counts.entry[i]) for i in np.flatnonzero(counts.entry)}
    moves = {
        (names[a], names[b]): w
        for a, b, w in zip(
            counts.pair_from.tolist(),
            counts.pair_to.tolist(),
            counts.pair_weight.tolist(),
            strict=True,
        )
    }
    # Pairs come sorted by (from, to) code, each once.
    keys = list(zip(counts.pair_from.tolist(), counts.pair_to.tolist(), strict=True))
    assert keys == sorted(set(keys))
    for outcome, ends in (("conversion", counts.converted), ("churn", counts.lost)):
        moves.update({(names[i], outcome): float(ends[i]) for i in np.flatnonzero(ends)})
    return entry, moves


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("channels", [30, 5000])
def test_fractional_weights_add_in_table_order(padded: bool, channels: int, split: str) -> None:
    # Weights such as 0.1 and 0.7 make float sums depend on the order of addition:
    # every total must be bit-identical to the row-by-row sum in table order, both
    # when counting on Arrow's indices and relabelling (no padded spellings) and when
    # two spellings trim to one channel; dense pair table (30) and sorted keys (5000).
    rng = np.random.default_rng(channels + padded)
    rows = 3000
    names = [f"c{i}" for i in range(channels)]
    paths = []
    for _ in range(rows):
        steps = [names[j] for j in rng.integers(0, channels, int(rng.integers(1, 6)))]
        paths.append(" > ".join(f" {s}  " if padded and rng.random() < 0.2 else s for s in steps))
    conv = rng.choice([0.0, 0.1, 0.7, 1.3], rows)
    lost = rng.choice([0.0, 0.2, 2.9], rows)
    table = pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": lost})
    expected_entry, expected_moves = _row_by_row(paths, conv.tolist(), lost.tolist())
    entry, moves = _counted(table)
    assert entry == expected_entry
    assert moves == expected_moves


def test_one_step_paths_and_rows_without_journeys(split: str) -> None:
    # Hand-counted: "a" (3 journeys) and "b" (2) have no pair; the 0-journey row is
    # skipped; "a > b" adds one a -> b pair of 1 journey.
    table = pd.DataFrame(
        {
            "path": ["a", "b > a > c", "b", "a > b"],
            "total_conversions": [1, 0, 2, 1],
            "total_null": [2, 0, 0, 0],
        }
    )
    entry, moves = _counted(table)
    assert entry == {"a": 4.0, "b": 2.0}
    assert moves == {
        ("a", "conversion"): 1.0,
        ("a", "churn"): 2.0,
        ("b", "conversion"): 3.0,
        ("a", "b"): 1.0,
    }


def test_more_channels_than_an_int32_pair_key_holds() -> None:
    # 50,001 channels: the key from * k + to reaches 2.5e9 > 2**31 - 1, so an int32
    # key would wrap and merge pairs. Reference: the row-by-row reading.
    n = 50_000
    paths = [f"c{i} > c{i + 1}" for i in range(n)] + [f"c{n} > c0 > c{n}"]
    conv, lost = [1.0] * (n + 1), [float(i % 3) for i in range(n + 1)]
    table = pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": lost})
    assert _counted(table) == _row_by_row(paths, conv, lost)


def test_a_sliced_single_chunk_counts_like_its_rows() -> None:
    # One chunk is read in place (no combine_chunks copy); a table slice keeps an
    # offset into its buffers. Reference: the row-by-row reading of the same rows.
    df = _random_table(300, 8, 9)
    sliced = pa.Table.from_pandas(df, preserve_index=False).slice(37, 200)
    assert sliced.column("path").num_chunks == 1
    rows = df.iloc[37:237]
    entry, moves = _row_by_row(
        rows.path.tolist(), rows.total_conversions.tolist(), rows.total_null.tolist()
    )
    jm = jg.fit_paths(sliced)
    assert dict(jm.entry) == entry
    assert {(m.source, m.target): m.weight for m in jm.moves} == moves
