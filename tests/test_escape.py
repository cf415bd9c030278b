"""Graphviz escapes and bidi controls in user text (issue #17), in the SVG and the helpers.

Graphviz expands ``\\N``, ``\\G``, ``\\E``, ``\\T``, ``\\H``, ``\\L`` and turns ``\\n``,
``\\l``, ``\\r`` into line breaks, in labels and in tooltips; the expected texts below
are the names as written (the source of each expectation is the map built here).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import journeygraph as jg
from journeygraph._escape import escape_id, escape_text, one_line, strip_bidi

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
ESCAPES = ["\\N", "\\G", "\\E", "\\T", "\\H", "\\L", "\\l", "\\r", "\\n"]
BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u2066", "\u2067", "\u2068", "\u200f", "\u061c"]


def _svg(jm: jg.JourneyMap) -> str:
    """The diagram as SVG by whichever Graphviz is there (system or WebAssembly)."""
    try:
        return str(jg.render(jm, format="svg"))
    except jg.RenderError as exc:  # pragma: no cover - machines without any Graphviz
        pytest.skip(f"no Graphviz to render SVG: {exc}")


def _map(ad_name: str, map_name: str = "escapes") -> jg.JourneyMap:
    return jg.JourneyMap(
        name=map_name,
        stages=[{"id": "aware", "name": "Aware"}, {"id": "act", "name": "Act"}],
        touchpoints=[
            {"id": "ad", "name": ad_name, "stage": "aware"},
            {"id": "shop", "name": "Shop", "stage": "act"},
        ],
        outcomes=[{"id": "buy", "kind": "conversion"}, {"id": "gone", "kind": "churn"}],
        entry={"ad": 1},
        moves=[
            {"from": "ad", "to": "shop", "weight": 3},
            {"from": "ad", "to": "gone", "weight": 1},
            {"from": "shop", "to": "buy", "weight": 1},
        ],
    )


def _shown(svg: str) -> tuple[list[str], list[str]]:
    """Drawn texts and tooltips as a reader sees them (the invisible U+2060 removed)."""
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()).replace("\u2060", "") for t in root.iter(f"{SVG}text")]
    tips = [
        (a.get(f"{XLINK}title") or "").replace("\u2060", "")
        for a in root.iter()
        if a.get(f"{XLINK}title") is not None
    ]
    return texts, tips


@pytest.mark.parametrize("escape", ESCAPES)
def test_graphviz_escapes_in_a_name_stay_literal(escape: str) -> None:
    name = f"Zq{escape} Bq"
    svg = _svg(_map(name))
    texts, tips = _shown(svg)
    assert name in texts  # the label shows the name as written
    node_tips = [t for t in tips if t.startswith(name)]
    assert node_tips, tips  # the node's tooltip starts with the name as written
    edge_tip = f"{name} → Shop: 75%"  # move ad -> shop: 3 / (3 + 1)
    assert any(t.startswith(edge_tip) for t in tips), tips
    # No other object's name or id was substituted into any text
    for text in [*texts, *tips]:
        if "Zq" in text:
            assert "escapes" not in text and "ad->shop" not in text and "Legend" not in text


def test_five_thousand_escapes_do_not_blow_up_a_tooltip() -> None:
    name = "\\L" * 5_000  # 10,000 characters
    svg = _svg(_map("Ad", map_name=name))
    _, tips = _shown(svg)
    assert name in tips  # the map's tooltip holds the name once, as written
    # Before the fix each \L expanded to the label: one tooltip of ~600,000 characters.
    assert max(len(t) for t in tips) < 11_000
    assert len(svg) < 200_000


@pytest.mark.parametrize("control", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_bidi_controls_from_a_name_are_removed(control: str) -> None:
    svg = _svg(_map(f"Ad{control} x"))
    assert control not in svg
    texts, tips = _shown(svg)
    assert "Ad x" in texts
    assert any(t.startswith("Ad x → Shop: 75%") for t in tips)  # 3 / (3 + 1), in order


def test_canvas_removes_bidi_controls_too() -> None:
    svg = str(jg.render(_map("Ad\u202e 12%"), view="canvas", format="svg"))
    assert "\u202e" not in svg and "Ad 12%" in svg


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("keep_lines", [False, True])
def test_escape_text_leaves_no_backslash_before_a_letter(escape: str, keep_lines: bool) -> None:
    text = f"a{escape}b \\\\{escape} end\\"
    out = escape_text(text, target="dot")
    # every backslash of the text is doubled and followed by U+2060
    assert re.search(r"\\[A-Za-z]", out.replace("\\\\\u2060", "")) is None
    assert out.replace("\\\\\u2060", "\\") == one_line(text)
    # XML text is not read by Graphviz: backslashes stay as they are
    assert escape_text(text, target="xml", keep_lines=keep_lines) == text


def test_escape_text_strips_bidi_controls() -> None:
    for control in BIDI:
        assert escape_text(f"12{control}%", target="dot") == "12%"
        assert escape_text(f"12{control}%\nx", target="xml", keep_lines=True) == "12%\nx"
        assert strip_bidi(f"a{control}b") == "ab"
    # right-to-left letters are kept
    assert escape_text("الدفع 12%", target="xml") == "الدفع 12%"


def test_escape_id_keeps_distinct_ids_distinct() -> None:
    ids = ["a\\Lb", "a\\\\Lb", "a\\\u2060Lb", "aLb", "a\\"]
    escaped = [escape_id(i, target="dot") for i in ids]
    assert len(set(escaped)) == len(ids)
    assert all(re.search(r"\\[A-Za-z]", e.replace("\\\\\u2060", "")) is None for e in escaped)
    for control in BIDI:
        with pytest.raises(ValueError, match="bidirectional"):
            escape_id(f"a{control}", target="dot")
