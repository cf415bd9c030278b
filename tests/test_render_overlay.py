"""The analysis overlay, the canvas view and diff diagrams of jg.render.

Independent references: expected flows, leaks and outcome probabilities come from the
dense numpy chain of tests/_reference.py (built from ``jm.moves``, not from
journeygraph.chain or analysis); diff annotations from ``jg.compare``'s MapDiff, whose
numbers tests/test_compare.py checks against analysing both maps separately, and here
again against two separate ``dense`` solutions. Drawn widths follow the documented rule
``0.6 + 4.4·sqrt(x / x_max)`` (docs/rendering.md), re-implemented below.
"""

from __future__ import annotations

import importlib
import itertools
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph._escape import escape_text, xml_chars
from journeygraph.draw import build_scene, palette
from journeygraph.draw.canvas import canvas_of_scene, render_canvas_comparison

from ._reference import dense
from .conftest import EXAMPLES
from .conftest import run_cli as run
from .test_render import _edges, _hostile_map, _svg_texts, needs_wasm

R = importlib.import_module("journeygraph.draw.graphviz")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
PAIRS = sorted(p.name[: -len("_current.yaml")] for p in EXAMPLES.glob("*_current.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
ADDED, REMOVED, CHANGED = (
    palette.colour("added"),
    palette.colour("removed"),
    palette.colour("changed"),
)


@pytest.fixture
def no_system_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the WebAssembly Graphviz even where the system one is installed."""
    monkeypatch.setattr(R.shutil, "which", lambda name: None)


def _nodes(dot: str) -> dict[str, str]:
    """Node statements of our DOT source: id -> attribute text."""
    found = {}
    for line in dot.splitlines():
        m = re.match(r'\s*"((?:[^"\\]|\\.)*)" \[(.*)\];$', line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _attr(attrs: str, name: str) -> str | None:
    m = re.search(rf'(?:^|, ){name}=("(?:[^"\\]|\\.)*"|[^,\]]+)', attrs)
    if m is None:
        return None
    value = m.group(1)
    return value[1:-1] if value.startswith('"') else value


def _title(dot: str) -> str:
    """The title block: the labels of the title nodes."""
    found = re.findall(r'^  " title \d+" \[label="((?:[^"\\]|\\.)*)"', dot, flags=re.M)
    assert found
    return " ".join(found).replace("\\l", " ")


def _width(x: float, top: float) -> str:
    """The documented width rule, formatted as render writes numbers (2 decimals)."""
    return f"{0.8 + 5.2 * math.sqrt(x / top):.2f}".rstrip("0").rstrip(".")


def _percent(x: float) -> str:
    """The documented label rule: whole percent from 9.5 %, one decimal above 0.1 %."""
    pct = 100 * x
    return f"{pct:.0f}%" if pct >= 9.5 else f"{pct:.1f}%" if pct >= 0.1 else "<0.1%"


def _dense_flows(jm: jg.JourneyMap) -> dict[tuple[str, str], float]:
    d = dense(jm)
    visits = d.entry @ d.N
    flows = {}
    for i, a in enumerate(d.tps):
        for j, b in enumerate(d.tps):
            if d.Q[i, j] > 0:
                flows[(a, b)] = float(visits[i] * d.Q[i, j])
        for k, o in enumerate(d.outs):
            if d.R[i, k] > 0:
                flows[(a, o)] = float(visits[i] * d.R[i, k])
    return flows


# -- step 1: the analysis overlay -----------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_widths_and_labels_follow_the_expected_flows(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    reference = _dense_flows(jm)
    assert set(reference) == set(res.move_flows)
    assert_allclose([res.move_flows[k] for k in reference], list(reference.values()), rtol=1e-9)
    dot = str(jg.render(jm, format="dot", analysis=res, min_flow=0, edge_labels=True))
    edges = _edges(dot)
    kinds = jm.move_kinds()
    conversions = {o.id for o in jm.outcomes_of_kind("conversion")}
    drawn = {k: f for k, f in reference.items() if kinds[k] != "exit" or k[1] in conversions}
    assert set(edges) == set(drawn)  # losses are read at their source, not drawn as edges
    top = max(drawn.values())
    for key, flow in drawn.items():
        attrs = edges[key]
        assert _attr(attrs, "penwidth") == _width(flow, top), key
        assert _attr(attrs, "label") == _percent(flow), key
        assert f": {_percent(flow)} " in (_attr(attrs, "tooltip") or "")
    # The same through render(analysis) alone.
    assert jg.render(res, format="dot", min_flow=0, edge_labels=True) == dot


@pytest.mark.parametrize("path", EXAMPLE_FILES[::3], ids=[p.name for p in EXAMPLE_FILES[::3]])
def test_min_flow_applies_to_flows(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    # Equal to the dense reference (test above); edges are the moves between
    # touchpoints and into conversions (losses are lines under their touchpoint).
    conversions = {o.id for o in jm.outcomes_of_kind("conversion")}
    tps = {t.id for t in jm.touchpoints}
    flows = {k: f for k, f in res.move_flows.items() if k[1] in tps or k[1] in conversions}
    values = sorted(set(flows.values()))
    cut = (values[len(values) // 2] + values[len(values) // 2 + 1]) / 2  # no ties
    dot = str(jg.render(res, format="dot", min_flow=cut))
    # Kept: the flows at or above the cut, and each touchpoint's strongest way out and
    # (unless journeys start there) in, so no box is left without a move.
    strongest_out: dict[str, tuple[float, tuple[str, str]]] = {}
    strongest_in: dict[str, tuple[float, tuple[str, str]]] = {}
    for key, f in flows.items():
        if f > strongest_out.get(key[0], (-1.0, key))[0]:
            strongest_out[key[0]] = (f, key)
        if key[1] in tps and key[0] != key[1] and f > strongest_in.get(key[1], (-1.0, key))[0]:
            strongest_in[key[1]] = (f, key)
    kept = {k for k, f in flows.items() if f >= cut}
    kept |= {k for _, k in strongest_out.values()}
    kept |= {k for tp, (_, k) in strongest_in.items() if res.entry.get(tp, 0.0) <= 0}
    assert set(_edges(dot)) == kept
    assert f"{len(flows) - len(kept)} weaker moves hidden" in dot.replace("\\l", " ")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_leak_colours_rank_as_the_leaks_do(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    d = dense(jm)
    visits = d.entry @ d.N
    churn = d.R[:, d.kind_cols(jm, "churn")].sum(axis=1) * visits
    share = churn / churn.sum()
    nodes = _nodes(str(jg.render(res, format="dot")))

    def darkness(tp: str) -> int:
        colour = _attr(nodes[tp], "fillcolor")
        assert colour and colour.startswith("#")
        return -sum(int(colour[i : i + 2], 16) for i in (1, 3, 5))

    order = np.argsort(-share, kind="stable")
    ranked = [d.tps[i] for i in order]
    assert [x.touchpoint for x in res.leaks] == [t for t in ranked if share[d.tps.index(t)] > 0]
    dark = [darkness(t) for t in ranked]
    assert dark == sorted(dark, reverse=True)  # more churn, darker fill
    assert darkness(ranked[0]) > darkness(ranked[-1]) or share[order[-1]] == share[order[0]]
    # The top leaks are named and ranked on their boxes, with their churn under them.
    for rank, leak in enumerate(res.leaks[:3], start=1):
        assert f"leak #{rank}" in (_attr(nodes[leak.touchpoint], "label") or "")
    dot = str(jg.render(res, format="dot"))
    for i, tp in enumerate(d.tps):
        if churn[i] >= 0.0005:
            assert f"−{_percent(float(churn[i]))} lost" in dot, tp


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_headline_figures_equal_the_analysis(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    d = dense(jm)
    probs = d.entry @ d.B
    kind = {o.id: o.kind for o in jm.outcomes}
    by_kind = {
        k: sum(p for o, p in zip(d.outs, probs, strict=True) if kind[o] == k) for k in kind.values()
    }
    title = _title(str(jg.render(res, format="dot")))
    m = re.search(r"Conversion ([\d.]+)% · churn ([\d.]+)%(?: · competitors ([\d.]+)%)?", title)
    assert m, title
    assert m.group(1) == f"{100 * by_kind['conversion']:.1f}"
    assert m.group(1) == f"{100 * res.conversion_probability:.1f}"
    assert m.group(2) == f"{100 * by_kind.get('churn', 0.0):.1f}"
    if "competitor" in by_kind:
        assert m.group(3) == f"{100 * by_kind['competitor']:.1f}"
    else:
        assert m.group(3) is None


def test_overlay_is_refused_when_it_cannot_be_drawn(tiny: jg.JourneyMap) -> None:
    with pytest.raises(jg.RenderError, match="needs the analysis"):
        jg.render(tiny, format="dot", color_by="leaks")
    other = jg.load(EXAMPLES / "theme_park_current.yaml")
    with pytest.raises(jg.RenderError, match="not of map"):
        jg.render(tiny, format="dot", analysis=jg.analyze(other))
    with pytest.raises(jg.RenderError, match="view="):
        jg.render(tiny, format="dot", view="poster")  # type: ignore[arg-type]
    # An analysis of an equal map (loaded again) is fine.
    again = jg.JourneyMap.model_validate(tiny.model_dump(by_alias=True))
    res = jg.analyze(again)
    headline = f"Conversion {res.conversion_probability:.1%}"
    assert headline in str(jg.render(tiny, format="dot", analysis=res))


def test_entry_shares_follow_the_analysis_entry(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny, entry="shop")
    nodes = _nodes(str(jg.render(res, format="dot")))
    assert "100% start here" in (_attr(nodes["shop"], "label") or "")
    assert "start here" not in (_attr(nodes["ad"], "label") or "")
    plain = _nodes(str(jg.render(tiny, format="dot")))  # the map's entry: 3 : 1
    assert "75% start here" in (_attr(plain["ad"], "label") or "")
    assert "25% start here" in (_attr(plain["shop"], "label") or "")


@needs_wasm
def test_analysis_repr_svg_is_the_overlay(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    svg = res._repr_svg_()
    _, texts, _ = _svg_texts(svg)
    assert any(f"Conversion {res.conversion_probability:.1%}" in t for t in texts)


# -- step 2: the canvas view ------------------------------------------------------------


def test_canvas_view_routes_to_the_canvas(tmp_path: Path) -> None:
    jm = jg.load(EXAMPLES / "theme_park_current.yaml")
    res = jg.analyze(jm)
    out = tmp_path / "canvas.svg"
    svg = jg.render(jm, out, view="canvas", analysis=res)
    assert svg == canvas_of_scene(build_scene(res)) == out.read_text("utf-8")
    assert jg.render(res, view="canvas") == svg
    with pytest.raises(jg.RenderError, match="no DOT"):
        jg.render(jm, format="dot", view="canvas")


@pytest.mark.parametrize("path", EXAMPLE_FILES[:2], ids=[p.name for p in EXAMPLE_FILES[:2]])
def test_canvas_with_a_real_analysis_flags_its_top_leaks(path: Path) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    root = ET.fromstring(str(jg.render(jm, view="canvas", analysis=res)))
    flagged = {}
    for cell in root.iter(f"{SVG}g"):
        if not (cell.get("class") or "").startswith("cell") or cell.get("data-touchpoint") is None:
            continue
        for rect in cell.iter(f"{SVG}rect"):
            cls = rect.get("class") or ""
            if cls.startswith("top-leak"):
                flagged[int(cls.rsplit("-", 1)[1])] = cell.get("data-touchpoint")
    d = dense(jm)
    churn = (d.entry @ d.N) * d.R[:, d.kind_cols(jm, "churn")].sum(axis=1)
    expected = [d.tps[i] for i in np.argsort(-churn, kind="stable")[:3]]
    assert [flagged[k] for k in sorted(flagged)] == expected
    assert expected == [x.touchpoint for x in res.leaks[:3]]


def test_canvas_png_and_pdf_need_a_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    jm = jg.load(EXAMPLES / "theme_park_current.yaml")
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # import fails
    with pytest.raises(jg.RenderError, match=r"rsvg-convert.*cairosvg"):
        jg.render(jm, format="png", view="canvas")


@pytest.mark.skipif(R.shutil.which("rsvg-convert") is None, reason="needs rsvg-convert")
def test_canvas_png_and_pdf_with_rsvg_convert(tmp_path: Path) -> None:
    jm = jg.load(EXAMPLES / "theme_park_current.yaml")
    png = jg.render(jm, tmp_path / "c.png", view="canvas")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "c.png").read_bytes() == png
    pdf = jg.render(jm, format="pdf", view="canvas")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")


def test_canvas_png_with_cairosvg(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("cairosvg", reason="cairosvg (and the cairo library) not installed")
    monkeypatch.setattr(R.shutil, "which", lambda name: None)
    png = jg.render(jg.load(EXAMPLES / "theme_park_current.yaml"), format="png", view="canvas")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")


def test_one_escaping_helper_keeps_xml_valid() -> None:
    nasty = "a\x00b\x07c\ud800d\ufffee\uffff\nf <g> & 'h'"
    kept = escape_text(nasty, target="xml", keep_lines=True)
    assert kept == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd\nf &lt;g&gt; &amp; &#39;h&#39;"
    assert escape_text(nasty, target="dot") == "a b c\ufffdd\ufffde\ufffd f <g> &amp; 'h'"
    assert xml_chars("\t\n\r") == "\t\n\r"
    ET.fromstring(f"<t a='{kept}'>{kept}</t>")
    jm = _hostile_map().model_copy()  # canvas of hostile names, surrogate in a pain
    svg = canvas_of_scene(build_scene(jm))
    ET.fromstring(svg)
    dot = str(jg.render(jm, format="dot"))
    dot.encode("utf-8")


# -- step 3: diff diagrams ------------------------------------------------------------------


def _pair(journey: str, reverse: bool = False) -> jg.MapDiff:
    cur = jg.load(EXAMPLES / f"{journey}_current.yaml")
    fut = jg.load(EXAMPLES / f"{journey}_future.yaml")
    return jg.compare(fut, cur) if reverse else jg.compare(cur, fut)


def _pts(delta: float) -> str:
    return f"{100 * delta:+.1f} pts".replace("-", "−")


@pytest.mark.parametrize("reverse", [False, True], ids=["current->future", "future->current"])
@pytest.mark.parametrize("journey", PAIRS)
def test_diff_draws_every_added_and_removed_item_as_documented(journey: str, reverse: bool) -> None:
    diff = _pair(journey, reverse)
    dot = str(jg.render(diff, format="dot", edge_labels=True))
    nodes, edges = _nodes(dot), _edges(dot)
    assert diff.touchpoints_added if not reverse else diff.touchpoints_removed
    for tp in diff.touchpoints_added:  # outline, double border and a badge
        assert _attr(nodes[tp], "color") == ADDED and _attr(nodes[tp], "peripheries") == "2"
        assert (_attr(nodes[tp], "label") or "").startswith("NEW")
        assert "added" in (_attr(nodes[tp], "class") or "").split()
    for tp in diff.touchpoints_removed:
        assert _attr(nodes[tp], "color") == REMOVED
        assert "dashed" in (_attr(nodes[tp], "style") or "")
        assert (_attr(nodes[tp], "label") or "").startswith("REMOVED")
        assert "removed" in (_attr(nodes[tp], "class") or "").split()
    kinds = {(m.source, m.target): m.kind for m in build_scene(diff).moves}
    for m in diff.moves_added:
        attrs = edges.get((m.source, m.target))
        if attrs is None:  # a loss: read at its touchpoint, not an edge
            assert kinds[(m.source, m.target)] == "exit"
            continue
        assert _attr(attrs, "color") == ADDED and "added" in (_attr(attrs, "class") or "")
        assert ("dashed" in attrs) == (kinds[(m.source, m.target)] == "backtrack")
        assert (_attr(attrs, "label") or "").endswith(f"new {_percent(m.after or 0.0)}")
    for m in diff.moves_removed:
        attrs = edges.get((m.source, m.target))
        if attrs is None:
            assert kinds[(m.source, m.target)] == "exit"
            continue
        assert _attr(attrs, "color") == REMOVED and _attr(attrs, "style") == "dashed"
        assert (_attr(attrs, "label") or "").endswith(f"was {_percent(m.before or 0.0)}")
    big = set()
    for m in diff.moves_reweighted:
        attrs = edges.get((m.source, m.target))
        if attrs is None:
            continue
        if abs(m.delta) >= 0.01:  # changed by a point or more: outlined in orange
            big.add((m.source, m.target))
            assert _attr(attrs, "color") == CHANGED
            label = f"{_percent(m.after or 0.0)} ({_pts(m.delta)})"
            assert (_attr(attrs, "label") or "").endswith(label), (attrs, label)
    # Unchanged moves keep their kind's colour: nothing else is marked.
    marked = {(m.source, m.target) for m in (*diff.moves_added, *diff.moves_removed)} | big
    for key, attrs in edges.items():
        if key not in marked:
            assert _attr(attrs, "color") not in (ADDED, REMOVED, CHANGED), key


@pytest.mark.parametrize("journey", PAIRS)
def test_diff_annotations_equal_the_compared_numbers(journey: str) -> None:
    diff = _pair(journey)
    dot = str(jg.render(diff, format="dot"))
    nodes = _nodes(dot)
    # Leak per touchpoint: MapDiff's numbers, which equal two separate dense solutions.
    a, b = dense(diff.current), dense(diff.future)

    def leaks(d: object, jm: jg.JourneyMap) -> dict[str, float]:
        v = d.entry @ d.N  # type: ignore[attr-defined]
        out = d.R[:, d.kind_cols(jm, "churn")].sum(axis=1) * v  # type: ignore[attr-defined]
        return dict(zip(d.tps, map(float, out), strict=True))  # type: ignore[attr-defined]

    before, after = leaks(a, diff.current), leaks(b, diff.future)
    for tp, metrics in diff.touchpoint_metrics.items():
        leak = metrics["leak"]
        label = (_attr(nodes[tp], "label") or "").replace("\\n", " ")
        if leak.before is not None:
            assert_allclose(leak.before, before[tp], rtol=1e-9, atol=1e-15)
        if leak.after is not None:
            assert_allclose(leak.after, after[tp], rtol=1e-9, atol=1e-15)
        if leak.before is not None and leak.after is not None:
            text = f"leak {leak.before:.1%} → {leak.after:.1%}"
            assert (text in label) == (abs(leak.after - leak.before) >= 0.0005), (tp, label)
    title = _title(dot)
    for name, word in (("conversion", "Conversion"), ("churn", "churn")):
        m = diff.metrics[name]
        assert m.before is not None and m.after is not None
        text = f"{word} {m.before:.1%} → {m.after:.1%} ({_pts(m.after - m.before)})"
        assert text in title
    assert_allclose(diff.metrics["conversion"].before, a.conversion(diff.current), rtol=1e-9)  # type: ignore[arg-type]
    assert_allclose(diff.metrics["conversion"].after, b.conversion(diff.future), rtol=1e-9)  # type: ignore[arg-type]
    # Outcome totals before -> after, from the two dense solutions.
    totals_a, totals_b = a.entry @ a.B, b.entry @ b.B
    for k, o in enumerate(b.outs):
        if o in a.outs:
            shown = f"{totals_a[a.outs.index(o)]:.1%} → {totals_b[k]:.1%}"
            assert shown in (_attr(nodes[o], "label") or ""), o


def test_identical_maps_draw_no_diff_styling() -> None:
    jm = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    diff = jg.compare(jm, jm)
    dot = str(jg.render(diff, format="dot", edge_labels=True))
    nodes, drawn = _nodes(dot), _edges(dot)
    for tp in jm.touchpoints:
        label = _attr(nodes[tp.id], "label") or ""
        assert not label.startswith(("NEW", "REMOVED", "CHANGED")), label
        assert _attr(nodes[tp.id], "color") not in (ADDED, REMOVED, CHANGED)
    for attrs in drawn.values():
        assert _attr(attrs, "color") not in (ADDED, REMOVED, CHANGED)
        assert "new " not in (_attr(attrs, "label") or "") and "was " not in (
            _attr(attrs, "label") or ""
        )
    # The same moves, widths and labels as the map itself.
    plain = _edges(str(jg.render(jm, format="dot", edge_labels=True)))
    assert set(plain) == set(drawn)
    for key in plain:
        assert _attr(plain[key], "penwidth") == _attr(drawn[key], "penwidth")
        assert _attr(plain[key], "label") == _attr(drawn[key], "label")


def test_diff_canvas_view_and_refusals(tmp_path: Path) -> None:
    diff = _pair("theme_park")
    svg = jg.render(diff, tmp_path / "d.svg", view="canvas")
    assert svg == render_canvas_comparison(diff.current, diff.future)
    with pytest.raises(jg.RenderError, match="own analyses"):
        jg.render(diff, format="dot", analysis=diff.future_analysis)
    with pytest.raises(jg.RenderError, match="sentiment"):
        jg.render(diff, format="dot", color_by="leaks")


def _hostile_pair() -> jg.MapDiff:
    current = _hostile_map()
    data = current.model_dump(by_alias=True)
    gone = data["touchpoints"][3]["id"]
    data["touchpoints"] = [t for t in data["touchpoints"] if t["id"] != gone] + [
        dict(data["touchpoints"][3], id="new <script>x</script>", name="<img onerror=1>")
    ]
    data["moves"] = [m for m in data["moves"] if gone not in (m["from"], m["to"])]
    data["moves"] += [
        {"from": data["touchpoints"][2]["id"], "to": "new <script>x</script>", "weight": 2},
        {"from": "new <script>x</script>", "to": "win <a href='x'>", "weight": 1},
    ]
    ids = [t["id"] for t in data["touchpoints"]]
    data["moves"] += [
        {"from": x, "to": y, "weight": 1}
        for x, y in itertools.pairwise(ids[:-1])
        if {"from": x, "to": y, "weight": 1} not in data["moves"]
    ]
    seen = set()
    data["moves"] = [
        m
        for m in data["moves"]
        if (m["from"], m["to"]) not in seen and not seen.add((m["from"], m["to"]))  # type: ignore[func-returns-value]
    ]
    return jg.compare(current, jg.JourneyMap.model_validate(data))


def test_hostile_diff_dot_stays_inert() -> None:
    diff = _hostile_pair()
    assert diff.touchpoints_added and diff.touchpoints_removed
    dot = str(jg.render(diff, format="dot"))
    for line in dot.splitlines():
        stripped = line.strip()
        assert stripped in ("}", "") or stripped.endswith(("{", ";", ";}")), line
    assert "label=<" not in dot and "URL" not in dot


@needs_wasm
def test_diff_svg_is_well_formed_and_hostile_names_are_text(no_system_dot: None) -> None:
    for diff in (_pair("theme_park"), _hostile_pair()):
        svg = str(jg.render(diff))
        root, texts, _ = _svg_texts(svg)
        for element in root.iter():
            assert not element.tag.endswith("script")
            for name in element.attrib:
                local = name.rsplit("}", 1)[-1]
                assert not local.lower().startswith("on") and local not in ("href", "src")
        assert any(t.startswith("NEW") for t in texts)
    assert "<img onerror=1>" in texts
    assert svg == diff._repr_svg_()


# -- command line -------------------------------------------------------------------------


def test_cli_render_analysis_and_canvas(tmp_path: Path) -> None:
    path = EXAMPLES / "theme_park_current.yaml"
    result = run("render", str(path), "--analysis", "--color-by", "leaks", "--format", "dot")
    assert result.returncode == 0, result.stderr
    jm = jg.load(path)
    assert result.stdout == jg.render(jm, format="dot", analysis=jg.analyze(jm), color_by="leaks")
    assert run("render", str(path), "--color-by", "leaks", "--format", "dot").returncode == 2
    out = tmp_path / "c.svg"
    result = run("render", str(path), "--view", "canvas", "--analysis", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text("utf-8") == canvas_of_scene(build_scene(jg.analyze(jm)))


def test_cli_compare_writes_the_diff(tmp_path: Path) -> None:
    cur, fut = (str(EXAMPLES / f"b2b_saas_{s}.yaml") for s in ("current", "future"))
    out = tmp_path / "diff.dot"
    result = run("compare", cur, fut, "-o", str(out))
    assert result.returncode == 0, result.stderr
    diff = jg.compare(jg.load(cur), jg.load(fut))
    assert out.read_text("utf-8") == jg.render(diff, format="dot")
    assert f"wrote {out}" in result.stdout
    canvas = tmp_path / "diff.svg"
    result = run("compare", cur, fut, "-o", str(canvas), "--view", "canvas", "--json")
    assert result.returncode == 0, result.stderr
    assert canvas.read_text("utf-8") == render_canvas_comparison(diff.current, diff.future)
    bad = run("compare", cur, fut, "-o", str(tmp_path / "x.gif"))
    assert bad.returncode == 1 and "suffix" in bad.stderr


def test_big_diffs_label_the_changes_and_the_strongest_moves() -> None:
    diff = _pair("decision_journey")  # 94 moves: more than the 40 all labelled by default
    scene = build_scene(diff)
    drawn = _edges(str(jg.render(diff, format="dot")))
    assert len(drawn) > 40
    moves = {(m.source, m.target): m for m in scene.moves}
    marked = {
        k
        for k in drawn
        if moves[k].change in ("added", "removed")
        or (
            moves[k].change == "changed"
            and abs((moves[k].probability or 0) - (moves[k].probability_before or 0)) >= 0.01
        )
    }
    labelled = {k for k, attrs in drawn.items() if _attr(attrs, "label") is not None}
    assert marked <= labelled
    strongest = sorted(drawn, key=lambda k: -moves[k].strength)[:24]
    assert labelled == marked | set(strongest)
