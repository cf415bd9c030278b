"""``journeygraph analyze FILE``: the analysis report, its JSON and its CSV tables."""

from __future__ import annotations

import argparse
import json

import journeygraph as jg
from journeygraph.cli.options import (
    Commands,
    UsageError,
    add_interval_options,
    check_interval_options,
)
from journeygraph.cli.tables import (
    ANALYSIS_TABLES,
    INTERVAL_TABLES,
    add_csv_options,
    analysis_tables,
    interval_tables,
    plan_csv,
)
from journeygraph.errors import JourneyGraphError
from journeygraph.uncertainty import DEFAULT_PRIOR

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``analyze`` and its flags."""
    p = commands.add_parser(
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
        "--fix-fraction",
        type=float,
        metavar="F",
        help="the churn cut of the 'fix first' table (sensitivity), 0 < F <= 1 (default 0.1)",
    )
    add_interval_options(
        p, what="add Bayesian credible intervals (weights must be counts; docs/analysis.md)"
    )
    p.add_argument(
        "--fixed-entry",
        action="store_true",
        help="with --intervals: keep the entry distribution fixed instead of sampling it",
    )
    p.add_argument(
        "--removal-intervals",
        action="store_true",
        help="with --intervals: sample the removal effects too (slower; in --json and "
        "--csv, table intervals_removal_effects)",
    )
    add_csv_options(p, "; with --intervals also ".join((", ".join(ANALYSIS_TABLES), "intervals_*")))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the map; print the report, its JSON or one CSV table; write CSV tables."""
    csv = plan_csv(args, _tables(args), inputs=[args.file])
    jm = jg.load(args.file)
    fix = 0.1 if args.fix_fraction is None else args.fix_fraction
    res = jg.analyze(jm, entry=args.entry, fix_fraction=fix)
    ci = _intervals(jm, args) if args.intervals else None
    if csv is not None:
        tables = analysis_tables(res) | (interval_tables(ci) if ci is not None else {})
        csv.write(tables)
        if csv.to_stdout:
            return 0
    if args.json:
        report = res.to_dict()
        if ci is not None:
            report["intervals"] = ci.to_dict()
        print(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        print(res.summary(top=args.top, intervals=ci))
        if csv is not None:
            print(csv.report())
    return 0


def _intervals(jm: jg.JourneyMap, args: argparse.Namespace) -> jg.CredibleIntervals:
    try:
        return jg.credible_intervals(
            jm,
            draws=1000 if args.draws is None else args.draws,
            level=0.9 if args.level is None else args.level,
            seed=args.seed,
            entry=args.entry,
            prior=DEFAULT_PRIOR if args.prior is None else args.prior,
            entry_uncertain=not args.fixed_entry,
            removal_effects=args.removal_intervals,
        )
    except JourneyGraphError:
        raise
    except ValueError as exc:  # a limit that depends on the map's size
        raise JourneyGraphError(f"--draws: {exc}") from None


def _tables(args: argparse.Namespace) -> tuple[str, ...]:
    """Check the flags that argparse cannot; returns the tables the command will have."""
    if args.top < 1:
        raise UsageError("--top must be at least 1")
    if args.fix_fraction is not None and not 0 < args.fix_fraction <= 1:
        raise UsageError("--fix-fraction must be above 0 and at most 1 (e.g. 0.1)")
    check_interval_options(args)
    flags = {"--fixed-entry": args.fixed_entry, "--removal-intervals": args.removal_intervals}
    given = [flag for flag, on in flags.items() if on]
    if given and not args.intervals:
        raise UsageError(f"{', '.join(given)} only apply with --intervals")
    if not args.intervals:
        return ANALYSIS_TABLES
    removal = ("intervals_removal_effects",) if args.removal_intervals else ()
    return ANALYSIS_TABLES + INTERVAL_TABLES + removal
