"""Benchmark of loading big maps; run ``python tests/benchmarks/bench_load.py``.

Not a test (pytest only imports it for doctests; nothing runs on import). For seeded
unstructured random maps of 2,000 and 20,000 touchpoints (~5 moves each, from
``tests/random_maps.py``) it measures, each case in a fresh process: building the map
from Python dicts, ``jg.load`` of the map saved as YAML and as JSON, and the
end-to-end ``jg.analyze(jg.load(path))``; wall time and peak RSS (``VmHWM``, which
includes the ~55 MiB of the interpreter and imports; see :func:`peak_rss_mib`).
``--sizes 2000`` limits the sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "peak_rss_mib"]

ROOT = Path(__file__).resolve().parents[2]


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB.

    Linux's ``VmHWM`` is reset by ``exec``; ``ru_maxrss`` is not: a child process
    inherits the peak of the parent that forked it (with a parent holding 1 GiB, every
    child "peaked" at 1 GiB), so it is only the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _case(how: str, n: int, path: str) -> dict[str, Any]:
    """Run one measurement in this process (called in a fresh subprocess)."""
    import warnings

    import journeygraph as jg
    from tests.random_maps import random_map_data

    def peak() -> float:
        return peak_rss_mib()

    warnings.simplefilter("ignore", jg.JourneyGraphWarning)
    out: dict[str, Any] = {"rss_after_imports_mib": peak()}
    if how == "dict":
        data = random_map_data(n, seed=1)
        t0 = time.perf_counter()
        jm = jg.JourneyMap(**data)
        del data
    else:
        t0 = time.perf_counter()
        jm = jg.load(path)
    out["load_s"] = time.perf_counter() - t0
    out["peak_after_load_mib"] = peak()
    t0 = time.perf_counter()
    result = jg.analyze(jm)
    out["analyze_s"] = time.perf_counter() - t0
    out["conversion"] = result.conversion_probability
    out["peak_end_to_end_mib"] = peak()
    return out


def _sub(how: str, n: int, path: str) -> dict[str, Any]:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from tests.benchmarks.bench_load import _case; "
        f"print(json.dumps(_case({how!r}, {n}, {path!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    """Write the maps to a temporary folder, measure every case, print the table."""
    import os
    import warnings

    if "OPENBLAS_NUM_THREADS" not in os.environ:
        os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    sys.path.insert(0, str(ROOT))
    argv = sys.argv[1:] if argv is None else argv
    sizes = [2000, 20000]
    if "--sizes" in argv:
        sizes = [int(s) for s in argv[argv.index("--sizes") + 1].split(",")]

    import journeygraph as jg
    from tests.random_maps import random_map_data

    print(
        "| touchpoints | moves | source | file size | load | peak RSS after load | "
        "analyze | peak RSS end to end |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            data = random_map_data(n, seed=1)
            moves = len(data["moves"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jg.JourneyGraphWarning)
                jm = jg.JourneyMap(**data)
            paths = {fmt: str(jg.save(jm, Path(tmp) / f"map{n}.{fmt}")) for fmt in ("yaml", "json")}
            del jm, data
            for how in ("dict", "yaml", "json"):
                path = paths.get(how, "")
                size = f"{Path(path).stat().st_size / 2**20:.1f} MiB" if path else "—"
                r = _sub(how, n, path)
                print(
                    f"| {n:,} | {moves:,} | {how} | {size} | {r['load_s']:.2f} s | "
                    f"{r['peak_after_load_mib']:.0f} MiB | {r['analyze_s']:.2f} s | "
                    f"{r['peak_end_to_end_mib']:.0f} MiB |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
