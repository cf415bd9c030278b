"""A journey map as a canonical absorbing Markov chain.

States are ordered as the map's touchpoints (transient, file order) then its outcomes
(absorbing, file order). With ``P`` the row-normalised move weights,
``P = [[Q, R], [0, I]]``; see DESIGN.md, "The mathematics". This module and
:mod:`journeygraph.analysis` are the only places that use matrix names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from journeygraph._blas import one_blas_thread
from journeygraph._move_columns import MoveColumns, column_fields
from journeygraph.errors import MapError, NotAbsorbingError, Problem, did_you_mean
from journeygraph.model import JourneyMap

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "DENSE_LIMIT",
    "ENVELOPE_LIMIT",
    "ESCAPE_TOLERANCE",
    "RESIDUAL_TOLERANCE",
    "AbsorbingChain",
    "ChainSolver",
    "MapArrays",
    "SolverMethod",
    "auto_method",
    "check_escape",
    "choose_method",
    "entry_vector",
    "factorize",
    "inverse_diagonal",
    "loop_free",
    "map_arrays",
    "to_chain",
]


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
    leave
        Length-``t`` probability of leaving each touchpoint on a step, ``1 - Q_ii``,
        computed from the weights without cancellation (1 where there is no
        self-loop); ``None`` derives it from ``Q`` (see :func:`loop_free`).
    Q_free
        ``Q`` without self-loops, each row divided by ``leave``: the chain observed
        only when customers move on. ``None`` derives it from ``Q``.
    """

    touchpoints: tuple[str, ...]
    outcomes: tuple[str, ...]
    Q: sparse.csr_matrix
    R: sparse.csr_matrix
    entry: np.ndarray
    step_hours: np.ndarray | None
    index: dict[str, int] = field(repr=False)
    outcome_index: dict[str, int] = field(repr=False)
    leave: np.ndarray | None = field(default=None, repr=False)
    Q_free: sparse.csr_matrix | None = field(default=None, repr=False)

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
        if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating):
            raise MapError(
                [Problem(("entry",), f"entry weight of {ident!r} is {w!r}; use a number >= 0")]
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


@dataclass(frozen=True, slots=True, eq=False)
class MapArrays:
    """A map's structure as arrays, built once per map by :func:`map_arrays`.

    Everything :func:`to_chain` and :func:`journeygraph.analysis.analyze` need from
    the map's models, read in one pass (a 20,000-touchpoint map has ~110,000 moves, and
    reading them through pydantic attributes once per figure cost more than the
    solves). Independent of the entry distribution.

    Attributes
    ----------
    touchpoints, outcomes, index, outcome_index, Q, R, step_hours, leave, Q_free
        As in :class:`AbsorbingChain`.
    stage_position
        Length-``t`` position of each touchpoint's stage in the stage order.
    outcome_kinds
        The kind of each outcome, in outcome order.
    QD, RD
        ``Q`` and ``R`` with each probability multiplied by its move's mean duration in
        hours (0 for moves without one); ``None`` when no move has a duration.
    """

    touchpoints: tuple[str, ...]
    outcomes: tuple[str, ...]
    index: dict[str, int] = field(repr=False)
    outcome_index: dict[str, int] = field(repr=False)
    stage_position: np.ndarray = field(repr=False)
    outcome_kinds: tuple[str, ...] = field(repr=False)
    Q: sparse.csr_matrix = field(repr=False)
    R: sparse.csr_matrix = field(repr=False)
    leave: np.ndarray = field(repr=False)
    Q_free: sparse.csr_matrix = field(repr=False)
    step_hours: np.ndarray | None = field(repr=False)
    QD: sparse.csr_matrix | None = field(repr=False)
    RD: sparse.csr_matrix | None = field(repr=False)
    #: Choices made once per map on first use (the ``"auto"`` solver method).
    choices: dict[str, Any] = field(default_factory=dict, repr=False)


def map_arrays(jm: JourneyMap) -> MapArrays:
    """The map's :class:`MapArrays`, built on first use and kept with the (frozen) map.

    The cache holds the field values it was built from and is used only while they
    are the map's own (checked by identity), so a map derived with ``model_copy`` never
    sees another map's arrays.
    """
    cache = jm._derived
    fields = (jm.stages, jm.touchpoints, jm.outcomes, jm.moves)
    hit = cache.get("arrays")
    if hit is not None and all(a is b for a, b in zip(hit[0], fields, strict=True)):
        arrays: MapArrays = hit[1]
        return arrays
    arrays = _build_arrays(jm)
    cache["arrays"] = (fields, arrays)
    return arrays


def _build_arrays(jm: JourneyMap) -> MapArrays:
    """Read the map's models once into arrays (C-level iteration over their fields).

    Weights are normalised per touchpoint after scaling by the row's largest weight, so
    extreme weights (1e-300 next to 1e300) neither overflow nor underflow to zero rows.
    """
    from scipy import sparse

    touchpoints = tuple(t.id for t in jm.touchpoints)
    outcomes = tuple(o.id for o in jm.outcomes)
    index = {t: i for i, t in enumerate(touchpoints)}
    outcome_index = {o: i for i, o in enumerate(outcomes)}
    t, a = len(touchpoints), len(outcomes)
    stage_index = {s.id: i for i, s in enumerate(jm.stages)}
    stage_position = np.fromiter(
        map(stage_index.__getitem__, (tp.stage for tp in jm.touchpoints)), dtype=np.int64, count=t
    )

    columns = _move_columns(jm, index, {o: t + k for o, k in outcome_index.items()})
    rows, targets, weights = columns.rows, columns.targets, columns.weights
    durations = columns.durations
    count = len(durations)
    has_durations = durations.count(None) != count
    positive = weights > 0
    if not positive.all():
        rows, targets, weights = rows[positive], targets[positive], weights[positive]
        durations = [d for d, ok in zip(durations, positive.tolist(), strict=True) if ok]
        has_durations = durations.count(None) != len(durations)

    to_outcome = targets >= t
    cols = np.where(to_outcome, targets - t, targets)
    probs = _row_normalise(rows, weights, t)
    loop = ~to_outcome & (cols == rows)
    leave = _leave(rows, weights, loop, t)
    free_probs = _row_normalise(rows[~loop], weights[~loop], t)
    free_rows, free_cols = rows[~loop], cols[~loop]
    keep = ~to_outcome[~loop]
    Q_free = sparse.csr_matrix((free_probs[keep], (free_rows[keep], free_cols[keep])), shape=(t, t))
    to_tp = ~to_outcome
    Q = sparse.csr_matrix((probs[to_tp], (rows[to_tp], cols[to_tp])), shape=(t, t))
    R = sparse.csr_matrix((probs[to_outcome], (rows[to_outcome], cols[to_outcome])), shape=(t, a))

    step_hours = QD = RD = None
    if has_durations:
        hours = np.fromiter(
            (d.hours if d is not None else 0.0 for d in durations),
            dtype=float,
            count=len(durations),
        )
        timed = probs * hours
        step_hours = np.bincount(rows, weights=timed, minlength=t)
        QD = sparse.csr_matrix((timed[to_tp], (rows[to_tp], cols[to_tp])), shape=(t, t))
        RD = sparse.csr_matrix(
            (timed[to_outcome], (rows[to_outcome], cols[to_outcome])), shape=(t, a)
        )
    return MapArrays(
        touchpoints=touchpoints,
        outcomes=outcomes,
        index=index,
        outcome_index=outcome_index,
        stage_position=stage_position,
        outcome_kinds=tuple(o.kind for o in jm.outcomes),
        Q=Q,
        R=R,
        leave=leave,
        Q_free=Q_free,
        step_hours=step_hours,
        QD=QD,
        RD=RD,
    )


def _move_columns(
    jm: JourneyMap, index: dict[str, int], outcome_state: dict[str, int]
) -> MoveColumns:
    """The moves as columns: those read while the map was validated, when they are its own.

    Validation keeps them with the map (:class:`journeygraph._move_columns.MoveColumns`) together
    with the field values they were read from; a map made with ``model_copy`` has other
    values (checked by identity), so its moves are read here.
    """
    hit = jm._derived.get("columns")
    if hit is not None and all(a is b for a, b in zip(hit[0], column_fields(jm), strict=True)):
        columns: MoveColumns = hit[1]
        return columns
    # A validated model keeps its field values in __dict__; reading them with C-level
    # getters is several times faster than attribute access in a generator.
    fields = list(map(attrgetter("__dict__"), jm.moves))
    count = len(fields)
    # States are numbered touchpoints first, then outcomes (t + k), so one dict lookup
    # per move gives both the column and whether it is an outcome.
    state = {**index, **outcome_state}
    return MoveColumns(
        rows=np.fromiter(
            map(index.__getitem__, map(itemgetter("source"), fields)), np.int64, count
        ),
        targets=np.fromiter(
            map(state.__getitem__, map(itemgetter("target"), fields)), np.int64, count
        ),
        weights=np.fromiter(map(itemgetter("weight"), fields), dtype=float, count=count),
        durations=list(map(itemgetter("duration"), fields)),
    )


def to_chain(jm: JourneyMap, entry: str | Mapping[str, float] | None = None) -> AbsorbingChain:
    """Build the absorbing chain of a map (and optionally another entry distribution).

    The map's arrays are built once per map (:func:`map_arrays`); only the entry vector
    is made per call. Weights are normalised per touchpoint after scaling by the row's
    largest weight, so extreme weights (1e-300 next to 1e300) neither overflow nor
    underflow to zero rows.
    """
    arrays = map_arrays(jm)
    return AbsorbingChain(
        touchpoints=arrays.touchpoints,
        outcomes=arrays.outcomes,
        Q=arrays.Q,
        R=arrays.R,
        entry=entry_vector(jm, entry, arrays.index),
        step_hours=arrays.step_hours,
        index=arrays.index,
        outcome_index=arrays.outcome_index,
        leave=arrays.leave,
        Q_free=arrays.Q_free,
    )


def _leave(rows: np.ndarray, weights: np.ndarray, loop: np.ndarray, t: int) -> np.ndarray:
    """``1 - Q_ii`` per touchpoint from the weights: other weights over all weights.

    Computed as ``W / (W + w_ii)`` with W the sum of the other weights (each scaled by
    their largest), so a self-loop of weight 1e12 next to weights of 1 gives ~1e-12 to
    full relative precision instead of ``1 - (1 - 1e-12)``. 0 when nothing else is left.
    """
    other = ~loop
    top = _group_max(rows[other], weights[other], t)
    safe = np.where(top > 0, top, 1.0)
    rest = np.bincount(rows[other], weights=weights[other] / safe[rows[other]], minlength=t)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # A loop beyond float64 next to its row's other weights gives inf: leave = 0.
        stay = np.bincount(rows[loop], weights=weights[loop] / safe[rows[loop]], minlength=t)
        result: np.ndarray = np.where(top > 0, rest / (rest + stay), 0.0)
    return result


def loop_free(chain: AbsorbingChain) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``(Q_free, leave)``: the chain without self-loops, and ``1 - Q_ii``.

    A self-loop changes how often and how long customers stay at its touchpoint, never
    where they go next: with ``D = diag(leave)``, ``I - Q = D (I - Q_free)`` so
    ``N = (I - Q_free)⁻¹ D⁻¹``. Solving with ``I - Q_free`` keeps a loop of weight 1e12
    (``Q_ii = 1 - 1e-12``) as well conditioned as the map without it. Chains built by
    :func:`to_chain` carry both, computed from the weights; for others they are derived
    from ``Q`` (exact up to the rounding already in ``Q_ii``).
    """
    from scipy import sparse

    if chain.Q_free is not None and chain.leave is not None:
        return chain.Q_free, chain.leave
    stay = chain.Q.diagonal()
    leave = 1.0 - stay
    offdiag = (chain.Q - sparse.diags(stay)).tocsr()
    offdiag.eliminate_zeros()
    safe = np.where(leave > 0, leave, 1.0)
    Q_free = (sparse.diags(1.0 / safe) @ offdiag).tocsr()
    return Q_free, leave


def _row_normalise(rows: np.ndarray, weights: np.ndarray, t: int) -> np.ndarray:
    row_max = _group_max(rows, weights, t)
    scaled = weights / np.where(row_max > 0, row_max, 1.0)[rows]
    totals = np.bincount(rows, weights=scaled, minlength=t)
    result: np.ndarray = scaled / totals[rows]
    return result


def _group_max(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Largest value per group (0 for empty groups; values >= 0), by one stable sort.

    Equivalent to ``np.maximum.at(np.zeros(n), groups, values)``, which is several
    times slower.
    """
    result = np.zeros(n)
    if groups.size == 0:
        return result
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    result[sorted_groups[starts]] = np.maximum.reduceat(values[order], starts)
    return result


def _normalise(vec: np.ndarray, what: str) -> np.ndarray:
    top = vec.max(initial=0.0)
    if top <= 0:
        raise MapError([Problem((what,), f"all {what} weights are 0; give one a positive weight")])
    scaled = vec / top
    result: np.ndarray = scaled / scaled.sum()
    return result


# -- solving (I - Q) x = b ------------------------------------------------------------
#
# Every figure of journeygraph.analysis is one or more solves with the fundamental
# matrix N = (I - Q)^-1 (DESIGN.md, "The mathematics"). ChainSolver factorises I - Q
# once and reuses it; N itself is never formed except for small dense maps.

SolverMethod = Literal["auto", "dense", "sparse", "iterative"]

#: Largest system solved with dense LU (and largest strongly connected group whose
#: block of N is inverted densely when the diagonal of N is needed).
DENSE_LIMIT = 1500
#: Sparse LU is used when the envelope of I - Q (after reverse Cuthill–McKee), which
#: bounds the fill-in of the factors, stays below this many entries per touchpoint
#: (a narrow profile); else the iterative solver. Measured on the benchmark maps
#: (envelope per touchpoint, SuperLU fill per touchpoint): stage-ordered 2,000 / 5,000
#: / 20,000: 94 / 124 / 896 (18 / 39 / 156); random 2,000 / 5,000: 1,266 / 3,172
#: (486 / 1,243), where SuperLU took 10× / 100× the iterative solves. Bare solves, best
#: of 3 under load (performance.md, "Core analysis"): stage-ordered 5,000 SuperLU 81 ms
#: against BiCGSTAB 98 ms, stage-ordered 20,000 SuperLU 2.4 s against BiCGSTAB 0.36 s
#: (it converges from the Jacobi start; from x0 = 0 it broke down), hence a limit
#: between 124 and 896.
ENVELOPE_LIMIT = 300
#: Relative residual every solve must reach (checked explicitly, never assumed).
RESIDUAL_TOLERANCE = 1e-11
#: A group of touchpoints that customers leave with probability below this per step
#: makes the chain numerically singular (journeys there last ~1e12 steps).
ESCAPE_TOLERANCE = 1e-12
#: Blocks of N computed at once when its diagonal comes from column solves.
_BATCH = 256
#: Widest breadth-first level for which diag(N) uses the block-tridiagonal sweep.
_LEVEL_WIDTH_LIMIT = 2500


class ChainSolver:
    """One factorisation of ``I - Q`` answering every solve of an analysis.

    Build it with :func:`factorize`. ``solve(b)`` returns ``N b`` and
    ``solve_transposed(b)`` returns ``Nᵀ b`` (``b`` a vector or a matrix of columns).
    ``method`` is ``"dense"`` (LAPACK LU), ``"sparse"`` (SuperLU) or ``"iterative"``
    (BiCGSTAB then GMRES with a Jacobi preconditioner and an explicit residual check).
    """

    __slots__ = (
        "_A",
        "_AT",
        "_absA",
        "_absAT",
        "_diag",
        "_leave",
        "_lu",
        "method",
        "size",
        "touchpoints",
    )

    def __init__(self, chain: AbsorbingChain, method: SolverMethod = "auto") -> None:
        from scipy import sparse

        self.touchpoints = chain.touchpoints
        self.size = chain.size
        check_escape(chain)
        # Self-loops are taken out exactly: I - Q = D (I - Q_free), D = diag(leave).
        Q_free, self._leave = loop_free(chain)
        A = (sparse.identity(self.size, format="csr") - Q_free).tocsr()
        self._A = A
        self._AT = A.T.tocsr()
        # |A| for the residual checks, made once (not per solve).
        self._absA = abs(A)
        self._absAT = abs(self._AT)
        self._diag = A.diagonal()
        if method == "auto":
            method = choose_method(A)
        self.method: Literal["dense", "sparse", "iterative"] = method
        self._lu: Any = None
        if method == "dense":
            from scipy.linalg import lu_factor

            with one_blas_thread():
                self._lu = lu_factor(A.toarray(), check_finite=False)
        elif method == "sparse":
            from scipy.sparse.linalg import splu

            self._lu = splu(A.tocsc())
        elif method != "iterative":
            raise ValueError(
                f"unknown solver method {method!r}; use auto, dense, sparse or iterative"
            )

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``x = N b``, the solution of ``(I - Q) x = b``."""
        with one_blas_thread():
            return self._solve(b, transposed=False)

    def solve_transposed(self, b: np.ndarray) -> np.ndarray:
        """``x = Nᵀ b``, the solution of ``(I - Q)ᵀ x = b``."""
        with one_blas_thread():
            return self._solve(b, transposed=True)

    def _solve(self, b: np.ndarray, *, transposed: bool) -> np.ndarray:
        # N = (I - Q_free)⁻¹ D⁻¹: N b = N_free (D⁻¹ b) and Nᵀ b = D⁻¹ N_freeᵀ b.
        b = np.asarray(b, dtype=float)
        scale = 1.0 / self._leave if b.ndim == 1 else (1.0 / self._leave)[:, None]
        if transposed:
            return self._solve_free(b, transposed=True) * scale
        return self._solve_free(b * scale, transposed=False)

    def _solve_free(self, b: np.ndarray, *, transposed: bool) -> np.ndarray:
        if self.method == "iterative":
            x_it = self._try_iterative(b, transposed=transposed)
            if x_it is not None:
                self._check(x_it, b, transposed=transposed)
                return x_it
            # The Krylov solver stalled on this chain: factorise once, use LU from now on.
            from scipy.sparse.linalg import splu

            self._lu = splu(self._A.tocsc())
            self.method = "sparse"
        if self.method == "dense":
            from scipy.linalg import lu_solve

            x: np.ndarray = lu_solve(self._lu, b, trans=1 if transposed else 0, check_finite=False)
        else:
            x = self._lu.solve(np.ascontiguousarray(b), trans="T" if transposed else "N")
        self._check(x, b, transposed=transposed)
        return x

    def _try_iterative(self, b: np.ndarray, *, transposed: bool) -> np.ndarray | None:
        """Every column by Jacobi-preconditioned BiCGSTAB (300 steps); ``None`` if one stalls."""
        A = self._AT if transposed else self._A
        absA = self._absAT if transposed else self._absA
        columns = [b] if b.ndim == 1 else [b[:, j] for j in range(b.shape[1])]
        solved = []
        for column in columns:
            x = _iterative(A, self._diag, column, self.touchpoints, exact_fallback=False, absA=absA)
            if x is None:
                return None
            solved.append(x)
        return solved[0] if b.ndim == 1 else np.column_stack(solved)

    def _check(self, x: np.ndarray, b: np.ndarray, *, transposed: bool) -> None:
        A = self._AT if transposed else self._A
        absA = self._absAT if transposed else self._absA
        if not np.isfinite(x).all():
            raise _singular(
                self.touchpoints, np.flatnonzero(~np.isfinite(x).reshape(self.size, -1).all(1))
            )
        residual = np.abs(A @ x - b)
        scale = np.abs(b) + absA @ np.abs(x)
        bad = residual > RESIDUAL_TOLERANCE * np.maximum(scale, np.abs(b).max(initial=0.0))
        if bad.any():
            rows = np.flatnonzero(bad.reshape(self.size, -1).any(1))
            raise _singular(self.touchpoints, rows)

    def diagonal(self) -> np.ndarray:
        """The diagonal of ``N``: expected visits to each touchpoint starting there.

        See :func:`inverse_diagonal` for how it is computed and what it costs.
        """
        with one_blas_thread():
            return self._diagonal()

    def _diagonal(self) -> np.ndarray:
        if self.method == "dense":
            # Reuse the LU: diag(N) from N = LU⁻¹ I, no second factorisation.
            free = np.diag(self._solve_free(np.eye(self.size), transposed=False)).copy()
        else:
            free = inverse_diagonal(self._A, self.touchpoints, method=self.method)
        result: np.ndarray = free / self._leave
        return result


def factorize(chain: AbsorbingChain, method: SolverMethod = "auto") -> ChainSolver:
    """Factorise ``I - Q`` of a chain once, for every solve an analysis needs.

    Parameters
    ----------
    chain
        From :func:`to_chain`.
    method
        ``"auto"`` (default) picks dense LU up to :data:`DENSE_LIMIT` touchpoints,
        sparse LU while the fill-in bound stays below :data:`ENVELOPE_LIMIT` entries
        per touchpoint, and the iterative solver otherwise (see :func:`choose_method`).

    Raises
    ------
    NotAbsorbingError
        A group of touchpoints is left with probability below :data:`ESCAPE_TOLERANCE`
        per step, so float64 cannot resolve how long journeys stay there; the message
        names the touchpoints.
    """
    return ChainSolver(chain, method)


def choose_method(A: sparse.csr_matrix) -> Literal["dense", "sparse", "iterative"]:
    """Dense for small systems; then chosen from the structure, not the size.

    Sparse LU when the envelope of ``I - Q`` after reverse Cuthill–McKee (an upper bound
    on the fill-in of its factors) stays below :data:`ENVELOPE_LIMIT` entries per
    touchpoint; otherwise the iterative solver, whose every result is checked by its
    residual. Should BiCGSTAB not converge within 300 steps, the solver factorises with
    sparse LU once and uses it from then on, so no map pays an unbounded fill-in and
    none is left unsolved.
    """
    t = A.shape[0]
    if t <= DENSE_LIMIT:
        return "dense"
    return "sparse" if _envelope(A) <= ENVELOPE_LIMIT * t else "iterative"


def auto_method(jm: JourneyMap) -> Literal["dense", "sparse", "iterative"]:
    """:func:`choose_method` for a map's ``I - Q``, made once per map.

    The choice depends only on the map's moves (not on the entry), and estimating the
    fill-in (reverse Cuthill–McKee) costs about as much as a few solves, so it is kept
    with the map's arrays (:func:`map_arrays`).
    """
    from scipy import sparse

    arrays = map_arrays(jm)
    method: Literal["dense", "sparse", "iterative"] | None = arrays.choices.get("method")
    if method is None:
        A = (sparse.identity(len(arrays.touchpoints), format="csr") - arrays.Q_free).tocsr()
        method = choose_method(A)
        arrays.choices["method"] = method
    return method


def _envelope(A: sparse.csr_matrix) -> int:
    """Entries inside the profile of A after reverse Cuthill–McKee (bounds LU fill-in)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = A.shape[0]
    pattern = (abs(A) + abs(A.T)).tocsr()
    perm = reverse_cuthill_mckee(pattern, symmetric_mode=True)
    # Row i of A is row rank[i] after the permutation; its profile starts at the
    # smallest rank among its entries (the diagonal at most), so the permuted matrix
    # itself is never built.
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.arange(n)
    first = rank.copy()
    filled = np.flatnonzero(np.diff(pattern.indptr))
    first[filled] = np.minimum(
        np.minimum.reduceat(rank[pattern.indices], pattern.indptr[filled]), rank[filled]
    )
    return int(2 * (rank - first).sum() + n)


@overload
def _iterative(
    A: sparse.csr_matrix,
    diag: np.ndarray,
    b: np.ndarray,
    names: tuple[str, ...],
    *,
    exact_fallback: Literal[True] = ...,
    absA: sparse.csr_matrix | None = ...,
) -> np.ndarray: ...


@overload
def _iterative(
    A: sparse.csr_matrix,
    diag: np.ndarray,
    b: np.ndarray,
    names: tuple[str, ...],
    *,
    exact_fallback: bool,
    absA: sparse.csr_matrix | None = ...,
) -> np.ndarray | None: ...


def _iterative(
    A: sparse.csr_matrix,
    diag: np.ndarray,
    b: np.ndarray,
    names: tuple[str, ...],
    *,
    exact_fallback: bool = True,
    absA: sparse.csr_matrix | None = None,
) -> np.ndarray | None:
    from scipy.sparse.linalg import LinearOperator, bicgstab, gmres, splu

    if not b.any():
        return np.zeros_like(b)
    M = LinearOperator(A.shape, matvec=lambda v: v / diag, dtype=float)
    bnorm = float(np.abs(b).max())
    if not exact_fallback:
        # The caller has a fallback (sparse LU), so give up after 300 steps; the caller
        # then checks every row's residual against RESIDUAL_TOLERANCE.
        # Accepted on the backward error, max|r| <= 1e-12 max(|b| + |A||x|), which a
        # solve reaches even when visits are large beside a spread-out entry.
        if absA is None:
            absA = abs(A)
        # Start from the Jacobi guess b / diag: scipy takes r0 = b - A x0 as the shadow
        # residual, and from x0 = 0 a sparse b (an entry on a few touchpoints) breaks
        # BiCGSTAB down on large maps.
        x = b / diag
        for steps in (40, 260):
            x, _ = bicgstab(A, b, x0=x, rtol=0.0, atol=1e-12 * bnorm, M=M, maxiter=steps)
            if not np.isfinite(x).all():
                return None
            scale = float((np.abs(b) + absA @ np.abs(x)).max())
            if np.abs(A @ x - b).max() <= 1e-12 * scale:
                return np.asarray(x)
        return None
    x, _ = bicgstab(A, b, rtol=1e-14, atol=0.0, M=M, maxiter=10 * A.shape[0] + 1000)
    if _converged(A, x, b, bnorm):
        return np.asarray(x)
    x, _ = gmres(A, b, x0=x, rtol=1e-14, atol=0.0, M=M, restart=100, maxiter=200)
    if _converged(A, x, b, bnorm):
        return np.asarray(x)
    # Last resort: exact sparse LU, whatever its fill-in costs.
    result: np.ndarray = splu(A.tocsc()).solve(b)
    return result


def _converged(A: sparse.csr_matrix, x: np.ndarray, b: np.ndarray, bnorm: float) -> bool:
    return bool(np.isfinite(x).all() and np.abs(A @ x - b).max() <= 1e-13 * max(bnorm, 1.0))


def check_escape(chain: AbsorbingChain) -> None:
    """Refuse groups of touchpoints that customers (almost) never leave.

    For each strongly connected group C of touchpoints, the largest one-step
    probability of leaving C (to an outcome or a touchpoint outside C) must reach
    :data:`ESCAPE_TOLERANCE`; below it, visits there are beyond float64.

    Self-loops are no part of this test: they are solved exactly (:func:`loop_free`),
    so a touchpoint that keeps customers with probability ``1 - 1e-12`` is fine; one
    with nothing but a self-loop (or whose other weights vanish beside it) is refused.
    """
    from scipy.sparse.csgraph import connected_components

    Q_free, step_out = loop_free(chain)
    trapped = np.flatnonzero(~(step_out > 0))
    if trapped.size:
        raise _singular(chain.touchpoints, trapped, escape=True)
    Q = Q_free.tocoo()
    n_groups, group = connected_components(Q_free, directed=True, connection="strong")
    outside = group[Q.row] != group[Q.col]
    leave = np.bincount(Q.row[outside], weights=Q.data[outside], minlength=chain.size).astype(float)
    leave += np.asarray(chain.R.sum(axis=1)).ravel() / step_out
    best = _group_max(group, leave, n_groups)
    stuck = np.flatnonzero(best < ESCAPE_TOLERANCE)
    if stuck.size:
        members = np.flatnonzero(np.isin(group, stuck))
        raise _singular(chain.touchpoints, members, escape=True)


def _singular(
    names: tuple[str, ...], rows: np.ndarray, *, escape: bool = False
) -> NotAbsorbingError:
    shown = ", ".join(repr(names[i]) for i in rows[:10])
    more = f" and {rows.size - 10} more" if rows.size > 10 else ""
    why = (
        f"journeys leave touchpoint(s) {shown}{more} with probability below "
        f"{ESCAPE_TOLERANCE:g} per step"
        if escape
        else f"the chain is numerically singular around touchpoint(s) {shown}{more}"
    )
    return NotAbsorbingError(
        [
            Problem(
                ("moves",),
                f"{why}, so the expected number of visits there is beyond what float64 "
                "resolves; give those touchpoints a real way out (a move to an outcome or "
                "onwards with a weight that is not negligible)",
            )
        ]
    )


def inverse_diagonal(
    A: sparse.csr_matrix,
    names: tuple[str, ...] = (),
    *,
    method: Literal["dense", "sparse", "iterative"] = "sparse",
) -> np.ndarray:
    """The diagonal of ``A⁻¹`` for ``A = I - Q``, without forming ``A⁻¹``.

    1. A return visit to touchpoint k never leaves k's strongly connected group C, so
       ``N_kk = ((I - Q_CC)⁻¹)_kk``: each group is solved on its own and acyclic parts
       cost nothing (a group of one gives ``1 / (1 - Q_kk)``).
    2. A group of up to :data:`DENSE_LIMIT` touchpoints is inverted densely.
    3. A larger group is split into breadth-first levels of its undirected graph; moves
       only join a level to itself or a neighbour, so the block is block-tridiagonal
       and the recursive Green's-function sweep (one forward and one backward pass of
       dense level-sized blocks) gives its diagonal exactly in ``O(Σ w³)`` for level
       widths w. Stage-ordered maps have narrow levels.
    4. When the levels are too wide (unstructured random maps), column ``k`` of N is
       solved for every k in the group: with the sparse LU in batches of 256 columns,
       and for the iterative method in blocks of columns by a deflated multicolour
       Gauss–Seidel series, or a polynomial-preconditioned block BiCGSTAB where that
       series would be slow (:func:`_diagonal_block_krylov`, each N_kk to 1e-12
       relative). That is O(t) solves of O(nnz) each, O(t · nnz) in all, in
       O(nnz + 16 t) memory per thread.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    t = A.shape[0]
    result = np.empty(t)
    offdiag = A - sparse.diags(A.diagonal())
    n_groups, group = connected_components(offdiag, directed=True, connection="strong")
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    sizes = np.diff(bounds)
    singles = order[bounds[:-1][sizes == 1]]
    result[singles] = 1.0 / A.diagonal()[singles]
    for g in np.flatnonzero(sizes > 1):
        members = order[bounds[g] : bounds[g + 1]]
        block = A[members][:, members].tocsr()
        result[members] = _group_diagonal(block, method)
    if not np.isfinite(result).all() or (result < 1 - 1e-9).any():
        bad = np.flatnonzero(~np.isfinite(result) | (result < 1 - 1e-9))
        raise _singular(names, bad) if names else _singular(tuple(map(str, range(t))), bad)
    return result


def _group_diagonal(block: sparse.csr_matrix, method: str) -> np.ndarray:
    n = block.shape[0]
    if n <= DENSE_LIMIT:
        return np.diag(np.linalg.inv(block.toarray())).copy()
    levels = _bfs_levels(block)
    widths = np.bincount(levels)
    if widths.max() <= _LEVEL_WIDTH_LIMIT and float((widths.astype(float) ** 3).sum()) <= 1e11:
        return _block_tridiagonal_diagonal(block, levels)
    return _diagonal_by_columns(block, method)


def _bfs_levels(block: sparse.csr_matrix) -> np.ndarray:
    """Breadth-first levels of the undirected graph, from a pseudo-peripheral start."""
    from scipy.sparse.csgraph import breadth_first_order

    pattern = (abs(block) + abs(block.T)).tocsr()
    n = block.shape[0]

    def levels_from(start: int) -> np.ndarray:
        order, pred = breadth_first_order(pattern, start, directed=False)
        level = np.full(n, -1)
        level[start] = 0
        for node in order[1:]:
            level[node] = level[pred[node]] + 1
        return level

    level = levels_from(0)
    for _ in range(2):
        far = int(np.argmax(level))
        candidate = levels_from(far)
        if candidate.max() <= level.max():
            break
        level = candidate
    return level


def _block_tridiagonal_diagonal(block: sparse.csr_matrix, levels: np.ndarray) -> np.ndarray:
    """Recursive Green's functions: diag(A⁻¹) of a block-tridiagonal A, exactly."""
    order = np.argsort(levels, kind="stable")
    bounds = np.searchsorted(levels[order], np.arange(levels.max() + 2))
    A = block[order][:, order].tocsr()
    parts = [slice(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    m = len(parts)

    def sub(i: int, j: int) -> np.ndarray:
        dense: np.ndarray = A[parts[i], parts[j]].toarray()
        return dense

    left: list[np.ndarray] = []
    for i in range(m):
        S = sub(i, i)
        if i:
            S = S - sub(i, i - 1) @ left[i - 1] @ sub(i - 1, i)
        left.append(np.linalg.inv(S))
    diag = np.empty(block.shape[0])
    G = left[-1]
    diag[order[parts[-1]]] = np.diag(G)
    for i in range(m - 2, -1, -1):
        G = left[i] + left[i] @ sub(i, i + 1) @ G @ sub(i + 1, i) @ left[i]
        diag[order[parts[i]]] = np.diag(G)
    return diag


def _diagonal_by_columns(block: sparse.csr_matrix, method: str) -> np.ndarray:
    n = block.shape[0]
    if method == "iterative":
        return _diagonal_block_krylov(block)
    from scipy.sparse.linalg import splu

    diag = np.empty(n)
    lu = splu(block.tocsc())
    for start in range(0, n, _BATCH):
        stop = min(n, start + _BATCH)
        E = np.zeros((n, stop - start))
        E[np.arange(start, stop), np.arange(stop - start)] = 1.0
        X = lu.solve(E)
        diag[start:stop] = X[np.arange(start, stop), np.arange(stop - start)]
    return diag


#: Columns of N solved together by the block BiCGSTAB of :func:`_diagonal_block_krylov`,
#: and the degree of its polynomial preconditioner. Measured on the 20,000-touchpoint
#: random map (ms per column): degree 0 (Jacobi only) 10–12; degree 3: 4.3 at 16
#: columns, 4.7 at 32, 6.1 at 64; degree 5 and 8: 4.7–5.2. One column at a time with
#: scipy's BiCGSTAB: ~47.
_KRYLOV_BATCH = 16
#: Threads solving blocks of columns at once (at most one per core).
_KRYLOV_THREADS = 4
_NEUMANN_DEGREE = 3
#: Columns of N solved together by the deflated Gauss–Seidel series
#: (:func:`_block_series`). CPU per column on the 20,000-touchpoint random map, one
#: thread, busy machine: 2.0–2.3 ms at 12–16 columns, 2.6 at 32 and 64, 2.6–3.1 at 8
#: and 24.
_SERIES_BATCH = 16
#: The deflated series is used when its contraction per sweep without the Perron root
#: (estimated by :meth:`_Sweeps.rate`) is at most this. At 0.7 a column needs ~85
#: sweeps, about what the block BiCGSTAB costs (~56 sparse products and its vector
#: updates per column: 2.2–3.1× the CPU of the series' ~25 sweeps on the benchmark map).
_SERIES_RATE_LIMIT = 0.7
#: Relative accuracy guaranteed for each N_kk by the block solvers' stopping rule.
_DIAGONAL_ACCURACY = 1e-12


def _diagonal_block_krylov(A: sparse.csr_matrix) -> np.ndarray:
    """diag(A⁻¹) for ``A = I - Q`` by block solves with unit vectors, in threads.

    Rows are first scaled by ``1 / A_kk`` (Jacobi): ``D⁻¹A = I - Q'`` with ``Q' >= 0``
    substochastic and zero on the diagonal. Column ``k`` of ``A⁻¹`` solves
    ``(I - Q') x = e_k / A_kk``; blocks of columns are solved at once, the blocks in
    threads (the sparse products release the GIL). Two block solvers, chosen once per
    strongly connected group:

    - **Deflated Gauss–Seidel series** (:func:`_block_series`). The touchpoints are
      ordered by colour classes of the move graph (no move within a class), so one
      Gauss–Seidel sweep ``G = (I - L)⁻¹ U`` of ``Q' = L + U`` is one sparse product
      per class. ``G >= 0`` has a Perron root (0.76 on the 20,000-touchpoint random
      benchmark map, where ``Q'`` has 0.87) and the rest of its spectrum in a disk of
      radius ~0.27 (``Q'``: ~0.48). Starting from ``x0 = u c`` along G's Perron vector
      ``u`` (``c`` from its left Perron vector, so that the start has no Perron
      component), the series ``x0 + Σ G^t ρ0`` converges at the disk's rate: ~25
      sweeps per column where the Jacobi series needs ~150 and the block BiCGSTAB the
      cost of ~56 products and its vector updates.
    - **Block BiCGSTAB** (:func:`_block_bicgstab`), right-preconditioned by the
      truncated Neumann series ``I + Q' + … + Q'^d``, when the Perron root is not
      separated from the rest of G's spectrum (:data:`_SERIES_RATE_LIMIT`), and for
      any column the series leaves unconverged.

    Stopping rule, exact rather than heuristic: with ``s = N 1`` (expected steps, N ≥ 0)
    and residual ``r = e_k - A x``, ``|x_k - N_kk| = |(N r)_k| <= s_k ‖r‖∞``, and
    ``N_kk >= 1``; a column stops when ``s_k ‖r‖∞ <= 1e-12``, so every N_kk is accurate
    to 1e-12 relative. The bound is checked again on the explicitly computed residual;
    a column that fails it is solved by the block BiCGSTAB, and one that fails again on
    its own by the one-column solver (BiCGSTAB, GMRES, then sparse LU).
    """
    from scipy import sparse

    n = A.shape[0]
    d = A.diagonal()
    offdiag = (sparse.diags(-1.0 / d) @ A).tocsr()
    offdiag.setdiag(0.0)
    offdiag.eliminate_zeros()  # Q' = I - D⁻¹A
    sweeps = _Sweeps(offdiag)
    # From here on every array is in the sweeps' order (colour classes contiguous).
    perm = sweeps.perm
    A = A[perm][:, perm].tocsr()
    d = d[perm]
    offdiag = sweeps.Q
    steps = _iterative(A, d, np.ones(n), ())
    limit = _DIAGONAL_ACCURACY / np.maximum(steps, 1.0)  # allowed ‖r‖∞ per column k
    r0 = np.random.default_rng(0).standard_normal(n)  # shadow residual (e_k would break)
    perron = sweeps.perron()
    rate = sweeps.rate(perron) if perron is not None else 1.0
    use_series = perron is not None and rate <= _SERIES_RATE_LIMIT
    batch = _SERIES_BATCH if use_series else _KRYLOV_BATCH
    diag = np.full(n, np.nan)

    def checked(cols: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The explicit residual of A (not the solver's recurrence) bounds each N_kk.
        ok = np.isfinite(X).all(axis=0)
        E = np.zeros((n, cols.size))
        E[cols, np.arange(cols.size)] = 1.0
        residual = np.abs(E - A @ np.where(ok, X, 0.0)).max(axis=0)
        ok &= residual <= limit[cols]
        return ok, X[cols[ok], np.flatnonzero(ok)]

    def block(start: int) -> tuple[np.ndarray, np.ndarray]:
        cols = np.arange(start, min(n, start + batch))
        ok = np.zeros(cols.size, dtype=bool)
        values = np.empty(cols.size)
        if use_series:
            assert perron is not None
            X = _block_series(sweeps, cols, 1.0 / d[cols], limit[cols], perron, rate)
            good, found = checked(cols, X)
            ok[good], values[good] = True, found
        if not ok.all():
            rest = cols[~ok]
            X = _block_bicgstab(offdiag, rest, 1.0 / d[rest], limit[rest], r0)
            good, found = checked(rest, X)
            at = np.flatnonzero(~ok)[good]
            ok[at], values[at] = True, found
        return cols[ok], values[ok]

    starts = range(0, n, batch)
    workers = min(os.cpu_count() or 1, _KRYLOV_THREADS, len(starts))
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            solved = list(pool.map(block, starts))
    else:
        solved = [block(start) for start in starts]
    for cols, values in solved:
        diag[cols] = values
    for k in np.flatnonzero(np.isnan(diag)):
        e = np.zeros(n)
        e[k] = 1.0
        diag[k] = _iterative(A, d, e, ())[k]
    result = np.empty(n)
    result[perm] = diag
    return result


def _csr_matvecs() -> Any:
    """scipy's compiled ``Y += A X`` for CSR ``A`` and C-ordered ``X``, or ``None``."""
    try:
        from scipy.sparse._sparsetools import csr_matvecs
    except ImportError:  # pragma: no cover - a private scipy module; the sweep falls back
        return None
    return csr_matvecs


#: ``(λ, u, w, g, wᵀg)``: the Perron root of a sweep ``G``, its right and left vectors,
#: and ``g = (I - G) u`` (see :meth:`_Sweeps.perron`).
_Perron = tuple[float, np.ndarray, np.ndarray, np.ndarray, float]


class _Sweeps:
    """Multicolour Gauss–Seidel sweeps ``G = (I - L)⁻¹ U`` of ``Q' >= 0`` (zero diagonal).

    The touchpoints are coloured greedily so that no move joins two of one colour, and
    reordered colour by colour (``perm``; ``Q`` is ``Q'`` in that order). ``L`` and ``U``
    are the moves into earlier and later colours, so ``I - Q' = (I - L) - U`` and each
    of the products below costs one sparse product per colour.
    """

    __slots__ = ("LT", "Q", "UT", "bounds", "m_norm", "perm", "rows", "rows_L", "rows_LT")

    def __init__(self, Qs: sparse.csr_matrix) -> None:
        from scipy import sparse

        n = Qs.shape[0]
        pattern = (abs(Qs) + abs(Qs.T)).tocsr()
        colour = np.full(n, -1)
        indptr, indices = pattern.indptr, pattern.indices
        for i in np.argsort(-np.diff(indptr), kind="stable"):  # most neighbours first
            used = set(colour[indices[indptr[i] : indptr[i + 1]]].tolist())
            c = 0
            while c in used:
                c += 1
            colour[i] = c
        self.perm = np.argsort(colour, kind="stable")
        self.bounds = np.searchsorted(colour[self.perm], np.arange(colour.max() + 2))
        self.Q = Qs[self.perm][:, self.perm].tocsr()
        L = sparse.tril(self.Q, -1, format="csr")
        self.LT = L.T.tocsr()
        self.UT = sparse.triu(self.Q, 1, format="csr").T.tocsr()
        parts = [slice(a, b) for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)]
        self.rows = [(part, self.Q[part]) for part in parts]
        self.rows_L = [(part, L[part]) for part in parts]
        self.rows_LT = [(part, self.LT[part]) for part in reversed(parts)]
        # ‖I - L‖∞: the residual of I - Q' is at most this times the sweep's residual.
        self.m_norm = 1.0 + float(np.asarray(abs(L).sum(axis=1)).max(initial=0.0))

    def sweep(self, Z: np.ndarray, X: np.ndarray | None = None) -> None:
        """``Z <- G Z`` in place (the homogeneous Gauss–Seidel sweep); ``X += Z`` first.

        A colour's rows read no entry of their own colour, so their new values can be
        written straight into ``Z``, and their old values, read by no later colour, are
        added to ``X`` just before (while in cache). With scipy's compiled kernel
        ``csr_matvecs`` (``Y += A X``; it releases the GIL) the sweep allocates nothing,
        measured ~20 % faster than ``Z[part] = rows @ Z``, which is the fallback should
        that private kernel move.
        """
        kernel = _csr_matvecs()
        if kernel is None or Z.dtype != np.float64 or not Z.flags.c_contiguous:
            for part, rows in self.rows:
                if X is not None:
                    X[part] += Z[part]
                Z[part] = rows @ Z
            return
        n = Z.shape[0]
        m = 1 if Z.ndim == 1 else Z.shape[1]
        flat = Z.reshape(-1)
        for part, rows in self.rows:
            out = Z[part]
            if X is not None:
                X[part] += out
            out.fill(0.0)
            kernel(rows.shape[0], n, m, rows.indptr, rows.indices, rows.data, flat, out.reshape(-1))

    def forward(self, B: np.ndarray) -> np.ndarray:
        """``(I - L)⁻¹ B``."""
        Y = B.copy()
        for part, rows in self.rows_L:
            Y[part] += rows @ Y
        return Y

    def sweep_transposed(self, v: np.ndarray) -> np.ndarray:
        """``Gᵀ v = Uᵀ (I - L)⁻ᵀ v``."""
        y = v.copy()
        for part, rows in self.rows_LT:
            y[part] += rows @ y
        result: np.ndarray = self.UT @ y
        return result

    def perron(self) -> _Perron | None:
        """G's Perron root with its right and left vectors, or ``None``.

        Power iteration on ``G``, after 300 steps on ``(I + G) / 2`` (same vectors; its
        Perron root is then the only eigenvalue of largest modulus even when ``G`` is
        periodic), until the eigen-residual is at rounding level; ``None`` when that
        takes over 2,000 steps.
        The vectors only choose where the series starts (its residual is always
        measured), so a poor pair costs time, never accuracy.
        """
        n = self.Q.shape[0]

        def right(v: np.ndarray) -> np.ndarray:
            Gv = v.copy()
            self.sweep(Gv)
            return Gv

        def power(apply: Any) -> tuple[float, np.ndarray] | None:
            v = np.full(n, 1.0 / n)
            for step in range(2000):
                Gv = apply(v)
                lam = float(Gv @ v) / float(v @ v)
                if np.abs(Gv - lam * v).max() <= 1e-14 * np.abs(v).max():
                    return lam, v / np.abs(v).max()
                # Plain power steps converge at |λ2| / λ (0.36 on the benchmark map:
                # ~32 steps); the shifted ones (~0.72 there) also when G is periodic.
                v = Gv if step < 300 else (v + Gv) / 2.0
                v /= np.abs(v).max()
            return None

        found_right, found_left = power(right), power(self.sweep_transposed)
        if found_right is None or found_left is None:
            return None
        lam, u = found_right
        w = found_left[1]
        g = u - right(u)
        wg = float(w @ g)
        if not (np.isfinite(wg) and wg > 0 and 0.0 <= lam < 1.0):
            return None
        return lam, u, w, g, wg

    def rate(self, perron: _Perron) -> float:
        """Contraction per sweep on the complement of the Perron vector (an estimate).

        Forty sweeps of the deflated series from a seeded random start; the rate is the
        geometric mean of the last twenty sweeps' shrinkage (ratio of 2-norms). It only
        chooses between the two block solvers, whose results are checked either way.
        """
        _, _, w, g, wg = perron
        b = np.random.default_rng(1).random(self.Q.shape[0])
        z = b - g * (float(w @ b) / wg)
        norms = []
        for _ in range(40):
            self.sweep(z)
            norms.append(float(np.linalg.norm(z)))
        if not norms[19] > 0 or not np.isfinite(norms[-1]):
            return 1.0
        return float((norms[-1] / norms[19]) ** (1 / 20))


def _block_series(
    sweeps: _Sweeps,
    cols: np.ndarray,
    rhs: np.ndarray,
    limit: np.ndarray,
    perron: _Perron,
    rate: float,
) -> np.ndarray:
    """Solve ``(I - Q') x_j = rhs_j e_{cols_j}`` by the deflated Gauss–Seidel series.

    With ``M = I - L``, ``(I - Q') x = b`` is ``x = G x + M⁻¹ b``. From ``x0 = u c``,
    ``c_j = wᵀ f_j / wᵀ g`` (``f_j = M⁻¹ b_j``, ``g = (I - G) u``), the preconditioned
    residual ``ρ0 = f - g cᵀ`` has no Perron component (``wᵀ ρ0 = 0``), and
    ``x_T = x0 + Σ_{t<T} G^t ρ0`` has preconditioned residual ``ρ_T = G^T ρ0``, which
    the loop carries, and residual ``r_T = M ρ_T``, so ``‖r_T‖∞ <= ‖M‖∞ ‖ρ_T‖∞``.
    Stops when every column's bound is at most half its limit (the caller checks the
    explicit residual); NaN columns did not get there within the sweep budget.
    """
    _, u, w, g, wg = perron
    n, m = sweeps.Q.shape[0], cols.size
    B = np.zeros((n, m))
    B[cols, np.arange(m)] = rhs
    F = sweeps.forward(B)
    c = (w @ F) / wg
    X = np.outer(u, c)
    Z = F - np.outer(g, c)
    target = 0.5 * limit / sweeps.m_norm
    # Sweeps to shrink a residual of 1 to the target at the estimated rate; the series
    # gets up to twice that (and at least 40) before the block BiCGSTAB takes over.
    rate = min(max(rate, 0.05), 0.99)
    budget = max(40, int(2 * np.log(float(target.min())) / np.log(rate)))
    step, check = 0, 6
    while step < budget:
        sweeps.sweep(Z, X)  # X += Z, then Z <- G Z
        step += 1
        if step < check:
            continue
        size = np.abs(Z).max(axis=0)
        if not np.isfinite(size).all():
            break
        if (size <= target).all():
            return X
        # Check again when the slowest column should be done at the estimated rate.
        ahead = np.log(target / np.maximum(size, 1e-300)) / np.log(rate)
        check = step + max(1, int(np.floor(ahead.max())))
    return np.full((n, m), np.nan)


def _block_bicgstab(
    Qs: sparse.csr_matrix, cols: np.ndarray, rhs: np.ndarray, limit: np.ndarray, r0: np.ndarray
) -> np.ndarray:
    """Solve ``(I - Qs) x_j = rhs_j e_{cols_j}`` for each j; NaN columns did not converge.

    Right-preconditioned BiCGSTAB (van der Vorst 1992) with ``M⁻¹ = Σ_{i<=d} Qs^i``,
    so ``R`` is the true residual of each column (up to rounding).
    """
    n, m = Qs.shape[0], cols.size

    def precondition(V: np.ndarray) -> np.ndarray:
        Y = V.copy()
        for _ in range(_NEUMANN_DEGREE):
            Y = Qs @ Y
            Y += V
        return Y

    def operator(V: np.ndarray) -> np.ndarray:
        result: np.ndarray = V - Qs @ V
        return result

    result = np.full((n, m), np.nan)
    active = np.arange(m)
    X = np.zeros((n, m))
    R = np.zeros((n, m))
    R[cols, active] = rhs
    P = np.zeros((n, m))
    V = np.zeros((n, m))
    rho = alpha = omega = np.ones(m)
    for _ in range(10 * int(np.sqrt(n)) + 200):
        rho_new = r0 @ R
        beta = (rho_new / rho) * (alpha / omega)
        rho = rho_new
        P -= omega * V
        P *= beta
        P += R
        P_hat = precondition(P)
        V = operator(P_hat)
        alpha = rho / (r0 @ V)
        R -= alpha * V  # now S
        S_hat = precondition(R)
        T = operator(S_hat)
        tt = np.einsum("ij,ij->j", T, T)
        omega = np.einsum("ij,ij->j", T, R) / np.where(tt > 0, tt, 1.0)
        X += alpha * P_hat
        X += omega * S_hat
        R -= omega * T
        # R is the residual of the row-scaled system; A's own residual is no larger
        # (A_kk <= 1), and the caller checks A's residual explicitly.
        size = np.abs(R).max(axis=0)
        done = size <= 0.5 * limit[active]
        broken = ~(np.isfinite(size) & np.isfinite(alpha) & np.isfinite(omega)) | (omega == 0)
        if done.any() or broken.any():
            result[:, active[done]] = X[:, done]
            keep = ~(done | broken)
            if not keep.any():
                break
            active = active[keep]
            X, R, P, V = (np.ascontiguousarray(Z[:, keep]) for Z in (X, R, P, V))
            rho, alpha, omega = rho[keep], alpha[keep], omega[keep]
    return result
