"""The scene (journeygraph.draw.scene): what every view draws, checked by hand.

Expected numbers are the hand-solved answers of ``tiny`` (tests/conftest.py): move
probabilities are the weights over their row sums (ad: 6/10, 4/10; shop: 5/10, 2/10,
1/10, 2/10), visits v = (10/11, 35/44), outcome totals 35/88, 46/88, 7/88, leaks
v_i * R_i,churn.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.draw import build_scene
from journeygraph.draw.scene import element_id

from ._sim_maps import fitted_b2b
from .conftest import DATA, EXAMPLES

V_AD, V_SHOP = 10 / 11, 35 / 44


def test_map_scene_keeps_stage_and_file_order(tiny: jg.JourneyMap) -> None:
    scene = build_scene(tiny)
    assert scene.kind == "map" and scene.strength_name == "probability"
    assert [(s.id, s.index, s.classes) for s in scene.stages] == [
        ("aware", 0, ("stage",)),
        ("act", 1, ("stage",)),
    ]
    assert [(t.id, t.stage_index, t.row) for t in scene.touchpoints] == [
        ("ad", 0, 0),
        ("shop", 1, 0),
    ]
    probs = {(m.source, m.target): m.probability for m in scene.moves}
    assert_allclose(
        [probs[k] for k in [("ad", "shop"), ("ad", "gone"), ("shop", "buy"), ("shop", "ad")]],
        [0.6, 0.4, 0.5, 0.2],
        rtol=1e-12,
    )
    # A map alone: outcome totals (hand-solved), no visits, no ranks.
    totals = {o.id: o.total for o in scene.outcomes}
    assert_allclose([totals["buy"], totals["gone"], totals["rival"]], [35 / 88, 46 / 88, 7 / 88])
    assert all(t.visits is None and t.leak_rank is None for t in scene.touchpoints)
    assert dict(scene.entry) == {"ad": 0.75, "shop": 0.25}


def test_analysis_scene_has_visits_flows_losses_and_ranks(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    scene = build_scene(res)
    assert scene.kind == "analysis" and scene.strength_name == "flow"
    ad, shop = scene.touchpoints
    assert_allclose([ad.visits, shop.visits], [V_AD, V_SHOP], rtol=1e-12)
    assert_allclose([ad.leak, shop.leak], [0.4 * V_AD, 0.2 * V_SHOP], rtol=1e-12)
    assert_allclose([ad.switching, shop.switching], [0.0, 0.1 * V_SHOP], atol=1e-15)
    assert scene.top_leaks == ("ad", "shop") and (ad.leak_rank, shop.leak_rank) == (1, 2)
    assert scene.top_switching == (("shop", "rival"),) and shop.switch_rank == 1
    losses = {(x.touchpoint, x.outcome): x for x in scene.losses}
    assert set(losses) == {("ad", "gone"), ("shop", "rival"), ("shop", "gone")}
    assert_allclose(losses[("shop", "rival")].probability, 0.1, rtol=1e-12)
    assert_allclose(losses[("shop", "rival")].flow, 0.1 * V_SHOP, rtol=1e-12)
    assert losses[("shop", "rival")].classes == ("loss", "competitor")
    conv = scene.figure("conversion")
    assert conv is not None and conv.before is None
    assert_allclose(conv.value, 35 / 88, rtol=1e-12)
    flows = {(m.source, m.target): m.strength for m in scene.moves}
    assert_allclose(flows[("ad", "shop")], 0.6 * V_AD, rtol=1e-12)  # v_ad * P(ad -> shop)
    assert scene.entry == res.entry


def test_analysis_exposes_its_map_and_entry(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny, entry="shop")
    assert res.map is tiny
    assert res.entry == {"ad": 0.0, "shop": 1.0}


def test_classes_and_element_ids_are_valid_distinct_xml_names() -> None:
    pattern = re.compile(r"^[^\W\d][\w.\-]*$")
    ids = ["a b", "a_b", "a-b", "a.b", "구매", "🛒", 'x"<y>&', "a-20-b"]
    made = [element_id("tp", i) for i in ids]
    assert len(set(made)) == len(ids)
    assert all(pattern.match(m) for m in made), made
    assert element_id("move", "a", "b") != element_id("move", "a-to-b")
    scene = build_scene(jg.load(EXAMPLES / "retail_five_a_current.yaml"))
    kinds = {m.kind for m in scene.moves}
    assert {"forward", "exit"} <= kinds
    for m in scene.moves:
        assert m.classes[:2] == ("move", m.kind)
        assert m.element_id == element_id("move", m.source, m.target)
    every = [
        *(s.element_id for s in scene.stages),
        *(t.element_id for t in scene.touchpoints),
        *(o.element_id for o in scene.outcomes),
        *(m.element_id for m in scene.moves),
    ]
    assert len(every) == len(set(every))


def _future_of_tiny() -> jg.JourneyMap:
    text = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8")
    text = text.replace("shop", "store").replace("sentiment: -0.25", "sentiment: 0.2")
    text = text.replace("  - {from: store, to: ad, weight: 2}\n", "")
    text = text.replace(
        "  - {id: store,",
        "  - {id: chat, name: Chat, stage: act}\n  - {id: store,",
    )
    text = text.replace("entry: {ad: 3, store: 1}", "entry: {ad: 3, store: 1}")
    text += "  - {from: ad, to: chat, weight: 2}\n  - {from: chat, to: buy, weight: 1}\n"
    return jg.loads(text)


def test_diff_scene_keeps_the_current_layout_and_marks_changes(tiny: jg.JourneyMap) -> None:
    future = _future_of_tiny()
    diff = jg.compare(tiny, future, renames={"shop": "store"})
    scene = build_scene(diff)
    assert scene.kind == "diff" and scene.current_title == "tiny"
    # Current order (ad, then shop renamed store), the future-only chat after it.
    assert [(t.id, t.stage_index, t.row, t.change) for t in scene.touchpoints] == [
        ("ad", 0, 0, "unchanged"),
        ("store", 1, 0, "changed"),
        ("chat", 1, 1, "added"),
    ]
    store = scene.touchpoint("store")
    assert store.previous_id == "shop"
    fields = {(c.field, c.before, c.after) for c in store.changes}
    assert ("id", "shop", "store") in fields and ("sentiment", -0.25, 0.2) in fields
    assert store.classes == ("touchpoint", "changed")
    assert (store.sentiment_before, store.sentiment) == (-0.25, 0.2)
    moves = {(m.source, m.target): m for m in scene.moves}
    assert moves[("store", "ad")].change == "removed"
    assert moves[("store", "ad")].probability is None
    assert_allclose(moves[("store", "ad")].probability_before, 0.2, rtol=1e-12)
    assert "removed" in moves[("store", "ad")].classes
    assert moves[("ad", "chat")].change == "added"
    # The compared numbers, not recomputed: before/after straight from the diff.
    for tp in scene.touchpoints:
        leak = diff.touchpoint_metrics[tp.id]["leak"]
        assert (tp.leak_before, tp.leak) == pytest.approx((leak.before, leak.after))
    conv = scene.figure("conversion")
    assert conv is not None
    assert (conv.before, conv.value) == (
        diff.metrics["conversion"].before,
        diff.metrics["conversion"].after,
    )
    totals = {o.id: (o.total_before, o.total) for o in scene.outcomes}
    assert_allclose(totals["buy"][0], 35 / 88, rtol=1e-12)
    # The three largest changes, ranked by size.
    assert [c.rank for c in scene.callouts] == [1, 2, 3]
    sizes = [abs(c.after - c.before) for c in scene.callouts]
    assert sizes == sorted(sizes, reverse=True)


def test_rename_only_diff_shows_the_touchpoint_changed_not_added(tiny: jg.JourneyMap) -> None:
    text = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8").replace("shop", "store")
    diff = jg.compare(tiny, jg.loads(text), renames={"shop": "store"})
    scene = build_scene(diff)
    assert [(t.id, t.change) for t in scene.touchpoints] == [
        ("ad", "unchanged"),
        ("store", "changed"),
    ]
    assert not any(m.change != "unchanged" for m in scene.moves)


def test_select_moves_leaves_no_orphan_boxes() -> None:
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    scene = build_scene(jg.analyze(jm))
    pick = scene.select_moves(min_strength=None, max_moves=5)
    assert pick.hidden == len(scene.moves) - len(pick.moves) > 0
    sources = {m.source for m in pick.moves}
    targets = {m.target for m in pick.moves if m.target != m.source}
    for tp in scene.touchpoints:
        assert tp.id in sources, tp.id
        assert tp.id in targets or scene.entry.get(tp.id, 0) > 0, tp.id


def test_second_order_states_are_labelled_by_where_they_came_from() -> None:
    pa = pytest.importorskip("pyarrow", reason="fitting from columns needs pyarrow")
    fitted = fitted_b2b(2_000)
    scene = build_scene(fitted)
    assert scene.fitted_order == 2
    labels = {t.id: t.label for t in scene.touchpoints}
    # The template's names survive fitting, for where the customer is and came from.
    assert labels["blog_post > docs"] == (
        "Public docs & quick-start guides ← Engineering blog & SEO articles"
    )
    # Without a template, ids (underscores as spaces) name both sides.
    log2 = pa.table({"c": [1, 1, 2, 2], "t": [1, 2, 1, 2], "e": ["ad_x", "shop", "shop", "ad_x"]})
    plain = jg.fit(log2, customer_column="c", time_column="t", touchpoint_column="e", order=2)
    assert isinstance(plain, jg.JourneyMap)
    plain_labels = {t.id: t.label for t in build_scene(plain).touchpoints}
    assert plain_labels["ad_x > shop"] == "shop ← ad x"
    assert plain_labels["(start) > ad_x"] == "ad x ← start"


def test_build_scene_refuses_other_objects(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="JourneyMap, an Analysis or a MapDiff"):
        build_scene(tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "after", "scale", "places"),
    [
        # 27.66 -> 28.14 days: at one decimal 27.7 -> 28.1 would read +0.5 (0.48
        # rounded); at two, 27.66 -> 28.14 is +0.48, which adds up.
        (27.66 * 24, 28.14 * 24, 1 / 24, 2),
        (0.128, 0.168, 100.0, 1),  # 12.8% -> 16.8%, +4.0: one decimal adds up
        (0.12849, 0.16851, 100.0, 2),  # 12.8 -> 16.9 but +4.0: two decimals
        (0.1, 0.1, 100.0, 1),
        # 41.2835 -> 35.8455: neither one nor two decimals add up; one, as in a table.
        (0.412835, 0.358455, 100.0, 1),
    ],
)
def test_a_figure_shows_enough_decimals_for_its_change_to_add_up(
    before: float, after: float, scale: float, places: int
) -> None:
    from journeygraph.draw.scene import SceneFigure

    fig = SceneFigure("x", after, before)
    assert fig.places(scale) == places
    a, b = before * scale, after * scale
    adds_up = [round(round(b, d) - round(a, d), d) == round(b - a, d) for d in (1, 2)]
    assert adds_up[places - 1] or not any(adds_up)
    assert SceneFigure("x", after, None).places(scale) == 1
