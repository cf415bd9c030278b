"""Benchmark: fitting 1M journeys (~6M events) from Parquet on this machine.

Not collected by pytest (the file name does not start with ``test_``). Run:

    PYTHONPATH=. python tests/benchmarks/bench_fit.py [--journeys 1000000]

It generates a seeded log (20 touchpoints, one conversion and one competitor outcome,
mean ~6 events per journey), writes it to Parquet, and times in the same run:

- bare DuckDB: ``LAG ... GROUP BY`` over the file (the floor the issue compares with),
- ``jg.fit`` with the DuckDB engine (the default for files),
- ``jg.fit`` with the numpy engine (Parquet read with pyarrow, then numpy),
- the pandas ``sort_values`` / ``groupby().shift()`` / ``value_counts`` an analyst
  would write,

and checks that all of them produce the same move counts. Peak memory is the
process's max RSS after each step (``resource.getrusage``), so run it fresh.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import journeygraph as jg


def make_log(journeys: int, seed: int = 0) -> pa.Table:
    """Seeded journeys: 20 touchpoints, stop probability 1/6 per step."""
    rng = np.random.default_rng(seed)
    lengths = rng.geometric(1 / 6, size=journeys).clip(max=40)
    n = int(lengths.sum())
    customer = np.repeat(np.arange(journeys, dtype=np.int64), lengths)
    start = np.repeat(rng.integers(0, 30 * 86400, size=journeys), lengths)
    step = np.arange(n) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    seconds = start + step * 600 + rng.integers(0, 300, size=n)
    touch = rng.integers(0, 20, size=n)
    last = np.cumsum(lengths) - 1
    ending = rng.random(journeys)
    names = np.array([f"touchpoint_{i:02d}" for i in range(20)] + ["purchase", "rival"])
    touch[last[ending < 0.3]] = 20
    touch[last[(ending >= 0.3) & (ending < 0.4)]] = 21
    order = rng.permutation(n)  # logs are not sorted
    return pa.table(
        {
            "customer_id": pa.array(customer[order]),
            "timestamp": pa.array(
                (seconds[order] + 1_704_067_200) * 1_000_000, type=pa.timestamp("us")
            ),
            "touchpoint": pa.array(names[touch[order]]),
        }
    )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn, results: dict) -> object:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    results[label] = (time.perf_counter() - t0, peak_mib())
    print(f"{label:<34} {results[label][0]:7.2f} s   peak RSS {results[label][1]:7.0f} MiB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jg-bench-"))
    path = folder / "events.parquet"
    table = make_log(args.journeys)
    pq.write_table(table, path)
    print(f"log: {args.journeys:,} journeys, {table.num_rows:,} events, {path}")
    del table
    results: dict[str, tuple[float, float]] = {}
    kw = dict(
        customer="customer_id",
        time="timestamp",
        touchpoint="touchpoint",
        outcomes={"purchase": "conversion", "rival": "competitor"},
        progress=False,
    )

    import duckdb

    def bare() -> dict[tuple[str, str], int]:
        con = duckdb.connect()
        rows = con.execute(
            "SELECT prev, touchpoint, count(*) FROM (SELECT touchpoint, lag(touchpoint) "
            "OVER (PARTITION BY customer_id ORDER BY timestamp) AS prev FROM read_parquet(?)) "
            "WHERE prev IS NOT NULL GROUP BY ALL",
            [str(path)],
        ).fetchall()
        return {(a, b): n for a, b, n in rows}

    bare_counts = timed("bare DuckDB LAG ... GROUP BY", bare, results)
    m_duck = timed("jg.fit engine=duckdb", lambda: jg.fit(path, **kw), results)
    m_np = timed("jg.fit engine=numpy", lambda: jg.fit(path, engine="numpy", **kw), results)

    def pandas_way() -> pd.Series:
        df = pd.read_parquet(path)
        df = df.sort_values(["customer_id", "timestamp"], kind="stable")
        df["next"] = df.groupby("customer_id")["touchpoint"].shift(-1)
        return df.dropna(subset=["next"]).value_counts(["touchpoint", "next"])

    pandas_counts = timed("pandas sort + groupby.shift", pandas_way, results)

    def moves(jm: object) -> dict[tuple[str, str], float]:
        assert isinstance(jm, jg.JourneyMap)
        return {(m.source, m.target): m.weight for m in jm.moves if m.target != "churn"}

    assert moves(m_duck) == moves(m_np)
    assert moves(m_duck) == {k: float(v) for k, v in bare_counts.items()}  # type: ignore[union-attr]
    assert moves(m_duck) == {k: float(v) for k, v in pandas_counts.items()}  # type: ignore[union-attr]
    floor = results["bare DuckDB LAG ... GROUP BY"][0]
    for label, (secs, _) in results.items():
        print(f"{label:<34} {secs / floor:5.2f} x bare DuckDB")


if __name__ == "__main__":
    main()
