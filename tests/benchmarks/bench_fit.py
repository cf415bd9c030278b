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
- pm4py's directly-follows discovery (``pm4py.discover_dfg``), when pm4py is installed
  (it is not a dependency of journeygraph; ``pip install pm4py`` to include it),

and checks that all of them produce the same move counts. Each approach runs in its own
fresh Python process (so its peak RSS, from ``resource.getrusage``, is its own), the
approaches take turns ``--repeat`` times, and the best time of each is reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


KW: dict[str, object] = dict(
    customer_column="customer_id",
    time_column="timestamp",
    touchpoint_column="touchpoint",
    outcomes={"purchase": "conversion", "rival": "competitor"},
    progress=False,
)


def bare(path: Path) -> dict[tuple[str, str], int]:
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        "SELECT prev, touchpoint, count(*) FROM (SELECT touchpoint, lag(touchpoint) "
        "OVER (PARTITION BY customer_id ORDER BY timestamp) AS prev FROM read_parquet(?)) "
        "WHERE prev IS NOT NULL GROUP BY ALL",
        [str(path)],
    ).fetchall()
    return {(a, b): n for a, b, n in rows}


def fit_moves(path: Path, engine: str) -> dict[tuple[str, str], int]:
    jm = jg.fit(path, engine=engine, **KW)  # type: ignore[arg-type]
    assert isinstance(jm, jg.JourneyMap)
    return {(m.source, m.target): int(m.weight) for m in jm.moves if m.target != "churn"}


def pandas_way(path: Path) -> dict[tuple[str, str], int]:
    df = pd.read_parquet(path)
    df = df.sort_values(["customer_id", "timestamp"], kind="stable")
    df["next"] = df.groupby("customer_id")["touchpoint"].shift(-1)
    counts = df.dropna(subset=["next"]).value_counts(["touchpoint", "next"])
    return {(str(a), str(b)): int(n) for (a, b), n in counts.items()}


def pm4py_way(path: Path) -> dict[tuple[str, str], int]:
    import pm4py

    df = pd.read_parquet(path)
    df["customer_id"] = df["customer_id"].astype(str)  # pm4py wants string case ids
    dfg, _start, _end = pm4py.discover_dfg(
        df, case_id_key="customer_id", activity_key="touchpoint", timestamp_key="timestamp"
    )
    return {(str(a), str(b)): int(n) for (a, b), n in dfg.items()}


APPROACHES: dict[str, Callable[[Path], dict[tuple[str, str], int]]] = {
    "bare DuckDB LAG ... GROUP BY": bare,
    "jg.fit engine=duckdb": lambda p: fit_moves(p, "duckdb"),
    "jg.fit engine=numpy": lambda p: fit_moves(p, "numpy"),
    "pandas sort + groupby.shift": pandas_way,
    "pm4py discover_dfg": pm4py_way,
}


def child(label: str, path: Path, out: Path) -> None:
    """Run one approach in this (fresh) process; write time, peak RSS and counts."""
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    counts = APPROACHES[label](path)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_bytes(
        pickle.dumps({"secs": secs, "peak": peak, "start": start_rss, "counts": counts})
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("LABEL", "PATH", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    folder = Path(tempfile.mkdtemp(prefix="jg-bench-"))
    path = folder / "events.parquet"
    table = make_log(args.journeys)
    pq.write_table(table, path)
    print(f"log: {args.journeys:,} journeys, {table.num_rows:,} events, {path}")
    del table
    labels = list(APPROACHES)
    if importlib.util.find_spec("pm4py") is None:
        print("pm4py is not installed: skipping pm4py discover_dfg (pip install pm4py)")
        labels.remove("pm4py discover_dfg")
    best: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for round_ in range(args.repeat):
        for label in labels:
            out = folder / "result.pkl"
            subprocess.run(
                [sys.executable, __file__, "--child", label, str(path), str(out)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            got = pickle.loads(out.read_bytes())
            counts[label] = got.pop("counts")
            if label not in best or got["secs"] < best[label]["secs"]:
                best[label] = got
            print(
                f"round {round_ + 1}: {label:<30} {got['secs']:6.2f} s  "
                f"peak RSS {got['peak']:6.0f} MiB"
            )
    reference = counts[labels[0]]
    for label in labels:
        assert counts[label] == reference, f"{label} counts differ from bare DuckDB"
    floor = best[labels[0]]["secs"]
    print("\nbest of", args.repeat, "(same run; all move counts equal):")
    for label in labels:
        b = best[label]
        print(
            f"{label:<30} {b['secs']:6.2f} s  {b['secs'] / floor:5.2f} x bare DuckDB  "
            f"peak RSS {b['peak'] / 1024:5.2f} GiB"
        )
    print(json.dumps({k: round(v["secs"], 3) for k, v in best.items()}))


if __name__ == "__main__":
    main()
