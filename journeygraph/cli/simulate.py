"""``journeygraph simulate MAP -n N -o LOG``: sample journeys into an event log."""

from __future__ import annotations

import argparse
import json

import journeygraph as jg
from journeygraph._files import check_targets
from journeygraph.cli.options import Commands, journeys, positive_int

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``simulate`` and its flags."""
    p = commands.add_parser(
        "simulate",
        parents=[common],
        help="sample journeys from a map into an event log (Parquet or CSV)",
        description="Sample N whole journeys from a map and write the event log "
        "(customer_id, step, [timestamp], touchpoint, outcome) to .parquet or .csv.",
    )
    p.add_argument("map", metavar="MAP", help="journey map file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "-n", type=journeys, default=100_000, help="journeys (default 100000, at most 10000000)"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same log)")
    p.add_argument("--entry", metavar="ID", help="start every journey at this touchpoint")
    p.add_argument("--max-steps", type=positive_int, default=10_000, metavar="M")
    p.add_argument("--start", metavar="TIME", help="time of the first events (ISO, 2024-01-01)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help=".parquet or .csv")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, write the log, print its summary."""
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
