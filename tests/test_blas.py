"""Solves run with one BLAS thread and leave the caller's setting as it was (_blas.py).

Threaded BLAS made analyses 2.5-10x slower on busy cores (measured in _blas.py's
docstring); these tests check the mechanism, not the timing (that is the benchmark's).
"""

from __future__ import annotations

from typing import Any

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import journeygraph as jg
from journeygraph import chain
from journeygraph._blas import one_blas_thread

from .random_maps import random_map


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.mark.parametrize("method", ["dense", "sparse", "iterative"])
def test_every_solve_and_the_diagonal_run_on_one_blas_thread(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    seen: list[list[int]] = []
    real = chain.ChainSolver._solve_free

    def spy(self: Any, b: Any, *, transposed: bool) -> Any:
        seen.append(_blas_threads())
        return real(self, b, transposed=transposed)

    monkeypatch.setattr(chain.ChainSolver, "_solve_free", spy)
    with threadpool_limits(2, user_api="blas"):
        res = jg.analyze(random_map(60, seed=4), method=method)  # type: ignore[arg-type]
        assert res.removal_effects and res.sensitivity is not None
        after = _blas_threads()
    assert seen, "no solve was seen"
    assert all(threads == [1] * len(threads) for threads in seen)
    assert after == [2] * len(after)  # the caller's setting is back


def test_nested_uses_restore_the_callers_setting() -> None:
    with threadpool_limits(2, user_api="blas"):
        with one_blas_thread():
            with one_blas_thread():
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}  # the outer use still holds
        assert set(_blas_threads()) == {2}
