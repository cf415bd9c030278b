"""diag(N) of large unstructured maps by the block Krylov solver (journeygraph.chain).

References: numpy's dense ``inv(I - Q)`` (an independent LAPACK computation) and the
previous method, one scipy BiCGSTAB/GMRES solve per column (``chain._iterative``).
Removal effects are checked against re-solving the map without the touchpoint.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import sparse

import journeygraph as jg
from journeygraph import chain as jgchain
from journeygraph.chain import to_chain

from .random_maps import random_map


def _system(n: int, seed: int) -> tuple[jg.JourneyMap, sparse.csr_matrix]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        jm = random_map(n, seed=seed)
    Q = to_chain(jm).Q
    return jm, (sparse.identity(n, format="csr") - Q).tocsr()


@pytest.fixture(scope="module")
def random_3000() -> tuple[jg.JourneyMap, sparse.csr_matrix, np.ndarray]:
    jm, A = _system(3000, seed=11)
    return jm, A, jgchain._diagonal_block_krylov(A)


def test_block_krylov_diagonal_equals_dense_inverse(
    random_3000: tuple[jg.JourneyMap, sparse.csr_matrix, np.ndarray],
) -> None:
    _, A, diag = random_3000
    reference = np.diag(np.linalg.inv(A.toarray()))  # dense LAPACK, independent
    assert_allclose(diag, reference, rtol=1e-10, atol=0)
    assert (diag >= 1).all()


def test_block_krylov_diagonal_equals_one_column_solves(
    random_3000: tuple[jg.JourneyMap, sparse.csr_matrix, np.ndarray],
) -> None:
    # The method used before: one BiCGSTAB (then GMRES) solve per column.
    _, A, diag = random_3000
    d = A.diagonal()
    n = A.shape[0]
    for k in np.random.default_rng(3).choice(n, size=60, replace=False):
        e = np.zeros(n)
        e[k] = 1.0
        assert diag[k] == pytest.approx(jgchain._iterative(A, d, e, ())[k], rel=1e-10)


def test_columns_that_fail_fall_back_to_one_column_solves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, A = _system(400, seed=4)
    real = jgchain._block_bicgstab

    def half_broken(*args: object) -> np.ndarray:
        X: np.ndarray = real(*args)  # type: ignore[arg-type]
        X[:, ::2] = np.nan  # as if every other column broke down
        X[:, 1] *= 1 + 1e-6  # and one "converged" to a wrong value
        return X

    monkeypatch.setattr(jgchain, "_block_bicgstab", half_broken)
    diag = jgchain._diagonal_block_krylov(A)
    assert_allclose(diag, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10, atol=0)


def test_iterative_removal_effects_equal_rebuild_and_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2,000 touchpoints: the strongly connected core (1,961) is larger than DENSE_LIMIT;
    # with the level-width limit at 0 it goes to the column solver, as 20,000-touchpoint
    # random maps do. Removal of k is checked by re-solving the map without k.
    monkeypatch.setattr(jgchain, "_LEVEL_WIDTH_LIMIT", 0)
    calls: list[int] = []
    real = jgchain._diagonal_block_krylov

    def spy(A: sparse.csr_matrix) -> np.ndarray:
        calls.append(A.shape[0])
        return real(A)

    monkeypatch.setattr(jgchain, "_diagonal_block_krylov", spy)
    jm, A = _system(2000, seed=7)
    res = jg.analyze(jm, method="iterative")
    effects = res.removal_effects
    assert calls and max(calls) > jgchain.DENSE_LIMIT
    dense = np.linalg.inv(A.toarray())
    assert_allclose(res._diagonal(), np.diag(dense), rtol=1e-10, atol=0)
    ch = res._chain
    R = ch.R.toarray()
    conv = [ch.outcome_index[o.id] for o in jm.outcomes_of_kind("conversion")]
    p = ch.entry @ dense @ R[:, conv].sum(axis=1)
    Q = ch.Q.toarray()
    for k in np.random.default_rng(1).choice(2000, size=5, replace=False):
        keep = np.arange(2000) != k
        N_k = np.linalg.inv(np.eye(1999) - Q[np.ix_(keep, keep)])
        p_k = ch.entry[keep] @ N_k @ R[keep][:, conv].sum(axis=1)
        assert effects[ch.touchpoints[k]] == pytest.approx(1 - p_k / p, rel=1e-9, abs=1e-12)
