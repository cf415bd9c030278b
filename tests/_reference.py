"""Independent references for analysis tests: dense numpy straight from the map's moves.

Nothing here uses journeygraph.chain or journeygraph.analysis; the matrices are built
from ``jm.moves`` with plain numpy so the library is checked against a separate path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import journeygraph as jg

__all__ = ["Dense", "dense", "sample_journeys"]


@dataclass
class Dense:
    tps: list[str]
    outs: list[str]
    Q: np.ndarray
    R: np.ndarray
    D_Q: np.ndarray
    D_R: np.ndarray
    entry: np.ndarray
    N: np.ndarray
    B: np.ndarray

    def kind_cols(self, jm: jg.JourneyMap, kind: str) -> list[int]:
        return [self.outs.index(o.id) for o in jm.outcomes if o.kind == kind]

    def conversion(self, jm: jg.JourneyMap) -> float:
        return float(self.entry @ self.B[:, self.kind_cols(jm, "conversion")].sum(axis=1))


def dense(jm: jg.JourneyMap, entry: dict[str, float] | None = None) -> Dense:
    tps = [t.id for t in jm.touchpoints]
    outs = [o.id for o in jm.outcomes]
    ti = {t: i for i, t in enumerate(tps)}
    oi = {o: i for i, o in enumerate(outs)}
    t, a = len(tps), len(outs)
    W = np.zeros((t, t + a))
    H = np.zeros((t, t + a))
    for m in jm.moves:
        j = ti[m.target] if m.target in ti else t + oi[m.target]
        W[ti[m.source], j] = m.weight
        H[ti[m.source], j] = m.duration.hours if m.duration else 0.0
    P = W / W.sum(axis=1, keepdims=True)
    e = np.zeros(t)
    for k, w in (entry or dict(jm.entry)).items():
        e[ti[k]] = w
    e /= e.sum()
    Q, R = P[:, :t], P[:, t:]
    N = np.linalg.inv(np.eye(t) - Q)
    return Dense(tps, outs, Q, R, H[:, :t], H[:, t:], e, N, N @ R)


def sample_journeys(d: Dense, n: int, seed: int, max_steps: int = 100_000) -> dict[str, Any]:
    """Vectorised Monte Carlo: all journeys advance one move per iteration.

    Returns the absorbing outcome index, the number of moves, the total time (each
    move takes its mean duration, which leaves every expectation unchanged) and the
    visit counts per touchpoint.
    """
    rng = np.random.default_rng(seed)
    t = len(d.tps)
    P = np.hstack([d.Q, d.R])
    H = np.hstack([d.D_Q, d.D_R])
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0
    state = rng.choice(t, size=n, p=d.entry)
    steps = np.zeros(n, dtype=np.int64)
    time = np.zeros(n)
    visits = np.zeros(t)
    alive = np.arange(n)
    for _ in range(max_steps):
        if alive.size == 0:
            break
        s = state[alive]
        np.add.at(visits, s, 1)
        u = rng.random(alive.size)
        nxt = (cum[s] < u[:, None]).sum(axis=1)
        time[alive] += H[s, nxt]
        steps[alive] += 1
        state[alive] = nxt
        alive = alive[nxt < t]
    return {"outcome": state - t, "steps": steps, "time": time, "visits": visits / n}
