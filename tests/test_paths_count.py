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
def test_counts_equal_a_row_by_row_reading(rows: int, channels: int, seed: int) -> None:
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


def test_arrow_chunks_and_categorical_paths_count_the_same() -> None:
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
    paths: list[str | None], conv: list[int], message: str
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
