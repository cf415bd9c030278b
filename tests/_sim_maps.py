"""Seeded random journey maps and dense reference solutions for the simulation tests.

The reference numbers come from dense numpy on the chain of :func:`to_chain`
(DESIGN.md, "The mathematics"): ``N = inv(I - Q)``, ``B = N R``, ``steps = N 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import journeygraph as jg
from journeygraph.chain import to_chain


def random_map(
    seed: int,
    touchpoints: int = 30,
    *,
    competitors: int = 2,
    durations: bool = False,
    stages: int = 4,
) -> jg.JourneyMap:
    """A random map with loops, skips, backtracks, churn, conversion and competitors."""
    rng = np.random.default_rng(seed)
    stage_ids = [f"s{i}" for i in range(stages)]
    tps = [f"t{i}" for i in range(touchpoints)]
    outcomes: list[dict[str, Any]] = [
        {"id": "win", "kind": "conversion"},
        {"id": "lost", "kind": "churn"},
        {"id": "idle", "kind": "churn"},
    ] + [{"id": f"rival{i}", "kind": "competitor"} for i in range(competitors)]
    out_ids = [o["id"] for o in outcomes]
    moves: list[dict[str, Any]] = []
    for i, tp in enumerate(tps):
        targets = set(rng.choice(touchpoints, size=int(rng.integers(1, 5)), replace=True).tolist())
        if i + 1 < touchpoints:
            targets.add(i + 1)  # keeps every touchpoint reachable from t0
        if rng.random() < 0.2:
            targets.add(i)  # a repeat visit (self-loop)
        exits = {"lost"} | set(rng.choice(out_ids, size=int(rng.integers(0, 3))).tolist())
        for j in sorted(targets):
            moves.append({"from": tp, "to": tps[j], "weight": float(rng.integers(1, 40))})
        for o in sorted(exits):
            moves.append({"from": tp, "to": o, "weight": float(rng.integers(1, 15))})
    if durations:
        for m in moves:
            if rng.random() < 0.8:
                m["duration"] = {"mean": float(rng.uniform(0.5, 10)), "unit": "day"}
    entry = {tps[i]: float(rng.integers(1, 10)) for i in range(min(4, touchpoints))}
    return jg.JourneyMap(
        name=f"random {seed}",
        stages=[{"id": s} for s in stage_ids],
        touchpoints=[{"id": tp, "stage": stage_ids[int(rng.integers(0, stages))]} for tp in tps],
        outcomes=outcomes,
        entry=entry,
        moves=moves,
    )


@dataclass(frozen=True)
class Dense:
    """Exact dense quantities of a map's chain (small maps only)."""

    touchpoints: tuple[str, ...]
    outcomes: tuple[str, ...]
    Q: np.ndarray
    R: np.ndarray
    entry: np.ndarray
    N: np.ndarray
    B: np.ndarray
    step_hours: np.ndarray | None

    @property
    def outcome_probabilities(self) -> np.ndarray:
        return self.entry @ self.B

    @property
    def visits(self) -> np.ndarray:
        return self.entry @ self.N

    @property
    def steps(self) -> np.ndarray:
        """Expected moves until absorption from each touchpoint, N 1."""
        return self.N.sum(axis=1)


def dense(jm: jg.JourneyMap, entry: str | dict[str, float] | None = None) -> Dense:
    chain = to_chain(jm, entry)
    Q, R = chain.Q.toarray(), chain.R.toarray()
    N = np.linalg.inv(np.eye(chain.size) - Q)
    return Dense(chain.touchpoints, chain.outcomes, Q, R, chain.entry, N, N @ R, chain.step_hours)


def fitted_b2b(n: int, *, order: int = 2, seed: int = 0) -> jg.JourneyMap:
    """The B2B example's journeys, simulated (``n``, ``seed``) and fitted back with the
    example as template: the large fitted map the drawing and explorer tests use."""
    import pyarrow as pa

    jm = jg.load(Path(__file__).parent.parent / "examples" / "b2b_saas_current.yaml")
    log = jg.simulate(jm, n=n, seed=seed)
    fitted = jg.fit(
        pa.table(log.columns),
        customer_column="customer_id",
        time_column="step",
        touchpoint_column="touchpoint",
        outcomes=jm,
        stages=jm,
        order=order,
    )
    assert isinstance(fitted, jg.JourneyMap)
    return fitted
