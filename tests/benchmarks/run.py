"""The benchmark suite: journeygraph against each alternative, in the same run.

Run from the repository root::

    python -m tests.benchmarks.run            # full sizes, rewrites docs/performance.md
    python -m tests.benchmarks.run --quick    # seconds; what the test suite runs

Each case times journeygraph and the best alternative measured on the same data in the
same process (best of ``--repeats``), checks that they agree, and records both. The
results go to a machine-readable JSON file (``tests/benchmarks/results.json``, with the
machine, versions and date), and the generated part of ``docs/performance.md``
(between the ``bench:begin``/``bench:end`` markers) is rewritten from that file, so
no figure there is typed by hand. ``--quick`` writes into ``--out`` (a temporary folder
by default) and leaves the docs alone unless ``--docs`` names a page.

Alternatives: an exact vectorised pyarrow + numpy floor, bare DuckDB queries,
ChannelAttribution's ``markov_model``, Jacobi-preconditioned BiCGSTAB (scipy) as
the iterative floor and a plain numpy sampler (one ``searchsorted`` per step) for
``jg.simulate``. Alternatives that are not installed are recorded as skipped with
the reason (``pip install -e '.[bench]'`` installs them).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main", "render_markdown", "update_page"]

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tests" / "benchmarks" / "results.json"
PAGE = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
#: Case groups in page order; ``--only`` measures some of them again.
GROUPS = (
    "attribution",
    "analysis",
    "removal",
    "counting",
    "simulate",
    "chain",
    "explorer",
    "suite",
)

#: Why journeygraph is still slower than an alternative, by case group (shown under a
#: table wherever a measured ratio is above 1). Written from profiles of these cases.
WHY_SLOWER = {
    "attribution": (
        "`fit_paths` builds a validated map where the floor solves arrays. Measured "
        "interleaved with the floor in one process on a quiet machine (best of 8): "
        "0.30–0.31 s against 0.26–0.27 s (1.15×); with the path column split on one "
        "thread, as before this round, 0.34–0.35 s (1.31–1.33×); the session began at "
        "0.61 s against 0.35 s (1.74×). What changed: Arrow's `split_pattern` and "
        "`dictionary_encode` (two thirds of `fit_paths`, one core each, without the GIL) "
        "split a large column as two halves on two threads, their dictionaries unified "
        "(0.07–0.10 s against 0.13–0.15 s on two idle cores); `count_paths`' numpy lines "
        "had taken 2–4× the floor's identical operations because every large temporary "
        "was fresh memory to fault in: the steps now stay Arrow's int32 indices and the "
        "pairs are one int64 key per step built in place (0.22 → 0.07 s); building the map "
        "paid the cyclic garbage collector, which traversed the process again and again "
        "while ~160,000 lasting objects (none in a cycle) were made: `JourneyMap(...)` "
        "and the map builder pause it, the moves are sorted on an integer key, the stage "
        "order is inferred from arrays and the reachability checks walk the move columns "
        "(`_build_map` 0.31 → 0.10–0.12 s). What remains: the split and encoding, which "
        "the floor runs too (plus a trim of every step); `_build_map` 0.10–0.12 s, of "
        "which ~55 ms is pydantic creating 40,400 `Move` models (~1 µs each, plus two id "
        "checks), ~15 ms the map's checks and ~15 ms the move dicts and their order; "
        "`analyze` 0.01–0.03 s. Fix for the rest: a map that keeps its moves as validated "
        "columns and makes `Move` objects only when asked (a change of the model's "
        "contract, DESIGN.md). On a busy machine the second thread helps less, and single "
        "runs swing by ±30 %."
    ),
    "analysis": (
        "Every case is within 3× of the best floor, fresh map or not: 1.0–1.9× in this "
        "run on a quiet machine, where the floors' own times are steadier (at load 6.6–7.6 "
        "an earlier run had the floor, timed in its own process, come out slower than "
        "journeygraph on the random 5,000 and 20,000 maps). Around the solves, "
        "`jg.analyze` checks the escape probabilities (strongly connected components), "
        "verifies every solve's residual against |A||x|, checks that the rows of B sum "
        "to 1 and builds the per-id read-only mappings (visits, steps, variances, "
        "switching by stage); leaks, switching, stage flow and move flows are built on "
        "first access. A fresh map's first analysis used to read its 110k pydantic moves "
        "into arrays (0.10–0.12 s at 20,000 touchpoints, 4.18× in the previous round); "
        "validation now reads them once at C level into columns (source and target "
        "indices, weights, durations), checks them with numpy instead of its Python loop "
        "and keeps them with the map, so the first analysis only builds the sparse "
        "matrices: `chain.map_arrays` 30–60 ms and the fill-in estimate (reverse "
        "Cuthill–McKee, now without building the permuted matrix: 13 ms against 17 ms "
        "alone) 26–36 ms at load ~9, against 0.24 s for the arrays under cProfile "
        "before. Validation did not get slower: the reference check of the 20,000 map "
        "takes 0.20–0.32 s against 0.43–0.57 s (best of 5, load 6–9, alternating runs); "
        "building the map stays 2.3–2.5 s either way (pydantic and the per-id check), "
        "and `bench_load.py`'s dict load came out 1.95–2.45 s against 2.04–2.73 s at "
        "load ~7, peak RSS 180 against 182 MiB. What is left of the first-call cost is "
        "the fill-in estimate and the CSR builds (~40–90 ms at 20,000 touchpoints). Fix, "
        "not done: a cheaper fill-in bound than RCM for maps just above DENSE_LIMIT. "
        "About the floors: BiCGSTAB from x0 = 0 broke down on the random maps' visits "
        "solve (info -10, visits off by 5e-2); it starts from the Jacobi guess and "
        "restarts once after a breakdown, and each floor counts only when it agrees with "
        "journeygraph to 1e-9. SuperLU runs out of time (fill-in) on the random 20,000 "
        "map, and BiCGSTAB beats it on the stage-ordered 20,000 map, which journeygraph "
        "solves iteratively too (envelope limit 300 per touchpoint)."
    ),
    "counting": (
        "Only the DuckDB rows are slower than their floors. Each fit does more than a "
        "floor: it applies the journey rules (outcomes end journeys, churn, censoring, "
        "gaps), finds duplicates, checks the log and builds a validated map, where the "
        "floors count pairs. DuckDB engine, measured on a quiet machine (load 0.1–1.0; on "
        "a busy one single rows swing by up to 2×): the counting query alone is now "
        "0.91–1.0× the bare query (medians of 10–12 on one connection). Its window sorts "
        "one BIGINT key of time and code and carries no string; each event's code comes "
        "from a hash join with a table of the names (0.03 s for 5.5M events, where a cast "
        "to an ENUM took 0.10 s); and the query holds only the tests the fit needs (a "
        "constant segment and tests of NULL gap and window parameters cost ~5–10%). What "
        "is left is ~0.05 s of fixed cost per fit: the touchpoint list the codes need (one "
        "GROUP BY of that column, 0.02 s), the Parquet footers (0.005–0.01 s) and the map "
        "and Python (0.02 s). The engine keeps one DuckDB database per process (a new one "
        "per fit cost 0.08–0.12 s of fresh threads and memory; the bare query runs on "
        "DuckDB's default connection, which is kept too). For Parquet the footers give "
        "the row count, null counts and time range when they prove that no customer, "
        "time or segment is null, and the first appearances come out of the counting "
        "query. With durations, one GROUP BY carries counts and gaps (`quantile_disc`), "
        "as the floor does. What would close the rest: the touchpoint list read in the "
        "counting query itself (one scan fewer); the fixed cost weighs less on larger "
        "logs. Tried and not kept: grouping by the raw (previous, event, next) codes "
        "(more groups: slower), the touchpoint text through the window instead of codes "
        "(1.5–1.9× the bare query). numpy "
        "engine, now faster than both floors: on this VM a freshly allocated 40 MB array "
        "costs 3–4 in-place passes over one (page faults; ~20 ms without transparent huge "
        "pages), so the engine's ~20 int64 temporaries per fit, not its arithmetic, set its "
        "speed and made it swing 0.5–1.6 s with the memory state left by what ran before. "
        "A clean log now skips every null mask, timestamps and ids counted from 0 are read "
        "as views, the kind and target of each event are decoded per group from one "
        "'next' field of the packed key, and the durations are keyed by the same key: "
        "counts only 0.30–0.35 s (was 0.51–0.86 s), peak 561 MiB (was 855). Its exact "
        "medians are one `partition` at each move's median rank, which beats the floor's "
        "second `lexsort`. This log is sorted, so the floor's `lexsort` is work the "
        "engine skips; an unsorted log pays one `argsort` of a packed key."
    ),
    "removal": (
        "The work is now ~3.6× smaller, and the wall time is what the shared cores give "
        "it: every N_kk exactly (each to 1e-12 relative, accepted on its explicitly "
        "computed residual) by a deflated multicolour Gauss–Seidel series, 16 columns per "
        "block, one thread per core. Coloured so that no move joins two touchpoints of one "
        "colour (6 colours), a sweep is one sparse product per colour; the sweep's Perron "
        "root (0.76) is removed by starting along its Perron vector, and the rest of its "
        "spectrum (radius ~0.27) needs ~25 sweeps per column, where the block BiCGSTAB "
        "before it needed ~56 sparse products and its vector updates. CPU seconds of all "
        "threads for every removal effect and sensitivity, measured in the same hour: 44 s "
        "(this table's run) against 160 s for the block BiCGSTAB (the previous commit, "
        "787 s wall at load average 13–16). Two free cores would take ~25 s (estimated "
        "from the CPU time: the cores were never free while this was measured), and the "
        "60 s goal holds whenever the process gets at least ~0.75 of a core. In this run (load "
        "average 12–14, about six engineers' jobs on two cores) it got ~0.36 of a core, "
        "hence the wall time above. What "
        "would lower it further: the ~25 sparse products per column are the floor of this "
        "series (the rest of the spectrum is a disk, on which no polynomial beats it); a "
        "fused compiled kernel could save the ~30 % spent outside the products; no "
        "estimator is needed."
    ),
    "simulate": (
        "The floor does the same work as `jg.simulate`, except that it draws each move "
        "with `searchsorted` over every move of the map, where `jg.simulate` searches "
        "only the customer's own row (a branchless binary search in whole-array passes: "
        "35–41 against 52–53 ms per million draws, uniforms included, load ~4), so a "
        "ratio above 1 here is the shared machine's load (the two take turns, best of "
        "3). Where `jg.simulate`'s time goes "
        "(1,000,000 retail journeys, 4.23M events, best of 10 in one process at load "
        "average ~3.5 on 2 cores): setting up (chain, move table, entry draw) ~14 ms, the "
        "28 steps ~100 ms (3.23M draws, then keeping the journeys still on the way), "
        "writing every event to its row ~65 ms (journey lengths, then one gather and two "
        "scatters per step), the outcome column ~20 ms, the touchpoint column ~28 ms "
        "(4.23M references to Python strings) and the customer column ~15 ms. Before "
        "issue #16's change it took 0.30 s against the floor's 0.29 s (CPU time, best of "
        "15, taking turns): it concatenated the steps and sorted 4.23M customer ids "
        "(stable `argsort` ~60 ms and the gathers after it ~55 ms), filled the outcome "
        "column with one object gather per event (~33 ms) and drew with `searchsorted` "
        "and a two-sided clip. What is left is mostly the two object columns (~50 ms): "
        "`EventLog.touchpoint` and `.outcome` are arrays of Python strings by contract; "
        "codes with a categories list (or Arrow strings) would remove them, a change of "
        "the public API."
    ),
    "chain": (
        "Only at small sizes, if at all: jg.analyze also builds the chain from the map's "
        "pydantic moves and every per-id result, where PyDTMC returns bare arrays."
    ),
    "explorer": (
        "The rows compare with issue #12's budgets (page under 3 MB, first paint and the "
        "drawn diagram under 1 s at 1280x800 in headless Chromium), not with another "
        "tool. The inlined script draws the whole diagram before the browser's first "
        "paint, so first paint includes parsing the escaped JSON scene and laying out "
        "~3,000 SVG paths: 0.18-0.78 s when the explorer landed on a quiet machine, above "
        "1 s when the 2 cores are shared (see the load average above). What would fix "
        "it: draw the columns and boxes first and the moves in the next animation frame, "
        "so the first paint shows the map before its moves."
    ),
    "suite": (
        "The suite runs on every core (pytest-xdist, one test file per worker: "
        "pyproject's addopts); its output is in the local, untracked "
        "tests/benchmarks/test-suite.log. The slowest files start a JVM (Spark) or a "
        "browser (the explorer tests); `pytest --durations=20` lists the slowest tests."
    ),
}


# -- helpers ---------------------------------------------------------------------------


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _machine() -> dict[str, Any]:
    packages = ["journeygraph", "numpy", "scipy", "pyarrow", "duckdb", "pandas"]
    packages += ["channelattribution", "pm4py", "pydtmc", "pydantic"]
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {p: _version(p) for p in packages},
    }


def _case(
    group: str,
    case: str,
    ours: float | None,
    alternative: str,
    theirs: float | None,
    check: str = "",
    skipped: str | None = None,
    difference: float | None = None,
    peak_rss_mib: float | None = None,
) -> dict[str, Any]:
    ratio = ours / theirs if ours and theirs else None
    return {
        "peak_rss_mib": peak_rss_mib,
        "group": group,
        "case": case,
        "journeygraph_s": ours,
        "alternative": alternative,
        "alternative_s": theirs,
        "ratio": ratio,
        "check": check,
        "skipped": skipped,
        "difference": difference,
    }


# -- attribution: path tables -----------------------------------------------------------


def attribution_floor(table: Any, sep: str = " > ") -> dict[str, float]:
    """Exact removal effects straight from a path table with pyarrow + numpy only.

    Independent of journeygraph: split and encode the paths, count entries, pairs and
    last steps with bincount, build dense Q and R (channels + conversion + null) and
    compute ``1 - P(conversion without k) / P(conversion)`` from one dense inverse.
    """
    import numpy as np
    import pyarrow.compute as pc

    conv = table.column("total_conversions").to_numpy().astype(float)
    lost = table.column("total_null").to_numpy().astype(float)
    weight = conv + lost
    parts = pc.split_pattern(table.column("path").combine_chunks(), sep)
    enc = pc.dictionary_encode(pc.utf8_trim_whitespace(parts.flatten()))
    codes = np.asarray(enc.indices, dtype=np.int64)
    names = enc.dictionary.to_pylist()
    k = len(names)
    offsets = np.asarray(parts.offsets)
    lengths = np.diff(offsets)
    first, last = codes[offsets[:-1]], codes[offsets[1:] - 1]
    inner = np.ones(codes.size, dtype=bool)
    inner[offsets[1:] - 1] = False
    pairs = np.bincount(
        codes[inner] * k + codes[1:][inner[:-1]],
        weights=np.repeat(weight, lengths - 1),
        minlength=k * k,
    ).reshape(k, k)
    ends = np.column_stack(
        [np.bincount(last, weights=conv, minlength=k), np.bincount(last, weights=lost, minlength=k)]
    )
    entry = np.bincount(first, weights=weight, minlength=k)
    total = pairs.sum(axis=1) + ends.sum(axis=1)
    Q, R = pairs / total[:, None], ends / total[:, None]
    N = np.linalg.inv(np.eye(k) - Q)
    b = N @ R[:, 0]
    v = (entry / entry.sum()) @ N
    p = float(v @ R[:, 0])
    lost_k = v / np.diag(N) * b
    return {names[i]: float(lost_k[i] / p) for i in range(k)}


def _count_columns_case(table: Any, label: str, repeats: int) -> dict[str, Any]:
    """``fit_paths``' check of its two count columns (``count_column``: float64, every
    value finite and >= 0) against the same check in plain numpy on the same columns."""
    import numpy as np

    from journeygraph.fit.paths_count import count_column

    columns = ("total_conversions", "total_null")

    def ours() -> list[Any]:
        return [count_column(table, c, "paths") for c in columns]

    def theirs() -> list[Any]:
        values = [table.column(c).to_numpy().astype(np.float64) for c in columns]
        assert all(np.isfinite(v).all() and (v >= 0).all() for v in values)
        return values

    # Milliseconds each, so more turns than the other rows: a scheduler hiccup on the
    # shared machine would otherwise decide the ratio.
    t_ours = t_floor = float("inf")
    for _ in range(max(repeats, 20)):
        t0 = time.perf_counter()
        got = ours()
        t_ours = min(t_ours, time.perf_counter() - t0)
        t0 = time.perf_counter()
        want = theirs()
        t_floor = min(t_floor, time.perf_counter() - t0)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    return _case(
        "attribution",
        f"inside it: checking both count columns, count_column twice ({label})",
        t_ours,
        "plain numpy: float64, finite, >= 0",
        t_floor,
        "same float64 values; count_column also checks the column exists, casts in Arrow "
        "(a new buffer) and keeps the mask of bad rows to name the first one in its error",
    )


def _duckdb_paths(table: Any) -> float:
    import duckdb

    con = duckdb.connect()
    con.register("paths", table)
    t0 = time.perf_counter()
    con.execute(
        """
        WITH s AS (
          SELECT total_conversions + total_null AS w, string_split(path, ' > ') AS steps
          FROM paths WHERE total_conversions + total_null > 0)
        SELECT a, b, sum(w) FROM (
          SELECT w, unnest(list_slice(steps, 1, len(steps) - 1)) AS a,
                 unnest(list_slice(steps, 2, len(steps))) AS b FROM s)
        GROUP BY a, b
        """
    ).fetchall()
    return time.perf_counter() - t0


def bench_attribution(journeys: int, repeats: int, quick: bool = False) -> list[dict[str, Any]]:
    import pyarrow as pa

    import journeygraph as jg
    from tests.benchmarks.bench_attribution import make_paths

    df = make_paths(journeys)
    table = pa.Table.from_pandas(df, preserve_index=False)
    label = f"{journeys:,} journeys, {len(df):,} paths, 200 channels"

    def ours_fn() -> dict[str, float]:
        return jg.analyze(jg.fit_paths(table)).removal_effects

    t_ours, ours = _best(ours_fn, repeats)
    t_floor, floor = _best(lambda: attribution_floor(table), repeats)
    diff = max(abs(ours[c] - floor[c]) for c in floor)
    rows = [
        _case(
            "attribution",
            f"removal effects from a path table ({label})",
            t_ours,
            "exact pyarrow + numpy floor",
            t_floor,
            f"largest difference {diff:.1e}",
            difference=diff,
        )
    ]
    rows.append(_count_columns_case(table, label, repeats))
    if importlib.util.find_spec("duckdb"):
        t_duck = min(_duckdb_paths(table) for _ in range(repeats))
        rows.append(
            _case(
                "attribution",
                f"counting path pairs only ({label})",
                None,
                "DuckDB string_split/unnest",
                t_duck,
            )
        )
    if quick or importlib.util.find_spec("ChannelAttribution") is None:
        why = "ChannelAttribution is not installed (pip install -e '.[bench]')"
        if quick:  # its simulation takes ~15 s even for 3,000 journeys
            why = "full runs only (ChannelAttribution's simulation takes ~15 s at any size)"
        rows.append(
            _case(
                "attribution",
                f"removal effects ({label})",
                t_ours,
                "ChannelAttribution markov_model",
                None,
                skipped=why,
            )
        )
        return rows
    import ChannelAttribution as ca

    def theirs_fn() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return ca.markov_model(
                df, "path", "total_conversions", var_null="total_null", order=1,
                sep=">", out_more=True, nsim_start=1e6 if journeys >= 100_000 else 1e4,
                max_step=200, seed=1, verbose=False,
            )  # fmt: skip

    t_ca, res = _best(theirs_fn, 1)
    re = res["removal_effects"]
    theirs = dict(zip(re["channel_name"], re["removal_effect"], strict=True))
    diff_ca = max(abs(theirs[c] - ours[c]) for c in ours)
    rows.append(
        _case(
            "attribution",
            f"removal effects ({label})",
            t_ours,
            "ChannelAttribution markov_model (simulation)",
            t_ca,
            f"largest difference {diff_ca:.4f} (theirs is a simulation)",
            difference=diff_ca,
        )
    )
    return rows


# -- core analysis ------------------------------------------------------------------------


def _floor_system(jm: Any) -> tuple[Any, Any, Any, Any]:
    """``(A, entry, R, outcomes)`` of a map: ``A = I - Q`` as CSR, ``R`` dense."""
    from scipy import sparse

    from journeygraph.chain import to_chain

    ch = to_chain(jm)
    A = (sparse.identity(ch.size, format="csr") - ch.Q).tocsr()
    return A, ch.entry, ch.R.toarray(), ch.outcomes


def iterative_floor(jm: Any) -> tuple[float, Any, bool]:
    """The solves the core analysis needs, by scipy's Jacobi BiCGSTAB to 1e-12.

    ``(I - Q)ᵀ v = entry``, ``(I - Q) B = R`` (one column per outcome), ``(I - Q) s = 1``
    and ``(I - Q) w = s``: the linear algebra of ``jg.analyze`` with nothing around it
    (the chain's arrays are built before the clock starts). Returns the time, the
    outcome probabilities and visits ``(π₀ᵀ B, v)``, and whether every solve converged
    (scipy's ``info == 0``); a floor that did not converge is not a correct answer.
    """
    import numpy as np
    from scipy.sparse.linalg import LinearOperator, bicgstab

    A, entry, R, _ = _floor_system(jm)
    n = A.shape[0]
    AT = A.T.tocsr()
    d = A.diagonal()
    M = LinearOperator(A.shape, matvec=lambda v: v / d, dtype=float)

    def solve(matrix: Any, b: Any) -> tuple[Any, int]:
        # Start from the Jacobi guess b / d: scipy's shadow residual is r0 = b - A x0,
        # and from x0 = 0 a sparse b (an entry of 3 touchpoints) breaks BiCGSTAB down
        # (info -10, visits off by 5e-2) on the random maps. Should it still break down
        # (the 20,000 random map's visits), restart once from where it stopped.
        x, info = bicgstab(matrix, b, x0=b / d, rtol=1e-12, atol=0.0, M=M)
        if info < 0:
            x, info = bicgstab(matrix, b, x0=x, rtol=1e-12, atol=0.0, M=M)
        return x, info

    t0 = time.perf_counter()
    v, ok = solve(AT, entry)
    infos = [ok]
    B = np.empty_like(R)
    for j in range(R.shape[1]):
        B[:, j], info = solve(A, R[:, j])
        infos.append(info)
    s, info = solve(A, np.ones(n))
    infos.append(info)
    _, info = solve(A, s)
    infos.append(info)
    elapsed = time.perf_counter() - t0
    return elapsed, (entry @ B, v), all(i == 0 for i in infos)


def sparse_lu_floor(jm: Any) -> tuple[float, Any, bool]:
    """The same solves with one SuperLU factorisation (``splu``, COLAMD ordering).

    ``lu.solve(entry, trans="T")``, then ``R`` and ``1`` as one block of right-hand
    sides, then ``s``: what an expert does with a direct solver. Always "converged".
    """
    import numpy as np
    from scipy.sparse.linalg import splu

    A, entry, R, _ = _floor_system(jm)
    n = A.shape[0]
    A = A.tocsc()
    t0 = time.perf_counter()
    lu = splu(A)
    v = lu.solve(entry, trans="T")
    sol = lu.solve(np.column_stack([R, np.ones(n)]))
    lu.solve(np.ascontiguousarray(sol[:, -1]))
    elapsed = time.perf_counter() - t0
    return elapsed, (entry @ sol[:, :-1], v), True


#: Each floor gets this long (all its repeats, in a fresh process): SuperLU's fill-in on
#: the random 20,000 map would need many minutes and gigabytes, BiCGSTAB's 10·n steps on
#: a map where it stalls ~20 s per solve. A floor that runs out is no floor.
FLOOR_TIMEOUT_S = 120.0

_FLOORS = {"Jacobi BiCGSTAB": "iterative_floor", "sparse LU (SuperLU)": "sparse_lu_floor"}


def _floor_process(kind: str, n: int, name: str, repeats: int) -> tuple[float, Any, bool] | None:
    """Run one floor on ``random_map(n, seed=1, ...)`` in a fresh process (``None``: timed out)."""
    code = (
        "import json, sys, warnings; "
        f"sys.path.insert(0, {str(ROOT)!r}); "
        "import journeygraph as jg; "
        "from tests.benchmarks import run; from tests.random_maps import random_map; "
        "warnings.simplefilter('ignore', jg.JourneyGraphWarning); "
        f"jm = random_map({n}, seed=1, stage_ordered={kind == 'stage'}); "
        f"runs = [run.{_FLOORS[name]}(jm) for _ in range({repeats})]; "
        "print(json.dumps([min(r[0] for r in runs), [x.tolist() for x in runs[0][1]], "
        "runs[0][2]]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=FLOOR_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return None
    seconds, figures, converged = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), figures, bool(converged)


def best_floor(kind: str, n: int, res: Any, repeats: int) -> tuple[float | None, str, str]:
    """The faster correct floor: ``(seconds, which, note)``; the note gives both times.

    A floor is correct when it finished within :data:`FLOOR_TIMEOUT_S`, every solve
    converged, and its outcome probabilities and visits agree with ``res`` (the
    analysis of the same map) to 1e-9 (visits relative to ``max(v, 1)``). ``seconds``
    is ``None`` when neither is.
    """
    import numpy as np

    ours = (
        np.array(list(res.outcome_probabilities.values())),
        np.array(list(res.expected_visits.values())),
    )
    floors = {}
    notes = []
    for name in _FLOORS:
        got = _floor_process(kind, n, name, repeats)
        if got is None:
            notes.append(f"{name} over {FLOOR_TIMEOUT_S:.0f} s (stopped)")
            continue
        seconds, (probs, visits), converged = got
        diff = max(
            float(np.abs(np.asarray(probs) - ours[0]).max()),
            float((np.abs(np.asarray(visits) - ours[1]) / np.maximum(np.abs(ours[1]), 1.0)).max()),
        )
        correct = converged and diff <= 1e-9
        notes.append(
            f"{name} {_seconds(seconds)}"
            + (
                ""
                if correct
                else f" (not a correct floor: converged={converged}, off by {diff:.1e})"
            )
        )
        if correct:
            floors[name] = seconds
    if not floors:
        return None, "none", "; ".join(notes)
    which = min(floors, key=floors.__getitem__)
    return floors[which], which, "; ".join(notes)


def _seconds(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def bench_analysis(sizes: tuple[int, ...], repeats: int) -> list[dict[str, Any]]:
    """``jg.analyze`` against the best floor (the faster of BiCGSTAB and sparse LU).

    journeygraph is timed on a freshly built map each repeat (the first analysis of a
    map also builds its arrays, :func:`journeygraph.chain.map_arrays`, from the move
    columns that validation read, and estimates the fill-in); the check column adds the
    time of analysing the same map again (arrays cached).
    """
    import journeygraph as jg
    from tests.random_maps import random_map

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        jg.analyze(random_map(50, seed=2))  # imports and first-call costs, off the clock
    for kind in ("stage", "random"):
        for n in sizes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jg.JourneyGraphWarning)
                maps = [
                    random_map(n, seed=1, stage_ordered=kind == "stage") for _ in range(repeats)
                ]
                fresh = iter(maps)
                t_ours, res = _best(lambda fresh=fresh: jg.analyze(next(fresh)), repeats)
                t_again, _ = _best(lambda jm=maps[0]: jg.analyze(jm), repeats)
            t_floor, which, note = best_floor(kind, n, res, repeats)
            rows.append(
                _case(
                    "analysis",
                    f"core analysis, {n:,} touchpoints, {'stage-ordered' if kind == 'stage' else 'random'} "
                    f"({res.solver_method})",
                    t_ours,
                    f"best floor, {which} (solves only)",
                    t_floor,
                    f"same map again: {_seconds(t_again)}"
                    + (f" ({t_again / t_floor:.2f}×)" if t_floor else "")
                    + f"; floors: {note}",
                    skipped=None if t_floor else "neither floor converged to a correct answer",
                )
            )
    return rows


def bench_removal(n: int = 20_000) -> list[dict[str, Any]]:
    """Every removal effect (and sensitivity) of the random map, in a fresh process,
    against issue #16's goal of 60 s (no alternative computes them at this size)."""
    from tests.benchmarks.bench_analysis import _sub

    got = _sub("random", n, "removal")
    case = _case(
        "removal",
        f"every removal effect + sensitivity, {n:,} touchpoints, random",
        got["removal_s"],
        "goal (issue #16)",
        60.0,
        f"CPU {got['removal_cpu_s']:.1f} s (all threads, {os.cpu_count()} cores); load "
        f"average {got['load_before']:.1f} before, {got['load_after']:.1f} after; peak RSS "
        f"{got['peak_rss_mib']:.0f} MiB",
        peak_rss_mib=got["peak_rss_mib"],
    )
    case["cpu_s"] = got["removal_cpu_s"]
    case["load_average"] = [got["load_before"], got["load_after"]]
    return [case]


#: The suite's own environment for PyDTMC, which pins numpy < 2 (created on first use).
PYDTMC_ENV = Path(
    os.environ.get("JG_BENCH_PYDTMC_ENV", Path.home() / ".cache" / "journeygraph" / "bench-pydtmc")
)


def pydtmc_python(env: Path = PYDTMC_ENV) -> tuple[Path | None, str | None]:
    """The Python of the PyDTMC environment (creating it if needed), or why there is none.

    The environment holds PyDTMC, numpy < 2 and this checkout of journeygraph (editable),
    so ``tests/benchmarks/bench_pydtmc.py`` compares both tools in one process there.
    """
    python = env / "bin" / "python"
    # The install runs every time, not only when the environment is new: the checkout's
    # dependencies change (an environment made before threadpoolctl became one still
    # imported journeygraph, then failed in its first analysis). pip leaves what is
    # already satisfied alone.
    steps = [[str(python), "-m", "pip", "install", "-q", "pydtmc", "numpy<2", "-e", str(ROOT)]]
    if not python.exists():
        steps.insert(0, [sys.executable, "-m", "venv", str(env)])
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"could not create its environment ({type(exc).__name__})"
        if done.returncode:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            return None, f"could not create its environment at {env}: {lines[-1][:200]}"
    return python, None


def bench_pydtmc(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """jg.analyze against PyDTMC on the same chains, run in PyDTMC's own environment."""
    python, why = pydtmc_python()
    if python is None:
        return [_case("chain", "absorbing chain", None, "PyDTMC", None, skipped=f"PyDTMC: {why}")]
    done = subprocess.run(
        [str(python), str(ROOT / "tests" / "benchmarks" / "bench_pydtmc.py"), "--json",
         *map(str, sizes)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return [_case("chain", "absorbing chain", None, "PyDTMC", None, skipped=f"PyDTMC run failed: {last}")]  # fmt: skip
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        _case(
            "chain",
            f"{r['states']:,}-state chain: absorption probabilities + fundamental matrix",
            r["journeygraph_s"],
            f"PyDTMC {found['pydtmc']} (numpy {found['numpy']}, own environment)",
            r["pydtmc_s"],
            f"largest difference {r['difference']:.1e}",
            difference=r["difference"],
        )
        for r in found["rows"]
    ]


def bench_explorer() -> list[dict[str, Any]]:
    """The explorer page of a 300-touchpoint, ~3,000-move map (the size of a large fitted
    map) and of its comparison with a second map of that size: page size, first paint and
    time until drawn, median of 3 loads in headless Chromium at 1280x800
    (tests/benchmarks/bench_explore.py, in a fresh process), against issue #12's
    budgets."""
    if not importlib.util.find_spec("playwright"):
        return [_case("explorer", "explorer page", None, "budget (1 s)", None, skipped="playwright is not installed (the dev extra)")]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "bench_explore.py"), "--json"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return [_case("explorer", "explorer page", None, "budget (1 s)", None, skipped=f"no browser run: {last}")]  # fmt: skip
    found = json.loads(done.stdout)
    cases = []
    for name, r in found.items():
        size = f"{r['bytes'] / 1e6:.2f} MB (budget 3 MB), {r['moves_drawn']:,} moves drawn"
        what = f"explorer page, {name} (300 touchpoints, ~3,000 moves)"
        cases.append(_case("explorer", f"{what}: first paint", r["first_paint_ms"] / 1000, "budget (1 s)", 1.0, size))  # fmt: skip
        slider = f"threshold slider step {r['slider_ms']:.1f} ms (median of 40)"
        cases.append(_case("explorer", f"{what}: diagram drawn", r["ready_ms"] / 1000, "budget (1 s)", 1.0, slider))  # fmt: skip
    return cases


def bench_test_suite() -> list[dict[str, Any]]:
    """The test suite's own run time: ``python -m pytest -q -p no:randomly`` in a fresh
    process (the whole suite must stay under 6 minutes on 2 cores). Without ``-x``, so a
    failing test does not cut the timing short; the summary line says what failed."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    secs = time.perf_counter() - t0
    (RESULTS.parent / "test-suite.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    summary = (done.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
    return [_case("suite", "python -m pytest -q -p no:randomly", secs, "goal (6 minutes)", 360.0, summary)]  # fmt: skip


# -- counting event logs (fit engines) --------------------------------------------------


def _pairs_floor(path: str, medians: bool) -> dict[tuple[str, str], tuple[int, int | None]]:
    """Counts (and exact lower-median gaps) of consecutive event pairs per customer,
    with pyarrow + numpy only: the plainest vectorised way, independent of journeygraph.

    ``lexsort`` by (customer, time), ``bincount`` of (previous, next) codes; with
    ``medians``, a second ``lexsort`` by (pair, gap) and the element at ⌊(n − 1)/2⌋.
    """
    import numpy as np
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    cust = t.column("customer_id").to_numpy()
    stamp = t.column("timestamp").to_numpy().view(np.int64)
    enc = t.column("touchpoint").combine_chunks().dictionary_encode()
    codes = np.asarray(enc.indices, dtype=np.int64)
    names = enc.dictionary.to_pylist()
    order = np.lexsort((stamp, cust))
    c, k = codes[order], len(names)
    same = cust[order][1:] == cust[order][:-1]
    pair = c[:-1][same] * k + c[1:][same]
    counts = np.bincount(pair, minlength=k * k)
    med: dict[int, int] = {}
    if medians:
        s = stamp[order]
        gap = (s[1:] - s[:-1])[same]
        by = np.lexsort((gap, pair))
        pair, gap = pair[by], gap[by]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        sizes = np.diff(np.r_[starts, len(pair)])
        lower = gap[starts + (sizes - 1) // 2]
        med = dict(zip(pair[starts].tolist(), lower.tolist(), strict=True))
    return {
        (names[i // k], names[i % k]): (int(counts[i]), med.get(i))
        for i in np.flatnonzero(counts).tolist()
    }


def _duckdb_floor(path: str, medians: bool) -> dict[tuple[str, str], tuple[int, int | None]]:
    """The bare DuckDB query: ``LAG … GROUP BY``, with ``medians`` also the gaps' exact
    lower median by ``quantile_disc`` in the same query."""
    import duckdb

    extra = ", quantile_disc(gap, 0.5)" if medians else ", NULL"
    rows = duckdb.execute(
        f"""
        SELECT prev, touchpoint, count(*){extra} FROM (
          SELECT touchpoint, LAG(touchpoint) OVER w AS prev,
                 epoch_us(timestamp) - epoch_us(LAG(timestamp) OVER w) AS gap
          FROM read_parquet('{path}')
          WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp))
        WHERE prev IS NOT NULL
        GROUP BY ALL
        """
    ).fetchall()
    return {(a, b): (int(n), None if m is None else int(m)) for a, b, n, m in rows}


def _agree(jm: Any, floor: dict[tuple[str, str], tuple[int, int | None]], medians: bool) -> str:
    """Check a fitted map against a floor: every move count (and median) equal.

    The floor counts every consecutive pair of a customer; the map has no move out of
    an outcome (the next event starts a new journey) and adds churn, so those differ
    by design and are left out of the comparison.
    """
    outcomes = {o.id for o in jm.outcomes}
    ours = {
        (m.source, m.target): (
            int(m.weight),
            round(m.duration.median * _UNIT_US[m.duration.unit]) if m.duration else None,
        )
        for m in jm.moves
        if m.target != "churn"
    }
    theirs = {
        pair: (n, med if medians else None) for pair, (n, med) in floor.items()
        if pair[0] not in outcomes
    }  # fmt: skip
    assert ours == theirs, "fit and the floor disagree"
    what = "move counts and exact lower medians" if medians else "move counts"
    return f"{what} equal ({len(ours):,} moves)"


_UNIT_US = {"week": 604_800e6, "day": 86_400e6, "hour": 3_600e6, "minute": 60e6, "second": 1e6}


def bench_counting(journeys: int, repeats: int, quick: bool = False) -> list[dict[str, Any]]:
    """Both fit engines against floors doing the same work: counts only
    (``durations=False``) against a bare count, and the full fit against a floor that
    also computes every move's exact lower median (DuckDB ``quantile_disc``; numpy
    ``lexsort``). The log is written sorted by customer and time."""
    if not importlib.util.find_spec("duckdb"):
        return [_case("counting", "fit(engine='duckdb')", None, "bare DuckDB", None, skipped="duckdb is not installed")]  # fmt: skip
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import journeygraph as jg

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 11, journeys)
    customers = np.repeat(np.arange(journeys), lengths)
    events = customers.size
    names = np.array([f"tp{i:02d}" for i in range(40)] + ["purchase"], dtype=object)
    tp = rng.integers(0, 41, events)
    ts = np.arange(events, dtype=np.int64) * 1_000_000 + rng.integers(0, 900_000, events)
    table = pa.table(
        {
            "customer_id": customers,
            "timestamp": pa.array(ts, type=pa.timestamp("us")),
            "touchpoint": pa.array(names[tp].tolist()),
        }
    )
    label = f"{journeys:,} journeys, {events:,} events, Parquet"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "events.parquet")
        pq.write_table(table, path)

        def ours(engine: str, durations: bool) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return jg.fit(
                    path, customer_column="customer_id", time_column="timestamp", touchpoint_column="touchpoint",
                    outcomes={"purchase": "conversion"}, engine=engine,  # type: ignore[arg-type]
                    durations=durations,
                )  # fmt: skip

        cases = [
            ("duckdb", False, "bare DuckDB LAG … GROUP BY", _duckdb_floor),
            ("duckdb", True, "bare DuckDB LAG … GROUP BY + quantile_disc medians", _duckdb_floor),
            ("numpy", False, "pyarrow + numpy lexsort + bincount", _pairs_floor),
            ("numpy", True, "pyarrow + numpy lexsort + bincount + lexsort medians", _pairs_floor),
        ]
        try:
            t_full = None
            for engine, durations, alternative, floor_fn in cases:
                # Taking turns, so both see the same load; best of ``repeats`` each.
                t_ours = t_floor = float("inf")
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    jm = ours(engine, durations)
                    t_ours = min(t_ours, time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    floor = floor_fn(path, durations)
                    t_floor = min(t_floor, time.perf_counter() - t0)
                check = _agree(jm, floor, durations)
                what = (
                    "full: counts + move durations" if durations else "counts only, durations=False"
                )
                peak = fresh_peak_rss(path, engine, durations)
                goal = " (goal < 1024)" if engine == "numpy" else ""
                check += f"; peak RSS {peak:.0f} MiB in a fresh process{goal}"
                if engine == "duckdb" and durations:
                    t_full = t_ours
                rows.append(_case("counting", f"fit(engine={engine!r}) {what} ({label})", t_ours, alternative, t_floor, check, peak_rss_mib=peak))  # fmt: skip
            assert t_full is not None
            rows.append(_pm4py_case(path, label, t_full, repeats, quick))
        except jg.JourneyGraphError as exc:
            rows.append(_case("counting", "fit()", None, "bare DuckDB", None, skipped=str(exc)))
    return rows


def fresh_peak_rss(path: str, engine: str, durations: bool = True) -> float:
    """Peak RSS (MiB, ``VmHWM``) of ``jg.fit(path, engine=..., durations=...)`` in a
    fresh process.

    The process imports journeygraph and the engine's libraries, then fits; its peak
    is its own (``ru_maxrss`` of a child would include the parent's peak).
    """
    code = (
        f"import sys, warnings; sys.path.insert(0, {str(ROOT)!r}); "
        "import journeygraph as jg; from tests.benchmarks.bench_load import peak_rss_mib; "
        "warnings.simplefilter('ignore'); "
        f"jg.fit({path!r}, customer_column='customer_id', time_column='timestamp', touchpoint_column='touchpoint', "
        f"outcomes={{'purchase': 'conversion'}}, engine={engine!r}, durations={durations!r}, "
        "progress=False); "
        "print(peak_rss_mib())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(done.stdout.strip().splitlines()[-1])


def _pm4py_case(path: str, label: str, t_ours: float, repeats: int, quick: bool) -> dict[str, Any]:
    """pm4py's directly-follows graph (``discover_dfg``) of the same log, as an analyst
    would run it (pandas frame, string case ids), against ``fit(engine='duckdb')``."""
    case = f"fit(engine='duckdb') against pm4py ({label})"
    if quick:  # importing pm4py alone takes seconds
        return _case("counting", case, t_ours, "pm4py discover_dfg", None, skipped="full runs only (importing pm4py takes seconds)")  # fmt: skip
    if importlib.util.find_spec("pm4py") is None:
        return _case("counting", case, t_ours, "pm4py discover_dfg", None, skipped="pm4py is not installed (pip install -e '.[bench]')")  # fmt: skip
    import pandas as pd
    import pm4py

    def theirs() -> Any:
        df = pd.read_parquet(path)
        df["customer_id"] = df["customer_id"].astype(str)  # pm4py wants string case ids
        dfg, _start, _end = pm4py.discover_dfg(
            df, case_id_key="customer_id", activity_key="touchpoint", timestamp_key="timestamp"
        )
        return dfg

    t_pm, _ = _best(theirs, repeats)
    return _case("counting", case, t_ours, "pm4py discover_dfg (pandas read + DFG)", t_pm)


# -- simulating journeys -----------------------------------------------------------------


def simulate_floor(jm: Any, n: int, seed: int) -> dict[str, Any]:
    """A plain numpy sampler of ``n`` journeys of a map: the floor for ``jg.simulate``.

    Independent of journeygraph's chain and sampler: the move weights are read from the
    map's moves into a dense touchpoint x (touchpoints + outcomes) table, normalised per
    row, and stored as one flat array of cumulative bounds ``row + cumulative
    probability``. Each step draws one uniform ``u`` per journey still on the way and
    picks every next state with one ``searchsorted`` of ``row + u`` (clipped to the row,
    against rounding of ``row + u`` up to ``row + 1``). The output is the same as
    :class:`journeygraph.EventLog`'s columns without durations: customer, step, state
    name (object, str) and outcome kind (object, ``None`` except on the last event),
    sorted by customer and step; each event is written straight to its place (each
    journey's start from the lengths, plus the step), which measured faster than
    concatenating the steps and a stable ``argsort`` by customer. Journeys run until
    absorbed (no ``max_steps``; the benchmark's maps absorb every journey).
    """
    import numpy as np

    touchpoints = [tp.id for tp in jm.touchpoints]
    states = touchpoints + [o.id for o in jm.outcomes]
    where = {name: i for i, name in enumerate(states)}
    t, width = len(touchpoints), len(states)
    weights = np.zeros((t, width))
    for move in jm.moves:
        weights[where[move.source], where[move.target]] += move.weight
    cumulative = np.cumsum(weights, axis=1) / weights.sum(axis=1)[:, None]
    cumulative[:, -1] = 1.0
    bounds = (np.arange(t)[:, None] + cumulative).ravel()
    last = np.arange(t) * width + width - 1  # the flat index of each row's last state
    entry = np.cumsum([jm.entry.get(tp, 0.0) for tp in touchpoints])
    entry /= entry[-1]
    names = np.array(states, dtype=object)
    kinds = np.array([o.kind for o in jm.outcomes], dtype=object)

    rng = np.random.default_rng(seed)
    state = np.searchsorted(entry, rng.random(n), side="right")
    journey = np.arange(n)
    length = np.ones(n, dtype=np.int64)
    walked = [(journey, state)]
    while journey.size:
        chosen = np.searchsorted(bounds, state + rng.random(journey.size), side="right")
        np.minimum(chosen, last[state], out=chosen)
        node = chosen - state * width
        walked.append((journey, node))
        length[journey] += 1
        going = node < t
        journey, state = journey[going], node[going]
    ends = np.cumsum(length)
    starts = ends - length
    codes = np.empty(int(ends[-1]) if n else 0, dtype=np.int64)
    for step, (who, node) in enumerate(walked):
        codes[starts[who] + step] = node
    outcome = np.empty(codes.size, dtype=object)  # None everywhere ...
    outcome[ends - 1] = kinds[codes[ends - 1] - t]  # ... but on each journey's last event
    return {
        "customer_id": np.repeat(np.arange(n), length),
        "step": np.arange(codes.size) - np.repeat(starts, length),
        "touchpoint": names[codes],
        "outcome": outcome,
    }


def _simulation_agrees(name: str, columns: dict[str, Any], res: Any, n: int) -> None:
    """Outcome shares and mean moves per journey of one log against the exact chain.

    Each outcome's share must lie within 4 binomial standard errors of ``jg.analyze``'s
    absorption probability, and the mean number of moves within 4 standard errors of the
    exact expected steps (standard error from the exact variance of the number of moves,
    ``Analysis.steps_variance``: Kemeny & Snell, Finite Markov Chains, 3.3.5).
    """
    import numpy as np

    ended = columns["touchpoint"][columns["outcome"] != None]  # noqa: E711
    assert ended.size == n, f"{name}: {ended.size} of {n} journeys reached an outcome"
    for outcome, p in res.outcome_probabilities.items():
        share = float(np.count_nonzero(ended == outcome)) / n
        se = (p * (1 - p) / n) ** 0.5
        assert abs(share - p) <= 4 * se, f"{name}: {outcome} share {share} against {p}"
    moves = columns["customer_id"].size / n - 1
    se = (res.steps_variance / n) ** 0.5
    assert abs(moves - res.expected_steps) <= 4 * se, (
        f"{name}: mean moves per journey {moves} against {res.expected_steps}"
    )


def bench_simulate(journeys: int, repeats: int) -> list[dict[str, Any]]:
    """``jg.simulate`` of the retail example against :func:`simulate_floor`, taking turns
    (best of ``repeats`` each); both logs are checked against the exact chain."""
    import numpy as np

    import journeygraph as jg

    jm = jg.load(ROOT / "examples" / "retail_five_a_current.yaml")
    res = jg.analyze(jm)
    jg.simulate(jm, 1000, seed=0)  # imports and first-call costs, off the clock
    t_ours = t_floor = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        log = jg.simulate(jm, journeys, seed=0)
        t_ours = min(t_ours, time.perf_counter() - t0)
        t0 = time.perf_counter()
        floor = simulate_floor(jm, journeys, seed=0)
        t_floor = min(t_floor, time.perf_counter() - t0)
    _simulation_agrees("jg.simulate", log.columns, res, journeys)
    _simulation_agrees("the floor", floor, res, journeys)
    same = log.columns.keys() == floor.keys() and all(
        np.array_equal(log.columns[c], floor[c]) for c in floor
    )
    events = len(log)
    check = (
        f"both logs: outcome shares within 4 standard errors of the exact absorption "
        f"probabilities, mean moves {events / journeys - 1:.4f} against the exact "
        f"{res.expected_steps:.4f}; "
        + ("the two logs are identical event by event (same seed, same stream)" if same
           else "the two logs differ event by event (different use of the random stream)")
    )  # fmt: skip
    label = f"{journeys:,} journeys of the retail example, {events:,} events"
    return [
        _case(
            "simulate",
            f"jg.simulate ({label})",
            t_ours,
            "flat-searchsorted numpy sampler",
            t_floor,
            check,
        )
    ]


# -- the page ----------------------------------------------------------------------------


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def render_markdown(results: dict[str, Any]) -> str:
    """The generated part of docs/performance.md, from a results file's content."""
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    load = m.get("load_average")
    lines = [
        BEGIN,
        "",
        "## Benchmark suite (generated)",
        "",
        f"Generated by `python -m tests.benchmarks.run{' --quick' if results['quick'] else ''}` "
        f"on {results['date']} from `tests/benchmarks/results.json`; do not edit by hand. "
        f"Machine: {m['platform']} ({m['processor']}, {m['cpus']} cores, Python {m['python']}"
        + (f", load average {load[0]:.1f} at the start" if load else "")
        + f"). Versions: {versions}. Best of {results['repeats']} in one process; "
        "ratio = journeygraph / alternative (below 1: journeygraph is faster).",
        "",
    ]
    titles = {
        "attribution": "Attribution from a path table",
        "analysis": "Core analysis",
        "removal": "Every removal effect of a large map",
        "counting": "Counting event logs (fit engines)",
        "simulate": "Simulating journeys",
        "chain": "Absorbing-chain figures against PyDTMC",
        "explorer": "The explorer page",
        "suite": "The test suite",
    }
    for group, title in titles.items():
        rows = [r for r in results["cases"] if r["group"] == group]
        if not rows:
            continue
        lines += [f"### {title}", ""]
        dates = sorted({r.get("date", results["date"]) for r in rows})
        if dates != [results["date"]]:
            lines += [f"Measured {', '.join(dates)} (kept from an earlier run by `--only`).", ""]
        lines += ["| case | journeygraph | alternative | ratio | check |"]
        lines.append("|---|---|---|---|---|")
        slower = False
        for r in rows:
            if r["skipped"]:
                alt = f"{r['alternative']}: skipped ({r['skipped']})"
                ratio = "—"
            else:
                alt = f"{r['alternative']}: {_fmt_s(r['alternative_s'])}"
                ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
                slower |= r["ratio"] is not None and r["ratio"] > 1
            lines.append(
                f"| {r['case']} | {_fmt_s(r['journeygraph_s'])} | {alt} | {ratio} | {r['check']} |"
            )
        lines.append("")
        if slower:
            lines += [f"Where journeygraph is slower: {WHY_SLOWER[group]}", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def update_page(page: Path, results: dict[str, Any]) -> None:
    """Replace the generated block of ``page`` (or append one) atomically."""
    text = page.read_text(encoding="utf-8") if page.exists() else "# Performance\n"
    block = render_markdown(results)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = page.with_name(f".{page.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, page)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the suite; write the results file and regenerate the page."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--out", type=Path, help="folder for results.json")
    parser.add_argument("--docs", type=Path, help="page to regenerate")
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--only",
        help="comma-separated groups to measure again (" + ", ".join(GROUPS) + "); the "
        "other groups' cases are kept from the existing results file",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    repeats = args.repeats or (1 if quick else 3)
    only = set(args.only.split(",")) if args.only else set(GROUPS)
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(
            f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}"
        )
    out = args.out or (Path(tempfile.mkdtemp()) if quick else RESULTS.parent)
    cases: list[dict[str, Any]] = []
    if "attribution" in only:
        cases += bench_attribution(3000 if quick else 1_000_000, repeats, quick)
    if "analysis" in only:
        cases += bench_analysis((300,) if quick else (2000, 5000, 20000), repeats)
    if "removal" in only:
        cases += bench_removal(1000) if quick else bench_removal()
    if "counting" in only:
        cases += bench_counting(500 if quick else 1_000_000, repeats, quick)
    if "simulate" in only:
        cases += bench_simulate(3000 if quick else 1_000_000, repeats)
    if "chain" in only:
        if quick:
            cases.append(_case("chain", "absorbing chain", None, "PyDTMC", None, skipped="full runs only (it creates its own environment)"))  # fmt: skip
        else:
            cases += bench_pydtmc((200, 500, 1000, 2000))
    if "explorer" in only:
        if quick:
            cases.append(_case("explorer", "explorer page", None, "budget (1 s)", None, skipped="full runs only (it starts a browser)"))  # fmt: skip
        else:
            cases += bench_explorer()
    if "suite" in only:
        if quick:
            cases.append(_case("suite", "python -m pytest", None, "goal (6 minutes)", None, skipped="full runs only (the quick mode runs inside the suite)"))  # fmt: skip
        else:
            cases += bench_test_suite()
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for case in cases:
        case["date"] = now
    previous = out / "results.json"
    if args.only and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        kept = [{"date": old["date"], **c} for c in old["cases"] if c["group"] not in only]
        cases = sorted(kept + cases, key=lambda c: GROUPS.index(c["group"]))
    results = {
        "date": now,
        "quick": quick,
        "repeats": repeats,
        "measured_now": sorted(only, key=GROUPS.index),
        "machine": _machine(),
        "cases": cases,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    page = args.docs or (None if quick else PAGE)
    if page is not None:
        update_page(page, results)
    print(render_markdown(results))
    print(f"results: {out / 'results.json'}" + (f"; page: {page}" if page else ""))
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
