"""One BLAS thread while journeygraph solves (threadpoolctl).

numpy's and scipy's OpenBLAS start one thread per core and split even a dot product of
20,000 numbers between them. journeygraph's solves are long chains of such small
operations (BiCGSTAB steps, sweeps over colour blocks) and its diag(N) already runs one
Python thread per core, so BLAS threads only wait for each other; on a machine whose
cores are busy they wait for the scheduler. Measured on the 2-core development machine:
``jg.analyze`` of a random 20,000-touchpoint map took 0.39-1.6 s with the default BLAS
threads and two other busy processes, 0.15-0.27 s with one BLAS thread, and the same
0.11-0.18 s either way on idle cores (docs/performance.md).

:func:`one_blas_thread` limits every BLAS library loaded in the process to one thread
while the outermost journeygraph solve runs and restores the caller's setting after it;
nested uses share one limit (a counter under a lock), so a user's own setting is not
left changed. The limit is OpenBLAS's process-wide setting: BLAS calls that other
threads of the program make meanwhile run single-threaded too, and a call made from a
thread other than the one that first set a limit may not take effect (OpenBLAS 0.3.31
keeps the setting of the thread that made it), so such a solve keeps the default.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["one_blas_thread"]

_lock = threading.Lock()
_state: dict[str, Any] = {"controller": None, "limiter": None, "depth": 0}


def _controller() -> Any:
    if _state["controller"] is None:
        # Both OpenBLAS builds (numpy's and scipy's) must be loaded before looking.
        import scipy.linalg
        import scipy.sparse.linalg  # noqa: F401

        # threadpoolctl ships no type information: reached through importlib so that a
        # user's `mypy --strict` does not stop at it.
        threadpoolctl = importlib.import_module("threadpoolctl")
        _state["controller"] = threadpoolctl.ThreadpoolController()
    return _state["controller"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with one BLAS thread; the first entrant limits, the last restores.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> with one_blas_thread():
    ...     all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    True
    """
    with _lock:
        if _state["depth"] == 0:
            _state["limiter"] = _controller().limit(limits=1, user_api="blas")
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None
