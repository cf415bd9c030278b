"""The explorer page (journeygraph/draw/explore.py) without a browser: its data and HTML.

The browser tests (clicks, the slider, states, hostile names, network) are in
tests/test_explore_browser.py. Expected numbers are hand-solved for tiny.yaml (see
tests/conftest.py): visits v = (10/11, 35/44) for (ad, shop), P(buy) = 35/88.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.draw.explore import json_for_script, page_data
from journeygraph.draw.words import LANGS

from .conftest import DATA

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"

HOSTILE = [
    "</script><script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "javascript:window.__pwned = 3",
    '{{constructor.constructor("window.__pwned = 4")()}}',
    "line\u2028separator\u2029<!-- & &amp;",
]


def hostile_map() -> jg.JourneyMap:
    """A map whose ids and every name are hostile strings (RELIABILITY.md, Rendering)."""
    return jg.JourneyMap.model_validate(
        {
            "name": HOSTILE[0],
            "persona": {"id": "p", "name": HOSTILE[1]},
            "stages": [{"id": "s1", "name": HOSTILE[2]}, {"id": "s2", "name": HOSTILE[3]}],
            "touchpoints": [
                {"id": HOSTILE[0], "name": HOSTILE[1], "stage": "s1", "channel": HOSTILE[2]},
                {"id": "<b>shop</b>", "name": HOSTILE[3], "stage": "s2", "owner": HOSTILE[4]},
                {"id": "t3", "name": HOSTILE[4], "stage": "s2", "pains": [HOSTILE[0]]},
            ],
            "outcomes": [
                {"id": "buy", "name": HOSTILE[2], "kind": "conversion"},
                {"id": "gone", "name": HOSTILE[0], "kind": "churn"},
                {"id": "<rival>", "name": HOSTILE[1], "kind": "competitor"},
            ],
            "entry": {HOSTILE[0]: 3, "t3": 1},
            "moves": [
                {"from": HOSTILE[0], "to": "<b>shop</b>", "weight": 6},
                {"from": HOSTILE[0], "to": "gone", "weight": 4},
                {"from": "<b>shop</b>", "to": "buy", "weight": 5},
                {"from": "<b>shop</b>", "to": "<rival>", "weight": 1},
                {"from": "<b>shop</b>", "to": "t3", "weight": 2},
                {"from": "t3", "to": "buy", "weight": 1},
                {"from": "t3", "to": "gone", "weight": 1},
            ],
        }
    )


def data_block(html: str) -> str:
    m = re.search(r'<script type="application/json" id="jg-data">(.*?)</script>', html, re.S)
    assert m is not None
    return m.group(1)


# -- figures: hand-solved and re-solved ---------------------------------------------


def test_figures_of_tiny_are_the_hand_solved_ones(tiny: jg.JourneyMap) -> None:
    data = page_data(tiny)
    figs = data["figures"][0]
    # v = entry N with N = (I - Q)^-1 (tests/conftest.py): (10/11, 35/44).
    assert_allclose([figs["ad"]["visits"], figs["shop"]["visits"]], [10 / 11, 35 / 44], rtol=1e-12)
    # Leak at ad: v_ad * 0.4 = 4/11; share of churn P(gone) = 46/88 -> 16/23; exit rate 0.4.
    assert_allclose(figs["ad"]["leak"], [4 / 11, 16 / 23, 0.4], rtol=1e-12)
    # Removing ad leaves the shop-starting journeys that buy before ever reaching ad:
    # 0.25 * 0.5 = 1/8, so the effect is 1 - (1/8) / (35/88) = 24/35. Shop: every
    # conversion passes it, effect 1.
    assert_allclose(figs["ad"]["removal"], 24 / 35, rtol=1e-12)
    assert_allclose(figs["shop"]["removal"], 1.0, rtol=1e-12)
    # Switching at shop: v_shop * 0.1 = 7/88, the whole competitor share.
    assert figs["shop"]["switching"][0][0] == "rival"
    assert_allclose(figs["shop"]["switching"][0][1:3], [7 / 88, 1.0], rtol=1e-12)
    # Conversion from ad: B_ad,buy = 0.6 * 0.5 / 0.88 = 15/44.
    assert_allclose(figs["ad"]["converts"], 15 / 44, rtol=1e-12)
    head = data["headline"][0]
    assert_allclose(
        [head["conversion"], head["churn"], head["competitor"]],
        [35 / 88, 46 / 88, 7 / 88],
        rtol=1e-12,
    )
    assert_allclose(head["outcomes"]["buy"], 35 / 88, rtol=1e-12)


def test_sensitivity_gain_matches_a_re_solved_map(tiny: jg.JourneyMap) -> None:
    """The panel's "fix 10% of its churn" equals analysing the fixed map from scratch."""
    gain = page_data(tiny)["figures"][0]["ad"]["gain"]
    # ad: shop 0.6, gone 0.4 -> gone 0.36 and the saved 0.04 to shop (0.64).
    fixed = jg.whatif(tiny, jg.ReduceChurn("ad", 0.1))
    probabilities = fixed.move_probabilities()
    assert_allclose(probabilities[("ad", "gone")], 0.36, rtol=1e-12)
    expected = jg.analyze(fixed).conversion_probability - 35 / 88
    assert_allclose(gain, expected, rtol=1e-10)


