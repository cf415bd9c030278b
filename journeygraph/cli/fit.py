"""``journeygraph fit LOG ... -o MAP``: fit a map from an event log.

A thin call of :func:`journeygraph.fit`: the flags are its keywords, and the map (or one
map per segment) is written after every target has been checked.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import journeygraph as jg
from journeygraph._files import check_targets
from journeygraph.cli.options import Commands
from journeygraph.errors import JourneyGraphError

__all__ = ["add_parser", "run"]

_MAP_SUFFIXES = (".yaml", ".yml", ".json")


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``fit`` and its flags."""
    p = commands.add_parser(
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
    p.add_argument(
        "--no-durations",
        dest="durations",
        action="store_false",
        help="skip the moves' durations (mean and median gaps): faster, same weights",
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit the map (one per segment with --segment), write it, print the fit report."""
    _check_output(args)
    options: dict[str, Any] = {
        "customer_column": args.customer,
        "time_column": args.time,
        "touchpoint_column": args.touchpoint,
        "outcome_column": args.outcome,
        "outcomes": _outcomes(args.outcomes or "") or None,
        "stages": args.stages,
        "gap": args.gap,
        "window": args.window,
        "order": args.order,
        "engine": args.engine,
        "name": args.name,
        "max_events_per_customer": args.max_events,
        "strict": args.strict,
        "rename": _renames(args.rename or "") or None,
        "allow_no_conversion": args.allow_no_conversion,
        "durations": args.durations,
    }
    if args.segment is not None:
        maps: dict[str, jg.JourneyMap] = jg.fit(args.log, segment_column=args.segment, **options)
        return _write_segment_maps(maps, args.output, args.force, args.json)
    jm: jg.JourneyMap = jg.fit(args.log, **options)
    out = Path(args.output)
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


def _check_output(args: argparse.Namespace) -> None:
    """Check ``-o`` before any work: a map file, or with --segment a folder or pattern."""
    out = Path(args.output)
    # The inputs named on the command line; at write time every file the fit read (each
    # file of a glob or folder too) is protected as well (journeygraph._files).
    inputs = [p for p in (args.log, args.stages, args.outcomes) if p]
    if args.segment is None:
        if out.suffix.lower() not in _MAP_SUFFIXES:
            raise JourneyGraphError(f"{out}: write the map as .yaml or .json")
        check_targets([out], inputs=inputs, overwrite=args.force)
    elif "{segment}" in args.output:
        if Path(args.output.replace("{segment}", "x")).suffix.lower() not in _MAP_SUFFIXES:
            raise JourneyGraphError(f"{args.output}: the pattern must end in .yaml or .json")
    elif out.exists() and not out.is_dir():
        raise JourneyGraphError(
            f"{out}: with --segment, -o is a folder (one map per segment) or a pattern "
            "with {segment}, e.g. maps/{segment}.yaml"
        )


def _outcomes(spec: str) -> dict[str, str] | jg.JourneyMap:
    """``--outcomes``: ``VALUE=KIND,...`` as a dict, or a map file's outcomes."""
    if Path(spec).suffix.lower() in _MAP_SUFFIXES and "=" not in spec:
        return jg.load(spec)
    outcomes: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        value, sep, kind = part.rpartition("=")
        if not sep or not value.strip():
            raise JourneyGraphError(
                f"--outcomes: {part!r} is not VALUE=KIND, e.g. purchase=conversion"
            )
        outcomes[value.strip()] = kind.strip()
    return outcomes


def _renames(spec: str) -> dict[str, str]:
    """``--rename``: ``VALUE=ID,...`` as a dict."""
    rename: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        value, sep, new = part.rpartition("=")
        if not sep or not value.strip() or not new.strip():
            raise JourneyGraphError(
                f"--rename: {part!r} is not VALUE=ID, e.g. purchase_complete=purchase"
            )
        rename[value.strip()] = new.strip()
    return rename


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
