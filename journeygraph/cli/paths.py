"""``journeygraph paths MAP``: the most probable complete journeys (:func:`jg.top_paths`)."""

from __future__ import annotations

import argparse
import json

import journeygraph as jg
from journeygraph.cli.options import Commands, positive_int
from journeygraph.cli.tables import add_csv_options, path_table, plan_csv

__all__ = ["MAX_PATHS", "add_parser", "run"]

#: The most journeys ``-n`` may ask for: each is printed, and the search keeps every
#: partial journey it has not yet ruled out (docs/reliability.md, sizes).
MAX_PATHS = 10_000


def _count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_PATHS:
        raise argparse.ArgumentTypeError(
            f"{value:,} journeys is more than the limit of {MAX_PATHS:,}; the most probable "
            "few hundred carry nearly all of a map's journeys"
        )
    return value


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``paths`` and its flags."""
    p = commands.add_parser(
        "paths",
        parents=[common],
        help="the most probable complete journeys through a map",
        description="List the N most probable complete journeys (touchpoints in order and "
        "the outcome they end in) with their probability per entering customer; loops "
        "are allowed up to --max-length moves. Exactly jg.top_paths from Python.",
    )
    p.add_argument("map", metavar="MAP", help="journey map file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "-n",
        type=_count,
        default=10,
        metavar="N",
        help=f"journeys (default 10, at most {MAX_PATHS:,})",
    )
    p.add_argument(
        "--outcome",
        metavar="ID|KIND",
        help="only journeys ending here: an outcome id, or conversion, churn or competitor",
    )
    p.add_argument(
        "--max-length",
        type=positive_int,
        default=30,
        metavar="M",
        help="longest journey considered, in moves (default 30)",
    )
    p.add_argument("--entry", metavar="ID", help="start every journey at this touchpoint")
    p.add_argument("--json", action="store_true", help="print the journeys as JSON")
    add_csv_options(p, "paths")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Find the journeys; print them, their JSON or their CSV table."""
    csv = plan_csv(args, ("paths",), inputs=[args.map])
    jm = jg.load(args.map)
    found = jg.top_paths(jm, args.outcome, k=args.n, max_length=args.max_length, entry=args.entry)
    if csv is not None:
        csv.write({"paths": path_table(found)})
        if csv.to_stdout:
            return 0
    if args.json:
        report = {
            "map": jm.name,
            "outcome": args.outcome,
            "max_length": args.max_length,
            "paths": [p.to_dict() for p in found],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
        return 0
    wanted = f"ending in {args.outcome}" if args.outcome else "ending in any outcome"
    print(
        f"{jm.name}: the {len(found)} most probable journeys {wanted} "
        f"(at most {args.max_length} moves; % of entrants)"
    )
    for rank, path in enumerate(found, 1):
        steps = " → ".join((*path.touchpoints, path.outcome))
        print(f"  {rank:>3}. {path.probability:8.4%}  {steps}")
    if found:
        total = sum(p.probability for p in found)
        print(f"together {total:.4%} of entrants")
    if csv is not None:
        print(csv.report())
    return 0
