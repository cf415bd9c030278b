"""The explorer: one self-contained, offline, interactive HTML page of a journey.

``jg.explore(obj, "journey.html")`` writes a single HTML file for a map, an analysis or
a comparison. The file holds

- the page's data as JSON in a ``<script type="application/json">`` block (every user
  string travels only there, escaped so that no ``</script>``, ``<!--`` or line
  separator can end the block early),
- a small script and stylesheet of our own (``explorer.js``, ``explorer.css`` beside
  this module), inlined, and allowed by a Content-Security-Policy whose hashes name
  exactly them: nothing else runs, and nothing is fetched from the network.

The script draws the diagram as SVG from the data (stage columns, touchpoints in file
order, outcomes on the right), with pan and zoom, a flow threshold slider that says how
many moves it hides, touchpoint highlighting and a panel of its figures, sortable tables
of leaks, switching and removal effects, a drop-off view per stage, search, and for a
comparison the current, future and change states of one layout. User text reaches the
page only through ``textContent`` and ``setAttribute`` of non-URL attributes, never as
markup. See docs/explorer.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from journeygraph import _args
from journeygraph._escape import one_line, shorten
from journeygraph._files import atomic_write
from journeygraph.analysis import Analysis, analyze
from journeygraph.compare import MapDiff
from journeygraph.draw.palette import COLOURS, FILLS, INK, MUTED, TEXT
from journeygraph.draw.scene import Scene, build_scene
from journeygraph.draw.text import wrap
from journeygraph.draw.words import WORDS, check_lang
from journeygraph.errors import RenderError
from journeygraph.model import JourneyMap
from journeygraph.uncertainty import CredibleInterval, CredibleIntervals

__all__ = ["explore", "json_for_script", "page_data"]


#: Text limits (characters): a name is shown with at most ``_LABEL_LIMIT`` characters
#: anywhere on the page (then an ellipsis), a pain or a changed field with ``_NOTE_LIMIT``.
_LABEL_LIMIT = 200
_NOTE_LIMIT = 2_000

# Layout, in SVG user units (pixels at zoom 1).
_NODE_W = 140.0
_NODE_H = 72.0
_ROW = 86.0
_COLUMN = 200.0
_TOP = 64.0
_LEFT = 16.0
_OUTCOME_GAP = 40.0
# Text fitting: the box's text width and the font sizes explorer.css uses.
_LABEL_WIDTH = _NODE_W - 12
_LABEL_SIZE = 13.0
_LABEL_LINES = 3
_STAGE_SIZE = 13.0
#: A reweighted move is drawn as changed when its probability moves by at least this
#: (1 point, as MapDiff.summary counts them); smaller ripples are drawn as they are.
_CHANGED_MOVE = 0.01
_OUTCOME_ORDER = {"conversion": 0, "competitor": 1, "churn": 2}

# The script and stylesheet are inlined; the CSP names their hashes.
_CSP = (
    "default-src 'none'; script-src '{script}'; style-src '{style}'; img-src data:; "
    "connect-src 'none'; font-src 'none'; object-src 'none'; media-src 'none'; "
    "frame-src 'none'; worker-src 'none'; base-uri 'none'; form-action 'none'"
)

_SHELL = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="journeygraph {version}">
<meta name="referrer" content="no-referrer">
<title>journeygraph</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<header id="top">
<div id="titles"><h1 id="title"></h1><p id="subtitle"></p></div>
<div id="headline"></div>
<div id="callouts"></div>
<div id="controls">
<div id="states" role="tablist"></div>
<label id="search-box"><span class="sr" data-word="search"></span>
<input id="search" type="search" autocomplete="off" spellcheck="false"></label>
<div id="search-results"></div>
<label id="threshold-box"><span data-word="threshold"></span>
<input id="threshold" type="range" min="0" max="0" step="1" value="0"></label>
<output id="hidden-count"></output>
</div>
</header>
<main>
<section id="stage-area">
<svg id="diagram" xmlns="http://www.w3.org/2000/svg" role="img"><g id="viewport"></g></svg>
<div id="zoom"><button id="zoom-in" type="button">+</button>
<button id="zoom-out" type="button">&#8722;</button>
<button id="zoom-fit" type="button" data-word="fit"></button>
<button id="panel-toggle" type="button" data-word="hide_panel"></button></div>
<div id="legend"></div>
</section>
<aside id="panel">
<nav id="tabs" role="tablist"></nav>
<div id="panel-body"></div>
<p id="offline" data-word="offline"></p>
</aside>
</main>
<script type="application/json" id="jg-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


# -- the public function -------------------------------------------------------------


def explore(
    obj: JourneyMap | Analysis | MapDiff | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    lang: str = "en",
    intervals: CredibleIntervals | None = None,
) -> str:
    """Write the journey explorer: one offline, interactive HTML page.

    Parameters
    ----------
    obj
        A :class:`~journeygraph.model.JourneyMap` (analysed with
        :func:`~journeygraph.analysis.analyze` and its own entry), an
        :class:`~journeygraph.analysis.Analysis`, or a
        :class:`~journeygraph.compare.MapDiff` (current, future and change as three
        states of one layout).
    path
        Write the page here (``.html`` or ``.htm``), atomically: a temporary file, then
        a rename. ``None`` only returns it.
    lang
        Language of the page's interface words: ``"en"`` (default) or ``"ko"``.
    intervals
        Credible intervals of the same map (:func:`~journeygraph.credible_intervals`);
        the panel and tables then show them. Not for a comparison.

    Returns
    -------
    str
        The HTML text of the page.

    Raises
    ------
    TypeError
        ``obj`` or ``intervals`` is not one of the types above.
    RenderError
        An unknown language, a path that is not ``.html``/``.htm``, intervals of
        another map, or intervals with a comparison.

    Examples
    --------
    >>> html = jg.explore(jm)
    >>> html.startswith("<!DOCTYPE html>"), "Content-Security-Policy" in html
    (True, True)
    >>> data = page_data(jm)
    >>> [n["id"] for n in data["nodes"]]
    ['ad', 'shop', 'buy', 'gone']
    """
    if isinstance(obj, str | os.PathLike):  # a map file, as every map-taking function
        obj = _args.journey_map(obj, "obj")
    data = page_data(obj, lang=lang, intervals=intervals)
    target = _html_path(path)
    html = _page(data)
    if target is not None:
        atomic_write(target, html)
    return html


def page_data(
    obj: JourneyMap | Analysis | MapDiff,
    *,
    lang: str = "en",
    intervals: CredibleIntervals | None = None,
) -> dict[str, Any]:
    """The data the explorer page holds (what its JSON block carries), as plain values.

    Tests and other tools read it to check the page against the analysis. Keys:
    ``kind`` (``"analysis"`` or ``"diff"``), ``states``, ``words``, ``stages``,
    ``nodes``, ``moves`` (``v``: one expected flow per state, ``None`` where the move
    does not exist), ``figures`` (per state, per touchpoint), ``headline``,
    ``dropoff`` and ``layout``.
    """
    lang = check_lang(lang)
    if intervals is not None and not isinstance(intervals, CredibleIntervals):
        raise TypeError(
            "explore(): intervals must be CredibleIntervals (jg.credible_intervals(jm)), "
            f"not {type(intervals).__name__}"
        )
    if isinstance(obj, MapDiff):
        if intervals is not None:
            raise RenderError(
                "explore(): a comparison takes no intervals; explore each map with its own"
            )
        return _diff_data(obj, lang)
    if isinstance(obj, JourneyMap):
        res = analyze(obj)
    elif isinstance(obj, Analysis):
        res = obj
    else:
        raise TypeError(
            "explore(): obj must be a JourneyMap (jg.load), an Analysis (jg.analyze) or a "
            f"MapDiff (jg.compare), not {type(obj).__name__}"
        )
    return _analysis_data(res, lang, intervals)


# -- page assembly -----------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("journeygraph.draw").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` only ever occur inside JSON strings, where ``\\u003c`` etc.
    mean the same characters; U+2028/U+2029 are escaped too (JavaScript source).

    >>> json_for_script({"name": "</script><!--"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _palette_css() -> str:
    """The one palette (draw/palette.py) as CSS variables.

    ``--churn`` (lines), ``--fill-churn`` (boxes, bars), ``--text-churn`` (small text).
    """
    names = [f"--{k}: {v};" for k, v in COLOURS.items()]
    names += [f"--fill-{k}: {v};" for k, v in FILLS.items()]
    names += [f"--text-{k}: {v};" for k, v in TEXT.items()]
    names += [f"--ink: {INK};", f"--muted: {MUTED};"]
    return ":root { " + " ".join(names) + " }\n"


def _page(data: dict[str, Any]) -> str:
    from journeygraph import __version__

    script = _asset("explorer.js")
    style = _palette_css() + _asset("explorer.css")
    csp = _CSP.format(script=_sha256(script), style=_sha256(style))
    return _SHELL.format(
        lang=data["lang"],
        csp=csp,
        version=__version__,
        style=style,
        script=script,
        data=json_for_script(data),
    )


def _html_path(path: str | os.PathLike[str] | None) -> Path | None:
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"explore(): path must be a file path, not {type(path).__name__}")
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise RenderError(
            f"{target}: the explorer is an HTML page; name the file with .html "
            f"(e.g. {target.with_suffix('.html').name})"
        )
    if target.is_dir():
        raise RenderError(f"{target}: is a folder; give a file name ending in .html")
    return target


# -- text --------------------------------------------------------------------------


def _fit_lines(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """``text`` on at most ``max_lines`` lines of ``width`` px at ``size`` px (draw/text.py
    measures wide scripts), the last ending in an ellipsis if cut."""
    return list(wrap(one_line(text), width, size, max_lines).lines) or [""]


def _label(text: str) -> str:
    return shorten(one_line(text), _LABEL_LIMIT)


# -- from the scene: where things go -------------------------------------------------


def _finite(x: float) -> float:
    value = float(x)
    if not math.isfinite(value):
        raise RenderError(f"explore(): a figure is {value!r}; expected a finite number")
    return value


def _maybe(x: float | None) -> float | None:
    return None if x is None else _finite(x)


def _status(change: str) -> str | None:
    return None if change == "unchanged" else change


def _layout(scene: Scene) -> dict[str, Any]:
    """Stage columns with touchpoints in the scene's order, outcomes in a right column."""
    rows = [0] * len(scene.stages)
    nodes: list[dict[str, Any]] = []
    for t in scene.touchpoints:
        rows[t.stage_index] = max(rows[t.stage_index], t.row + 1)
        nodes.append(
            {
                "id": t.id,
                "dom": t.element_id,
                "cls": list(t.classes),
                "kind": "touchpoint",
                "label": _label(t.label),
                "lines": _fit_lines(t.label, _LABEL_WIDTH, _LABEL_SIZE, _LABEL_LINES),
                "stage": t.stage,
                "x": _LEFT + t.stage_index * _COLUMN,
                "y": _TOP + t.row * _ROW,
                "channel": _label(t.channel) if t.channel else None,
                "owner": _label(t.owner) if t.owner else None,
                "sentiment": _maybe(t.sentiment),
                "sentiment_before": _maybe(t.sentiment_before),
                "pains": [shorten(one_line(p), _NOTE_LIMIT) for p in t.pains[:5]],
                "status": _status(t.change),
                "leak_rank": t.leak_rank,
                "switch_rank": t.switch_rank,
            }
        )
    tallest = max(rows, default=0)
    column = len(scene.stages)
    ordered = sorted(enumerate(scene.outcomes), key=lambda io: (_OUTCOME_ORDER[io[1].kind], io[0]))
    height = max(tallest, len(ordered)) * _ROW
    spacing = max(_ROW, height / max(len(ordered), 1))
    for k, (_, o) in enumerate(ordered):
        nodes.append(
            {
                "id": o.id,
                "dom": o.element_id,
                "cls": list(o.classes),
                "kind": "outcome",
                "outcome_kind": o.kind,
                "label": _label(o.label),
                "lines": _fit_lines(o.label, _LABEL_WIDTH, _LABEL_SIZE, _LABEL_LINES),
                "x": _LEFT + column * _COLUMN + _OUTCOME_GAP,
                "y": _TOP + k * spacing,
                "status": _status(o.change),
            }
        )
    stages = [
        {
            "id": s.id,
            "dom": s.element_id,
            "cls": list(s.classes),
            "label": _label(s.label),
            "lines": _fit_lines(s.label, _COLUMN - 24, _STAGE_SIZE, 2),
            "x": _LEFT + s.index * _COLUMN,
            "status": _status(s.change),
        }
        for s in scene.stages
    ]
    return {
        "stages": stages,
        "nodes": nodes,
        "layout": {
            "width": _LEFT + column * _COLUMN + _OUTCOME_GAP + _NODE_W + _LEFT,
            "height": _TOP + height + _LEFT,
            "node_w": _NODE_W,
            "node_h": _NODE_H,
        },
    }


