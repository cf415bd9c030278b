"""A journey map as a canonical absorbing Markov chain.

States are ordered as the map's touchpoints (transient, file order) then its outcomes
(absorbing, file order). With ``P`` the row-normalised move weights,
``P = [[Q, R], [0, I]]``; see DESIGN.md, "The mathematics". This module and
:mod:`journeygraph.analysis` are the only places that use matrix names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from journeygraph.errors import MapError, Problem, did_you_mean
from journeygraph.model import JourneyMap

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["AbsorbingChain", "entry_vector", "to_chain"]


@dataclass(frozen=True, slots=True, eq=False)
class AbsorbingChain:
    """The transition structure of a journey map.

    Attributes
    ----------
    touchpoints, outcomes
        State ids, in map order; matrix rows/columns follow them.
    Q
        ``t x t`` sparse CSR matrix of touchpoint-to-touchpoint move probabilities.
    R
        ``t x a`` sparse CSR matrix of touchpoint-to-outcome move probabilities.
    entry
        Length-``t`` probability vector where journeys start.
    step_hours
        Expected duration (hours) of the next move out of each touchpoint,
        ``(P∘D) 1``; moves without a ``duration`` take no time. ``None`` when no move
        of the map has a duration.
    """

    touchpoints: tuple[str, ...]
    outcomes: tuple[str, ...]
    Q: sparse.csr_matrix
    R: sparse.csr_matrix
    entry: np.ndarray
    step_hours: np.ndarray | None
    index: dict[str, int] = field(repr=False)
    outcome_index: dict[str, int] = field(repr=False)

    @property
    def size(self) -> int:
        """Number of transient states (touchpoints)."""
        return len(self.touchpoints)


def entry_vector(
    jm: JourneyMap, entry: str | Mapping[str, float] | None, index: Mapping[str, int]
) -> np.ndarray:
    """The normalised entry distribution: the map's own, one touchpoint, or a dict."""
    if entry is None:
        weights: Mapping[str, float] = jm.entry
    elif isinstance(entry, str):
        weights = {entry: 1.0}
    else:
        weights = entry
    vec = np.zeros(len(index))
    for ident, w in weights.items():
        if ident not in index:
            raise MapError(
                [
                    Problem(
                        ("entry",),
                        f"entry: unknown touchpoint {ident!r}{did_you_mean(ident, index)}",
                    )
                ]
            )
        w = float(w)
        if not np.isfinite(w) or w < 0:
            raise MapError(
                [
                    Problem(
                        ("entry",), f"entry weight of {ident!r} is {w!r}; use a finite number >= 0"
                    )
                ]
            )
        vec[index[ident]] = w
    return _normalise(vec, "entry")


def to_chain(jm: JourneyMap, entry: str | Mapping[str, float] | None = None) -> AbsorbingChain:
    """Build the absorbing chain of a map (and optionally another entry distribution).

    Weights are normalised per touchpoint after scaling by the row's largest weight, so
    extreme weights (1e-300 next to 1e300) neither overflow nor underflow to zero rows.
    """
    from scipy import sparse

    touchpoints = tuple(t.id for t in jm.touchpoints)
    outcomes = tuple(o.id for o in jm.outcomes)
    index = {t: i for i, t in enumerate(touchpoints)}
    outcome_index = {o: i for i, o in enumerate(outcomes)}
    t, a = len(touchpoints), len(outcomes)

    moves = [m for m in jm.moves if m.weight > 0]
    rows = np.fromiter((index[m.source] for m in moves), dtype=np.int64, count=len(moves))
    weights = np.fromiter((m.weight for m in moves), dtype=float, count=len(moves))
    to_outcome = np.fromiter(
        (m.target in outcome_index for m in moves), dtype=bool, count=len(moves)
    )
    cols = np.fromiter(
        (outcome_index[m.target] if m.target in outcome_index else index[m.target] for m in moves),
        dtype=np.int64,
        count=len(moves),
    )
    probs = _row_normalise(rows, weights, t)

    Q = sparse.csr_matrix(
        (probs[~to_outcome], (rows[~to_outcome], cols[~to_outcome])), shape=(t, t)
    )
    R = sparse.csr_matrix((probs[to_outcome], (rows[to_outcome], cols[to_outcome])), shape=(t, a))

    step_hours = None
    if any(m.duration is not None for m in moves):
        hours = np.fromiter(
            (m.duration.hours if m.duration else 0.0 for m in moves), dtype=float, count=len(moves)
        )
        step_hours = np.bincount(rows, weights=probs * hours, minlength=t)

    return AbsorbingChain(
        touchpoints=touchpoints,
        outcomes=outcomes,
        Q=Q,
        R=R,
        entry=entry_vector(jm, entry, index),
        step_hours=step_hours,
        index=index,
        outcome_index=outcome_index,
    )


def _row_normalise(rows: np.ndarray, weights: np.ndarray, t: int) -> np.ndarray:
    row_max = np.zeros(t)
    np.maximum.at(row_max, rows, weights)
    scaled = weights / row_max[rows]
    totals = np.bincount(rows, weights=scaled, minlength=t)
    result: np.ndarray = scaled / totals[rows]
    return result


def _normalise(vec: np.ndarray, what: str) -> np.ndarray:
    top = vec.max(initial=0.0)
    if top <= 0:
        raise MapError([Problem((what,), f"all {what} weights are 0; give one a positive weight")])
    scaled = vec / top
    result: np.ndarray = scaled / scaled.sum()
    return result
