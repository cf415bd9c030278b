"""``journeygraph demo``: validate, analyse, draw and compare the example maps."""

from __future__ import annotations

import argparse
import importlib.resources
import sys
from pathlib import Path

import journeygraph as jg
from journeygraph.cli.options import Commands
from journeygraph.cli.validate import map_line
from journeygraph.errors import JourneyGraphError

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``demo`` and its flags."""
    p = commands.add_parser(
        "demo",
        parents=[common],
        help="validate, analyse, draw and compare the example maps",
        description="Load every example map, analyse it, draw its diagram and canvas with "
        "the analysis and write its explorer page, and compare each current/future pair "
        "(diff diagram, canvas and explorer page).",
    )
    p.add_argument(
        "--examples",
        metavar="DIR",
        help="folder of example maps (default: the project's examples/)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="demo-output",
        help="folder to write the diagrams and canvases to (default: demo-output/)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Summarise, analyse and draw every example map, then compare each pair."""
    folder = _examples_folder(args.examples)
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json"))
    if not files:
        raise JourneyGraphError(f"{folder}: no example maps (*.yaml, *.json) found")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JourneyGraphError(f"{out}: cannot create the output folder ({exc})") from None
    print(f"journeygraph {jg.__version__} demo: {len(files)} example maps in {folder}\n")
    suffix = ".svg"
    maps: dict[str, jg.JourneyMap] = {}
    for path in files:
        jm = jg.load(path)
        suffix = _one_map(jm, path, out, suffix)
        maps[path.stem] = jm
    pairs = [
        stem[: -len("_current")]
        for stem in maps
        if stem.endswith("_current") and stem[: -len("_current")] + "_future" in maps
    ]
    for journey in pairs:
        suffix = _one_pair(
            maps[journey + "_current"], maps[journey + "_future"], journey, out, suffix
        )
    print(
        f"Diagrams, canvases and explorer pages of all {len(files)} maps and {len(pairs)} "
        f"current/future comparisons are in {out.resolve()}/"
    )
    return 0


def _one_map(jm: jg.JourneyMap, path: Path, out: Path, suffix: str) -> str:
    """Print one map's headline analysis and write its pictures; returns the diagram suffix."""
    print(f"{path.name}\n  {map_line(jm)}")
    stages = " → ".join(s.label for s in jm.stages)
    print(f"  stages: {stages}")
    if jm.persona:
        print(f"  persona: {jm.persona.label}")
    res = jg.analyze(jm)
    print(
        f"  conversion {res.conversion_probability:.1%}, churn {res.churn_probability:.1%}, "
        f"competitor {res.competitor_probability:.1%}"
    )
    leaks = ", ".join(f"{x.touchpoint} ({x.share:.0%})" for x in res.leaks[:3])
    print(f"  top leaks: {leaks or 'none'}")
    if res.switching:
        top = res.switching[0]
        print(f"  top switching point: {top.touchpoint} -> {top.competitor} ({top.share:.0%})")
    suffix = _diagram(res, out / path.stem, suffix)
    jg.render(jm, out / f"{path.stem}.canvas.svg", view="canvas", analysis=res)
    jg.explore(res, out / f"{path.stem}.explorer.html")
    print(f"  diagram with the analysis: {out / (path.stem + suffix)}")
    print(f"  canvas with the analysis:  {out / (path.stem + '.canvas.svg')}")
    print(f"  explorer (open in a browser): {out / (path.stem + '.explorer.html')}")
    print()
    return suffix


def _one_pair(
    current: jg.JourneyMap, future: jg.JourneyMap, journey: str, out: Path, suffix: str
) -> str:
    """Print a current/future comparison and write its pictures; returns the suffix."""
    diff = jg.compare(current, future)
    print(f"{journey}: current -> future")
    for line in diff.summary().splitlines()[1:]:
        print(f"  {line}")
    suffix = _diagram(diff, out / f"{journey}.diff", suffix)
    jg.render(diff, out / f"{journey}.diff.canvas.svg", view="canvas")
    jg.explore(diff, out / f"{journey}.diff.explorer.html")
    print(f"  diff diagram:      {out / (journey + '.diff' + suffix)}")
    print(f"  diff canvas:       {out / (journey + '.diff.canvas.svg')}")
    print(f"  diff explorer:     {out / (journey + '.diff.explorer.html')}")
    print()
    return suffix


def _diagram(obj: jg.Analysis | jg.MapDiff, stem: Path, suffix: str) -> str:
    """Draw a demo diagram as SVG, or as DOT once no Graphviz is found; returns the suffix."""
    if suffix == ".svg":
        try:
            jg.render(obj, stem.with_name(stem.name + ".svg"))
        except jg.RenderError as exc:  # no Graphviz here: DOT still shows the map
            print(f"journeygraph: warning: {exc}; writing DOT instead", file=sys.stderr)
            suffix = ".dot"
    if suffix == ".dot":
        jg.render(obj, stem.with_name(stem.name + ".dot"))
    return suffix


def _examples_folder(given: str | None) -> Path:
    if given:
        folder = Path(given)
        if not folder.is_dir():
            raise JourneyGraphError(f"{given}: no such folder")
        return folder
    if (Path.cwd() / "examples").is_dir():  # a checkout: the maps as you edit them
        return Path.cwd() / "examples"
    # An installed package ships the example maps as package data.
    shipped = importlib.resources.files("journeygraph") / "example_maps"
    if shipped.is_dir():
        return Path(str(shipped))
    raise JourneyGraphError(
        "cannot find the example maps (examples/ here, or the package's example_maps); "
        "pass --examples DIR"
    )