def _moves(scene: Scene) -> list[dict[str, Any]]:
    """Every move with its expected flow in each state (``None``: not in that map)."""
    diff = scene.kind == "diff"
    out = []
    for m in scene.moves:
        notable = (
            m.change == "changed"
            and m.probability is not None
            and m.probability_before is not None
            and abs(m.probability - m.probability_before) >= _CHANGED_MOVE
        )
        out.append(
            {
                "from": m.source,
                "to": m.target,
                "dom": m.element_id,
                "cls": [*m.classes, "notable"] if notable else list(m.classes),
                "kind": m.kind,
                "v": [_maybe(m.flow_before), _maybe(m.flow)] if diff else [_maybe(m.flow)],
                "status": _status(m.change),
            }
        )
    return out


# -- figures the panel shows, read from the analyses ----------------------------------


def _ci(item: CredibleInterval | None) -> list[float] | None:
    return None if item is None else [_finite(item.lower), _finite(item.upper)]


def _figures(
    res: Analysis, rename: Mapping[str, str], intervals: CredibleIntervals | None
) -> dict[str, Any]:
    """Per touchpoint: visits, leak, switching, removal, sensitivity, conversion from it.

    Read from the analysis (``rename`` maps the current map's ids of a diff to the
    future map's); nothing is recomputed.
    """
    jm = res.map

    def new(ident: str) -> str:
        return rename.get(ident, ident)

    conversions = [o.id for o in jm.outcomes_of_kind("conversion")]
    leaks = {x.touchpoint: x for x in res.leaks}
    gains = {s.touchpoint: s.gain for s in res.sensitivity}
    switching: dict[str, list[list[Any]]] = {}
    switch_ci = intervals.switching_by_pair if intervals is not None else {}
    leak_ci = intervals.leaks_by_touchpoint if intervals is not None else {}
    for s in res.switching:
        pair = switch_ci.get((s.touchpoint, s.competitor))
        ci = pair.flow if pair is not None else None
        switching.setdefault(s.touchpoint, []).append(
            [new(s.competitor), _finite(s.flow), _finite(s.share), _ci(ci)]
        )
    removal = res.removal_effects
    removal_ci = intervals.removal_effects if intervals is not None else None
    out: dict[str, Any] = {}
    for t in jm.touchpoints:
        leak = leaks.get(t.id)
        absorption = res.absorption(t.id)
        out[new(t.id)] = {
            "visits": _finite(res.expected_visits[t.id]),
            "leak": None
            if leak is None
            else [_finite(leak.flow), _finite(leak.share), _finite(leak.exit_rate)],
            "leak_ci": _ci(leak_ci[t.id].flow) if t.id in leak_ci else None,
            "switching": switching.get(t.id, []),
            "removal": _finite(removal[t.id]),
            "removal_ci": _ci(removal_ci.get(t.id)) if removal_ci else None,
            "gain": _finite(gains[t.id]) if t.id in gains else None,
            "converts": _finite(math.fsum(absorption[o] for o in conversions)),
        }
    return out


