"""diag(N) of large unstructured maps by the block solvers (journeygraph.chain).

References: numpy's dense ``inv(I - Q)`` (an independent LAPACK computation), numpy's
dense eigenvalues and solves for the Gauss–Seidel sweep and its Perron pair, and the
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


_Random3000 = tuple[jg.JourneyMap, sparse.csr_matrix, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def random_3000() -> _Random3000:
    jm, A = _system(3000, seed=11)
    reference = np.diag(np.linalg.inv(A.toarray()))  # dense LAPACK, independent
    return jm, A, jgchain._diagonal_block_krylov(A), reference


def test_block_krylov_diagonal_equals_dense_inverse(random_3000: _Random3000) -> None:
    _, _, diag, reference = random_3000
    assert_allclose(diag, reference, rtol=1e-10, atol=0)
    assert (diag >= 1).all()


def test_block_krylov_diagonal_equals_one_column_solves(random_3000: _Random3000) -> None:
    # The method used before: one BiCGSTAB (then GMRES) solve per column.
    _, A, diag, _ = random_3000
    d = A.diagonal()
    n = A.shape[0]
    for k in np.random.default_rng(3).choice(n, size=60, replace=False):
        e = np.zeros(n)
        e[k] = 1.0
        assert diag[k] == pytest.approx(jgchain._iterative(A, d, e, ())[k], rel=1e-10)


def test_block_diagonal_is_within_its_stated_bound(random_3000: _Random3000) -> None:
    # The stopping rule guarantees every N_kk to 1e-12 relative (chain._DIAGONAL_ACCURACY);
    # the dense reference is itself good to ~1e-14 here (I - Q is well conditioned).
    _, _, diag, reference = random_3000
    assert np.abs(diag / reference - 1).max() <= 1e-12


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(jgchain, name)

    def spy(*args: object) -> np.ndarray:
        calls.append(len(args[1]))  # type: ignore[arg-type]
        result: np.ndarray = real(*args)
        return result

    monkeypatch.setattr(jgchain, name, spy)
    return calls


def test_random_maps_take_the_deflated_series_not_bicgstab(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The series is the fast path on unstructured maps: every column goes through it
    # and none needs the block BiCGSTAB.
    _, A = _system(1000, seed=5)
    series = _spy(monkeypatch, "_block_series")
    bicgstab = _spy(monkeypatch, "_block_bicgstab")
    diag = jgchain._diagonal_block_krylov(A)
    assert sum(series) == 1000 and not bicgstab
    assert_allclose(diag, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10, atol=0)


def test_without_a_separated_perron_root_bicgstab_solves_every_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the rest of the sweep's spectrum came close to its Perron root.
    monkeypatch.setattr(jgchain, "_SERIES_RATE_LIMIT", 0.0)
    _, A = _system(1000, seed=5)
    series = _spy(monkeypatch, "_block_series")
    bicgstab = _spy(monkeypatch, "_block_bicgstab")
    diag = jgchain._diagonal_block_krylov(A)
    assert not series and sum(bicgstab) == 1000
    assert_allclose(diag, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10, atol=0)


def test_columns_the_series_leaves_go_to_bicgstab_then_one_column_solves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, A = _system(400, seed=4)
    real_series = jgchain._block_series
    real_bicgstab = jgchain._block_bicgstab

    def series_half_broken(*args: object) -> np.ndarray:
        X: np.ndarray = real_series(*args)  # type: ignore[arg-type]
        X[:, ::2] = np.nan  # as if every other column ran out of sweeps
        X[:, 1] *= 1 + 1e-6  # and one "converged" to a wrong value
        return X

    bicgstab_calls: list[int] = []

    def bicgstab_broken_once(*args: object) -> np.ndarray:
        X: np.ndarray = real_bicgstab(*args)  # type: ignore[arg-type]
        bicgstab_calls.append(X.shape[1])
        X[:, 0] = np.nan  # the first column left in each block broke down here too
        return X

    monkeypatch.setattr(jgchain, "_block_series", series_half_broken)
    monkeypatch.setattr(jgchain, "_block_bicgstab", bicgstab_broken_once)
    diag = jgchain._diagonal_block_krylov(A)
    assert sum(bicgstab_calls) > 200  # half of the columns, plus the wrong ones
    assert_allclose(diag, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10, atol=0)


@pytest.fixture(scope="module")
def sweeps_600() -> tuple[jgchain._Sweeps, np.ndarray, np.ndarray]:
    # Q' and the sweep G = (I - L)⁻¹ U built densely by numpy, in the sweeps' order.
    _, A = _system(600, seed=2)
    Qs = (sparse.diags(-1.0 / A.diagonal()) @ A).tocsr()  # Q' as _diagonal_block_krylov
    Qs.setdiag(0.0)
    Qs.eliminate_zeros()
    sweeps = jgchain._Sweeps(Qs)
    Qd = Qs.toarray()[np.ix_(sweeps.perm, sweeps.perm)]
    L, U = np.tril(Qd, -1), np.triu(Qd, 1)
    return sweeps, Qd, np.linalg.solve(np.eye(600) - L, U)


def test_colour_classes_share_no_move(
    sweeps_600: tuple[jgchain._Sweeps, np.ndarray, np.ndarray],
) -> None:
    sweeps, Qd, _ = sweeps_600
    assert sweeps.bounds[0] == 0 and sweeps.bounds[-1] == 600
    for a, b in zip(sweeps.bounds[:-1], sweeps.bounds[1:], strict=True):
        assert not Qd[a:b, a:b].any()
    assert sorted(sweeps.perm) == list(range(600))


def test_sweeps_equal_dense_gauss_seidel(
    sweeps_600: tuple[jgchain._Sweeps, np.ndarray, np.ndarray],
) -> None:
    sweeps, Qd, G = sweeps_600
    rng = np.random.default_rng(8)
    Z = rng.standard_normal((600, 5))
    fast = Z.copy()
    sweeps.sweep(fast)  # compiled kernel, in place
    slow = np.asfortranarray(Z)
    sweeps.sweep(slow)  # not C-ordered: the public ``rows @ Z`` path
    assert_allclose(fast, G @ Z, rtol=1e-12, atol=1e-15)
    assert_allclose(slow, fast, rtol=1e-14, atol=1e-16)
    v = rng.standard_normal(600)
    assert_allclose(sweeps.sweep_transposed(v), G.T @ v, rtol=1e-12, atol=1e-15)
    L = np.tril(Qd, -1)
    assert_allclose(sweeps.forward(Z), np.linalg.solve(np.eye(600) - L, Z), rtol=1e-12)
    assert sweeps.m_norm == pytest.approx(np.abs(np.eye(600) - L).sum(axis=1).max())


def test_perron_pair_of_the_sweep_equals_numpy_eigen(
    sweeps_600: tuple[jgchain._Sweeps, np.ndarray, np.ndarray],
) -> None:
    sweeps, _, G = sweeps_600
    perron = sweeps.perron()
    assert perron is not None
    lam, u, w, g, wg = perron
    eig = np.linalg.eigvals(G)
    assert lam == pytest.approx(np.abs(eig).max(), rel=1e-10)
    assert_allclose(G @ u, lam * u, atol=1e-12)
    assert_allclose(G.T @ w, lam * w, atol=1e-12)
    assert_allclose(g, u - G @ u, atol=1e-15)
    assert wg == pytest.approx(w @ g)
    # The estimated rate lies between the second eigenvalue's modulus and the root.
    second = np.sort(np.abs(eig))[-2]
    assert second - 0.05 <= sweeps.rate(perron) < lam


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


@pytest.mark.parametrize(("weight", "every"), [(1e-3, 50), (0.05, 5)])
def test_two_loosely_joined_communities_take_bicgstab(
    monkeypatch: pytest.MonkeyPatch, weight: float, every: int
) -> None:
    # Two random halves joined by a few weak moves: the sweep has a second eigenvalue
    # next to its Perron root, so the deflated series would be slow and is not used.
    # Weakest joins: the power iteration does not settle (no Perron pair); weak joins:
    # it does, and the estimated rate (0.74) is above the limit.
    rng = np.random.default_rng(12)
    half = 600
    rows, cols, vals = [], [], []
    for i in range(2 * half):
        base = 0 if i < half else half
        targets = base + rng.choice(half, size=4, replace=False)
        targets = targets[targets != i]
        weights = rng.uniform(0.5, 2.0, size=targets.size)
        rows += [i] * targets.size
        cols += targets.tolist()
        vals += (0.87 * weights / weights.sum()).tolist()
    for i in range(0, half, every):  # weak moves both ways between the halves
        rows += [i, half + i]
        cols += [half + i, i]
        vals += [weight, weight]
    Q = sparse.csr_matrix((vals, (rows, cols)), shape=(2 * half, 2 * half))
    A = (sparse.identity(2 * half, format="csr") - Q).tocsr()
    perron = jgchain._Sweeps(Q).perron()  # Q' = Q here: zero diagonal, A_kk = 1
    if weight < 0.01:
        assert perron is None
    else:
        assert perron is not None
        assert jgchain._Sweeps(Q).rate(perron) > jgchain._SERIES_RATE_LIMIT
    series = _spy(monkeypatch, "_block_series")
    bicgstab = _spy(monkeypatch, "_block_bicgstab")
    diag = jgchain._diagonal_block_krylov(A)
    assert not series and sum(bicgstab) == 2 * half
    assert_allclose(diag, np.diag(np.linalg.inv(A.toarray())), rtol=1e-10, atol=0)
