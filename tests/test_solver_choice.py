"""The solver is chosen from the structure of I - Q, not its size (journeygraph.chain).

References: the dense LAPACK solve of the same map (``method="dense"``, itself checked
against hand-solved maps in test_analysis.py), and the envelope measurements quoted at
``chain.ENVELOPE_LIMIT``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse.linalg
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph import chain as jgchain

from .random_maps import random_map


def _map(n: int, stage_ordered: bool) -> jg.JourneyMap:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return random_map(n, seed=1, stage_ordered=stage_ordered)


@pytest.mark.parametrize(("stage_ordered", "method"), [(True, "sparse"), (False, "iterative")])
def test_structure_picks_the_solver_and_every_figure_matches_dense(
    stage_ordered: bool, method: str
) -> None:
    # Same size (2,000 > DENSE_LIMIT), different structure: a narrow profile factorises
    # cheaply; a random map's LU fills in (measured 486 entries per touchpoint), so it
    # is solved iteratively.
    jm = _map(2000, stage_ordered)
    res = jg.analyze(jm)
    assert res.solver_method == method
    dense = jg.analyze(jm, method="dense")
    for name in ("expected_visits", "steps_from", "steps_variance_from", "outcome_probabilities"):
        ours, ref = getattr(res, name), getattr(dense, name)
        assert_allclose([ours[k] for k in ref], list(ref.values()), rtol=1e-9, atol=1e-12)
    ours = {(s.touchpoint, s.competitor): s.flow for s in res.switching}
    ref = {(s.touchpoint, s.competitor): s.flow for s in dense.switching}
    assert ours.keys() == ref.keys()
    assert_allclose([ours[k] for k in ref], list(ref.values()), rtol=1e-9, atol=1e-15)


def test_a_stalled_iterative_solve_falls_back_to_one_sparse_lu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jm = _map(2000, False)
    expected = jg.analyze(jm, method="dense")
    calls = []

    def stalled(A, b, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return np.zeros_like(b), 1

    monkeypatch.setattr(scipy.sparse.linalg, "bicgstab", stalled)
    factorised = []
    real_splu = scipy.sparse.linalg.splu

    def counting_splu(A, *args, **kwargs):  # type: ignore[no-untyped-def]
        factorised.append(1)
        return real_splu(A, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.linalg, "splu", counting_splu)
    res = jg.analyze(jm)
    assert calls, "the iterative solver was tried first"
    assert res.solver_method == "sparse"
    assert len(factorised) == 1
    assert res.conversion_probability == pytest.approx(expected.conversion_probability, rel=1e-12)


def test_choose_method_reads_the_envelope_per_touchpoint() -> None:
    from scipy import sparse

    n = 3000
    band = sparse.diags([np.full(n - 1, -0.5)], [1], shape=(n, n), format="csr")
    A = (sparse.identity(n, format="csr") + band).tocsr()
    assert jgchain.choose_method(A) == "sparse"
    assert jgchain.choose_method(A[:1000, :1000].tocsr()) == "dense"


def test_diagonal_blocks_in_threads_equal_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Column blocks of diag(N) are independent: threads change the time, not one bit.
    from scipy import sparse

    jm = _map(400, False)
    A = (sparse.identity(400, format="csr") - jgchain.to_chain(jm).Q).tocsr()
    monkeypatch.setattr(jgchain, "_KRYLOV_THREADS", 1)
    one = jgchain._diagonal_block_krylov(A)
    monkeypatch.setattr(jgchain, "_KRYLOV_THREADS", 2)
    two = jgchain._diagonal_block_krylov(A)
    assert np.array_equal(one, two)
    assert_allclose(one, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10)  # dense LAPACK


def test_the_auto_method_is_chosen_once_per_map(monkeypatch: pytest.MonkeyPatch) -> None:
    # The choice depends only on the moves, so a second analysis (another entry) reuses it.
    jm = _map(2000, True)
    calls = []
    real = jgchain.choose_method

    def counting(A):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(A)

    monkeypatch.setattr(jgchain, "choose_method", counting)
    first = jg.analyze(jm)
    again = jg.analyze(jm, entry="t5")
    assert first.solver_method == again.solver_method == "sparse"  # envelope 94 (ENVELOPE_LIMIT)
    assert len(calls) == 1
    assert jgchain.map_arrays(jm).choices["method"] == "sparse"
