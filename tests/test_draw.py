"""What an executive sees (issue #11), checked by a program.

Stage columns (one x per stage, titles on one top line), file order (y), outcome totals
(against a dense solution, tests/_reference.py), classes and ids on every SVG group, the
slide preset (16:9, text >= 12 px at 1280 px wide), Hangul text fitting its boxes,
rename-aware diffs in both views, Korean interface words, the palette under colour-blind
simulation (Machado, Oliveira & Fernandes 2009, severity 1) and the fitted-map layout time.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import journeygraph as jg
from journeygraph.draw import build_scene, palette
from journeygraph.draw.canvas import canvas_of_scene, render_canvas_comparison
from journeygraph.draw.scene import element_id
from journeygraph.draw.text import em
from journeygraph.draw.words import WORDS, word

from ._korean import KOREAN_FLOWS
from ._reference import dense
from ._sim_maps import fitted_b2b
from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

G = importlib.import_module("journeygraph.draw.graphviz")
SVG = "{http://www.w3.org/2000/svg}"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
PAIRS = sorted(p.name[: -len("_current.yaml")] for p in EXAMPLES.glob("*_current.yaml"))
WHEN = ("current", "future")

needs_wasm = pytest.mark.skipif(
    G._wasm_graphviz() is None, reason="needs the WebAssembly Graphviz (journeygraph[wasm])"
)


@pytest.fixture(autouse=True)
def wasm_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every picture here is laid out by the WebAssembly Graphviz alone."""
    monkeypatch.setattr(G.shutil, "which", lambda name: None)


def _groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g") if g.get("id")}


