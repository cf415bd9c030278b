"""jg.compare: structural diff on hand-made pairs, metric deltas against independent analyses."""

from __future__ import annotations

import json
from typing import Any

import pytest

import journeygraph as jg

from .conftest import DATA, EXAMPLES

PAIRS = ["retail_five_a", "decision_journey", "b2b_saas", "theme_park"]


def _tiny_data() -> dict[str, Any]:
    jm = jg.load(DATA / "good" / "tiny.yaml")
    return jm.model_dump(mode="json", by_alias=True)


def test_identical_maps_give_an_empty_diff_with_zero_deltas(tiny: jg.JourneyMap) -> None:
    diff = jg.compare(tiny, tiny)
    assert diff.structure_unchanged
    assert all(m.delta == 0.0 for m in diff.metrics.values() if m.delta is not None)
    for per in diff.touchpoint_metrics.values():
        assert all(m.delta == 0.0 for m in per.values())
    assert "no structural change" in diff.summary()


def test_hand_made_pair_lists_every_structural_change(tiny: jg.JourneyMap) -> None:
    data = _tiny_data()
    data["name"] = "tiny future"
    data["stages"].append({"id": "advocate"})
    data["touchpoints"][0]["sentiment"] = 0.75  # ad: 0.5 -> 0.75
    data["touchpoints"][1]["owner"] = "store ops"  # shop: ecommerce -> store ops
    data["touchpoints"].append({"id": "review", "stage": "advocate"})
    data["outcomes"].append({"id": "rival2", "kind": "competitor"})
    moves = [m for m in data["moves"] if (m["from"], m["to"]) != ("shop", "rival")]
    for m in moves:
        if (m["from"], m["to"]) == ("shop", "buy"):
            m["weight"] = 6  # shop's row: buy 6, ad 2, gone 2, review 1 -> total 11
    moves += [
        {"from": "shop", "to": "review", "weight": 1},
        {"from": "review", "to": "rival2", "weight": 1},
    ]
    data["moves"] = moves
    future = jg.JourneyMap(**data)

    diff = jg.compare(tiny, future)
    assert diff.stages_added == ("advocate",) and diff.stages_removed == ()
    assert not diff.stages_reordered
    assert diff.touchpoints_added == ("review",) and diff.touchpoints_removed == ()
    assert {(c.touchpoint, c.field, c.before, c.after) for c in diff.touchpoints_changed} == {
        ("ad", "sentiment", 0.5, 0.75),
        ("shop", "owner", "ecommerce", "store ops"),
    }
    assert diff.outcomes_added == ("rival2",) and diff.outcomes_removed == ()
    assert [(m.source, m.target, m.after) for m in diff.moves_added] == [
        ("shop", "review", pytest.approx(1 / 11, rel=1e-12)),
        ("review", "rival2", 1.0),
    ]
    assert [(m.source, m.target, m.before) for m in diff.moves_removed] == [
        ("shop", "rival", pytest.approx(0.1, rel=1e-12))  # 1 of shop's 10
    ]
    # Hand count: shop's row was buy 5, ad 2, rival 1, gone 2 (of 10); now buy 6, ad 2,
    # gone 2, review 1 (of 11). ad's row is unchanged.
    reweighted = {(m.source, m.target): (m.before, m.after) for m in diff.moves_reweighted}
    assert reweighted == {
        ("shop", "buy"): (pytest.approx(0.5), pytest.approx(6 / 11)),
        ("shop", "ad"): (pytest.approx(0.2), pytest.approx(2 / 11)),
        ("shop", "gone"): (pytest.approx(0.2), pytest.approx(2 / 11)),
    }
    summary = diff.summary()
    assert "touchpoints added: 'review'" in summary
    assert "'ad' (sentiment)" in summary


def test_stage_reordering_is_detected(tiny: jg.JourneyMap) -> None:
    data = _tiny_data()
    data["stages"] = list(reversed(data["stages"]))
    diff = jg.compare(tiny, jg.JourneyMap(**data))
    assert diff.stages_reordered
    assert "stage order changed" in diff.summary()


