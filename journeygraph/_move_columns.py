"""A valid map's moves read once into numpy columns while the map is validated.

model.py stays free of numerics (STYLE.md); validation calls :func:`read_columns` and
:func:`out_totals`, and :func:`journeygraph.chain.map_arrays` reuses the columns so the
first analysis of a fresh map does not read ~110,000 pydantic moves again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from journeygraph.model import Duration, JourneyMap

__all__ = ["MoveColumns", "column_fields", "out_totals", "reached", "read_columns"]


@dataclass(frozen=True, slots=True, eq=False)
class MoveColumns:
    """A valid map's moves as columns, read once while the map is validated.

    Kept with the frozen map (``_derived["columns"]``, with the field values it was
    read from) for :func:`journeygraph.chain.map_arrays`, so the first analysis of a
    fresh map does not read ~110,000 pydantic moves again.

    Attributes
    ----------
    rows
        Each move's source: the touchpoint's position in ``touchpoints``.
    targets
        Each move's target: a touchpoint's position, or ``len(touchpoints)`` plus an
        outcome's position in ``outcomes``.
    weights
        Each move's weight, as written (not normalised).
    durations
        Each move's :class:`Duration`, or ``None``.
    """

    rows: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    durations: list[Duration | None]


def column_fields(jm: JourneyMap) -> tuple[Any, ...]:
    """The field values :class:`MoveColumns` are read from (compared by identity)."""
    return (jm.touchpoints, jm.outcomes, jm.moves)


def read_columns(jm: JourneyMap) -> MoveColumns | None:
    """The moves as columns, or ``None`` when a move has a problem to word.

    Needs unique ids across stages, touchpoints and outcomes. Every
    source must be a touchpoint, every target a touchpoint or an outcome, and no pair
    may repeat; otherwise :func:`journeygraph.model._move_problems` words the problems.
    """
    t = len(jm.touchpoints)
    state = {tp.id: i for i, tp in enumerate(jm.touchpoints)}
    state.update({o.id: t + k for k, o in enumerate(jm.outcomes)})
    # A validated model keeps its field values in __dict__; reading them with C-level
    # getters is several times faster than attribute access in a Python loop.
    fields = list(map(attrgetter("__dict__"), jm.moves))
    count = len(fields)
    rows = np.fromiter(
        map(state.get, map(itemgetter("source"), fields), repeat(-1)), np.int64, count
    )
    targets = np.fromiter(
        map(state.get, map(itemgetter("target"), fields), repeat(-1)), np.int64, count
    )
    if count and (rows.min() < 0 or rows.max() >= t or targets.min() < 0):
        return None
    if np.unique(rows * len(state) + targets).size != count:
        return None
    weights = np.fromiter(map(itemgetter("weight"), fields), float, count)
    durations = list(map(itemgetter("duration"), fields))
    return MoveColumns(rows=rows, targets=targets, weights=weights, durations=durations)


def out_totals(columns: MoveColumns, size: int) -> tuple[list[int], list[float]]:
    """How many moves leave each of ``size`` touchpoints, and their total weight."""
    count = np.bincount(columns.rows, minlength=size).tolist()
    weight = np.bincount(columns.rows, weights=columns.weights, minlength=size).tolist()
    return count, weight


def reached(
    columns: MoveColumns, size: int, starts: Iterable[int], *, backward: bool
) -> list[bool]:
    """Which states the ``starts`` reach along moves of positive weight.

    States are numbered as in :class:`MoveColumns` (touchpoints, then outcomes; ``size``
    of them). With ``backward=True`` the moves are followed against their direction: the
    states from which a start can be reached. The moves are grouped by the state they
    leave with one stable sort, then a breadth-first walk visits each move at most
    once, reading plain lists (no per-move model attribute access).
    """
    positive = columns.weights > 0
    leave, enter = columns.rows[positive], columns.targets[positive]
    if backward:
        leave, enter = enter, leave
    following = enter[np.argsort(leave, kind="stable")].tolist()
    ends = np.cumsum(np.bincount(leave, minlength=size)).tolist()
    begins = [0, *ends[:-1]]
    seen = [False] * size
    queue = []
    for state in starts:
        if not seen[state]:
            seen[state] = True
            queue.append(state)
    while queue:
        state = queue.pop()
        for nxt in following[begins[state] : ends[state]]:
            if not seen[nxt]:
                seen[nxt] = True
                queue.append(nxt)
    return seen
