"""jg.analyze against PyDTMC on the same absorbing chains, in the same process.

Run ``python tests/benchmarks/bench_pydtmc.py`` in an environment that has PyDTMC
(``pip install pydtmc``; it pins numpy < 2, so use a separate virtualenv with
journeygraph installed, e.g. ``pip install pydtmc .``). Not a test.

For each size it times what an analyst gets from each tool for the same question:
outcome probabilities from the entry distribution and expected visits, and checks that
the two tools agree (an independent cross-check of the fundamental matrix).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]


def main(sizes: tuple[int, ...] = (200, 500, 1000, 2000), as_json: bool = False) -> None:
    """Print the table (or, with ``as_json``, one JSON line for tests/benchmarks/run.py)."""
    import json

    import numpy as np

    try:
        import pydtmc
    except ImportError:
        print("PyDTMC is not installed here: pip install pydtmc (in its own virtualenv)")
        raise SystemExit(1) from None
    sys.path.insert(0, str(ROOT))
    import journeygraph as jg
    from journeygraph.chain import to_chain
    from tests.random_maps import random_map

    warnings.simplefilter("ignore")
    rows = []
    if not as_json:
        print(f"PyDTMC {pydtmc.__version__}, numpy {np.__version__}")
        print("| states | PyDTMC build + absorption + N | jg.analyze | ratio | max abs diff |")
        print("|---:|---:|---:|---:|---:|")
    jg.analyze(random_map(50, seed=2))  # imports and first-call costs, off the clock
    for n in sizes:
        jm = random_map(n, seed=1, stage_ordered=False)
        chain = to_chain(jm)
        t, a = chain.size, len(chain.outcomes)
        P = np.zeros((t + a, t + a))
        P[:t, :t] = chain.Q.toarray()
        P[:t, t:] = chain.R.toarray()
        P[t:, t:] = np.eye(a)
        names = [f"s{i}" for i in range(t + a)]

        t0 = time.perf_counter()
        mc = pydtmc.MarkovChain(P, names)
        B = np.asarray(mc.absorption_probabilities())
        N = np.asarray(mc.fundamental_matrix)
        pydtmc_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        res = jg.analyze(jm)
        jg_s = time.perf_counter() - t0

        theirs = chain.entry @ (B.T if B.shape[0] == a else B)
        ours = np.array([res.outcome_probabilities[o] for o in chain.outcomes])
        visits = chain.entry @ N
        ours_v = np.array([res.expected_visits[tp] for tp in chain.touchpoints])
        diff = max(np.abs(theirs - ours).max(), np.abs(visits - ours_v).max())
        rows.append(
            {"states": t + a, "pydtmc_s": pydtmc_s, "journeygraph_s": jg_s, "difference": diff}
        )
        if not as_json:
            print(
                f"| {t + a:,} | {pydtmc_s:.3f} s | {jg_s:.3f} s | {pydtmc_s / jg_s:.0f}x "
                f"| {diff:.1e} |"
            )
    if as_json:
        found = {"pydtmc": pydtmc.__version__, "numpy": np.__version__, "rows": rows}
        print(json.dumps(found, default=float))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    main(tuple(int(a) for a in args) or (200, 500, 1000, 2000), as_json="--json" in sys.argv)
