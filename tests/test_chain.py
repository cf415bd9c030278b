"""JourneyMap -> absorbing chain: the hand-solved tiny map (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.chain import to_chain


def test_tiny_chain_matches_the_hand_normalised_weights(tiny: jg.JourneyMap) -> None:
    chain = to_chain(tiny)
    assert chain.touchpoints == ("ad", "shop")
    assert chain.outcomes == ("buy", "gone", "rival")
    assert_allclose(chain.Q.toarray(), [[0, 0.6], [0.2, 0]], rtol=1e-15)
    assert_allclose(chain.R.toarray(), [[0, 0.4, 0], [0.5, 0.2, 0.1]], rtol=1e-15)
    assert_allclose(chain.entry, [0.75, 0.25], rtol=1e-15)
    assert chain.step_hours is None


def test_rows_of_p_sum_to_one(tiny: jg.JourneyMap) -> None:
    chain = to_chain(tiny)
    totals = np.asarray(chain.Q.sum(axis=1)).ravel() + np.asarray(chain.R.sum(axis=1)).ravel()
    assert_allclose(totals, 1.0, rtol=1e-15)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1.0, 1e18, 1e300])
def test_extreme_weights_normalise_without_overflow(scale: float) -> None:
    jm = jg.JourneyMap(
        name="extreme",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": scale},
        moves=[
            {"from": "a", "to": "win", "weight": scale},
            {"from": "a", "to": "lost", "weight": 3 * scale},
            {"from": "a", "to": "a", "weight": scale * 1e-300 if scale > 1 else 0.0},
        ],
    )
    chain = to_chain(jm)
    assert np.isfinite(chain.R.toarray()).all()
    assert_allclose(chain.R.toarray(), [[0.25, 0.75]], rtol=1e-12)
    assert_allclose(chain.entry, [1.0])


def test_entry_override_by_id_and_by_weights(tiny: jg.JourneyMap) -> None:
    assert_allclose(to_chain(tiny, entry="shop").entry, [0, 1])
    assert_allclose(to_chain(tiny, entry={"ad": 1, "shop": 3}).entry, [0.25, 0.75])
    with pytest.raises(jg.MapError, match="did you mean 'shop'"):
        to_chain(tiny, entry="shpo")
    with pytest.raises(jg.MapError, match="all entry weights are 0"):
        to_chain(tiny, entry={"ad": 0})


def test_step_hours_from_durations() -> None:
    jm = jg.JourneyMap(
        name="timed",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "win", "weight": 1, "duration": {"mean": 2, "unit": "day"}},
            {"from": "a", "to": "lost", "weight": 3, "duration": {"mean": 4, "unit": "hour"}},
        ],
    )
    # 0.25 * 48 h + 0.75 * 4 h = 15 h
    assert_allclose(to_chain(jm).step_hours, [15.0], rtol=1e-15)


def test_moves_without_duration_take_no_time() -> None:
    jm = jg.JourneyMap(
        name="partly timed",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "win", "weight": 1, "duration": {"mean": 2, "unit": "day"}},
            {"from": "a", "to": "lost", "weight": 3},
        ],
    )
    assert_allclose(to_chain(jm).step_hours, [12.0], rtol=1e-15)


@pytest.mark.parametrize("weight", ["x", True, None])
def test_entry_override_weights_must_be_numbers(tiny: jg.JourneyMap, weight: object) -> None:
    with pytest.raises(jg.MapError, match="entry weight of 'ad'"):
        to_chain(tiny, entry={"ad": weight})  # type: ignore[dict-item]


# -- the map's arrays, built once per map (chain.map_arrays) ------------------------------


def test_map_arrays_are_built_once_and_match_the_hand_solved_chain(tiny: jg.JourneyMap) -> None:
    from journeygraph.chain import map_arrays

    arrays = map_arrays(tiny)
    assert map_arrays(tiny) is arrays  # cached with the frozen map
    assert to_chain(tiny).Q is arrays.Q and to_chain(tiny, entry="shop").R is arrays.R
    # conftest: Q = [[0, 0.6], [0.2, 0]]; stages aware, act hold ad, shop.
    assert_allclose(arrays.Q.toarray(), [[0, 0.6], [0.2, 0]], rtol=1e-15)
    assert arrays.stage_position.tolist() == [0, 1]
    assert arrays.outcome_kinds == ("conversion", "churn", "competitor")
    assert arrays.QD is None and arrays.RD is None


def test_validation_keeps_the_moves_as_columns_for_the_arrays(tiny: jg.JourneyMap) -> None:
    from journeygraph.chain import _build_arrays

    fields, columns = tiny._derived["columns"]  # read while the map was validated
    assert fields[2] is tiny.moves
    # tiny.yaml's moves in file order; touchpoints ad=0, shop=1, outcomes 2 + (buy,
    # gone, rival).
    assert columns.rows.tolist() == [0, 0, 1, 1, 1, 1]
    assert columns.targets.tolist() == [1, 3, 2, 0, 4, 3]
    assert columns.weights.tolist() == [6, 4, 5, 2, 1, 2]
    assert columns.durations == [None] * 6
    from_columns = _build_arrays(tiny)
    del tiny._derived["columns"]  # now read from the models again
    from_models = _build_arrays(tiny)
    for name in ("Q", "R", "Q_free"):
        a, b = getattr(from_columns, name), getattr(from_models, name)
        assert (a != b).nnz == 0, name
    assert from_columns.leave.tolist() == from_models.leave.tolist()


def test_the_cache_is_no_part_of_the_maps_value(tiny: jg.JourneyMap) -> None:
    import copy
    import pickle

    fresh = jg.load(Path(__file__).parent / "data" / "good" / "tiny.yaml")
    jg.analyze(tiny)  # fills tiny's cache, not fresh's
    assert tiny == fresh and hash(tiny) == hash(fresh)
    for again in (pickle.loads(pickle.dumps(tiny)), copy.deepcopy(tiny)):
        assert again == tiny and not again._derived  # copies start with an empty cache


def test_a_derived_copy_never_uses_the_originals_arrays(tiny: jg.JourneyMap) -> None:
    # model_copy shares private attributes, so the cache must notice the new moves.
    from journeygraph.chain import map_arrays

    map_arrays(tiny)
    moves = tuple(
        m.model_copy(update={"weight": 0.6}) if (m.source, m.target) == ("shop", "buy") else m
        for m in tiny.moves
    )
    changed = tiny.model_copy(update={"moves": moves})
    data = tiny.model_dump(by_alias=True)
    for m in data["moves"]:
        if (m["from"], m["to"]) == ("shop", "buy"):
            m["weight"] = 0.6
    rebuilt = jg.JourneyMap(**data)
    assert_allclose(to_chain(changed).R.toarray(), to_chain(rebuilt).R.toarray(), rtol=1e-15)
    assert not np.allclose(to_chain(changed).R.toarray(), to_chain(tiny).R.toarray())
    assert jg.analyze(changed).conversion_probability == jg.analyze(rebuilt).conversion_probability
