"""The ``journeygraph`` command line: argparse -> public API -> print.

Exit codes: 0 success, 1 a user error (one message, no traceback; ``--debug`` shows
it), 2 a usage error. Commands that report numbers take ``--json``.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import journeygraph as jg
from journeygraph._files import check_targets, protect_inputs
from journeygraph._terminal import visible_streams, write_data
from journeygraph.errors import JourneyGraphError
from journeygraph.simulate import MAX_JOURNEYS
from journeygraph.uncertainty import MAX_DRAWS

__all__ = ["main"]

_Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Everything printed is made visible text (control characters from maps and logs are
    shown as escapes, :mod:`journeygraph._terminal`), and no command writes over a file
    it read (:func:`journeygraph._files.protect_inputs`). No traceback is printed unless
    ``--debug`` is given: Ctrl-C exits 130 with one line.
    """
    # Known before parsing, so a Ctrl-C while the parser is built obeys it too.
    debug = "--debug" in (sys.argv[1:] if argv is None else list(argv))
    with visible_streams(), protect_inputs():
        try:
            parser = _parser()
            args = parser.parse_args(argv)
            debug = debug or args.debug  # also an abbreviation such as --deb
            if not getattr(args, "command", None):
                parser.print_help(sys.stderr)
                return 2
            command: _Command = args.run
            with _warnings_to_stderr():
                return command(args)
        except JourneyGraphError as exc:
            if debug:
                raise
            print(f"journeygraph: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            if debug:
                raise
            print("journeygraph: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except MemoryError:
            if debug:
                raise
            print(
                "journeygraph: error: not enough memory for this command; use a smaller "
                "map, log or count (see docs/reliability.md)",
                file=sys.stderr,
            )
            return 1
        except Exception as exc:
            if debug:
                raise
            print(
                f"journeygraph: internal error: {type(exc).__name__}: {exc}\n"
                "  this is a bug in journeygraph: rerun with --debug to see the traceback, "
                "and report it",
                file=sys.stderr,
            )
            return 1


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show library warnings as one plain line each, not with Python's source lines."""

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        print(f"journeygraph: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", jg.JourneyGraphWarning)
        original = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = original


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeygraph",
        description="Customer-journey maps as graphs: validate, analyse, render, compare, fit.",
    )
    parser.add_argument("--version", action="version", version=f"journeygraph {jg.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        parents=[common],
        help="check map files and report every problem",
        description="Check journey map files (YAML or JSON; - reads stdin). Exit 1 if any is invalid.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(run=_validate)

    p = sub.add_parser(
        "analyze",
        parents=[common],
        help="analyse a map: outcomes, leaks, switching, removal effects, stage flow",
        description="Analyse a journey map as an absorbing Markov chain (- reads stdin).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--entry", metavar="ID", help="start every journey at this touchpoint")
    p.add_argument("--json", action="store_true", help="print every figure as JSON")
    p.add_argument("--top", type=int, default=5, metavar="K", help="rows per table (default 5)")
    p.add_argument(
        "--intervals",
        action="store_true",
        help="add Bayesian credible intervals (weights must be counts; docs/analysis.md)",
    )
    p.add_argument(
        "--draws",
        type=int,
        metavar="N",
        help="posterior draws for --intervals (default 1000, at most 1000000)",
    )
    p.add_argument(
        "--level", type=float, metavar="L", help="interval probability for --intervals (0.9)"
    )
    p.add_argument("--seed", type=int, metavar="S", help="random seed for --intervals")
    p.set_defaults(run=_analyze)

    p = sub.add_parser(
        "schema",
        parents=[common],
        help="print the JSON Schema of the map file format",
        description="Print the JSON Schema of the journey map file format.",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=_schema)

    p = sub.add_parser(
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
    p.set_defaults(run=_demo)

    p = sub.add_parser(
        "simulate",
        parents=[common],
        help="sample journeys from a map into an event log (Parquet or CSV)",
        description="Sample N whole journeys from a map and write the event log "
        "(customer_id, step, [timestamp], touchpoint, outcome) to .parquet or .csv.",
    )
    p.add_argument("map", metavar="MAP", help="journey map file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "-n", type=_journeys, default=100_000, help="journeys (default 100000, at most 10000000)"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same log)")
    p.add_argument("--entry", metavar="ID", help="start every journey at this touchpoint")
    p.add_argument("--max-steps", type=_positive_int, default=10_000, metavar="M")
    p.add_argument("--start", metavar="TIME", help="time of the first events (ISO, 2024-01-01)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help=".parquet or .csv")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_simulate)

    p = sub.add_parser(
        "render",
        parents=[common],
        help="draw a journey map (diagram or canvas) as SVG, PNG, PDF or Graphviz DOT",
        description=(
            "Draw a journey map: one column per stage, edge width by move probability "
            "(expected flow with --analysis), skips purple, backtracks dashed, exits in "
            "the outcome's colour. --view canvas draws the workshop canvas instead."
        ),
    )
    p.add_argument("file", metavar="FILE", help="map file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write here; the suffix (.svg .png .pdf .dot) picks the format "
        "(default: SVG or DOT text on stdout)",
    )
    p.add_argument("--format", choices=["svg", "png", "pdf", "dot"], help="output format")
    p.add_argument(
        "--min-flow",
        type=float,
        metavar="X",
        help="hide moves with probability (flow, with --analysis) below X (default: "
        "hide only the weakest moves of maps with more than 120)",
    )
    p.add_argument(
        "--analysis",
        action="store_true",
        help="analyse the map and draw the flows, leaks and headline figures on it",
    )
    p.add_argument(
        "--color-by",
        choices=["sentiment", "leaks", "none"],
        default=None,
        help="node fill (default: leaks with --analysis, else sentiment; leaks needs --analysis)",
    )
    p.add_argument(
        "--view",
        choices=["graph", "canvas"],
        default="graph",
        help="graph: the Graphviz diagram (default); canvas: the workshop canvas",
    )
    labels = p.add_mutually_exclusive_group()
    labels.add_argument(
        "--edge-labels",
        dest="edge_labels",
        action="store_true",
        default=None,
        help="label every drawn move with its percentage",
    )
    labels.add_argument(
        "--no-edge-labels",
        dest="edge_labels",
        action="store_false",
        help="no percentage labels",
    )
    _picture_options(p)
    p.set_defaults(run=_render)

    p = sub.add_parser(
        "compare",
        parents=[common],
        help="compare a current-state and a future-state map",
        description="Compare two maps (current -> future): structural changes and every "
        "metric before / after / delta.",
    )
    p.add_argument("current", metavar="CURRENT", help="the as-is map (YAML or JSON)")
    p.add_argument("future", metavar="FUTURE", help="the to-be map (YAML or JSON)")
    p.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="match id OLD of the current map with id NEW of the future map (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the whole comparison as JSON")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="also draw the diff diagram here (.svg .png .pdf .dot; .svg/.png/.pdf "
        "with --view canvas)",
    )
    p.add_argument(
        "--view",
        choices=["graph", "canvas"],
        default="graph",
        help="with -o: the union diagram (default) or the current-vs-future canvas",
    )
    p.add_argument(
        "--intervals",
        action="store_true",
        help="is the change real? credible intervals of every change (maps fitted from "
        "event logs: weights must be counts; docs/comparison.md)",
    )
    p.add_argument(
        "--draws", type=int, metavar="N", help="posterior draws for --intervals (default 1000)"
    )
    p.add_argument(
        "--level", type=float, metavar="L", help="interval probability for --intervals (0.9)"
    )
    p.add_argument("--seed", type=int, metavar="S", help="random seed for --intervals")
    _picture_options(p)
    p.set_defaults(run=_compare)

    p = sub.add_parser(
        "explore",
        parents=[common],
        help="write the explorer: one offline, interactive HTML page of a map or comparison",
        description="Write one self-contained HTML page to open in any browser and send to a "
        "colleague: the diagram with pan and zoom, a flow threshold slider, each "
        "touchpoint's figures, sortable tables, a drop-off view and search. With FUTURE: "
        "the current, future and change states of the comparison. See docs/explorer.md.",
    )
    p.add_argument("file", metavar="FILE", help="map file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "future", nargs="?", metavar="FUTURE", help="a future-state map: explore the comparison"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="the page, e.g. journey.html"
    )
    p.add_argument(
        "--lang", choices=["en", "ko"], default="en", help="language of the page's words: en or ko"
    )
    p.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="with FUTURE: match id OLD of the current map with id NEW of the future map",
    )
    p.add_argument(
        "--intervals",
        action="store_true",
        help="add credible intervals (weights must be counts; not with FUTURE)",
    )
    p.add_argument("--draws", type=_positive_int, metavar="N", help="draws for --intervals (1000)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed for --intervals")
    p.set_defaults(run=_explore)

    p = sub.add_parser(
        "fit",
        parents=[common],
        help="fit a journey map from an event log (CSV/Parquet)",
        description="Fit a journey map from an event log: one row per event (customer, "
        "time, touchpoint[, outcome]). Weights are observed counts. See docs/fitting.md.",
    )
    p.add_argument("log", metavar="LOG", help="CSV or Parquet file, glob or folder")
    p.add_argument("--customer", required=True, metavar="COL", help="customer id column")
    p.add_argument("--time", required=True, metavar="COL", help="timestamp column")
    p.add_argument("--touchpoint", required=True, metavar="COL", help="touchpoint column")
    p.add_argument("--outcome", metavar="COL", help="column holding outcome values")
    p.add_argument(
        "--outcomes",
        metavar="VALUE=KIND,...|MAP",
        help="event values that end a journey, e.g. purchase=conversion,rival=competitor; "
        "or a map file (.yaml/.json) whose outcome ids and kinds to use",
    )
    p.add_argument("--stages", metavar="FILE", help="map file whose stages to use")
    p.add_argument(
        "--rename",
        metavar="VALUE=ID,...",
        help="map log values onto map ids, e.g. purchase_complete=purchase",
    )
    p.add_argument(
        "--allow-no-conversion",
        action="store_true",
        help="accept a fit in which no journey converts although a conversion is declared",
    )
    p.add_argument("--gap", metavar="DURATION", help="split journeys at gaps, e.g. 30min")
    p.add_argument("--window", metavar="DURATION", help="censor journeys open this long")
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="memory order")
    p.add_argument(
        "--engine", choices=("auto", "numpy", "duckdb"), default="auto", help="counting engine"
    )
    p.add_argument("--max-events", type=int, metavar="N", help="leave out customers above N")
    p.add_argument("--name", help="map name")
    p.add_argument("--strict", action="store_true", help="dropped rows are an error")
    p.add_argument(
        "--segment",
        metavar="COL",
        help="one map per value of this column; -o is then a folder or a pattern with "
        "{segment}, e.g. maps/{segment}.yaml",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="map file to write (with --segment: a folder or a {segment} pattern)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--json", action="store_true", help="print the fit report as JSON")
    p.set_defaults(run=_fit)

    parser.set_defaults(debug=False)
    return parser