def _extent(g: ET.Element) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of a Graphviz node's or cluster's outline (path or polygon)."""
    numbers: list[float] = []
    for shape in g.iter():
        if shape.tag == f"{SVG}polygon":
            numbers += [float(v) for v in re.split(r"[ ,]+", shape.get("points", "").strip())]
        elif shape.tag == f"{SVG}path":
            numbers += [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", shape.get("d", ""))]
        if numbers:
            break
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), max(xs), min(ys), max(ys)


def _texts(g: ET.Element) -> list[ET.Element]:
    return list(g.iter(f"{SVG}text"))


# -- columns and order ------------------------------------------------------------------


@needs_wasm
@pytest.mark.parametrize("preset", ["full", "slide"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_stages_are_columns_in_order_and_touchpoints_keep_file_order(
    path: Path, preset: str
) -> None:
    jm = jg.load(path)
    svg = str(jg.render(jg.analyze(jm), preset=preset))  # type: ignore[arg-type]
    groups = _groups(svg)
    centres = []
    for stage in jm.stages:
        members = [t for t in jm.touchpoints if t.stage == stage.id]
        shown = [t for t in members if element_id("tp", t.id) in groups]
        assert shown or preset == "slide"
        boxes = [_extent(groups[element_id("tp", t.id)]) for t in shown]
        xs = {round((x0 + x1) / 2, 1) for x0, x1, _, _ in boxes}
        assert len(xs) == 1, (stage.id, xs)  # one column
        ys = [y0 for _, _, y0, _ in boxes]
        assert ys == sorted(ys), stage.id  # top to bottom in file order
        for (_, _, _, y1), (_, _, y0, _) in itertools.pairwise(boxes):
            assert y1 < y0  # no overlap
        centres.append(xs.pop())
    assert centres == sorted(centres) and len(set(centres)) == len(centres)
    outcome_x = [sum(_extent(groups[element_id("outcome", o.id)])[:2]) / 2 for o in jm.outcomes]
    assert min(outcome_x) > max(centres)
    # Stage titles on one shared top line.
    tops = {float(_texts(groups[element_id("stage", s.id)])[0].get("y", "nan")) for s in jm.stages}
    assert len(tops) == 1


@needs_wasm
@pytest.mark.parametrize("path", EXAMPLE_FILES[::2], ids=[p.name for p in EXAMPLE_FILES[::2]])
def test_outcomes_show_their_totals(path: Path) -> None:
    jm = jg.load(path)
    d = dense(jm)
    totals = d.entry @ d.B  # independent dense solution
    groups = _groups(str(jg.render(jm)))
    for o, p in zip(d.outs, totals, strict=True):
        texts = [t.text or "" for t in _texts(groups[element_id("outcome", o)])]
        assert f"{100 * p:.1f}%" in texts, (o, texts)


@needs_wasm
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("journey", PAIRS[:2])
def test_every_drawn_element_has_its_class_and_id(journey: str, reverse: bool) -> None:
    cur = jg.load(EXAMPLES / f"{journey}_current.yaml")
    fut = jg.load(EXAMPLES / f"{journey}_future.yaml")
    diff = jg.compare(fut, cur) if reverse else jg.compare(cur, fut)
    scene = build_scene(diff)
    groups = _groups(str(jg.render(diff, min_flow=0)))
    for item, word_ in (
        *((s, "stage") for s in scene.stages),
        *((t, "touchpoint") for t in scene.touchpoints),
        *((o, "outcome") for o in scene.outcomes),
    ):
        classes = (groups[item.element_id].get("class") or "").split()
        assert word_ in classes, item.element_id
        if item.change != "unchanged":
            assert item.change in classes, item.element_id
    conversions = {o.id for o in scene.outcomes if o.kind == "conversion"}
    tps = {t.id for t in scene.touchpoints}
    for m in scene.moves:
        if m.target in tps or m.target in conversions:
            classes = (groups[m.element_id].get("class") or "").split()
            assert {"move", m.kind} <= set(classes), m.element_id
            if m.change in ("added", "removed"):
                assert m.change in classes
    # Losses are read at their source: a "loss" element under each touchpoint that loses.
    losing = {x.touchpoint for x in scene.losses if (x.probability or 0) >= 0.0005}
    for tp in losing:
        loss = groups[f"loss-0-{element_id('tp', tp)}"]
        assert "loss" in (loss.get("class") or "").split(), tp
    marked = {t.change for t in scene.touchpoints} | {m.change for m in scene.moves}
    assert ("removed" if reverse else "added") in marked


# -- the slide preset ---------------------------------------------------------------------


def _smallest_px(svg: str) -> float:
    root = ET.fromstring(svg)
    width = float(root.get("viewBox", "0 0 1 1").split()[2])
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)', svg)]
    return min(sizes) * 1280 / width


WHATS = ("current", "future", "current analysis", "future analysis", "diff")


def _drawn(pair: str, what: str) -> jg.JourneyMap | jg.Analysis | jg.MapDiff:
    """One example pair's map, its analysis or the pair's diff (current vs future)."""
    cur = jg.load(EXAMPLES / f"{pair}_current.yaml")
    fut = jg.load(EXAMPLES / f"{pair}_future.yaml")
    if what == "diff":
        return jg.compare(cur, fut)
    jm = cur if what.startswith("current") else fut
    return jg.analyze(jm) if what.endswith("analysis") else jm


@needs_wasm
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("what", WHATS)
@pytest.mark.parametrize("pair", PAIRS)
def test_slides_are_16_9_and_readable_at_1280_px(pair: str, what: str, lang: str) -> None:
    # Every example pair: each map with and without its analysis, and the diff, in both
    # languages, as the diagram and as the canvas. Until the denser diff layout, the
    # decision_journey and theme_park diff slides were 1446 x 813 and 1322 x 744 pt
    # (10.6 and 11.6 px at 1280 wide) and b2b_saas's map slide 1327 x 746.
    obj = _drawn(pair, what)
    for view in ("graph", "canvas"):
        svg = str(jg.render(obj, preset="slide", lang=lang, view=view))  # type: ignore[arg-type]
        w, h = (float(v) for v in ET.fromstring(svg).get("viewBox", "").split()[2:])
        assert abs(w / h - 16 / 9) < 0.01, (view, w, h)
        assert _smallest_px(svg) >= 12 - 1e-9, view
        if view == "graph":
            assert (w, h) == (1280.0, 720.0)  # 16:9 at the slide's own size, not grown
    graph = str(jg.render(obj, preset="slide", lang=lang))
    note = " ".join(t.text or "" for t in _texts(_groups(graph)["legend-note"]))
    assert word(lang, "slide_hides") in note  # it says what it hides


def _x(g: ET.Element) -> float:
    x0, x1, _, _ = _extent(g)
    return round((x0 + x1) / 2, 1)


@needs_wasm
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_crowded_diff_slide_puts_new_touchpoints_beside_their_stage(lang: str) -> None:
    # decision_journey's "Active evaluation" has five current touchpoints (two changed,
    # ranked or called out) and two new ones: more than 720 pt hold in one column.
    diff = jg.compare(*(jg.load(EXAMPLES / f"decision_journey_{x}.yaml") for x in WHEN))
    scene = build_scene(diff)
    groups = _groups(str(jg.render(diff, preset="slide", lang=lang)))
    stage = next(s for s in scene.stages if s.id == "evaluate")
    column = scene.column(stage.index)
    drawn = [t for t in column if t.element_id in groups]
    old = [t for t in drawn if t.change != "added"]
    new = [t for t in drawn if t.change == "added"]
    assert [t.id for t in new] == ["comparison_tool", "dealer_follow_up"]
    # The current touchpoints keep their column and file order; the new ones stand in a
    # second column to their right, inside the stage.
    old_x, new_x = {_x(groups[t.element_id]) for t in old}, {_x(groups[t.element_id]) for t in new}
    assert len(old_x) == 1 and len(new_x) == 1 and old_x.pop() < new_x.pop()
    for part in (old, new):
        tops = [_extent(groups[t.element_id])[2] for t in part]
        assert tops == sorted(tops)
    x0, x1, _, _ = _extent(groups[stage.element_id])
    for t in drawn:
        bx0, bx1, _, _ = _extent(groups[t.element_id])
        assert x0 < bx0 and bx1 < x1, t.id
    # What is left out is unchanged, and the slide says so in the column and the note.
    hidden = [t for t in column if t.element_id not in groups]
    assert hidden and all(t.change == "unchanged" for t in hidden)
    fold = groups[f"fold-{stage.element_id}"]
    assert [x.text for x in _texts(fold)] == [word(lang, "folded_unchanged", count=len(hidden))]
    tip = " ".join(a.get("{http://www.w3.org/1999/xlink}title", "") for a in fold.iter(f"{SVG}a"))
    assert all(t.label in tip for t in hidden), tip
    note = " ".join(t.text or "" for t in _texts(groups["legend-note"]))
    assert word(lang, "hidden_touchpoints", count=len(hidden)) in note


@needs_wasm
def test_a_renamed_touchpoint_on_a_slide_says_what_it_was() -> None:
    # retail's "Checkout — account required" becomes "Checkout — guest checkout & wallet
    # pay": the box shows the new name, and a slide says only "was ..." (no room for
    # "name X → Y", which was cut before its arrow).
    diff = _drawn("retail_five_a", "diff")
    tp = build_scene(diff).touchpoint("checkout")
    assert tp.change == "changed" and "name" in {c.field for c in tp.changes}
    groups = _groups(str(jg.render(diff, preset="slide")))
    text = " ".join(t.text or "" for t in _texts(groups[tp.element_id]))
    assert "was Checkout — account required" in text, text
    assert "name Checkout" not in text


@needs_wasm
@pytest.mark.parametrize("preset", ["full", "slide"])
@pytest.mark.parametrize("pair", PAIRS)
def test_every_called_out_change_is_numbered_on_the_picture(pair: str, preset: str) -> None:
    # The three largest changes are listed under the title ("#1 ...") and numbered on
    # the box they start from, so each is found on the picture even where its line has
    # no room for a label; every marked item keeps its outline class and badge.
    diff = _drawn(pair, "diff")
    scene = build_scene(diff)
    groups = _groups(str(jg.render(diff, preset=preset)))  # type: ignore[arg-type]
    assert [c.rank for c in scene.callouts] == [1, 2, 3]
    for c in scene.callouts:
        words = " ".join(t.text or "" for t in _texts(groups[element_id("tp", c.source)]))
        assert f"#{c.rank}" in words.replace("·", " ").split(), (c, words)
    title = " ".join(
        t.text or "" for k, g in groups.items() if k.startswith("title") for t in _texts(g)
    )
    assert all(f"#{r}" in title for r in (1, 2, 3)), title
    for t in scene.touchpoints:
        if t.change != "unchanged" and t.element_id in groups:
            assert t.change in (groups[t.element_id].get("class") or "").split()
            badge = word("en", {"added": "new", "removed": "removed"}.get(t.change, t.change))
            assert badge in (_texts(groups[t.element_id])[0].text or ""), t.id


# -- text fitting ----------------------------------------------------------------------

KOREAN = jg.JourneyMap(
    name="온라인 쇼핑 고객 여정 — 현재",
    stages=[{"id": "인지", "name": "인지 단계"}, {"id": "구매", "name": "구매 및 결제 단계"}],
    touchpoints=[
        {"id": "광고", "name": "인스타그램 광고와 인플루언서 후기 영상", "stage": "인지"},
        {"id": "검색", "name": "네이버 검색 🔍 결과", "stage": "인지", "channel": "검색"},
        {"id": "장바구니", "name": "장바구니에서 쿠폰 적용하기 (할인 코드)", "stage": "구매"},
        {"id": "결제", "name": "결제 페이지 — 카드 및 간편결제 선택", "stage": "구매"},
    ],
    **KOREAN_FLOWS,
)


@needs_wasm
@pytest.mark.parametrize("preset", ["full", "slide"])
def test_hangul_labels_fit_their_boxes_in_the_diagram(preset: str) -> None:
    svg = str(jg.render(jg.analyze(KOREAN), preset=preset, lang="ko"))  # type: ignore[arg-type]
    groups = _groups(svg)
    for tp in KOREAN.touchpoints:
        g = groups[element_id("tp", tp.id)]
        x0, x1, _, _ = _extent(g)
        for t in _texts(g):
            size = float(t.get("font-size", "0"))
            # Hangul is 1 em wide in the fonts named (Noto Sans CJK KR: full-width).
            assert em(t.text or "") * size <= (x1 - x0) + 0.5, (tp.id, t.text)
    assert "font-family" in svg and "Noto Sans CJK KR" in svg
    assert "전환" in [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_hangul_labels_fit_their_cells_on_the_canvas() -> None:
    svg = canvas_of_scene(build_scene(jg.analyze(KOREAN)), lang="ko")
    root = ET.fromstring(svg)
    cells = [g for g in root.iter(f"{SVG}g") if "touchpoint" in (g.get("class") or "").split()]
    assert len(cells) == len(KOREAN.touchpoints)
    for cell in cells:
        rect = next(cell.iter(f"{SVG}rect"))
        width = float(rect.get("width", "0"))
        for text in cell.iter(f"{SVG}text"):
            size = float(text.get("font-size", "0"))
            bold = 1.1 if text.get("font-weight") == "bold" else 1.0
            for span in text.iter(f"{SVG}tspan"):
                assert em(span.text or "") * size * bold <= width, span.text
    assert "행동" in svg and "감정" in svg  # row titles in Korean


# -- diffs ------------------------------------------------------------------------------


def test_renames_show_as_changed_in_both_views(tiny: jg.JourneyMap) -> None:
    text = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8").replace("shop", "store")
    future = jg.loads(text)
    diff = jg.compare(tiny, future, renames={"shop": "store"})
    dot = str(jg.render(diff, format="dot"))
    store = re.search(r'^    "store" \[(.*)\];$', dot, flags=re.M)
    assert store and 'class="touchpoint changed"' in store.group(1)
    assert "renamed from shop" in store.group(1)
    assert '"shop"' not in dot  # not drawn as removed
    assert 'class="touchpoint added"' not in dot and 'class="touchpoint removed"' not in dot
    canvas = render_canvas_comparison(tiny, future, renames={"shop": "store"})
    root = ET.fromstring(canvas)
    marks = {
        (g.get("data-touchpoint"), g.get("data-change"))
        for g in root.iter(f"{SVG}g")
        if g.get("data-change")
    }
    assert marks == {("store", "changed")}
    # Without the rename, the canvas shows it removed and added: the same matching
    # as jg.compare's, never its own.
    plain = ET.fromstring(render_canvas_comparison(tiny, future))
    marks = {
        (g.get("data-touchpoint"), g.get("data-change"))
        for g in plain.iter(f"{SVG}g")
        if g.get("data-change")
    }
    assert marks == {("store", "added"), ("shop", "removed")}


def test_diff_keeps_the_current_layout_and_calls_out_the_largest_changes() -> None:
    cur = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    fut = jg.load(EXAMPLES / "b2b_saas_future.yaml")
    diff = jg.compare(cur, fut)
    dot = str(jg.render(diff, format="dot"))
    names = re.findall(r'^    "([^" ][^"]*)" \[label=', dot, flags=re.M)
    current = [t.id for t in sorted(cur.touchpoints, key=lambda t: cur.stage_position(t.stage))]
    assert [n for n in names if n in set(current)] == current  # the current map's order
    scene = build_scene(diff)
    assert len(scene.callouts) == 3
    for c in scene.callouts:
        assert f"#{c.rank} " in dot
    # The largest change by size, from the compared numbers directly.
    leak_changes = [abs(m["leak"].delta or 0.0) for m in diff.touchpoint_metrics.values()]
    flows_before = {k: v for k, v in diff.current_analysis.move_flows.items()}
    flow_changes = [
        abs(v - flows_before.get(k, 0.0))
        for k, v in diff.future_analysis.move_flows.items()
        if k[1] not in {o.id for o in fut.outcomes if o.kind != "conversion"}
    ]
    biggest = max(leak_changes + flow_changes)
    assert abs(abs(scene.callouts[0].after - scene.callouts[0].before) - biggest) < 1e-12


# -- words ------------------------------------------------------------------------------


def test_korean_table_covers_every_english_word() -> None:
    assert set(WORDS["ko"]) == set(WORDS["en"])
    own = {k for k, v in WORDS["ko"].items() if v != WORDS["en"][k]}
    assert len(own) > 0.9 * len(WORDS["en"])  # not silently English
    for key, text in WORDS["en"].items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", WORDS["ko"][key]))


def test_summary_and_cli_speak_korean(tmp_path: Path) -> None:
    cur, fut = (str(EXAMPLES / f"b2b_saas_{s}.yaml") for s in ("current", "future"))
    diff = jg.compare(jg.load(cur), jg.load(fut))
    ko = diff.summary(lang="ko")
    assert "전환" in ko and "이탈" in ko
    assert diff.summary() == diff.summary(lang="en")
    result = run("compare", cur, fut, "--lang", "ko")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ko
    out = tmp_path / "slide.dot"
    result = run("render", cur, "--analysis", "--preset", "slide", "--lang", "ko", "-o", str(out))
    assert result.returncode == 0, result.stderr
    jm = jg.load(cur)
    expected = jg.render(jg.analyze(jm), format="dot", preset="slide", lang="ko")
    assert out.read_text("utf-8") == expected
    assert run("render", cur, "--lang", "fr").returncode == 2


# -- colour -----------------------------------------------------------------------------

# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
# color vision deficiency", severity 1.0, applied to linear RGB.
MACHADO = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _lab(hex_colour: str, vision: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    rgb = np.clip(MACHADO[vision] @ linear, 0, 1)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ rgb
        / np.array([0.95047, 1.0, 1.08883])
    )  # sRGB D65 (IEC 61966-2-1)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", list(MACHADO))
def test_outcome_colours_stay_apart_for_colour_blind_readers(vision: str) -> None:
    # CIE76 distance; 10 is clearly visible side by side, we ask for 15.
    pairs = [
        ("conversion", "churn"),
        ("conversion", "competitor"),
        ("churn", "competitor"),
        ("added", "conversion"),  # a diff's added items are not the conversion colour
        ("added", "removed"),
        ("changed", "added"),
    ]
    for a, b in pairs:
        distance = np.linalg.norm(_lab(palette.colour(a), vision) - _lab(palette.colour(b), vision))
        assert distance >= 15, (vision, a, b, distance)
    # A second cue where colour carries meaning: every outcome kind has its own line style.
    assert len({palette.DASH[k] for k in ("conversion", "churn", "competitor")}) == 3
    assert palette.colour("leak") != palette.colour("competitor")


def test_small_text_colours_are_readable_on_white() -> None:
    def luminance(c: str) -> float:
        srgb = np.array([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        lin = np.where(srgb <= 0.03928, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
        return float(lin @ [0.2126, 0.7152, 0.0722])

    for meaning, colour in palette.TEXT.items():
        contrast = 1.05 / (luminance(colour) + 0.05)  # WCAG 2 contrast with white
        assert contrast >= 4.5, (meaning, contrast)


# -- fitted maps --------------------------------------------------------------------------


@functools.cache
def _fitted() -> jg.JourneyMap:
    """The B2B example's 50,000 simulated journeys (seed 0) fitted back, order 2."""
    return fitted_b2b(50_000)


