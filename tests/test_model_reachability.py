"""The map's reachability checks read the move columns (journeygraph/_move_columns.py).

Reference: the walk over the pydantic moves that model.py used before
(``_positive_edges``, ``_trapped_touchpoints``, ``_unreachable_touchpoints``), still
the path for a map whose columns are not its own.
"""

from __future__ import annotations

import warnings

import pytest

import journeygraph as jg
from journeygraph import model
from journeygraph._move_columns import column_fields, reached, read_columns
from tests.random_maps import random_map_data


@pytest.mark.parametrize(("size", "seed", "stage_ordered"), [(60, 1, False), (300, 2, True)])
def test_reachability_from_columns_equals_the_walk_over_moves(
    size: int, seed: int, stage_ordered: bool
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        jm = jg.JourneyMap(**random_map_data(size, seed=seed, stage_ordered=stage_ordered))
    # Zero some moves (an unvalidated copy): every move out of every tenth touchpoint
    # (trapped, with whatever leads only to them), every move into every seventh
    # (reached by no journey unless it is an entry) and every third move; zero-weight
    # moves must not count as edges.
    position = {t.id: i for i, t in enumerate(jm.touchpoints)}

    def dropped(i: int, m: jg.Move) -> bool:
        return (
            i % 3 == 0
            or position[m.source] % 10 == 0
            or (m.target in position and position[m.target] % 7 == 0)
        )

    moves = tuple(
        m.model_copy(update={"weight": 0.0}) if dropped(i, m) else m for i, m in enumerate(jm.moves)
    )
    variant = jm.model_copy(update={"moves": moves})
    forward, back = model._positive_edges(variant)
    expected = (
        model._trapped_touchpoints(variant, back),
        model._unreachable_touchpoints(variant, forward),
    )
    assert expected[0] and expected[1]  # both checks have something to find
    columns = read_columns(variant)
    assert columns is not None
    variant._derived["columns"] = (column_fields(variant), columns)
    assert model._reachability(variant) == expected
    variant._derived.clear()  # not its own columns: the walk over the moves
    assert model._reachability(variant) == expected


def test_reached_follows_positive_moves_both_ways() -> None:
    # Hand-checked: a -> b -> buy, c -> lost with weight 0, c -> a; states a b c buy lost.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        jm = jg.JourneyMap(
            name="tiny",
            stages=[{"id": "s"}],
            touchpoints=[{"id": t, "stage": "s"} for t in "abc"],
            outcomes=[{"id": "buy", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
            entry={"a": 1},
            moves=[
                {"from": "a", "to": "b", "weight": 1},
                {"from": "b", "to": "buy", "weight": 1},
                {"from": "c", "to": "lost", "weight": 0},
                {"from": "c", "to": "a", "weight": 2},
            ],
        )
    columns = read_columns(jm)
    assert columns is not None
    assert reached(columns, 5, [0], backward=False) == [True, True, False, True, False]
    assert reached(columns, 5, [4], backward=True) == [False, False, False, False, True]
    assert reached(columns, 5, [3], backward=True) == [True, True, True, True, False]