def test_dropoff_is_hand_solved(tiny: jg.JourneyMap) -> None:
    aware, act = page_data(tiny)["dropoff"][0]
    # Arrivals: entry + moves in from another stage; one touchpoint per stage and no
    # moves within a stage, so they equal the visits (10/11, 35/44).
    assert (aware["stage"], act["stage"]) == ("aware", "act")
    assert_allclose([aware["arrivals"], act["arrivals"]], [10 / 11, 35 / 44], rtol=1e-12)
    # Exits: v_i * R_ik.
    assert aware["exits"] == [["gone", pytest.approx(4 / 11, rel=1e-12)]]
    exits = dict((o, f) for o, f in act["exits"])
    assert_allclose(
        [exits["buy"], exits["gone"], exits["rival"]], [35 / 88, 7 / 44, 7 / 88], rtol=1e-12
    )


def test_moves_carry_the_analysis_flows() -> None:
    jm = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    res = jg.analyze(jm)
    data = page_data(res)
    flows = {(m["from"], m["to"]): m["v"][0] for m in data["moves"]}
    assert set(flows) == {(m.source, m.target) for m in jm.moves}
    for key, flow in res.move_flows.items():
        assert_allclose(flows[key], flow, rtol=1e-12)
    # Flows into each outcome add up to its probability (DESIGN.md, leaks decompose it).
    for o, p in res.outcome_probabilities.items():
        total = sum(f for (a, b), f in flows.items() if b == o)
        assert_allclose(total, p, rtol=1e-10)
        assert_allclose(data["headline"][0]["outcomes"][o], p, rtol=1e-12)


def test_layout_is_stage_columns_in_file_order() -> None:
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    nodes = [n for n in page_data(jm)["nodes"] if n["kind"] == "touchpoint"]
    stage_x = {s.id: i for i, s in enumerate(jm.stages)}
    for stage in jm.stages:
        column = [n for n in nodes if n["stage"] == stage.id]
        assert [n["id"] for n in column] == [t.id for t in jm.touchpoints if t.stage == stage.id]
        assert len({n["x"] for n in column}) == 1
        assert [n["y"] for n in column] == sorted(n["y"] for n in column)
    xs = [next(n["x"] for n in nodes if n["stage"] == s.id) for s in jm.stages]
    assert xs == sorted(xs) and len(set(xs)) == len(stage_x)


def test_elements_carry_the_scene_ids_and_classes(tiny: jg.JourneyMap) -> None:
    data = page_data(tiny)
    by_id = {n["id"]: n for n in data["nodes"]}
    assert by_id["ad"]["dom"] == "tp-ad" and by_id["ad"]["cls"] == ["touchpoint"]
    assert by_id["buy"]["cls"] == ["outcome", "conversion"]
    move = next(m for m in data["moves"] if (m["from"], m["to"]) == ("ad", "gone"))
    assert move["dom"] == "move-ad-to-gone"
    assert move["cls"] == ["move", "exit", "churn"]


# -- diffs --------------------------------------------------------------------------


