"""Second-order maps: state ids, collapsing to first order, removal effects by touchpoint."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from journeygraph import _args
from journeygraph.errors import (
    MapError,
)
from journeygraph.model import JourneyMap, Touchpoint

__all__ = [
    "START",
    "STATE_SEP",
    "collapse_order",
    "split_state",
    "state_id",
    "touchpoint_removal_effects",
]


#: The id of the first-order "previous touchpoint" of a journey's first state (order=2).
START = "(start)"
#: Separator of a second-order state id: ``"search > email"``.
STATE_SEP = " > "


def collapse_order(jm: JourneyMap) -> JourneyMap:
    """A second-order map collapsed back to first-order touchpoints.

    States ``(previous, current)`` are merged into ``current``, adding their counts,
    so collapsing ``fit(..., order=2)`` gives exactly ``fit(..., order=1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"c": [1, 1, 2, 2], "t": [1, 2, 1, 2],
    ...                     "e": ["ad", "shop", "shop", "ad"]})
    >>> m2 = jg.fit(log, customer_column="c", time_column="t", touchpoint_column="e", order=2)
    >>> sorted(t.id for t in m2.touchpoints)
    ['(start) > ad', '(start) > shop', 'ad > shop', 'shop > ad']
    >>> sorted(t.id for t in jg.collapse_order(m2).touchpoints)
    ['ad', 'shop']
    """
    jm = _args.journey_map(jm, "jm")
    states = jm.metadata.get("states")
    if not isinstance(states, dict):
        raise MapError(f"map {jm.name!r} is not a second-order map (no metadata 'states')")
    current = {s: str(pair[1]) for s, pair in states.items() if isinstance(pair, list)}
    entry: dict[str, float] = defaultdict(float)
    for s, w in jm.entry.items():
        entry[current[s]] += w
    moves: dict[tuple[str, str], float] = defaultdict(float)
    for m in jm.moves:
        moves[(current[m.source], current.get(m.target, m.target))] += m.weight
    by_id = {t.id: t for t in jm.touchpoints}
    touchpoints: dict[str, Touchpoint] = {}
    for s in sorted(current, key=lambda s: [t.id for t in jm.touchpoints].index(s)):
        tp = by_id[s]
        touchpoints.setdefault(
            current[s], tp.model_copy(update={"id": current[s], "name": tp.name})
        )
    metadata = {k: v for k, v in jm.metadata.items() if k != "states"}
    fit_data = metadata.get("fit")
    if isinstance(fit_data, dict):
        metadata["fit"] = {**fit_data, "order": 1}
    return JourneyMap(
        name=jm.name,
        description=jm.description,
        persona=jm.persona,
        stages=jm.stages,
        touchpoints=tuple(
            sorted(touchpoints.values(), key=lambda t: (jm.stage_position(t.stage), t.id))
        ),
        outcomes=jm.outcomes,
        entry=dict(entry),
        moves=[{"from": a, "to": b, "weight": w} for (a, b), w in moves.items()],
        metadata=metadata,
    )


def touchpoint_removal_effects(jm: JourneyMap) -> dict[str, float]:
    """Removal effect of each touchpoint of a second-order map: all its states at once.

    In a map fitted with ``order=2`` a touchpoint is several states (``"ad > site"``,
    ``"email > site"``...), and ``jg.analyze(jm).removal_effects`` gives one effect per
    state. Removing the *touchpoint* removes every state whose current touchpoint it
    is: journeys that would pass through any of them are lost. For a first-order map
    each touchpoint is its own state and this equals ``removal_effects``.

    Parameters
    ----------
    jm
        A journey map; second-order maps are read through ``metadata["states"]`` (or
        their state ids, see :func:`split_state`).

    Returns
    -------
    dict of str to float
        ``{touchpoint: 1 - P(convert without it) / P(convert)}``, in the map's order;
        all 0.0 when the map never converts.

    Notes
    -----
    With T the states kept (those whose touchpoint is not k), Q and R restricted to
    them and π0 the entry distribution (mass entering a removed state is lost):
    ``P_without_k = π0_Tᵀ (I - Q_TT)⁻¹ R_T,conv`` (DESIGN.md's absorbing-chain maths;
    the per-state effect of Anderl et al. 2016 generalised to a set of states).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"c": [1, 1, 1, 2, 2], "t": [1, 2, 3, 1, 2],
    ...                     "e": ["ad", "site", "buy", "site", "buy"]})
    >>> m2 = jg.fit(log, customer_column="c", time_column="t", touchpoint_column="e",
    ...             outcomes={"buy": "conversion"}, order=2)
    >>> from journeygraph.fit import touchpoint_removal_effects
    >>> touchpoint_removal_effects(m2)
    {'ad': 0.5, 'site': 1.0}
    """
    from scipy.sparse import identity
    from scipy.sparse.linalg import spsolve

    from journeygraph.chain import to_chain

    if not isinstance(jm, JourneyMap):
        raise TypeError(f"jm must be a JourneyMap, not {type(jm).__name__}")
    chain = to_chain(jm)
    states = jm.metadata.get("states")
    current: dict[str, str] = {}
    for state in chain.touchpoints:
        pair = states.get(state) if isinstance(states, dict) else None
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
            current[state] = pair[1]
        elif isinstance(states, dict):
            current[state] = split_state(state)[1]
        else:
            current[state] = state
    kinds = {o.id: o.kind for o in jm.outcomes}
    conv = np.array([kinds[o] == "conversion" for o in chain.outcomes], dtype=float)
    to_conversion = chain.R @ conv

    def converting(keep: np.ndarray) -> float:
        idx = np.flatnonzero(keep)
        if not len(idx):
            return 0.0
        q = chain.Q[idx][:, idx]
        system = (identity(len(idx), format="csc") - q).T.tocsc()
        visits = np.atleast_1d(spsolve(system, chain.entry[idx]))
        return float(visits @ to_conversion[idx])

    everything = converting(np.ones(chain.size, dtype=bool))
    labels = np.array([current[s] for s in chain.touchpoints], dtype=object)
    out: dict[str, float] = {}
    for touchpoint in dict.fromkeys(labels.tolist()):
        if everything <= 0:
            out[touchpoint] = 0.0
            continue
        without = converting(labels != touchpoint)
        out[touchpoint] = float(min(max(1.0 - without / everything, 0.0), 1.0))
    return out


def _state(prev: str | None, item: str, order: int, states: dict[str, list[str | None]]) -> str:
    """The state id of an event: the touchpoint, or (order 2) "previous > touchpoint"."""
    if order == 1:
        return item
    label = state_id(prev, item)
    states[label] = [prev, item]
    return label


def _escape_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace(">", "\\>").replace("(", "\\(")


def state_id(previous: str | None, current: str) -> str:
    """The id of a second-order state: ``"previous > current"``, ``"(start) > current"``.

    A ``\\`` in a touchpoint id is written ``\\\\``, a ``>`` is written ``\\>`` and a
    ``(`` is written ``\\(``, so two different pairs never get the same id and
    :func:`split_state` reads every id back.

    Examples
    --------
    >>> from journeygraph.fit import split_state, state_id
    >>> print(state_id("x > a", "b"), "|", state_id("x", "a > b"))
    x \\> a > b | x > a \\> b
    >>> split_state(state_id("x > a", "b"))
    ('x > a', 'b')
    """
    first = START if previous is None else _escape_part(previous)
    return f"{first}{STATE_SEP}{_escape_part(current)}"


def split_state(state: str) -> tuple[str | None, str]:
    """The (previous, current) touchpoints of a second-order state id; ``None`` for start.

    Raises
    ------
    MapError
        ``state`` is not an id that :func:`state_id` writes.
    """
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(state):
        ch = state[i]
        if ch == "\\" and i + 1 < len(state) and state[i + 1] in "\\>(":
            buf.append(state[i + 1])
            i += 2
            continue
        if state.startswith(STATE_SEP, i):
            parts.append("".join(buf))
            buf = []
            i += len(STATE_SEP)
            continue
        if ch in "\\>":
            break
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    if i < len(state) or len(parts) != 2 or not parts[0] or not parts[1]:
        raise MapError(f"{state!r} is not a second-order state id such as 'search > email'")
    previous = None if state.startswith(START + STATE_SEP) else parts[0]
    return previous, parts[1]