@needs_wasm
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("preset", ["full", "slide"])
@pytest.mark.parametrize("analysed", [False, True], ids=["map", "analysis"])
def test_a_fitted_map_renders_in_both_presets_and_languages(
    analysed: bool, preset: str, lang: str
) -> None:
    pytest.importorskip("pyarrow", reason="fitting from columns needs pyarrow")
    fitted = _fitted()
    assert len(fitted.touchpoints) >= 50  # 53 order-2 states, 313 moves (seed 0)
    obj: jg.JourneyMap | jg.Analysis = jg.analyze(fitted) if analysed else fitted
    G.layout("digraph { a -> b }", "svg", timeout=60)  # start the WebAssembly once
    start = time.perf_counter()
    svg = str(jg.render(obj, preset=preset, lang=lang))  # type: ignore[arg-type]
    # A sanity bound only: the time itself is measured in tests/benchmarks/bench_render.py
    # (about 0.1-0.7 s here, docs/performance.md).
    assert time.perf_counter() - start < 20.0
    groups = _groups(svg)
    scene = build_scene(obj)
    drawn = [t for t in scene.touchpoints if t.element_id in groups]
    assert drawn
    if preset == "slide":
        w, h = (float(v) for v in ET.fromstring(svg).get("viewBox", "").split()[2:])
        assert (w, h) == (1280.0, 720.0)
        assert _smallest_px(svg) >= 12 - 1e-9
        hidden = len(scene.touchpoints) - len(drawn)
        note = " ".join(t.text or "" for t in _texts(groups["legend-note"]))
        assert word(lang, "hidden_touchpoints", count=hidden) in note
        folds = [g for k, g in groups.items() if k.startswith("fold-")]
        shown = [int(re.sub(r"\D", "", _texts(g)[0].text or "")) for g in folds]
        assert sum(shown) == hidden  # each column says how many it leaves out
    else:
        assert len(drawn) == len(scene.touchpoints)
    # Order-2 states are labelled by where they came from, on a line of their own, so
    # no two boxes read the same even where names are cut.
    names = []
    for t in drawn:
        lines = [x.text or "" for x in _texts(groups[t.element_id])]
        assert any(x.startswith("←") or " ← " in x for x in lines), lines
        names.append(tuple(lines))
    assert len(set(names)) == len(names)
    # No orphan boxes: every drawn touchpoint has a drawn way out (a move or a loss line)
    # and, unless journeys start there, a drawn way in.
    edges = [m for m in scene.moves if m.element_id in groups]
    for t in drawn:
        out = any(m.source == t.id for m in edges) or f"loss-0-{t.element_id}" in groups
        into = any(m.target == t.id and m.source != t.id for m in edges)
        assert out, t.id
        assert into or scene.entry.get(t.id, 0.0) > 0, t.id


