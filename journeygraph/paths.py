"""The most probable journeys through a map, and the probability of a given journey.

A journey (path) is the sequence of touchpoints a customer visits, ending with the
move into an outcome. Its probability is the entry probability of its first
touchpoint times the probability of every move. Loops are allowed, so a touchpoint may
appear several times; ``max_length`` bounds the number of moves. See
``docs/simulation-and-scenarios.md``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from journeygraph import _args
from journeygraph._checks import whole_number
from journeygraph.chain import to_chain
from journeygraph.errors import JourneyGraphWarning, MapError, Problem, did_you_mean
from journeygraph.model import OUTCOME_KINDS, JourneyMap, MapSource

__all__ = ["JourneyPath", "path_probability", "top_paths"]

# Heuristic bounds are inflated by this factor so rounding in exp(-log) never makes
# them smaller than the true best completion (which would break exactness).
_SLACK = 1.0 + 1e-9


@dataclass(frozen=True, slots=True)
class JourneyPath:
    """One complete journey and its probability per entering customer.

    Attributes
    ----------
    touchpoints
        The touchpoints visited, in order (repeats are loops).
    outcome
        The outcome the journey ends in.
    probability
        Probability that an entering customer makes exactly this journey.
    """

    touchpoints: tuple[str, ...]
    outcome: str
    probability: float

    @property
    def moves(self) -> int:
        """Number of moves, including the final move into the outcome."""
        return len(self.touchpoints)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"touchpoints": [...], "outcome": id, "probability": p}``."""
        return {
            "touchpoints": list(self.touchpoints),
            "outcome": self.outcome,
            "probability": self.probability,
        }

    def __str__(self) -> str:
        return " → ".join((*self.touchpoints, self.outcome)) + f"  ({self.probability:.4g})"


if not TYPE_CHECKING:  # type checkers should not accept every name of the module

    def __getattr__(name: str) -> Any:
        """``journeygraph.paths.Path``: the old name of :class:`JourneyPath` (deprecated)."""
        if name == "Path":
            return _deprecated_path()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _deprecated_path() -> type[JourneyPath]:
    warnings.warn(
        "journeygraph.Path is now journeygraph.JourneyPath (the old name shadowed "
        "pathlib.Path under 'from journeygraph import *'); use JourneyPath",
        DeprecationWarning,
        stacklevel=3,
    )
    return JourneyPath


def top_paths(
    jm: MapSource,
    outcome: str | None = None,
    *,
    k: int = 10,
    max_length: int = 30,
    entry: str | Mapping[str, float] | None = None,
    max_expansions: int = 1_000_000,
) -> list[JourneyPath]:
    """The ``k`` most probable complete journeys that end in ``outcome``.

    Parameters
    ----------
    jm
        The journey map.
    outcome
        An outcome id, an outcome kind (``"conversion"``, ``"churn"``,
        ``"competitor"``: any outcome of that kind), or ``None`` for any outcome. An id
        is matched before a kind.
    k
        How many journeys to return.
    max_length
        Longest journey considered, in moves (the final move into the outcome counts).
        Loops are allowed within this bound.
    entry
        Where journeys start: ``None`` (the map's entry), a touchpoint id or weights.
    max_expansions
        Safety bound on the search. If it is reached, the journeys found so far (still
        exactly the most probable ones, in order) are returned with a warning.

    Returns
    -------
    list of JourneyPath
        Most probable first; ties keep the order in which the search found them. Fewer
        than ``k`` when fewer journeys of at most ``max_length`` moves exist.

    Raises
    ------
    MapError
        Unknown outcome or entry touchpoint.

    Notes
    -----
    Best-first (A*) search over partial journeys, keyed by ``probability so far × best
    possible completion``, where the best completion from each touchpoint is the most
    probable path to a wanted outcome ignoring the length bound (Dijkstra on
    ``-log p``). Move probabilities are at most 1, so the key never grows along a
    journey: the first ``k`` complete journeys taken from the queue are exactly the ``k``
    most probable of all journeys within the bound.

    Examples
    --------
    >>> for path in jg.top_paths(jm, "conversion", k=2):
    ...     print(path.touchpoints, path.outcome, round(path.probability, 4))
    ('ad', 'shop') buy 0.75
    """
    jm = _args.journey_map(jm, "jm")
    outcome = _args.optional_text(outcome, "outcome")
    entry = _args.entry(entry)
    k = whole_number(k, "k")
    max_length = whole_number(max_length, "max_length")
    max_expansions = whole_number(max_expansions, "max_expansions")
    chain = to_chain(jm, entry)
    t = chain.size
    wanted = _wanted_outcomes(jm, outcome)
    names = chain.touchpoints + chain.outcomes

    # moves[i]: (destination, probability); destinations >= t are outcomes
    moves: list[list[tuple[int, float]]] = [[] for _ in range(t)]
    for matrix, offset in ((chain.Q, 0), (chain.R, t)):
        coo = matrix.tocoo()
        for i, j, p in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
            if p > 0:
                moves[i].append((j + offset, p))
    targets = {t + chain.outcome_index[o] for o in wanted}
    best = _best_completion(moves, targets, t)
    fewest = _fewest_moves(moves, targets, t)

    # heap items: (-key, order, probability, node, moves used, parent link)
    heap: list[tuple[float, int, float, int, int, Any]] = []
    order = 0
    for i, p in enumerate(chain.entry.tolist()):
        if p > 0 and best[i] > 0 and fewest[i] <= max_length:
            heap.append((-p * best[i], order, p, i, 0, (i, None)))
            order += 1
    heapq.heapify(heap)

    found: list[JourneyPath] = []
    expansions = 0
    while heap and len(found) < k:
        _, _, prob, node, used, link = heapq.heappop(heap)
        if node >= t:
            found.append(JourneyPath(_unwind(link, names), names[node], prob))
            continue
        expansions += 1
        if expansions > max_expansions:
            warnings.warn(
                f"top_paths stopped after {max_expansions} expansions with {len(found)} of "
                f"{k} journeys; they are the most probable ones, but more may exist (raise "
                "max_expansions or lower max_length)",
                JourneyGraphWarning,
                stacklevel=2,
            )
            break
        for dest, p in moves[node]:
            nprob = prob * p
            if dest >= t:
                if dest in targets:
                    heapq.heappush(heap, (-nprob, order, nprob, dest, used + 1, link))
                    order += 1
            elif best[dest] > 0 and used + 1 + fewest[dest] <= max_length:
                key = nprob * best[dest]
                heapq.heappush(heap, (-key, order, nprob, dest, used + 1, (dest, link)))
                order += 1
    return found


