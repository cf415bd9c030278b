"""Pausing Python's cyclic garbage collector while many lasting objects are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cyclic garbage collector inside the block; restore it after.

    Building a map of 40,000 moves creates ~160,000 container objects (dicts, models,
    their field sets) that all live on, and none is part of a reference cycle. Each
    700 allocations start a collection, and the older generations are traversed again
    and again with everything else the process holds (a table of a million rows), so
    the collector can take as long as the validation itself (0.17 s instead of 0.10 s
    for ``fit_paths``' map in ``tests/benchmarks``). Garbage is still freed at once by
    reference counting; cycles made inside the block are collected after it. A
    collector that was already disabled stays disabled.

    Examples
    --------
    >>> import gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
