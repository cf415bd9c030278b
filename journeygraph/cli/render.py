"""``journeygraph render FILE -o OUT``: draw a map (diagram or canvas)."""

from __future__ import annotations

import argparse

import journeygraph as jg
from journeygraph._files import check_targets
from journeygraph._terminal import write_data
from journeygraph.cli.options import Commands, UsageError, add_picture_options

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``render`` and its flags."""
    p = commands.add_parser(
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
    add_picture_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render the map to ``-o``, or print SVG/DOT text."""
    if args.color_by == "leaks" and not args.analysis:
        raise UsageError("--color-by leaks needs --analysis")
    if args.output is None and args.format in ("png", "pdf"):
        raise UsageError(f"{args.format.upper()} is binary; write it to a file with -o")
    if args.output is not None:  # before any work: never over the map it reads
        check_targets([args.output], inputs=[args.file])
    jm = jg.load(args.file)
    result = jg.render(
        jm,
        args.output,
        format=args.format,
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
