"""The ``journeygraph`` command line: argparse -> public API -> print.

Exit codes: 0 success, 1 a user error (one message, no traceback; ``--debug`` shows
it), 2 a usage error. Commands that report numbers take ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import journeygraph as jg
from journeygraph.errors import JourneyGraphError

__all__ = ["main"]

_Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    command: _Command = args.run
    try:
        with _warnings_to_stderr():
            return command(args)
    except JourneyGraphError as exc:
        if args.debug:
            raise
        print(f"journeygraph: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


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
        help="validate and summarise the example maps",
        description="Load every example map, validate it and summarise it.",
    )
    p.add_argument(
        "--examples",
        metavar="DIR",
        help="folder of example maps (default: the project's examples/)",
    )
    p.set_defaults(run=_demo)

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
        metavar="VALUE=KIND,...",
        help="event values that end a journey, e.g. purchase=conversion,rival=competitor",
    )
    p.add_argument("--stages", metavar="FILE", help="map file whose stages to use")
    p.add_argument("--gap", metavar="DURATION", help="split journeys at gaps, e.g. 30min")
    p.add_argument("--window", metavar="DURATION", help="censor journeys open this long")
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="memory order")
    p.add_argument(
        "--engine", choices=("auto", "numpy", "duckdb"), default="auto", help="counting engine"
    )
    p.add_argument("--max-events", type=int, metavar="N", help="leave out customers above N")
    p.add_argument("--name", help="map name")
    p.add_argument("--strict", action="store_true", help="dropped rows are an error")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="map file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
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
        sys.stdout.write(text)
    return 0


def _demo(args: argparse.Namespace) -> int:
    folder = _examples_folder(args.examples)
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json"))
    if not files:
        raise JourneyGraphError(f"{folder}: no example maps (*.yaml, *.json) found")
    print(f"journeygraph {jg.__version__} demo: {len(files)} example maps in {folder}\n")
    for path in files:
        jm = jg.load(path)
        kinds = Counter[str](jm.move_kinds().values())
        print(f"{path.name}\n  {_one_line(jm, kinds)}")
        stages = " → ".join(s.label for s in jm.stages)
        print(f"  stages: {stages}")
        if jm.persona:
            print(f"  persona: {jm.persona.label}")
        print()
    return 0


def _fit(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and not args.force:
        raise JourneyGraphError(f"{out}: the file exists; pass --force to overwrite it")
    if out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise JourneyGraphError(f"{out}: write the map as .yaml or .json")
    outcomes: dict[str, str] = {}
    for part in (args.outcomes or "").split(","):
        if not part.strip():
            continue
        value, sep, kind = part.rpartition("=")
        if not sep or not value.strip():
            raise JourneyGraphError(
                f"--outcomes: {part!r} is not VALUE=KIND, e.g. purchase=conversion"
            )
        outcomes[value.strip()] = kind.strip()
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
    )
    assert isinstance(jm, jg.JourneyMap)
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
    return 0


# -- helpers ------------------------------------------------------------------------


def _examples_folder(given: str | None) -> Path:
    if given:
        folder = Path(given)
        if not folder.is_dir():
            raise JourneyGraphError(f"{given}: no such folder")
        return folder
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parent.parent / "examples"):
        if candidate.is_dir():
            return candidate
    raise JourneyGraphError(
        "cannot find the examples/ folder; run from the project folder or pass --examples DIR"
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
