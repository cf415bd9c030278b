"""``journeygraph validate FILE...``: check map files and report every problem."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

import journeygraph as jg
from journeygraph.cli.options import Commands

__all__ = ["add_parser", "map_line", "run"]

_KINDS = ("forward", "skip", "backtrack", "within", "exit")


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``validate`` and its flags."""
    p = commands.add_parser(
        "validate",
        parents=[common],
        help="check map files and report every problem",
        description="Check journey map files (YAML or JSON; - reads stdin). Exit 1 if any is invalid.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load each file; print ``ok`` with its size or every problem; exit 1 if any is bad."""
    report: list[dict[str, Any]] = []
    for name in args.files:
        try:
            jm = jg.load(name)
        except jg.MapError as exc:
            report.append({"file": name, "valid": False, "problems": _problems(exc)})
            if not args.json:
                print(f"journeygraph: error: {exc}", file=sys.stderr)
            continue
        report.append({"file": name, "valid": True, "map": _summary(jm)})
        if not args.json:
            print(f"ok  {name}: {map_line(jm)}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if all(r["valid"] for r in report) else 1


def map_line(jm: jg.JourneyMap) -> str:
    """One line: the map's name, its size and its moves by kind."""
    kinds = Counter[str](jm.move_kinds().values())
    parts = ", ".join(f"{kinds[k]} {k}" for k in _KINDS if kinds[k])
    return (
        f"{jm.name!r}: {len(jm.stages)} stages, {len(jm.touchpoints)} touchpoints, "
        f"{len(jm.outcomes)} outcomes, {len(jm.moves)} moves ({parts})"
    )


def _problems(exc: jg.MapError) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "location": [str(x) for x in p.loc], "message": p.message}
        for p in exc.problems
    ]


def _summary(jm: jg.JourneyMap) -> dict[str, Any]:
    kinds = Counter[str](jm.move_kinds().values())
    return {
        "name": jm.name,
        "stages": len(jm.stages),
        "touchpoints": len(jm.touchpoints),
        "outcomes": len(jm.outcomes),
        "moves": len(jm.moves),
        "move_kinds": {k: kinds.get(k, 0) for k in _KINDS},
    }
