"""Counts of simulated journeys from a known map, for the coverage tests of intervals.

A fitted map's weights are sufficient statistics of first-order data: the number of
journeys starting at each touchpoint and the number of times each move was taken.
:func:`journey_counts` simulates ``reps`` independent samples of ``n`` journeys each
by walking every journey of every sample at once through the known chain (one vector
of states, one uniform draw per step): the counts have the same distribution as those
``jg.fit(jg.simulate(jm, n))`` writes (both walk the same first-order chain), without
building event logs (about 100 times faster: docs/comparison.md).
:func:`counted_map` then writes them as :func:`journeygraph.fit` does: only observed
moves, entries and touchpoints.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import journeygraph as jg
from journeygraph.chain import to_chain


def journey_counts(
    jm: jg.JourneyMap, n: int, reps: int, rng: np.random.Generator, *, max_steps: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    """Entry counts ``(reps, t)`` and move counts ``(reps, t, t + a)`` of ``reps`` samples.

    States ``0..t-1`` are touchpoints, ``t..t+a-1`` outcomes (the chain's order).
    """
    chain = to_chain(jm)
    t = len(chain.touchpoints)
    P = np.hstack([chain.Q.toarray(), chain.R.toarray()])
    P /= P.sum(axis=1, keepdims=True)
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0
    entry_cum = np.cumsum(chain.entry / chain.entry.sum())
    entry_cum[-1] = 1.0
    size = P.shape[1]
    rep = np.repeat(np.arange(reps), n)
    state = np.searchsorted(entry_cum, rng.random(reps * n), side="right")
    entries = np.bincount(rep * t + state, minlength=reps * t).reshape(reps, t)
    moves = np.zeros(reps * t * size, dtype=np.int64)
    for _ in range(max_steps):
        nxt = (rng.random(state.size)[:, None] >= cum[state]).sum(axis=1)
        moves += np.bincount((rep * t + state) * size + nxt, minlength=moves.size)
        alive = nxt < t
        state, rep = nxt[alive], rep[alive]
        if state.size == 0:
            break
    else:  # pragma: no cover - the test maps end every journey long before
        raise AssertionError("journeys did not end")
    return entries, moves.reshape(reps, t, size)


def counted_map(
    jm: jg.JourneyMap, entries: np.ndarray, moves: np.ndarray, *, template: bool = False
) -> jg.JourneyMap:
    """``jm`` with the weights of one sample's counts, as a fit writes it.

    A fit writes only what the log shows; with ``template=True`` every move and entry of
    ``jm`` stays, unobserved ones with weight 0 (as from a template that lists them).
    """
    if template:
        data = jm.model_dump(by_alias=True, exclude_none=True)
        chain = to_chain(jm)
        pos = {tp: i for i, tp in enumerate(chain.touchpoints)}
        pos.update({o: len(pos) + k for k, o in enumerate(chain.outcomes)})
        seen = {tp for tp, i in pos.items() if i < len(chain.touchpoints) and moves[i].any()}
        # a touchpoint no journey reached has no counts at all: it drops out, as in a fit
        data["touchpoints"] = [tp for tp in data["touchpoints"] if tp["id"] in seen]
        data["moves"] = [
            {**m, "weight": float(moves[pos[m["from"]], pos[m["to"]]])}
            for m in data["moves"]
            if m["from"] in seen and (m["to"] in seen or pos[m["to"]] >= len(chain.touchpoints))
        ]
        data["entry"] = {k: float(entries[pos[k]]) for k in data["entry"] if k in seen}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jg.JourneyGraphWarning)
            return jg.JourneyMap(**data)
    chain = to_chain(jm)
    ids = list(chain.touchpoints) + list(chain.outcomes)
    t = len(chain.touchpoints)
    seen = {chain.touchpoints[i] for i in range(t) if entries[i] or moves[i].any()}
    data: dict[str, Any] = jm.model_dump(by_alias=True, exclude_none=True)
    data["touchpoints"] = [tp for tp in data["touchpoints"] if tp["id"] in seen]
    data["entry"] = {chain.touchpoints[i]: float(c) for i, c in enumerate(entries) if c}
    data["moves"] = [
        {"from": ids[i], "to": ids[j], "weight": float(moves[i, j])}
        for i, j in zip(*np.nonzero(moves), strict=True)
    ]
    for key in ("durations",):
        data.pop(key, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.JourneyMap(**data)
