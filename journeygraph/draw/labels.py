"""Edge percentage labels placed where they collide with nothing, with a white halo.

Graphviz puts an edge's label near the middle of its route, without regard for the
boxes, loss lines, titles or other labels it lands on. :func:`place_labels` takes the
SVG Graphviz wrote for :func:`journeygraph.draw.dot.write_dot` and, for each edge
label in turn, keeps it where it is if it is free, else slides it along its own line
to the nearest free place, else leaves it out (the line keeps its tooltip with the
value; the diagram's note says so). Kept labels are moved to the end of the drawing,
so no later line crosses them, and get a white halo (``paint-order="stroke"``).

Text extents come from :func:`journeygraph.draw.text.em`, the estimate the writers
size boxes with. See ``docs/rendering.md``.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from journeygraph.draw.text import em

__all__ = ["PlacedLabels", "Rect", "place_labels", "shape_boxes", "text_boxes"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
_TEXT = re.compile(r"<text\b([^>]*)>(.*?)</text>", re.S)
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')
_CLASS = re.compile(r'<g id="[^"]*" class="([^"]*)"')
_SHAPE = re.compile(r"<(?:polygon|ellipse|path|polyline)\b[^>]*>")
_LABEL_GROUP = re.compile(r'<g id="a_[^"]*-label">.*?</g>\n?', re.S)
#: Free space kept around a label (px).
_PAD = 2.0
#: The halo behind a label's text.
HALO = 'stroke="white" stroke-width="3.5" stroke-linejoin="round" paint-order="stroke"'


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned box in the SVG's coordinates (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Rect, pad: float = 0.0) -> bool:
        """Whether the two boxes share an area wider than ``-pad`` on both axes.

        Examples
        --------
        >>> Rect(0, 0, 10, 10).overlaps(Rect(9, 9, 20, 20))
        True
        >>> Rect(0, 0, 10, 10).overlaps(Rect(11, 0, 20, 10))
        False
        """
        return (
            self.left < other.right + pad
            and other.left < self.right + pad
            and self.top < other.bottom + pad
            and other.top < self.bottom + pad
        )


@dataclass(frozen=True, slots=True)
class PlacedLabels:
    """The SVG with its edge labels placed, and how many were moved and left out."""

    svg: str
    moved: int
    dropped: int


def _split(svg: str) -> list[str]:
    """The SVG cut before each node, edge and cluster group (clusters have no comment)."""
    return re.split(r'(?=<!-- |<g id="[^"]*" class="cluster)', svg)


def _attrs(raw: str) -> dict[str, str]:
    return dict(_ATTR.findall(raw))


def _text_rect(attrs: dict[str, str], content: str) -> Rect | None:
    """The estimated extent of one ``<text>`` element (baseline at ``y``)."""
    try:
        x, y = float(attrs["x"]), float(attrs["y"])
        size = float(attrs.get("font-size", "14"))
    except (KeyError, ValueError):
        return None
    text = html.unescape(content)
    if not text.strip():
        return None
    w = em(text) * size
    anchor = attrs.get("text-anchor", "start")
    left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
    return Rect(left, y - 0.8 * size, left + w, y + 0.25 * size)


def text_boxes(svg: str) -> list[tuple[str, str, Rect]]:
    """(class of its group, text, extent) of every ``<text>`` in a Graphviz SVG.

    Examples
    --------
    >>> svg = '<g id="n" class="node loss"><text text-anchor="start" x="0" y="10" '
    >>> svg += 'font-size="10">ab</text></g>'
    >>> [(c, t) for c, t, _ in text_boxes(svg)]
    [('node loss', 'ab')]
    """
    out = []
    for chunk in _split(svg):
        m = _CLASS.search(chunk)
        cls = m.group(1) if m else ""
        for raw, content in _TEXT.findall(chunk):
            rect = _text_rect(_attrs(raw), content)
            if rect is not None:
                out.append((cls, html.unescape(content), rect))
    return out


def shape_boxes(svg: str) -> list[tuple[str, Rect]]:
    """(class of its group, extent) of every drawn node and cluster of a Graphviz SVG.

    Examples
    --------
    >>> svg = '<!-- a --><g id="a" class="node touchpoint"><polygon fill="white" '
    >>> svg += 'points="0,0 10,0 10,-5 0,-5"/></g>'
    >>> shape_boxes(svg)
    [('node touchpoint', Rect(left=0.0, top=-5.0, right=10.0, bottom=0.0))]
    """
    out = []
    for chunk in _split(svg):
        m = _CLASS.search(chunk)
        cls = m.group(1) if m else ""
        if not ({"node", "cluster"} & set(cls.split())):
            continue
        rect = _shape_rect(chunk)
        if rect is not None:
            out.append((cls, rect))
    return out


def _shape_rect(chunk: str) -> Rect | None:
    xs: list[float] = []
    ys: list[float] = []
    for tag in _SHAPE.findall(chunk):
        attrs = _attrs(tag)
        if attrs.get("fill") == "none" and attrs.get("stroke") in ("none", "transparent"):
            continue
        raw = attrs.get("points") or attrs.get("d") or ""
        nums = [float(v) for v in _NUMBER.findall(raw)]
        xs.extend(nums[0::2])
        ys.extend(nums[1::2])
    if not xs:
        return None
    return Rect(min(xs), min(ys), max(xs), max(ys))


def _route(chunk: str) -> list[tuple[float, float]]:
    """Points along an edge's drawn path (its cubic Bézier segments, sampled)."""
    m = re.search(r'<path\b[^>]*\bd="([^"]*)"', chunk)
    if m is None:
        return []
    nums = [float(v) for v in _NUMBER.findall(m.group(1))]
    pts = list(zip(nums[0::2], nums[1::2], strict=False))
    out: list[tuple[float, float]] = []
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i : i + 4]
        for k in range(12):
            t = k / 12
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            out.append(
                (
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )
    if pts:
        out.append(pts[-1])
    return out


def place_labels(svg: str) -> PlacedLabels:
    """Move each edge label of a Graphviz SVG off boxes and other text, or leave it out.

    Parameters
    ----------
    svg
        The SVG Graphviz wrote for :func:`journeygraph.draw.dot.write_dot`.

    Returns
    -------
    PlacedLabels
        The new SVG, and the counts of moved and dropped labels.

    Examples
    --------
    >>> placed = place_labels("<svg></svg>")
    >>> placed.svg, placed.moved, placed.dropped
    ('<svg></svg>', 0, 0)
    """
    chunks = _split(svg)
    obstacles: list[Rect] = []
    edges: list[int] = []
    for i, chunk in enumerate(chunks):
        m = _CLASS.search(chunk)
        cls = (m.group(1) if m else "").split()
        if "edge" in cls:
            if "legend" in cls:
                rect = _shape_rect(chunk)
                if rect is not None:
                    obstacles.append(rect)
            if _LABEL_GROUP.search(chunk) or ("legend" not in cls and _TEXT.search(chunk)):
                edges.append(i)
            continue
        if "node" in cls and ("touchpoint" in cls or "outcome" in cls):
            rect = _shape_rect(chunk)
            if rect is not None:
                obstacles.append(rect)
        for raw, content in _TEXT.findall(chunk):
            rect = _text_rect(_attrs(raw), content)
            if rect is not None:
                obstacles.append(rect)
    # Loss lines under the boxes get the same halo: edges pass under them.
    for i, chunk in enumerate(chunks):
        m = _CLASS.search(chunk)
        if m and "loss" in m.group(1).split() and "node" in m.group(1).split():
            chunks[i] = chunk.replace("<text ", f"<text {HALO} ")
    moved = dropped = 0
    kept_groups: list[str] = []
    for i in edges:
        chunk = chunks[i]
        group = _LABEL_GROUP.search(chunk)
        block = group.group(0) if group else ""
        text_match = _TEXT.search(block or chunk)
        if text_match is None:
            continue
        raw, content = text_match.groups()
        attrs = _attrs(raw)
        rect = _text_rect(attrs, content)
        if rect is None:
            continue
        size = float(attrs.get("font-size", "14"))
        centre = ((rect.left + rect.right) / 2, (rect.top + rect.bottom) / 2)
        w, h = rect.right - rect.left, rect.bottom - rect.top
        candidates = [centre] + sorted(
            _route(chunk), key=lambda p: math.hypot(p[0] - centre[0], p[1] - centre[1])
        )
        chosen: Rect | None = None
        for k, (cx, cy) in enumerate(candidates):
            trial = rect if k == 0 else Rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if not any(trial.overlaps(o, _PAD) for o in obstacles):
                chosen = trial
                break
        if chosen is None:
            dropped += 1
            chunks[i] = (
                chunk.replace(block, "") if block else chunk.replace(text_match.group(0), "")
            )
            continue
        obstacles.append(chosen)
        x = (chosen.left + chosen.right) / 2
        y = chosen.top + 0.8 * size
        if chosen is not rect:
            moved += 1
        new_raw = re.sub(r'\bx="[^"]*"', f'x="{x:.2f}"', raw, count=1)
        new_raw = re.sub(r'\by="[^"]*"', f'y="{y:.2f}"', new_raw, count=1)
        new_raw = re.sub(r'\btext-anchor="[^"]*"', 'text-anchor="middle"', new_raw, count=1)
        new_text = f"<text{new_raw} {HALO}>{content}</text>"
        if block:
            chunks[i] = chunk.replace(block, "")
            kept_groups.append(block.replace(text_match.group(0), new_text))
        else:
            chunks[i] = chunk.replace(text_match.group(0), "")
            kept_groups.append(new_text + "\n")
    out = "".join(chunks)
    if kept_groups:
        end = out.rfind("</g>")
        if end >= 0:
            out = out[:end] + "".join(kept_groups) + out[end:]
    return PlacedLabels(out, moved, dropped)