def test_diff_has_three_states_of_one_layout() -> None:
    current = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    future = jg.load(EXAMPLES / "retail_five_a_future.yaml")
    diff = jg.compare(current, future)
    data = page_data(diff)
    assert data["states"] == ["current", "future", "change"]
    status = {n["id"]: n["status"] for n in data["nodes"]}
    for tp in diff.touchpoints_added:
        assert status[tp] == "added"
    for tp in diff.touchpoints_removed:
        assert status[tp] == "removed"
    for change in diff.touchpoints_changed:
        assert status[change.touchpoint] in ("changed", "added", "removed")
    present_now, present_then = (set(p) for p in data["present"])
    assert not set(diff.touchpoints_added) & present_now
    assert not set(diff.touchpoints_removed) & present_then
    moves = {(m["from"], m["to"]): m for m in data["moves"]}
    for m in diff.moves_added:
        assert moves[(m.source, m.target)]["v"][0] is None
        assert moves[(m.source, m.target)]["status"] == "added"
    for (a, b), flow in diff.future_analysis.move_flows.items():
        assert_allclose(moves[(a, b)]["v"][1], flow, rtol=1e-12)
    for (a, b), flow in diff.current_analysis.move_flows.items():
        assert_allclose(moves[(a, b)]["v"][0], flow, rtol=1e-12)
    # Headline deltas are the diff's metrics.
    before, after = data["headline"]
    for key, metric in (("conversion", "conversion"), ("churn", "churn")):
        assert_allclose(before[key], diff.metrics[metric].before, rtol=1e-12)
        assert_allclose(after[key], diff.metrics[metric].after, rtol=1e-12)
    # Removal effects per state are the MapDiff's touchpoint metrics.
    for tp, metrics in diff.touchpoint_metrics.items():
        effect = metrics["removal_effect"]
        if effect.before is not None:
            assert_allclose(data["figures"][0][tp]["removal"], effect.before, rtol=1e-12)
        if effect.after is not None:
            assert_allclose(data["figures"][1][tp]["removal"], effect.after, rtol=1e-12)


def test_renamed_touchpoint_is_one_node_not_added_and_removed(tiny: jg.JourneyMap) -> None:
    renamed = jg.loads(
        (ROOT / "tests" / "data" / "good" / "tiny.yaml")
        .read_text()
        .replace("id: shop", "id: store")
        .replace("from: shop", "from: store")
        .replace("to: shop", "to: store")
        .replace("shop: 1", "store: 1"),
        format="yaml",
    )
    data = page_data(jg.compare(tiny, renamed, renames={"shop": "store"}))
    tps = [n for n in data["nodes"] if n["kind"] == "touchpoint"]
    assert [n["id"] for n in tps] == ["ad", "store"]
    assert all(n["status"] != "added" and n["status"] != "removed" for n in tps)
    assert ["store", "id", "shop", "store"] in data["changes"]
    # The same figures in both states: nothing but the id changed.
    assert_allclose(data["figures"][0]["store"]["removal"], 1.0, rtol=1e-12)
    assert_allclose(data["figures"][1]["store"]["removal"], 1.0, rtol=1e-12)


# -- intervals ------------------------------------------------------------------------


def test_intervals_reach_the_page(tiny: jg.JourneyMap) -> None:
    ci = jg.credible_intervals(tiny, draws=200, seed=0, removal_effects=True)
    data = page_data(tiny, intervals=ci)
    assert data["interval_level"] == ci.level
    ad = data["figures"][0]["ad"]
    assert ad["leak_ci"] == [
        ci.leaks_by_touchpoint["ad"].flow.lower,
        ci.leaks_by_touchpoint["ad"].flow.upper,
    ]
    assert ci.removal_effects is not None
    assert ad["removal_ci"] == [ci.removal_effects["ad"].lower, ci.removal_effects["ad"].upper]
    head = data["headline"][0]["ci"]["conversion"]
    assert head == [ci.conversion_probability.lower, ci.conversion_probability.upper]


# -- safety: data, not markup -----------------------------------------------------------


def test_json_for_script_cannot_end_the_block() -> None:
    text = json_for_script({"x": HOSTILE})
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == {"x": HOSTILE}


def test_user_strings_are_only_in_the_data_block() -> None:
    jm = hostile_map()
    html = jg.explore(jm)
    block = data_block(html)
    outside = html.replace(block, "")
    for name in HOSTILE:
        assert name not in outside
    for fragment in ("__pwned", "onerror", "javascript:", "{{"):
        assert fragment not in outside
    data = json.loads(block)
    assert data == json.loads(json.dumps(page_data(jm)))
    assert data["title"] == HOSTILE[0]
    # One data block and exactly two scripts in the page: the data and our own.
    assert html.count("<script") == 2 and html.count("</script>") == 2


def test_csp_forbids_the_network_and_names_exactly_our_script_and_style(
    tiny: jg.JourneyMap,
) -> None:
    html = jg.explore(tiny)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = dict((part.split()[0], part.split()[1:]) for part in csp.group(1).split("; ") if part)
    assert policy["default-src"] == ["'none'"] and policy["connect-src"] == ["'none'"]
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1

    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["script-src"] == [sha(scripts[0])]
    assert policy["style-src"] == [sha(styles[0])]
    # No reference to anything outside the file.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


