"""Independent references for analysis tests: dense numpy straight from the map's moves.

Nothing here uses journeygraph.chain or journeygraph.analysis; the matrices are built
from ``jm.moves`` with plain numpy so the library is checked against a separate path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

import journeygraph as jg

__all__ = ["Dense", "dense", "markov_attribution", "sample_journeys"]


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


def markov_attribution(
    paths: Iterable[tuple[str, float, float]], sep: str = ">"
) -> tuple[float, dict[str, float]]:
    """(P(conversion), removal effects) of an attribution path table, by dense numpy.

    Exact first-order Markov attribution straight from ``(path, conversions, nulls)``
    rows, independent of journeygraph: transition counts are tallied here, the chain is
    (start, channels..., conversion, null), and removing channel k sends every move
    into k to null (Anderl et al. 2016).
    """
    counts: dict[tuple[str, str], float] = {}
    channels: set[str] = set()
    for text, conv, null in paths:
        steps = ["<start>", *[s.strip() for s in text.split(sep)]]
        channels.update(steps[1:])
        for a, b in itertools.pairwise(steps):
            counts[(a, b)] = counts.get((a, b), 0.0) + conv + null
        counts[(steps[-1], "<conv>")] = counts.get((steps[-1], "<conv>"), 0.0) + conv
        counts[(steps[-1], "<null>")] = counts.get((steps[-1], "<null>"), 0.0) + null
    states = ["<start>", *sorted(channels), "<conv>", "<null>"]
    idx = {s: i for i, s in enumerate(states)}

    def conversion(removed: str | None) -> float:
        P = np.zeros((len(states), len(states)))
        for (a, b), c in counts.items():
            P[idx[a], idx["<null>"] if b == removed else idx[b]] += c
        P[idx["<conv>"], idx["<conv>"]] = P[idx["<null>"], idx["<null>"]] = 1.0
        P /= P.sum(axis=1, keepdims=True)
        t = len(states) - 2
        return float(np.linalg.solve(np.eye(t) - P[:t, :t], P[:t, t:])[0, 0])

    base = conversion(None)
    return base, {k: 1.0 - conversion(k) / base for k in sorted(channels)}