def _headline(scene: Scene, state: int, intervals: CredibleIntervals | None) -> dict[str, Any]:
    """The headline figures and outcome totals of one state (0: current of a diff)."""
    before = scene.kind == "diff" and state == 0
    head: dict[str, Any] = {f.key: _maybe(f.before if before else f.value) for f in scene.figures}
    head["outcomes"] = {o.id: _maybe(o.total_before if before else o.total) for o in scene.outcomes}
    if intervals is not None:
        head["ci"] = {
            "conversion": _ci(intervals.conversion_probability),
            "churn": _ci(intervals.churn_probability),
            "competitor": _ci(intervals.competitor_probability),
            "steps": _ci(intervals.expected_steps),
        }
    return head


def _dropoff(res: Analysis, rename: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per stage: expected arrivals per entrant, and exits to each outcome.

    Arrivals at a stage are journeys starting there plus moves into it from another
    stage (``stage_flow.moves``), so a customer who comes back counts again; exits are
    ``stage_flow.exits``. Both are read from the analysis, not recomputed.
    """
    jm = res.map
    flow = res.stage_flow
    start: dict[str, float] = {}
    for tp, share in res.entry.items():
        stage = jm.touchpoint(tp).stage
        start[stage] = start.get(stage, 0.0) + share
    rows = []
    for s in jm.stages:
        arrivals = start.get(s.id, 0.0) + math.fsum(
            f for (a, b), f in flow.moves.items() if b == s.id and a != s.id
        )
        leaving = sorted(
            ((rename.get(o, o), _finite(f)) for (a, o), f in flow.exits.items() if a == s.id),
            key=lambda e: -e[1],
        )
        rows.append(
            {
                "stage": rename.get(s.id, s.id),
                "arrivals": _finite(arrivals),
                "exits": [list(e) for e in leaving],
            }
        )
    return rows


def _check_intervals(jm: JourneyMap, ci: CredibleIntervals) -> None:
    outcomes = {o.id for o in jm.outcomes}
    touchpoints = {t.id for t in jm.touchpoints}
    if set(ci.outcome_probabilities) != outcomes or not set(ci.leaks_by_touchpoint) <= touchpoints:
        raise RenderError(
            "explore(): the intervals are not of this map (their outcomes or touchpoints "
            "differ); compute them with jg.credible_intervals(jm) of the same map"
        )


def _page_words(lang: str) -> dict[str, str]:
    """The explorer's words from the language table (``explore_`` keys, prefix dropped)."""
    prefix = "explore_"
    return {k[len(prefix) :]: v for k, v in WORDS[lang].items() if k.startswith(prefix)}


def _common(scene: Scene, lang: str) -> dict[str, Any]:
    title = scene.title
    if scene.current_title is not None and scene.current_title != scene.title:
        title = f"{scene.current_title} → {scene.title}"
    return {
        "lang": lang,
        "words": _page_words(lang),
        "title": _label(title),
        "subtitle": _label(scene.persona.label) if scene.persona else "",
        **_layout(scene),
        "moves": _moves(scene),
    }


def _analysis_data(res: Analysis, lang: str, intervals: CredibleIntervals | None) -> dict[str, Any]:
    if intervals is not None:
        _check_intervals(res.map, intervals)
    scene = build_scene(res)
    return {
        "kind": "analysis",
        "states": ["single"],
        **_common(scene, lang),
        "figures": [_figures(res, {}, intervals)],
        "headline": [_headline(scene, 0, intervals)],
        "dropoff": [_dropoff(res, {})],
        "fix_fraction": res.fix_fraction,
        "interval_level": intervals.level if intervals is not None else None,
        "changes": [],
        "callouts": [],
    }


def _diff_data(diff: MapDiff, lang: str) -> dict[str, Any]:
    scene = build_scene(diff)
    ren = dict(diff.renames)
    changes = [
        [t.id, c.field, _change_text(c.before), _change_text(c.after)]
        for t in scene.touchpoints
        for c in t.changes
    ]
    return {
        "kind": "diff",
        "states": ["current", "future", "change"],
        **_common(scene, lang),
        "figures": [
            _figures(diff.current_analysis, ren, None),
            _figures(diff.future_analysis, {}, None),
        ],
        "headline": [_headline(scene, 0, None), _headline(scene, 1, None)],
        "dropoff": [_dropoff(diff.current_analysis, ren), _dropoff(diff.future_analysis, {})],
        "fix_fraction": diff.future_analysis.fix_fraction,
        "interval_level": None,
        "changes": changes,
        "callouts": [
            {
                "rank": c.rank,
                "subject": c.subject,
                "source": c.source,
                "target": c.target,
                "dom": c.element_id,
                "before": _finite(c.before),
                "after": _finite(c.after),
            }
            for c in scene.callouts
        ],
        "present": [
            [t.id for t in scene.touchpoints if t.change != "added"]
            + [o.id for o in scene.outcomes if o.change != "added"],
            [t.id for t in scene.touchpoints if t.change != "removed"]
            + [o.id for o in scene.outcomes if o.change != "removed"],
        ],
    }


def _change_text(value: Any) -> str | float | None:
    if value is None or (isinstance(value, float | int) and not isinstance(value, bool)):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str):
        return shorten(one_line("; ".join(str(v) for v in value)), _NOTE_LIMIT)
    return shorten(one_line(str(value)), _NOTE_LIMIT)
