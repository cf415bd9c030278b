"""Benchmark of jg.analyze; run ``python tests/benchmarks/bench_analysis.py [--full]``.

Not a test (pytest only imports it for doctests; nothing runs on import). Prints a
table of wall times (median of repeats for small maps) and peak RSS, against what an
analyst would otherwise do: numpy's dense ``inv(I - Q)`` where it fits in memory.
Every removal effect of the 20,000-touchpoint random map takes ~1.5 minutes;
``--quick`` skips it. The one-column-at-a-time baseline for it (the method used before
the block solver) is extrapolated from 500 column solves. Peak memory is ``VmHWM``
(see ``bench_load.peak_rss_mib``; ``ru_maxrss`` would include the parent's peak).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]


def _case(kind: str, n: int, part: str) -> dict[str, Any]:
    """Run one measurement in this process (called in a fresh subprocess)."""
    import warnings

    import numpy as np

    import journeygraph as jg
    from tests.benchmarks.bench_load import peak_rss_mib
    from tests.random_maps import random_map

    warnings.simplefilter("ignore", jg.JourneyGraphWarning)
    t0 = time.perf_counter()
    jm = random_map(n, seed=1, stage_ordered=kind == "stage")
    build = time.perf_counter() - t0
    base_rss = peak_rss_mib()
    out: dict[str, Any] = {"build_map_s": build}
    if part == "core":
        t0 = time.perf_counter()
        res = jg.analyze(jm)
        out["core_s"] = time.perf_counter() - t0
        out["solver"] = res.solver_method
        out["peak_rss_mib"] = peak_rss_mib()
        out["rss_before_mib"] = base_rss
    elif part == "removal":
        import os

        res = jg.analyze(jm)
        load = os.getloadavg()[0]
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        _ = res.removal_effects, res.sensitivity
        out["removal_s"] = time.perf_counter() - t0
        # CPU seconds of all the process's threads: what the machine's load cannot inflate
        # as much as the wall time (other jobs take the cores, not the work).
        out["removal_cpu_s"] = time.process_time() - cpu0
        out["load_before"], out["load_after"] = load, os.getloadavg()[0]
        out["peak_rss_mib"] = peak_rss_mib()
    elif part == "removal-sample":
        from journeygraph.chain import _iterative

        res = jg.analyze(jm)
        A = res._solver._A
        d = A.diagonal()
        k = 500
        t0 = time.perf_counter()
        for j in range(k):
            e = np.zeros(n)
            e[j] = 1.0
            _iterative(A, d, e, ())
        out["removal_s_extrapolated"] = (time.perf_counter() - t0) / k * n
    return out


def _sub(kind: str, n: int, part: str) -> dict[str, Any]:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from tests.benchmarks.bench_analysis import _case; "
        f"print(json.dumps(_case({kind!r}, {n}, {part!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _small(n: int, repeats: int = 20) -> dict[str, float]:
    import warnings

    import numpy as np

    import journeygraph as jg
    from tests.random_maps import random_map

    warnings.simplefilter("ignore", jg.JourneyGraphWarning)
    jm = random_map(n, seed=3, stage_ordered=False)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = jg.analyze(jm)
        _ = res.removal_effects, res.sensitivity
        times.append(time.perf_counter() - t0)
    chain = res._chain
    Q, R = chain.Q.toarray(), chain.R.toarray()
    base = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        N = np.linalg.inv(np.eye(n) - Q)
        B = N @ R
        v = chain.entry @ N
        _ = B, v, np.diag(N)
        base.append(time.perf_counter() - t0)
    return {"analyze_full_s": float(np.median(times)), "numpy_inv_s": float(np.median(base))}


def _numpy_inv(n: int) -> float:
    import warnings

    import numpy as np

    import journeygraph as jg
    from journeygraph.chain import to_chain
    from tests.random_maps import random_map

    warnings.simplefilter("ignore", jg.JourneyGraphWarning)
    chain = to_chain(random_map(n, seed=1, stage_ordered=True))
    Q = chain.Q.toarray()
    t0 = time.perf_counter()
    N = np.linalg.inv(np.eye(n) - Q)
    _ = N @ chain.R.toarray(), chain.entry @ N
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Run every benchmark and print the table."""
    import os

    if "OPENBLAS_NUM_THREADS" not in os.environ:
        # Other jobs share the 2 cores: multi-threaded BLAS oversubscribes them.
        os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    sys.path.insert(0, str(ROOT))
    argv = sys.argv[1:] if argv is None else argv
    import platform

    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    small = _small(300)
    print(
        f"300 touchpoints, full analysis incl. removal + sensitivity: "
        f"{small['analyze_full_s'] * 1e3:.1f} ms (numpy inv(I-Q) + B + v alone: "
        f"{small['numpy_inv_s'] * 1e3:.1f} ms)"
    )
    for n in (2000, 5000):
        jg_core = _sub("stage", n, "core")["core_s"]
        print(
            f"{n} touchpoints: jg.analyze {jg_core * 1e3:.0f} ms; numpy inv(I-Q) "
            f"{_numpy_inv(n) * 1e3:.0f} ms"
        )
    for kind in ("stage", "random"):
        core = _sub(kind, 20000, "core")
        print(
            f"20000 {kind}: map build {core['build_map_s']:.2f} s; core analysis "
            f"{core['core_s']:.2f} s ({core['solver']}), peak RSS {core['peak_rss_mib']:.0f} MiB "
            f"(of which {core['rss_before_mib']:.0f} MiB before analysing)"
        )
        if kind == "stage" or "--quick" not in argv:
            rem = _sub(kind, 20000, "removal")
            print(
                f"20000 {kind}: removal effects + sensitivity {rem['removal_s']:.2f} s, "
                f"peak RSS {rem['peak_rss_mib']:.0f} MiB"
            )
        if kind == "random":
            rem = _sub(kind, 20000, "removal-sample")
            print(
                f"20000 {kind}: removal effects one column at a time (before) "
                f"~{rem['removal_s_extrapolated']:.0f} s (extrapolated from 500 column solves)"
            )
    print("numpy inv(I-Q) at 20000: not attempted (3.2 GB per matrix, O(t^3))")


if __name__ == "__main__":
    main()
