"""What the diagrams look like at 1280 px, checked by a program (issue #11's polish).

For every example map (its analysis, and its current-vs-future diff), in both presets
and both languages, the rendered SVG is read back: each ``<text>`` element's extent is
estimated with the width measurer the writers use (:func:`journeygraph.draw.text.em`,
through :func:`journeygraph.draw.labels.text_boxes`), each node's and column's from its
drawn shape. The expected facts are geometric (no overlap, inside a column), so no
number here needs a source beyond the picture itself.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph.draw.labels import Rect, place_labels, shape_boxes, text_boxes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = sorted(p.name.removesuffix("_current.yaml") for p in EXAMPLES.glob("*_current.yaml"))
CASES = [
    (name, what, preset, lang)
    for name in NAMES
    for what in ("current", "future", "current map", "future map", "diff")
    for preset in ("full", "slide")
    for lang in ("en", "ko")
]


@functools.cache
def _svg(name: str, what: str, preset: str, lang: str) -> str:
    cur = jg.load(EXAMPLES / f"{name}_current.yaml")
    fut = jg.load(EXAMPLES / f"{name}_future.yaml")
    obj: jg.JourneyMap | jg.Analysis | jg.MapDiff
    if what == "diff":
        obj = jg.compare(cur, fut)
    elif what.endswith("map"):  # without an analysis
        obj = cur if what.startswith("current") else fut
    else:
        obj = jg.analyze(cur if what == "current" else fut)
    return str(jg.render(obj, preset=preset, lang=lang))  # type: ignore[arg-type]


def _size(svg: str) -> tuple[float, float]:
    m = re.search(r'viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', svg)
    assert m is not None
    return float(m.group(1)), float(m.group(2))


def _ids(case: tuple[str, str, str, str]) -> str:
    return "-".join(case)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_loss_lines_fit_their_column_and_the_picture(case: tuple[str, str, str, str]) -> None:
    svg = _svg(*case)
    width, height = _size(svg)
    columns = [r for cls, r in shape_boxes(svg) if "stage" in cls.split()]
    assert columns
    stubs = [(t, r) for cls, t, r in text_boxes(svg) if "loss" in cls.split()]
    assert stubs, "every example loses customers somewhere"
    for text, r in stubs:
        # Graphviz's y grows upwards from the bottom edge: the picture is y in [-height, 0].
        assert 0 <= r.left and r.right <= width and -height <= r.top and r.bottom <= 0, text
        centre = (r.left + r.right) / 2
        column = next(c for c in columns if c.left <= centre <= c.right)
        assert column.left - 0.5 <= r.left and r.right <= column.right + 0.5, (text, r, column)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_no_two_texts_overlap(case: tuple[str, str, str, str]) -> None:
    boxes = text_boxes(_svg(*case))
    assert len(boxes) > 20
    clashes = [
        (t1, t2)
        for (_, t1, r1), (_, t2, r2) in itertools.combinations(boxes, 2)
        if r1.overlaps(r2, pad=-1.0)
    ]
    assert not clashes


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_labels_and_loss_lines_stay_off_the_boxes(case: tuple[str, str, str, str]) -> None:
    svg = _svg(*case)
    boxes = [r for cls, r in shape_boxes(svg) if {"touchpoint", "outcome"} & set(cls.split())]
    loose = [(t, r) for cls, t, r in text_boxes(svg) if {"edge", "loss"} & set(cls.split())]
    assert loose
    clashes = [(t, b) for (t, r), b in itertools.product(loose, boxes) if r.overlaps(b, -1.0)]
    assert not clashes


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("name", NAMES)
def test_slides_use_their_height(name: str, lang: str) -> None:
    # The old slide left the bottom quarter empty: the legend note (the lowest text)
    # ended about 560 pt down a 720 pt slide. Now the rows spread until the note sits
    # on the bottom margin (16 pt), give or take a line. Diff slides too: they used to
    # grow past 720 pt (decision_journey 1446 x 813, theme_park 1322 x 744) because a
    # diff slide keeps every marked item; a crowded stage now gets two sub-columns.
    for what in ("current", "future", "current map", "future map", "diff"):
        svg = _svg(name, what, "slide", lang)
        width, height = _size(svg)
        assert (width, height) == (1280.0, 720.0), what
        lowest = max(r.bottom for _, _, r in text_boxes(svg))
        assert lowest > -60.0, (what, lowest)


def test_edge_labels_keep_the_ones_that_fit_and_get_a_halo() -> None:
    svg = str(jg.render(jg.analyze(jg.load(EXAMPLES / "retail_five_a_current.yaml"))))
    labels = re.findall(r"<text[^>]*paint-order=\"stroke\"[^>]*>([^<]*)</text>", svg)
    assert any(x.endswith("%") for x in labels)
    # Labels are drawn last, after every line and box.
    last_box = svg.rfind('class="node')
    assert svg.rfind('stroke="white" stroke-width="3.5"') > last_box


def _tiny_svg(label_x: float, box: tuple[float, float, float, float]) -> str:
    """A Graphviz-shaped SVG: one box, and one edge from (0,-50) to (200,-50) whose
    label "10%" (12 pt) sits at x=label_x on the line."""
    left, top, right, bottom = box
    return (
        '<svg><g id="g" class="graph">\n'
        '<!-- b -->\n<g id="b" class="node touchpoint">\n'
        f'<polygon fill="white" stroke="black" points="{left},{bottom} {right},{bottom} '
        f'{right},{top} {left},{top}"/>\n</g>\n'
        '<!-- e -->\n<g id="e" class="edge move forward">\n'
        '<g id="a_e"><a><path fill="none" stroke="black" '
        'd="M0,-50C66,-50 133,-50 200,-50"/></a></g>\n'
        '<g id="a_e&#45;label"><a><text text-anchor="middle" '
        f'x="{label_x}" y="-46" font-size="12.00">10%</text></a></g>\n'
        "</g>\n</g>\n</svg>\n"
    )


def test_place_labels_moves_a_covered_label_along_its_line() -> None:
    placed = place_labels(_tiny_svg(100, (80, -70, 120, -30)))
    assert (placed.moved, placed.dropped) == (1, 0)
    (_, _, r) = next(x for x in text_boxes(placed.svg) if x[1] == "10%")
    assert not r.overlaps(Rect(80, -70, 120, -30))
    assert 0 <= r.left and r.right <= 200  # still on its own line
    assert 'paint-order="stroke"' in placed.svg


def test_place_labels_leaves_out_a_label_with_no_room() -> None:
    placed = place_labels(_tiny_svg(100, (-20, -70, 220, -30)))
    assert (placed.moved, placed.dropped) == (0, 1)
    assert "10%" not in placed.svg


def test_place_labels_keeps_a_free_label_in_place() -> None:
    svg = _tiny_svg(100, (300, -70, 340, -30))
    placed = place_labels(svg)
    assert (placed.moved, placed.dropped) == (0, 0)
    assert 'x="100.00" y="-46.00"' in placed.svg
