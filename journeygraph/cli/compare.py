"""``journeygraph compare CURRENT FUTURE``: structural changes and metrics before/after."""

from __future__ import annotations

import argparse
import json

import journeygraph as jg
from journeygraph._files import check_targets
from journeygraph.cli.options import (
    Commands,
    add_interval_options,
    add_picture_options,
    check_interval_options,
    pairs,
)
from journeygraph.cli.tables import DIFF_TABLES, add_csv_options, diff_tables, plan_csv
from journeygraph.uncertainty import DEFAULT_PRIOR

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``compare`` and its flags."""
    p = commands.add_parser(
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
    p.add_argument(
        "--entry", metavar="ID", help="start every journey of both maps at this touchpoint"
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
    add_interval_options(
        p,
        what="is the change real? credible intervals of every change (maps fitted from "
        "event logs: weights must be counts; docs/comparison.md)",
    )
    add_csv_options(p, ", ".join(DIFF_TABLES))
    add_picture_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compare the maps; print the summary, its JSON or one CSV table; draw the diff."""
    renames = pairs(args.rename, "--rename", "OLD=NEW")
    check_interval_options(args)
    inputs = [args.current, args.future]
    csv = plan_csv(args, DIFF_TABLES, inputs=inputs)
    if args.output:  # before any work: never over a map it reads
        check_targets([args.output], inputs=inputs)
    current, future = jg.load(args.current), jg.load(args.future)
    diff = jg.compare(
        current,
        future,
        renames=renames,
        entry=args.entry,
        intervals=args.intervals,
        draws=1000 if args.draws is None else args.draws,
        level=0.9 if args.level is None else args.level,
        seed=args.seed,
        prior=DEFAULT_PRIOR if args.prior is None else args.prior,
    )
    if args.output:
        jg.render(diff, args.output, view=args.view, preset=args.preset, lang=args.lang)
    if csv is not None:
        csv.write(diff_tables(diff))
        if csv.to_stdout:
            return 0
    if args.json:
        print(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(diff.summary(lang=args.lang))
        if args.output:
            print(f"wrote {args.output}")
        if csv is not None:
            print(csv.report())
    return 0
