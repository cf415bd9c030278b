"""``journeygraph explore FILE [FUTURE] -o OUT.html``: the offline explorer page."""

from __future__ import annotations

import argparse
from pathlib import Path

import journeygraph as jg
from journeygraph.cli.options import Commands, UsageError, pairs, positive_int
from journeygraph.errors import JourneyGraphError

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``explore`` and its flags."""
    p = commands.add_parser(
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
    p.add_argument("--draws", type=positive_int, metavar="N", help="draws for --intervals (1000)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed for --intervals")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the page of the map, or of the comparison with FUTURE."""
    if args.future is None and args.rename:
        raise UsageError("--rename needs a FUTURE map to compare with")
    if args.future is not None and args.intervals:
        raise UsageError("--intervals is for one map; explore a comparison without it")
    if not args.intervals and (args.draws is not None or args.seed is not None):
        raise UsageError("--draws and --seed only apply with --intervals")
    renames = pairs(args.rename, "--rename", "OLD=NEW")
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