# -- words ------------------------------------------------------------------------------


def test_every_language_has_every_word(tiny: jg.JourneyMap) -> None:
    from journeygraph.draw import words

    # The explorer's words live in the one language table (draw/words.py), each of them
    # translated (not the English fallback).
    assert set(words._KO_EXPLORE) == set(words._EN_EXPLORE)
    page_words = {lang: page_data(tiny, lang=lang)["words"] for lang in LANGS}
    assert (
        set(page_words["ko"])
        == set(page_words["en"])
        == {k.removeprefix("explore_") for k in words._EN_EXPLORE}
    )
    assert page_words["ko"]["conversion"] == "전환"
    assert page_words["en"]["conversion"] == "Conversion"
    # Placeholders match, so a translation cannot drop a number.
    for key, text in page_words["en"].items():
        ko = page_words["ko"][key]
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", ko))
    assert '<html lang="ko">' in jg.explore(tiny, lang="ko")


# -- the file and bad input -----------------------------------------------------------


def test_writes_the_page_atomically_and_returns_it(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    target = tmp_path / "journey.html"
    html = jg.explore(tiny, target)
    assert target.read_text(encoding="utf-8") == html
    assert [p.name for p in tmp_path.iterdir()] == ["journey.html"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lang": "fr"}, jg.RenderError, "lang='fr' is not a shipped language; use one of en, ko"),
        ({"lang": None}, jg.RenderError, "lang=None"),
        ({"path": "map.svg"}, jg.RenderError, r"map\.svg.*\.html"),
        ({"intervals": {"conversion": 1}}, TypeError, "intervals must be CredibleIntervals"),
        ({"path": 3}, TypeError, "path must be a file path"),
    ],
)
def test_bad_arguments_are_one_clear_error(
    tiny: jg.JourneyMap, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        jg.explore(tiny, **kwargs)


def test_bad_objects_and_mismatched_intervals(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="obj must be a JourneyMap"):
        jg.explore(42, tmp_path / "x.html")  # type: ignore[arg-type]
    other = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    ci = jg.credible_intervals(tiny, draws=50, seed=0)
    with pytest.raises(jg.RenderError, match="not of this map"):
        jg.explore(other, intervals=ci)
    with pytest.raises(jg.RenderError, match="comparison takes no intervals"):
        jg.explore(jg.compare(tiny, tiny), intervals=ci)
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(jg.RenderError, match="is a folder"):
        jg.explore(tiny, tmp_path / "folder.html")
    with pytest.raises(jg.JourneyGraphError, match="does not exist"):
        jg.explore(tiny, tmp_path / "missing" / "x.html")
    assert not list(tmp_path.glob("*.tmp"))


def test_dropoff_follows_the_analysis_entry(tiny: jg.JourneyMap) -> None:
    # Starting at shop: visits are row shop of N = (0.2, 1) / 0.88 = (5/22, 25/22).
    aware, act = page_data(jg.analyze(tiny, entry="shop"))["dropoff"][0]
    assert_allclose([aware["arrivals"], act["arrivals"]], [5 / 22, 25 / 22], rtol=1e-12)


def test_long_names_are_shortened_on_the_page(tiny: jg.JourneyMap) -> None:
    long_name = "Customer support " * 600  # ~10,000 characters
    jm = tiny.model_copy(
        update={
            "touchpoints": (
                tiny.touchpoints[0].model_copy(update={"name": long_name}),
                tiny.touchpoints[1],
            )
        }
    )
    node = next(n for n in page_data(jm)["nodes"] if n["id"] == "ad")
    assert len(node["label"]) == 200 and node["label"].endswith("…")
    assert len(node["lines"]) == 3 and node["lines"][-1].endswith("…")
    assert len(jg.explore(jm)) < len(jg.explore(tiny)) + 1_000


def _nested(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner) | st.dictionaries(st.text(), inner)


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.text(), _nested))
def test_json_for_script_is_safe_for_any_text(value: Any) -> None:
    text = json_for_script(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value


def test_a_path_to_a_map_file_is_a_map() -> None:
    # Every function that takes a map also takes a path to a map file (issue #13).
    path = DATA / "good" / "tiny.yaml"
    assert jg.explore(path) == jg.explore(jg.load(path))
    with pytest.raises(jg.MapError, match="no such file"):
        jg.explore(path.with_name("missing.yaml"))
