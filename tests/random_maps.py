"""Seeded random journey maps for invariant tests and benchmarks.

``random_map`` builds an unstructured map (moves to any touchpoint) or a
stage-ordered one (moves within a stage, forward, skips over a few stages, and rare
backtracks), always with loops, several competitors and a churn outcome, and always
absorbing (every touchpoint has a positive move into an outcome).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import journeygraph as jg

__all__ = ["random_map", "random_map_data"]


def random_map_data(
    n: int,
    *,
    seed: int,
    moves_per_touchpoint: int = 5,
    competitors: int = 3,
    stage_ordered: bool = False,
    stages: int | None = None,
    durations: bool = False,
) -> dict[str, Any]:
    """The map as a plain dict (what a YAML file would hold)."""
    rng = np.random.default_rng(seed)
    n_stages = stages or max(2, min(n // 10, 200))
    stage_of = np.sort(rng.integers(0, n_stages, size=n))
    stage_of[:n_stages] = np.arange(n_stages) if n >= n_stages else stage_of[:n_stages]
    stage_of.sort()
    outcomes = [{"id": "buy", "kind": "conversion"}, {"id": "lost", "kind": "churn"}]
    outcomes += [{"id": f"rival{c}", "kind": "competitor"} for c in range(competitors)]
    first_in_stage = np.searchsorted(stage_of, np.arange(n_stages + 1))
    moves: list[dict[str, Any]] = []
    for i in range(n):
        k = max(1, moves_per_touchpoint - 1)
        if stage_ordered:
            s = int(stage_of[i])
            targets = set()
            for _ in range(k):
                r = rng.random()
                if r < 0.1 and s > 0:  # backtrack one stage
                    lo, hi = first_in_stage[s - 1], first_in_stage[s]
                elif r < 0.35:  # within the stage
                    lo, hi = first_in_stage[s], first_in_stage[s + 1]
                else:  # forward, sometimes skipping up to two stages
                    t = min(n_stages - 1, s + 1 + int(rng.integers(0, 3)))
                    lo, hi = first_in_stage[t], first_in_stage[t + 1]
                targets.add(int(rng.integers(lo, hi)))
        else:
            targets = {int(x) for x in rng.integers(0, n, size=k)}
        for j in sorted(targets):
            moves.append({"from": f"t{i}", "to": f"t{j}", "weight": float(rng.uniform(0.5, 5))})
        exits = ["lost"] if rng.random() < 0.6 else []
        exits.append(str(rng.choice([o["id"] for o in outcomes])))
        for o in sorted(set(exits)):
            moves.append({"from": f"t{i}", "to": o, "weight": float(rng.uniform(0.2, 2))})
    if durations:
        for m in moves:
            m["duration"] = {"mean": float(rng.uniform(0.1, 3)), "unit": "hour"}
    entry_ids = rng.choice(n, size=min(n, 3), replace=False)
    return {
        "name": f"random-{n}-{seed}",
        "stages": [{"id": f"s{s}"} for s in range(n_stages)],
        "touchpoints": [{"id": f"t{i}", "stage": f"s{stage_of[i]}"} for i in range(n)],
        "outcomes": outcomes,
        "entry": {f"t{i}": float(rng.uniform(1, 10)) for i in sorted(entry_ids)},
        "moves": moves,
    }


def random_map(n: int, *, seed: int, **kwargs: Any) -> jg.JourneyMap:
    """A validated :class:`JourneyMap` from :func:`random_map_data`.

    Touchpoints that the entry cannot reach are allowed (a warning), so callers that
    treat warnings as errors should filter it.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.JourneyMap(**random_map_data(n, seed=seed, **kwargs))