@pytest.mark.parametrize("journey", PAIRS)
def test_metric_deltas_equal_independent_analyses(journey: str) -> None:
    current = jg.load(EXAMPLES / f"{journey}_current.yaml")
    future = jg.load(EXAMPLES / f"{journey}_future.yaml")
    diff = jg.compare(current, future)
    a, b = jg.analyze(current), jg.analyze(future)
    for key, before, after in [
        ("conversion", a.conversion_probability, b.conversion_probability),
        ("churn", a.churn_probability, b.churn_probability),
        ("competitor", a.competitor_probability, b.competitor_probability),
        ("expected_steps", a.expected_steps, b.expected_steps),
        ("backtrack_rate", a.stage_flow.rates["backtrack"], b.stage_flow.rates["backtrack"]),
    ]:
        m = diff.metrics[key]
        assert (m.before, m.after) == (before, after)
        assert m.delta == after - before
    for outcome, p in b.outcome_probabilities.items():
        assert diff.metrics[f"outcome:{outcome}"].after == p
    leaks_after = {x.touchpoint: x.flow for x in b.leaks}
    for tp, per in diff.touchpoint_metrics.items():
        if tp in b.expected_visits:
            assert per["visits"].after == b.expected_visits[tp]
            assert per["leak"].after == leaks_after.get(tp, 0.0)
            assert per["removal_effect"].after == b.removal_effects[tp]
        if tp in a.expected_visits:
            assert per["visits"].before == a.expected_visits[tp]
            assert per["removal_effect"].before == a.removal_effects[tp]
    # The future-state maps were written to convert better.
    assert diff.metrics["conversion"].delta > 0
    json.dumps(diff.to_dict())


def test_renamed_ids_are_matched(tiny: jg.JourneyMap) -> None:
    text = (DATA / "good" / "tiny.yaml").read_text().replace("shop", "store")
    renamed = jg.loads(text)
    plain = jg.compare(tiny, renamed)
    assert plain.touchpoints_added == ("store",) and plain.touchpoints_removed == ("shop",)
    diff = jg.compare(tiny, renamed, renames={"shop": "store"})
    assert diff.structure_unchanged
    assert diff.metrics["conversion"].delta == 0.0
    assert diff.touchpoint_metrics["store"]["visits"].delta == 0.0


def test_bad_renames_are_a_map_error(tiny: jg.JourneyMap) -> None:
    with pytest.raises(jg.MapError, match=r"'shpo' is not an id of the current map.*'shop'"):
        jg.compare(tiny, tiny, renames={"shpo": "shop"})


def test_maps_with_nothing_in_common_still_compare(tiny: jg.JourneyMap) -> None:
    park = jg.load(EXAMPLES / "theme_park_current.yaml")
    assert not {t.id for t in park.touchpoints} & {"ad"}
    text = (DATA / "good" / "tiny.yaml").read_text().replace("shop", "store_x")
    diff = jg.compare(jg.loads(text), park)
    assert diff.common_touchpoints == ()
    assert "no touchpoints in common" in diff.summary()
    assert diff.metrics["conversion"].before == jg.analyze(tiny).conversion_probability
    assert set(diff.touchpoints_removed) == {"ad", "store_x"}


def test_to_frame_tables(tiny: jg.JourneyMap) -> None:
    pytest.importorskip("pandas")
    diff = jg.compare(tiny, tiny)
    assert set(diff.to_frame("metrics")["metric"]) >= {"conversion", "churn"}
    assert len(diff.to_frame("touchpoints")) == 2 * 4
    with pytest.raises(ValueError, match="unknown table"):
        diff.to_frame("nope")


def test_cli_compare_prints_summary_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    from journeygraph.cli import main

    current = str(EXAMPLES / "retail_five_a_current.yaml")
    future = str(EXAMPLES / "retail_five_a_future.yaml")
    assert main(["compare", current, future]) == 0
    out = capsys.readouterr().out
    assert "conversion 12.8% -> 16.8%" in out
    assert main(["compare", "--json", current, future]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["structure"]["touchpoints_added"] == ["live_chat"]
    assert main(["compare", "--rename", "nope", current, future]) == 2
    assert main(["compare", "--rename", "zz=live_chat", current, future]) == 1
    assert "not an id of the current map" in capsys.readouterr().err
