"""Immutability that holds: read-only mappings in maps and results, hashable maps.

Issue #14: ``jm.metadata["x"] = 1`` and ``res.expected_visits["ad"] = 99`` used to
succeed and ``hash(jm)`` raised. Every check here fails on the code before the fix.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import journeygraph as jg

META: dict[str, Any] = {"owner": "cx team", "sources": ["web", "pos"], "fit": {"n": 3}}


@pytest.fixture
def with_metadata(tiny: jg.JourneyMap) -> jg.JourneyMap:
    data = tiny.model_dump(by_alias=True)
    data["metadata"] = META
    return jg.JourneyMap(**data)


def test_metadata_is_read_only_at_every_depth(with_metadata: jg.JourneyMap) -> None:
    jm = with_metadata
    with pytest.raises(TypeError, match="immutable"):
        jm.metadata["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        jm.metadata["fit"]["n"] = 4  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        jm.metadata["sources"].append("crm")  # type: ignore[union-attr]
    with pytest.raises(TypeError, match="immutable"):
        jm.entry.update({"ad": 1})  # type: ignore[attr-defined]
    # The default metadata of a map without any is read-only too.
    with pytest.raises(TypeError, match="immutable"):
        jg.JourneyMap(**{**jm.model_dump(by_alias=True), "metadata": {}}).metadata["x"] = 1  # type: ignore[index]
    # ... and still a plain-looking mapping: equal to the dict it came from.
    assert jm.metadata == META
    assert isinstance(jm.metadata["sources"], list)


def test_map_with_metadata_serialises_pickles_and_saves(
    with_metadata: jg.JourneyMap, tmp_path: Path
) -> None:
    jm = with_metadata
    assert json.loads(json.dumps(jm.model_dump(mode="json")))["metadata"] == META
    assert type(jm.model_dump()["metadata"]) is dict  # thawed for serialisers
    assert pickle.loads(pickle.dumps(jm)) == jm
    assert copy.deepcopy(jm) == jm
    for suffix in (".json", ".yaml"):
        jg.save(jm, tmp_path / f"m{suffix}")
        again = jg.load(tmp_path / f"m{suffix}")
        assert again == jm and again.metadata == META
    assert "metadata" in jg.JourneyMap.model_json_schema()["properties"]


def test_equal_maps_hash_equal(with_metadata: jg.JourneyMap, tiny: jg.JourneyMap) -> None:
    again = jg.JourneyMap.model_validate_json(with_metadata.model_dump_json(by_alias=True))
    assert again == with_metadata and again is not with_metadata
    assert hash(again) == hash(with_metadata)
    assert len({with_metadata, again, tiny}) == 2  # usable as set members and dict keys
    assert hash(jg.load(Path(__file__).parent / "data" / "good" / "tiny.yaml")) == hash(tiny)


def test_analysis_mappings_are_read_only(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    for name in (
        "outcome_probabilities",
        "expected_visits",
        "steps_from",
        "steps_variance_from",
        "move_flows",
        "switching_by_stage",
        "removal_effects",
    ):
        mapping = getattr(res, name)
        key = next(iter(mapping))
        with pytest.raises(TypeError, match="immutable"):
            mapping[key] = 99
    with pytest.raises(TypeError, match="immutable"):
        res.expected_visits["ad"] = 99  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        res.switching_by_stage["act"]["rival"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        res.stage_flow.rates["backtrack"] = 1.0  # type: ignore[index]
    # The figures are unchanged and still compare equal to plain dicts (conftest: 35/88).
    assert res.outcome_probabilities == pytest.approx(
        {"buy": 35 / 88, "gone": 46 / 88, "rival": 7 / 88}
    )
    assert json.loads(json.dumps(res.to_dict())) == res.to_dict()
    assert hash(res) == hash(res)  # identity hash: an Analysis is only equal to itself


def test_expected_time_mappings_are_read_only(tiny: jg.JourneyMap) -> None:
    data = tiny.model_dump(by_alias=True)
    for m in data["moves"]:
        m["duration"] = {"mean": 1, "unit": "hour"}
    res = jg.analyze(jg.JourneyMap(**data))
    assert res.expected_time is not None
    with pytest.raises(TypeError, match="immutable"):
        res.expected_time.by_kind["conversion"] = 0.0  # type: ignore[index]


def test_model_validate_json_raises_map_error() -> None:
    with pytest.raises(jg.MapError, match="missing required key 'stages'"):
        jg.JourneyMap.model_validate_json('{"name": "x"}')
    with pytest.raises(jg.MapError, match="not valid JSON"):
        jg.JourneyMap.model_validate_json("{not json")
    with pytest.raises(jg.MapError, match="touchpoint 'a': missing required key 'stage'"):
        jg.JourneyMap.model_validate_json(
            '{"name": "x", "stages": [], "touchpoints": [{"id": "a"}], "outcomes": [],'
            ' "entry": {}, "moves": []}'
        )
    with pytest.raises(jg.MapError, match="missing required key"):
        jg.JourneyMap.model_validate_strings({"name": "x"})


def test_map_diff_mappings_are_read_only_and_it_hashes(tiny: jg.JourneyMap) -> None:
    diff = jg.compare(tiny, tiny)
    with pytest.raises(TypeError, match="immutable"):
        diff.metrics["conversion"] = diff.metrics["churn"]  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        diff.touchpoint_metrics["ad"]["leak"] = diff.metrics["churn"]  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        diff.renames["ad"] = "x"  # type: ignore[index]
    assert hash(diff) == hash(diff)
    assert json.loads(json.dumps(diff.to_dict())) == diff.to_dict()
    # an identical pair of maps: every delta is 0 (comparison.md)
    assert all(m.delta == 0 for m in diff.metrics.values() if m.delta is not None)
