"""The map builder's sorting and stage-order inference (journeygraph/fit/build.py).

References: the Python key functions and the move-by-move loop the builder used before
(reimplemented here), and hand-solved expected moves for a small chain.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from journeygraph._gc import paused_gc
from journeygraph.fit.build import _in_map_order, _infer_order


def test_moves_sort_by_source_position_then_target_id() -> None:
    rng = np.random.default_rng(7)
    ordered = [f"t{i}" for i in rng.permutation(40)]
    ids = ordered + ["buy", "lost", "zz"]
    moves = {
        (a, b): float(rng.random())
        for a in ordered
        for b in rng.choice(ids, size=5, replace=False).tolist()
    }
    position = {t: i for i, t in enumerate(ordered)}
    expected = sorted(moves.items(), key=lambda kv: (position[kv[0][0]], kv[0][1]))
    targets = sorted({b for (_, b) in moves})
    assert _in_map_order(moves, ordered, targets) == expected
    assert _in_map_order({("a", "b"): 1.0}, ["a"], ["b"]) == [(("a", "b"), 1.0)]
    assert _in_map_order({}, [], []) == []


def _loop_order(touchpoints: list[str], moves: dict[tuple[str, str], float]) -> list[str]:
    index = {t: i for i, t in enumerate(touchpoints)}
    flow = np.zeros((len(touchpoints), len(touchpoints)))
    total = np.zeros(len(touchpoints))
    for (a, b), w in moves.items():
        total[index[a]] += w
        if b in index:
            flow[index[a], index[b]] += w
    total = np.where(total > 0, total, 1.0)
    remaining = np.linalg.solve(np.eye(len(total)) - flow / total[:, None], np.ones(len(total)))
    return sorted(touchpoints, key=lambda t: (-round(float(remaining[index[t]]), 9), t))


def test_inferred_order_follows_expected_moves_left() -> None:
    # Hand-solved: from c one move is left (to the outcome), from b 1 + 1/2 * 1 = 1.5
    # (half of b's journeys go on to c), from a 1 + 1.5 = 2.5; "d" has no moves (only
    # open journeys): its row is empty, so 1 + 0 = 1, tied with c and ordered by id.
    moves = {("a", "b"): 4, ("b", "c"): 2, ("b", "buy"): 2, ("c", "lost"): 7}
    assert _infer_order(["d", "c", "b", "a"], moves) == ["a", "b", "c", "d"]


def test_inferred_order_equals_the_move_by_move_loop() -> None:
    rng = np.random.default_rng(3)
    touchpoints = [f"t{i}" for i in range(60)]
    moves = {
        (a, b): float(rng.integers(1, 9))
        for a in touchpoints
        for b in rng.choice([*touchpoints, "buy", "lost"], size=6, replace=False).tolist()
    }
    moves.update({(t, "lost"): 3.0 for t in touchpoints})
    assert _infer_order(touchpoints, moves) == _loop_order(touchpoints, moves)


def test_paused_gc_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()