# -- commands -----------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    report: list[dict[str, Any]] = []
    for name in args.files:
        try:
            jm = jg.load(name)
        except jg.MapError as exc:
            report.append({"file": name, "valid": False, "problems": _problems(exc)})
            if not args.json:
                print(f"journeygraph: error: {exc}", file=sys.stderr)
            continue
        kinds = Counter[str](jm.move_kinds().values())
        report.append({"file": name, "valid": True, "map": _summary(jm, kinds)})
        if not args.json:
            print(f"ok  {name}: {_one_line(jm, kinds)}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if all(r["valid"] for r in report) else 1


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(jg.schema(), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        from journeygraph._files import atomic_write

        atomic_write(args.output, text)
    else:
        write_data(text)
    return 0


def _demo(args: argparse.Namespace) -> int:
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
        kinds = Counter[str](jm.move_kinds().values())
        print(f"{path.name}\n  {_one_line(jm, kinds)}")
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

        suffix = _demo_diagram(res, out / path.stem, suffix)
        jg.render(jm, out / f"{path.stem}.canvas.svg", view="canvas", analysis=res)
        jg.explore(res, out / f"{path.stem}.explorer.html")
        print(f"  diagram with the analysis: {out / (path.stem + suffix)}")
        print(f"  canvas with the analysis:  {out / (path.stem + '.canvas.svg')}")
        print(f"  explorer (open in a browser): {out / (path.stem + '.explorer.html')}")
        maps[path.stem] = jm
        print()
    pairs = [
        stem[: -len("_current")]
        for stem in maps
        if stem.endswith("_current") and stem[: -len("_current")] + "_future" in maps
    ]
    for journey in pairs:
        diff = jg.compare(maps[journey + "_current"], maps[journey + "_future"])
        print(f"{journey}: current -> future")
        for line in diff.summary().splitlines()[1:]:
            print(f"  {line}")
        suffix = _demo_diagram(diff, out / f"{journey}.diff", suffix)
        jg.render(diff, out / f"{journey}.diff.canvas.svg", view="canvas")
        jg.explore(diff, out / f"{journey}.diff.explorer.html")
        print(f"  diff diagram:      {out / (journey + '.diff' + suffix)}")
        print(f"  diff canvas:       {out / (journey + '.diff.canvas.svg')}")
        print(f"  diff explorer:     {out / (journey + '.diff.explorer.html')}")
        print()
    print(
        f"Diagrams, canvases and explorer pages of all {len(files)} maps and {len(pairs)} "
        f"current/future comparisons are in {out.resolve()}/"
    )
    return 0


def _demo_diagram(obj: jg.Analysis | jg.MapDiff, stem: Path, suffix: str) -> str:
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


def _picture_options(p: argparse.ArgumentParser) -> None:
    """--preset and --lang, shared by render and compare."""
    p.add_argument(
        "--preset",
        choices=["full", "slide"],
        default="full",
        help="full: everything (default); slide: 16:9, text >= 12 px at 1280 px wide, "
        "the strongest moves only",
    )
    p.add_argument(
        "--lang",
        choices=["en", "ko"],
        default="en",
        help="language of the interface words (legend, headings, summary): en or ko",
    )


def _compare(args: argparse.Namespace) -> int:
    renames = {}
    for item in args.rename:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            print(f"journeygraph compare: error: --rename {item!r}: write OLD=NEW", file=sys.stderr)
            return 2
        renames[old] = new
    usage = _interval_usage(args)
    if usage:
        print(f"journeygraph compare: error: {usage}", file=sys.stderr)
        return 2
    if args.output:  # before any work: never over a map it reads
        check_targets([args.output], inputs=[args.current, args.future])
    current, future = jg.load(args.current), jg.load(args.future)
    diff = jg.compare(
        current,
        future,
        renames=renames,
        intervals=args.intervals,
        draws=1000 if args.draws is None else args.draws,
        level=0.9 if args.level is None else args.level,
        seed=args.seed,
    )
    if args.output:
        jg.render(diff, args.output, view=args.view, preset=args.preset, lang=args.lang)
    if args.json:
        print(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(diff.summary(lang=args.lang))
        if args.output:
            print(f"wrote {args.output}")
    return 0


def _explore(args: argparse.Namespace) -> int:
    usage = None
    if args.future is None and args.rename:
        usage = "--rename needs a FUTURE map to compare with"
    elif args.future is not None and args.intervals:
        usage = "--intervals is for one map; explore a comparison without it"
    elif not args.intervals and (args.draws is not None or args.seed is not None):
        usage = "--draws and --seed only apply with --intervals"
    renames = {}
    for item in args.rename:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            usage = f"--rename {item!r}: write OLD=NEW"
        renames[old] = new
    if usage:
        print(f"journeygraph explore: error: {usage}", file=sys.stderr)
        return 2
    out = Path(args.output)
    for given in (args.file, args.future):
        if given not in (None, "-") and out.resolve() == Path(given).resolve():
            raise JourneyGraphError(f"{out}: refusing to write the page over the map {given}")
    jm = jg.load(args.file)
    obj: jg.JourneyMap | jg.MapDiff = jm
    if args.future is not None:
        obj = jg.compare(jm, jg.load(args.future), renames=renames)
    intervals = None
    if args.intervals:
        intervals = jg.credible_intervals(
            jm,
            draws=1000 if args.draws is None else args.draws,
            seed=args.seed,
            removal_effects=True,
        )
    jg.explore(obj, out, lang=args.lang, intervals=intervals)
    print(f"wrote {out}")
    return 0


def _render(args: argparse.Namespace) -> int:
    if args.output is not None:  # before any work: never over the map it reads
        check_targets([args.output], inputs=[args.file])
    jm = jg.load(args.file)
    fmt = args.format
    if args.color_by == "leaks" and not args.analysis:
        print("journeygraph render: error: --color-by leaks needs --analysis", file=sys.stderr)
        return 2
    if args.output is None and fmt in ("png", "pdf"):
        print(
            f"journeygraph render: error: {fmt.upper()} is binary; write it to a file with -o",
            file=sys.stderr,
        )
        return 2
    result = jg.render(
        jm,
        args.output,
        format=fmt,
        view=args.view,
        analysis=jg.analyze(jm) if args.analysis else None,
        color_by=args.color_by,
        min_flow=args.min_flow,
        edge_labels=args.edge_labels,
        preset=args.preset,
        lang=args.lang,
    )
    if args.output is None:
        assert isinstance(result, str)
        write_data(result)
    else:
        print(f"wrote {args.output}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    check_targets([args.output], inputs=[args.map])  # before any work: never over the map
    jm = jg.load(args.map)
    log = jg.simulate(
        jm, args.n, seed=args.seed, entry=args.entry, max_steps=args.max_steps, start=args.start
    )
    log.write(args.output)
    summary = {"file": args.output, **log.summary()}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        ends = ", ".join(f"{o} {c}" for o, c in summary["outcomes"].items())
        print(
            f"wrote {args.output}: {log.customers} journeys, {len(log)} events "
            f"({ends}; {summary['truncated']} unfinished after {args.max_steps} moves)"
        )
    return 0


def _interval_usage(args: argparse.Namespace) -> str | None:
    """The usage error in the --intervals options of ``analyze`` or ``compare``, if any."""
    given = [f"--{n}" for n in ("draws", "level", "seed") if getattr(args, n) is not None]
    if given and not args.intervals:
        return f"{', '.join(given)} only apply with --intervals"
    if args.draws is not None and args.draws < 2:
        return "--draws must be at least 2"
    if args.draws is not None and args.draws > MAX_DRAWS:
        return (
            f"--draws {args.draws:,} is more than the limit of {MAX_DRAWS:,} (set by memory "
            "use; see docs/reliability.md); 1,000 to 10,000 draws give stable intervals"
        )
    if args.level is not None and not 0 < args.level < 1:
        return "--level must be between 0 and 1 (e.g. 0.9)"
    return None


def _analyze(args: argparse.Namespace) -> int:
    if args.top < 1:
        print("journeygraph analyze: error: --top must be at least 1", file=sys.stderr)
        return 2
    usage = _interval_usage(args)
    if usage:
        print(f"journeygraph analyze: error: {usage}", file=sys.stderr)
        return 2
    jm = jg.load(args.file)
    res = jg.analyze(jm, entry=args.entry)
    ci = None
    if args.intervals:
        try:
            ci = jg.credible_intervals(
                jm,
                draws=1000 if args.draws is None else args.draws,
                level=0.9 if args.level is None else args.level,
                seed=args.seed,
                entry=args.entry,
            )
        except JourneyGraphError:
            raise
        except ValueError as exc:  # a limit that depends on the map's size
            raise JourneyGraphError(f"--draws: {exc}") from None
    if args.json:
        report = res.to_dict()
        if ci is not None:
            report["intervals"] = ci.to_dict()
        print(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
        return 0

    print(res.summary(top=args.top, intervals=ci))
    return 0


def _fit(args: argparse.Namespace) -> int:
    out = Path(args.output)
    # The inputs named on the command line; at write time every file the fit read (each
    # file of a glob or folder too) is protected as well (journeygraph._files).
    inputs = [p for p in (args.log, args.stages, args.outcomes) if p]
    if args.segment is None:
        if out.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise JourneyGraphError(f"{out}: write the map as .yaml or .json")
        check_targets([out], inputs=inputs, overwrite=args.force)
    elif "{segment}" in args.output:
        if Path(args.output.replace("{segment}", "x")).suffix.lower() not in (
            ".yaml",
            ".yml",
            ".json",
        ):
            raise JourneyGraphError(f"{args.output}: the pattern must end in .yaml or .json")
    elif out.exists() and not out.is_dir():
        raise JourneyGraphError(
            f"{out}: with --segment, -o is a folder (one map per segment) or a pattern "
            "with {segment}, e.g. maps/{segment}.yaml"
        )
    outcomes: dict[str, str] | jg.JourneyMap = {}
    spec = args.outcomes or ""
    if Path(spec).suffix.lower() in (".yaml", ".yml", ".json") and "=" not in spec:
        outcomes = jg.load(spec)
        spec = ""
    for part in spec.split(","):
        if not part.strip():
            continue
        value, sep, kind = part.rpartition("=")
        if not sep or not value.strip():
            raise JourneyGraphError(
                f"--outcomes: {part!r} is not VALUE=KIND, e.g. purchase=conversion"
            )
        assert isinstance(outcomes, dict)
        outcomes[value.strip()] = kind.strip()
    rename: dict[str, str] = {}
    for part in (args.rename or "").split(","):
        if not part.strip():
            continue
        value, sep, new = part.rpartition("=")
        if not sep or not value.strip() or not new.strip():
            raise JourneyGraphError(
                f"--rename: {part!r} is not VALUE=ID, e.g. purchase_complete=purchase"
            )
        rename[value.strip()] = new.strip()
    jm = jg.fit(
        args.log,
        customer=args.customer,
        time=args.time,
        touchpoint=args.touchpoint,
        outcome=args.outcome,
        outcomes=outcomes or None,
        stages=args.stages,
        gap=args.gap,
        window=args.window,
        order=args.order,
        engine=args.engine,
        name=args.name,
        max_events_per_customer=args.max_events,
        strict=args.strict,
        segment=args.segment,
        rename=rename or None,
        allow_no_conversion=args.allow_no_conversion,
    )
    if args.segment is not None:
        assert isinstance(jm, dict)
        return _write_segment_maps(jm, args.output, args.force, args.json)
    assert isinstance(jm, jg.JourneyMap)
    check_targets([out], overwrite=args.force)  # again, now against every file read
    jg.save(jm, out)
    report = jg.FitReport.of(jm)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        dropped = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.dropped.items() if v)
        print(
            f"wrote {out}: {len(jm.touchpoints)} touchpoints, {report.journeys} journeys, "
            f"{report.events} events, {report.censored_journeys} censored"
            + (f"; dropped {dropped}" if dropped else "")
        )
        if report.new_touchpoints:
            shown = ", ".join(report.new_touchpoints)
            print(f"touchpoints in the log but not in the template: {shown}")
    return 0


def _write_segment_maps(maps: dict[str, Any], output: str, force: bool, as_json: bool) -> int:
    """Write one map per segment: every target is checked before any file is written."""
    targets: dict[str, Path] = {}
    seen: dict[Path, str] = {}
    for seg in maps:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", seg).strip(".") or "_"
        if "{segment}" in output:
            path = Path(output.replace("{segment}", safe))
        else:
            path = Path(output) / f"{safe}.yaml"
        if path in seen:
            raise JourneyGraphError(
                f"segments {seen[path]!r} and {seg!r} would both be written to {path}; "
                "rename one of them in the log"
            )
        seen[path] = seg
        targets[seg] = path
    # Every target (not a folder or device, not a file the fit read, its folder
    # creatable, not existing unless --force) is checked before the first map is written.
    check_targets(list(targets.values()), create_folders=True)
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise JourneyGraphError(f"{shown}: file(s) exist; pass --force to overwrite them")
    for seg, path in targets.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JourneyGraphError(
                f"{path}: cannot create the folder {path.parent}: {exc.strerror or exc}"
            ) from None
        jg.save(maps[seg], path)
    reports = {seg: jg.FitReport.of(jm).to_dict() for seg, jm in maps.items()}
    if as_json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        for seg, path in targets.items():
            r = reports[seg]
            print(f"wrote {path}: segment {seg!r}, {r['journeys']} journeys, {r['events']} events")
    return 0


# -- helpers ------------------------------------------------------------------------


def _journeys(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_JOURNEYS:
        raise argparse.ArgumentTypeError(
            f"{value:,} journeys is more than the limit of {MAX_JOURNEYS:,} (set by memory "
            "use; see docs/reliability.md); simulate in parts with different --seed values"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


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


def _problems(exc: jg.MapError) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "location": [str(x) for x in p.loc], "message": p.message}
        for p in exc.problems
    ]


def _summary(jm: jg.JourneyMap, kinds: Counter[str]) -> dict[str, Any]:
    return {
        "name": jm.name,
        "stages": len(jm.stages),
        "touchpoints": len(jm.touchpoints),
        "outcomes": len(jm.outcomes),
        "moves": len(jm.moves),
        "move_kinds": {
            k: kinds.get(k, 0) for k in ("forward", "skip", "backtrack", "within", "exit")
        },
    }


def _one_line(jm: jg.JourneyMap, kinds: Counter[str]) -> str:
    parts = ", ".join(
        f"{kinds[k]} {k}" for k in ("forward", "skip", "backtrack", "within", "exit") if kinds[k]
    )
    return (
        f"{jm.name!r}: {len(jm.stages)} stages, {len(jm.touchpoints)} touchpoints, "
        f"{len(jm.outcomes)} outcomes, {len(jm.moves)} moves ({parts})"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