def path_probability(
    jm: MapSource,
    touchpoints: Sequence[str],
    outcome: str,
    *,
    entry: str | Mapping[str, float] | None = None,
) -> float:
    """Probability that an entering customer makes exactly this journey.

    The entry probability of the first touchpoint times the probability of each move,
    ending with the move into ``outcome``. A journey that uses a move the map does not
    have has probability 0.

    Examples
    --------
    >>> round(jg.path_probability(jm, ["ad", "shop"], "buy"), 4)
    0.75
    >>> jg.path_probability(jm, ["shop", "ad"], "buy")
    0.0
    """
    jm = _args.journey_map(jm, "jm")
    touchpoints = _args.texts(touchpoints, "touchpoints")
    outcome = _args.text(outcome, "outcome")
    entry = _args.entry(entry)
    chain = to_chain(jm, entry)
    if not touchpoints:
        raise MapError([Problem((), "a journey needs at least one touchpoint")])
    for tp in touchpoints:
        if tp not in chain.index:
            raise MapError(
                [Problem((), f"unknown touchpoint {tp!r}{did_you_mean(tp, chain.index)}")]
            )
    if outcome not in chain.outcome_index:
        raise MapError(
            [
                Problem(
                    (), f"unknown outcome {outcome!r}{did_you_mean(outcome, chain.outcome_index)}"
                )
            ]
        )
    prob = float(chain.entry[chain.index[touchpoints[0]]])
    for here, there in itertools.pairwise(touchpoints):
        prob *= float(chain.Q[chain.index[here], chain.index[there]])
    prob *= float(chain.R[chain.index[touchpoints[-1]], chain.outcome_index[outcome]])
    return prob


def _wanted_outcomes(jm: JourneyMap, outcome: str | None) -> list[str]:
    if outcome is None:
        return [o.id for o in jm.outcomes]
    ids = [o.id for o in jm.outcomes]
    if outcome in ids:
        return [outcome]
    if outcome in OUTCOME_KINDS:
        of_kind = [o.id for o in jm.outcomes if o.kind == outcome]
        if not of_kind:
            raise MapError([Problem(("outcomes",), f"the map has no {outcome} outcome")])
        return of_kind
    raise MapError(
        [
            Problem(
                ("outcomes",),
                f"unknown outcome {outcome!r}{did_you_mean(outcome, ids + list(OUTCOME_KINDS))}; "
                f"give an outcome id or a kind ({', '.join(OUTCOME_KINDS)})",
            )
        ]
    )


def _best_completion(
    moves: list[list[tuple[int, float]]], targets: set[int], t: int
) -> list[float]:
    """For each touchpoint, the probability of its most probable path into ``targets``."""
    back: list[list[tuple[int, float]]] = [[] for _ in range(t)]
    cost = [math.inf] * t
    for i, row in enumerate(moves):
        for dest, p in row:
            if dest < t:
                back[dest].append((i, p))
            elif dest in targets:
                cost[i] = min(cost[i], -math.log(p))
    heap = [(c, i) for i, c in enumerate(cost) if c < math.inf]
    heapq.heapify(heap)
    done = [False] * t
    while heap:
        c, j = heapq.heappop(heap)
        if done[j]:
            continue
        done[j] = True
        for i, p in back[j]:
            nc = c - math.log(p)
            if nc < cost[i]:
                cost[i] = nc
                heapq.heappush(heap, (nc, i))
    return [min(1.0, math.exp(-c) * _SLACK) if c < math.inf else 0.0 for c in cost]


def _fewest_moves(moves: list[list[tuple[int, float]]], targets: set[int], t: int) -> list[float]:
    """For each touchpoint, the fewest moves needed to end in ``targets``."""
    back: list[list[int]] = [[] for _ in range(t)]
    dist: list[float] = [math.inf] * t
    queue: deque[int] = deque()
    for i, row in enumerate(moves):
        for dest, _ in row:
            if dest < t:
                back[dest].append(i)
            elif dest in targets and dist[i] == math.inf:
                dist[i] = 1
                queue.append(i)
    while queue:
        j = queue.popleft()
        for i in back[j]:
            if dist[i] == math.inf:
                dist[i] = dist[j] + 1
                queue.append(i)
    return dist


def _unwind(link: Any, names: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    while link is not None:
        out.append(names[link[0]])
        link = link[1]
    return tuple(reversed(out))
