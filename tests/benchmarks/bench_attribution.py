"""Benchmark: Markov attribution of ~1M paths over 200 channels.

Not collected by pytest. Run:

    PYTHONPATH=. python tests/benchmarks/bench_attribution.py [--journeys 1000000]

It draws a seeded set of journeys (200 channels, 1-8 touches, conversion probability
depending on the channels touched), aggregates them into a path table (one row per
distinct path with conversion and null counts: ChannelAttribution's input), and times
in the same run:

- ``jg.fit_paths`` + ``jg.analyze(...).removal_effects`` (exact, linear algebra),
- ChannelAttribution's ``markov_model(..., order=1, out_more=True)`` (simulation),

and reports the largest absolute difference between their removal effects. Needs
``pip install channelattribution`` (skipped with a message otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import resource
import time

import numpy as np
import pandas as pd

import journeygraph as jg


def make_paths(journeys: int, channels: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Zipf-like channel popularity, so a few channels carry most touches.
    popularity = 1.0 / np.arange(1, channels + 1) ** 0.8
    popularity /= popularity.sum()
    strength = rng.uniform(0.0, 1.0, channels)  # how much a touch helps conversion
    lengths = rng.integers(1, 9, journeys)
    touches = rng.choice(channels, size=int(lengths.sum()), p=popularity)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    score = np.add.reduceat(strength[touches], starts) / lengths
    converted = rng.random(journeys) < 0.1 + 0.3 * score
    names = np.array([f"ch{i:03d}" for i in range(channels)], dtype=object)
    text = [" > ".join(names[touches[s : s + n]]) for s, n in zip(starts, lengths, strict=True)]
    df = pd.DataFrame({"path": text, "conv": converted.astype(np.int64)})
    table = df.groupby("path", sort=True)["conv"].agg(["sum", "count"]).reset_index()
    table["total_null"] = table["count"] - table["sum"]
    return table.rename(columns={"sum": "total_conversions"})[
        ["path", "total_conversions", "total_null"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--nsim", type=float, default=1e6)
    args = parser.parse_args()
    table = make_paths(args.journeys, args.channels)
    print(
        f"{args.journeys:,} journeys, {len(table):,} distinct paths, "
        f"{args.channels} channels, {int(table.total_conversions.sum()):,} conversions"
    )
    t0 = time.perf_counter()
    jm = jg.fit_paths(table)
    t_fit = time.perf_counter() - t0
    ours = jg.analyze(jm).removal_effects
    t_jg = time.perf_counter() - t0
    print(f"jg.fit_paths {t_fit:6.2f} s + analyze -> removal effects {t_jg:6.2f} s total")
    if importlib.util.find_spec("ChannelAttribution") is None:
        print("ChannelAttribution is not installed: skipped (pip install channelattribution)")
        return
    import ChannelAttribution as ca

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.markov_model(
            table,
            "path",
            "total_conversions",
            var_null="total_null",
            order=1,
            sep=">",
            out_more=True,
            nsim_start=args.nsim,
            max_step=200,
            seed=1,
            verbose=False,
        )
    t_ca = time.perf_counter() - t0
    theirs = dict(
        zip(
            res["removal_effects"]["channel_name"],
            res["removal_effects"]["removal_effect"],
            strict=True,
        )
    )
    assert theirs.keys() == ours.keys()
    diff = max(abs(theirs[k] - ours[k]) for k in ours)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ChannelAttribution markov_model (nsim {args.nsim:.0e}) {t_ca:6.2f} s")
    print(
        f"max |removal effect difference| {diff:.4f}; "
        f"largest removal effect {max(ours.values()):.4f}; peak RSS {rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