@needs_wasm
def test_system_dot_and_webassembly_draw_the_same_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both back-ends keep our positions (nop2): the boxes agree to a fraction of a point.

    Measured with Debian's Graphviz 2.43 against the WebAssembly Graphviz 16.1: 0.16 pt
    at most on the B2B example (text baselines differ by a few points: font metrics).
    """
    import shutil as real_shutil

    monkeypatch.undo()  # this test wants the system dot, when there is one
    if real_shutil.which("dot") is None:
        pytest.skip("the system Graphviz is not installed (apt-get install graphviz)")
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    source = str(jg.render(jg.analyze(jm), format="dot", lang="ko"))
    system = G.layout(source, "svg", timeout=60, engine="nop2", backend="system").decode()
    wasm = G.layout(source, "svg", timeout=60, engine="nop2", backend="wasm").decode()
    a, b = _groups(system), _groups(wasm)
    ids = [k for k in b if k.startswith(("tp-", "outcome-", "stage-"))]
    assert len(ids) == len(jm.touchpoints) + len(jm.outcomes) + len(jm.stages)
    for k in ids:
        assert np.allclose(_extent(a[k]), _extent(b[k]), atol=0.5), k


def test_loss_lines_name_each_rival_by_what_tells_them_apart() -> None:
    # "Bought a Volta" / "Bought a Nordwagen": cut to a slide column, both read "Bought
    # a…"; without their shared first words every line still says which rival.
    res = jg.analyze(jg.load(EXAMPLES / "decision_journey_current.yaml"))
    svg = str(jg.render(res, format="svg", preset="slide"))
    texts = [t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert any(t.endswith("→ Nordwagen") for t in texts)
    assert not any(t.endswith("Bought a…") for t in texts)
    assert any(t == "Bought a Nordwagen" for t in texts)  # the outcome keeps its name


@pytest.mark.parametrize(("lang", "generic"), [("en", "a competitor"), ("ko", "경쟁사")])
def test_a_single_rivals_cut_name_becomes_a_competitor(lang: str, generic: str) -> None:
    # theme_park has one competitor, "Chose Lakeside World instead": cut to a slide
    # column it read "2.7% → Chose…", which names nothing. With one competitor, "a
    # competitor" is exact, and its outcome box (and the line's tooltip) names it.
    res = jg.analyze(jg.load(EXAMPLES / "theme_park_current.yaml"))
    svg = str(jg.render(res, format="svg", preset="slide", lang=lang))
    texts = [t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    losses = [t for t in texts if "→" in t and "%" in t]
    assert losses and all(t.endswith(f"→ {generic}") for t in losses), losses
    assert not any("Chose…" in t for t in texts)
    assert any("Lakeside World" in t for t in texts)  # the outcome keeps its name
