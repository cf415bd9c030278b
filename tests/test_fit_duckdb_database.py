"""The DuckDB engine keeps one in-memory DuckDB database per process
(journeygraph/fit/duckdb_engine.py, ``_connect``): each fit opens its own connection
to it and creates only temporary objects there.

These tests check what that promise means for a user: nothing a fit creates is left
behind, fits on several threads at once give the same counts as one after the other,
and a forked child fits with a database of its own and exits cleanly (a DuckDB
database inherited through fork crashed the child when it was freed at exit).
Every expected figure is the numpy engine's count of the same file.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeygraph as jg

engine = importlib.import_module("journeygraph.fit.duckdb_engine")
ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, seed: int, touchpoints: list[str]) -> Path:
    """A seeded log with same-time ties and duplicates, as Parquet or CSV by suffix."""
    rng = np.random.default_rng(seed)
    n = 3_000
    table = pa.table(
        {
            "customer": rng.integers(0, 400, n),
            "time": pa.array(rng.integers(0, 2_000, n) * 1_000_000, type=pa.timestamp("us")),
            "touchpoint": rng.choice([*touchpoints, "purchase"], n).tolist(),
        }
    )
    if path.suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def _fit(path: Path, engine_name: Literal["numpy", "duckdb"]) -> list[tuple[str, str, float]]:
    jm = jg.fit(
        path, customer_column="customer", time_column="time", touchpoint_column="touchpoint",
        outcomes={"purchase": "conversion"}, engine=engine_name,
    )  # fmt: skip
    return sorted((m.source, m.target, m.weight) for m in jm.moves)


def test_fits_share_one_database_and_leave_nothing_in_it(tmp_path: Path) -> None:
    parquet = _write(tmp_path / "a.parquet", 1, ["ad", "site", "email"])
    csv = _write(tmp_path / "b.csv", 2, ["store", "app"])
    assert _fit(parquet, "duckdb") == _fit(parquet, "numpy")
    first = engine._kept[1]
    assert _fit(csv, "duckdb") == _fit(csv, "numpy")
    assert engine._kept[1] is first  # the same database, not a new one per fit
    con = first.cursor()
    try:
        views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        types = con.execute(
            "SELECT type_name FROM duckdb_types() WHERE type_name LIKE 'jg%'"
        ).fetchall()
    finally:
        con.close()
    assert (views, tables, types) == ([], [], [])


def test_fits_on_several_threads_at_once_count_as_one_after_the_other(tmp_path: Path) -> None:
    # Different touchpoints per file: a fit that saw another's view or touchpoint type
    # would count the wrong file or fail to cast.
    files = [
        _write(tmp_path / f"log{i}.parquet", 10 + i, [f"tp{i}_{j}" for j in range(3 + i)])
        for i in range(6)
    ]
    expected = [_fit(f, "numpy") for f in files]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda f: _fit(f, "duckdb"), files * 2))
    assert got == expected * 2


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
def test_a_forked_child_fits_with_its_own_database_and_exits_cleanly(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", 3, ["ad", "site"])
    # In a fresh interpreter, not in the test runner's own process.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        import journeygraph as jg
        from journeygraph.fit import duckdb_engine as engine

        def fit():
            jm = jg.fit({str(path)!r}, customer_column="customer", time_column="time",
                        touchpoint_column="touchpoint", outcomes={{"purchase": "conversion"}},
                        engine="duckdb")
            return sorted((m.source, m.target, m.weight) for m in jm.moves)

        before = fit()
        parent_db = engine._kept[1]
        pid = os.fork()
        if pid == 0:
            ok = fit() == before and engine._kept[1] is not parent_db
            sys.exit(0 if ok else 3)  # a normal exit: finalizers run
        _, status = os.waitpid(pid, 0)
        print(status)
        print(fit() == before and engine._kept[1] is parent_db)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    status, parent_ok = done.stdout.split()
    assert status == "0"  # not 11 (SIGSEGV) or 3 (a wrong count in the child)
    assert parent_ok == "True"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_rewritten_between_the_statistics_and_the_count_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    # Each event's code comes from a join with the touchpoints the statistics found: a
    # touchpoint written into the file after them would have no code. The count must
    # notice, not leave those events out.
    path = _write(tmp_path / f"log{suffix}", 4, ["ad", "site"])
    run = engine._run

    def rewrite_first(con: object, sql: str, params: dict[str, object] | None = None) -> object:
        if "CREATE TEMP TABLE jg_names" in sql:
            _write(path, 4, ["ad", "store"])  # same rows, one touchpoint renamed
        return run(con, sql, params)

    monkeypatch.setattr(engine, "_run", rewrite_first)
    with pytest.raises(
        jg.EventLogError, match=rf"log\{suffix}: the file changed while it was read"
    ):
        _fit(path, "duckdb")
