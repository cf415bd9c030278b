"""The JourneyMap model: validation, move kinds, immutability, networkx round trip."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import networkx as nx
import pytest

import journeygraph as jg


def _map(**overrides: Any) -> jg.JourneyMap:
    data: dict[str, Any] = {
        "name": "five stages",
        "stages": [{"id": s} for s in ("s1", "s2", "s3", "s4", "s5")],
        "touchpoints": [
            {"id": "a", "stage": "s1"},
            {"id": "a2", "stage": "s1"},
            {"id": "b", "stage": "s2"},
            {"id": "d", "stage": "s4"},
        ],
        "outcomes": [{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        "entry": {"a": 1},
        "moves": [
            {"from": "a", "to": "a2", "weight": 1},
            {"from": "a2", "to": "b", "weight": 1},
            {"from": "b", "to": "d", "weight": 1},
            {"from": "d", "to": "a", "weight": 1},
            {"from": "d", "to": "d", "weight": 1},
            {"from": "d", "to": "win", "weight": 1},
            {"from": "a", "to": "lost", "weight": 1},
        ],
    }
    data.update(overrides)
    return jg.JourneyMap(**data)


def test_move_kinds_follow_stage_order() -> None:
    kinds = _map().move_kinds()
    assert kinds == {
        ("a", "a2"): "within",
        ("a2", "b"): "forward",
        ("b", "d"): "skip",
        ("d", "a"): "backtrack",
        ("d", "d"): "within",
        ("d", "win"): "exit",
        ("a", "lost"): "exit",
    }


def test_map_is_immutable() -> None:
    jm = _map()
    with pytest.raises(Exception, match="frozen"):
        jm.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="immutable"):
        jm.entry["b"] = 3  # type: ignore[index]
    assert isinstance(jm.moves, tuple)


def test_copy_and_pickle_keep_the_map_equal() -> None:
    jm = _map()
    assert copy.deepcopy(jm) == jm
    assert pickle.loads(pickle.dumps(jm)) == jm


def test_repr_is_one_line() -> None:
    assert repr(_map()) == "JourneyMap('five stages', 4 touchpoints, 2 outcomes)"


def test_python_construction_raises_map_error_not_pydantic() -> None:
    with pytest.raises(jg.MapError, match=r"move #1 \('a' -> 'a2'\): 'weight' is -1"):
        _map(moves=[{"from": "a", "to": "a2", "weight": -1}])


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(jg.MapError) as info:
        _map(
            entry={"zz": 1},
            moves=[{"from": "a", "to": "bb", "weight": 1}, {"from": "q", "to": "win", "weight": 1}],
        )
    message = str(info.value)
    assert "problems in the journey map" in message
    assert "unknown touchpoint 'bb' (did you mean 'b'?)" in message
    assert "unknown touchpoint 'q'" in message
    assert "entry: unknown touchpoint 'zz'" in message
    assert "touchpoint 'd' has no way out" in message
    assert len(info.value.problems) >= 4


def test_unreachable_touchpoint_is_a_warning_naming_it() -> None:
    with pytest.warns(jg.JourneyGraphWarning, match=r"no journey reaches touchpoint\(s\) 'b', 'd'"):
        _map(
            moves=[
                {"from": "a", "to": "a2", "weight": 1},
                {"from": "a2", "to": "lost", "weight": 1},
                {"from": "b", "to": "d", "weight": 1},
                {"from": "d", "to": "win", "weight": 1},
                {"from": "a", "to": "lost", "weight": 1},
            ]
        )


def test_trapped_group_is_not_absorbing_error() -> None:
    with pytest.raises(jg.NotAbsorbingError, match=r"'b', 'd'"):
        _map(
            moves=[
                {"from": "a", "to": "a2", "weight": 1},
                {"from": "a2", "to": "b", "weight": 1},
                {"from": "b", "to": "d", "weight": 1},
                {"from": "d", "to": "b", "weight": 1},
                {"from": "a2", "to": "win", "weight": 1},
                {"from": "a", "to": "lost", "weight": 1},
            ]
        )


def test_zero_weight_moves_are_kept_but_carry_no_customers() -> None:
    jm = _map(
        moves=[
            {"from": "a", "to": "a2", "weight": 1},
            {"from": "a2", "to": "b", "weight": 1},
            {"from": "b", "to": "d", "weight": 1},
            {"from": "d", "to": "win", "weight": 1},
            {"from": "d", "to": "a", "weight": 0},
            {"from": "a", "to": "lost", "weight": 1},
        ]
    )
    assert jm.move_kinds()[("d", "a")] == "backtrack"


def test_pains_accept_a_single_string() -> None:
    tp = jg.Touchpoint(id="x", stage="s", pains="slow delivery")
    assert tp.pains == ("slow delivery",)
    assert tp.label == "x"


@pytest.mark.parametrize(
    "name",
    ["결제 페이지", "checkout 🛒", "الدفع", "e\u0301cole", "x" * 400, "caf\u00e9"],
)
def test_unicode_ids_and_names_work_and_compare_exactly(name: str) -> None:
    jm = jg.JourneyMap(
        name=name,
        stages=[{"id": "stage", "name": name}],
        touchpoints=[{"id": name, "name": name, "stage": "stage"}],
        outcomes=[{"id": "done", "kind": "conversion"}],
        entry={name: 1},
        moves=[{"from": name, "to": "done", "weight": 1}],
    )
    assert jm.touchpoint(name).name == name
    assert jg.JourneyMap.from_networkx(jm.to_networkx()) == jm
    if name == "e\u0301cole":  # decomposed e + combining accent is not the composed é
        with pytest.raises(KeyError):
            jm.touchpoint("\u00e9cole")


def test_lookup_errors_suggest_the_close_id(tiny: jg.JourneyMap) -> None:
    with pytest.raises(KeyError, match="did you mean 'shop'"):
        tiny.touchpoint("shpo")
    with pytest.raises(KeyError, match="unknown outcome"):
        tiny.outcome("nope")


def test_networkx_round_trip_is_exact(tiny: jg.JourneyMap) -> None:
    G = tiny.to_networkx()
    assert isinstance(G, nx.DiGraph)
    assert G.nodes["ad"] == {
        "node_type": "touchpoint",
        "entry": 3.0,
        "name": "Ad",
        "stage": "aware",
        "channel": "social",
        "owner": "marketing",
        "sentiment": 0.5,
        "pains": (),
        "goals": (),
        "questions": (),
        "notes": None,
    }
    assert G.nodes["rival"]["kind"] == "competitor"
    assert G.edges["shop", "ad"] == {"weight": 2.0, "duration": None, "move_kind": "backtrack"}
    assert G.graph["stages"][1] == {"id": "act", "name": "Act", "description": None}
    assert jg.JourneyMap.from_networkx(G) == tiny


def test_from_networkx_accepts_a_hand_built_graph() -> None:
    G = nx.DiGraph(stages=[{"id": "s"}], name="hand")
    G.add_node("x", node_type="touchpoint", stage="s", entry=1)
    G.add_node("y", node_type="outcome", kind="churn")
    G.add_edge("x", "y", weight=2)
    jm = jg.JourneyMap.from_networkx(G)
    assert jm.entry == {"x": 1.0}
    assert jm.moves[0].weight == 2.0


def test_from_networkx_rejects_untyped_nodes() -> None:
    G = nx.DiGraph(stages=[{"id": "s"}])
    G.add_node("x")
    with pytest.raises(jg.MapError, match="node_type"):
        jg.JourneyMap.from_networkx(G)


def test_duration_converts_to_hours() -> None:
    assert jg.Duration(mean=2, unit="day").hours == 48
    assert jg.Duration(mean=30, unit="minute").hours == 0.5
