"""``journeygraph whatif MAP --EDIT ... [-o NEW]``: what-if edits and their effect.

Each edit flag builds one :mod:`journeygraph.whatif` edit object; they are applied in
command-line order by :func:`journeygraph.whatif`, and the key figures of the map and of
the edited map are compared with :func:`journeygraph.compare`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import journeygraph as jg
from journeygraph._files import check_targets
from journeygraph.cli.options import Commands, UsageError
from journeygraph.cli.tables import DIFF_TABLES, add_csv_options, diff_tables, plan_csv
from journeygraph.errors import JourneyGraphError

__all__ = ["EDIT_FLAGS", "add_parser", "run"]


def _number(flag: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a number") from None


def _reweight(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.Reweight(v[0], v[1], weight=_number(flag, v[2]))


def _scale(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.Reweight(v[0], v[1], scale=_number(flag, v[2]))


def _cut(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.CutMove(v[0], v[1])


def _add_move(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.AddMove(v[0], v[1], _number(flag, v[2]))


def _reduce_churn(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.ReduceChurn(v[0], _number(flag, v[1]))


def _remove(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.RemoveTouchpoint(v[0])


def _remove_to(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.RemoveTouchpoint(v[0], redirect=v[1])


def _add_touchpoint(flag: str, v: Sequence[str]) -> jg.Edit:
    return jg.AddTouchpoint({"id": v[0], "stage": v[1]})


_Make = Callable[[str, Sequence[str]], jg.Edit]

#: flag -> (metavars, the edit it builds, help)
EDIT_FLAGS: dict[str, tuple[tuple[str, ...], _Make, str]] = {
    "--set-move": (
        ("FROM", "TO", "WEIGHT"),
        _reweight,
        "give the move FROM -> TO a new weight, in the map's units (Reweight)",
    ),
    "--scale-move": (
        ("FROM", "TO", "FACTOR"),
        _scale,
        "multiply the weight of the move FROM -> TO, e.g. 2 doubles it (Reweight scale=)",
    ),
    "--cut-move": (("FROM", "TO"), _cut, "delete the move FROM -> TO (CutMove)"),
    "--add-move": (
        ("FROM", "TO", "WEIGHT"),
        _add_move,
        "add a move FROM -> TO (a touchpoint or an outcome) with WEIGHT (AddMove)",
    ),
    "--reduce-churn": (
        ("TOUCHPOINT", "FRACTION"),
        _reduce_churn,
        "cut the touchpoint's churn exits by FRACTION (0 to 1), giving the kept customers "
        "to its other moves (ReduceChurn)",
    ),
    "--remove": (
        ("TOUCHPOINT",),
        _remove,
        "take the touchpoint out; customers who would move into it are lost to churn "
        "(RemoveTouchpoint)",
    ),
    "--remove-to": (
        ("TOUCHPOINT", "TARGET"),
        _remove_to,
        "take the touchpoint out; customers who would move into it end in the outcome "
        "TARGET, or with TARGET 'drop' take the other moves (RemoveTouchpoint redirect=)",
    ),
    "--add-touchpoint": (
        ("ID", "STAGE"),
        _add_touchpoint,
        "add a touchpoint in STAGE; give it moves with --add-move (AddTouchpoint)",
    ),
}


class _EditAction(argparse.Action):
    """Append ``(flag, values)`` to ``args.edits``, keeping the command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert option_string is not None and isinstance(values, list)
        edits = [*(getattr(namespace, "edits", None) or []), (option_string, values)]
        namespace.edits = edits


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``whatif``, one flag per kind of edit, and the output flags."""
    p = commands.add_parser(
        "whatif",
        parents=[common],
        help="apply what-if edits to a map and show the key figures before -> after",
        description="Apply what-if edits to a map in the order given (each flag may be "
        "repeated), print the key figures of the map and of the edited map, and optionally "
        "write the edited map. The map file is never changed. See "
        "docs/simulation-and-scenarios.md.",
    )
    p.add_argument("map", metavar="MAP", help="journey map file (YAML or JSON; - reads stdin)")
    for flag, (metavars, _, text) in EDIT_FLAGS.items():
        p.add_argument(
            flag,
            nargs=len(metavars),
            metavar=metavars,
            action=_EditAction,
            dest="edits",
            default=[],
            help=text,
        )
    p.add_argument("--name", help="name of the edited map (default: the same name)")
    p.add_argument("-o", "--output", metavar="NEW", help="write the edited map (.yaml or .json)")
    p.add_argument("--force", action="store_true", help="overwrite an existing -o file")
    p.add_argument("--json", action="store_true", help="print the edits and figures as JSON")
    add_csv_options(p, ", ".join(DIFF_TABLES))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the edits, apply them, compare, print; write the new map with ``-o``."""
    if not args.edits:
        raise UsageError("give at least one edit, e.g. --reduce-churn TOUCHPOINT 0.5")
    edits = [EDIT_FLAGS[flag][1](flag, values) for flag, values in args.edits]
    csv = plan_csv(args, DIFF_TABLES, inputs=[args.map])
    if args.output is not None:
        if Path(args.output).suffix.lower() not in (".yaml", ".yml", ".json"):
            raise JourneyGraphError(f"{args.output}: write the edited map as .yaml or .json")
        check_targets([args.output], inputs=[args.map], overwrite=args.force)
    jm = jg.load(args.map)
    new = jg.whatif(jm, *edits, name=args.name)
    diff = jg.compare(jm, new)
    if args.output is not None:
        jg.save(new, args.output)
    if csv is not None:
        csv.write(diff_tables(diff))
        if csv.to_stdout:
            return 0
    if args.json:
        report = {
            "map": jm.name,
            "edits": [e.to_dict() for e in edits],
            "metrics": {k: m.to_dict() for k, m in diff.metrics.items()},
            "touchpoint_metrics": diff.to_dict()["touchpoint_metrics"],
            "output": args.output,
        }
        print(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
        return 0
    print(f"what-if on {jm.name!r}: {len(edits)} edit{'s' if len(edits) > 1 else ''}")
    for edit in edits:
        print(f"  {edit!r}")
    print(f"  {'':<26}{'before':>10}  {'after':>10}  change")
    for key, m in diff.metrics.items():
        print("  " + _metric_line(key, m))
    if args.output is not None:
        print(f"wrote {args.output}")
    if csv is not None:
        print(csv.report())
    return 0


_COUNTS = {"expected_steps": "moves per journey", "expected_hours": "hours per journey"}


def _metric_line(key: str, m: jg.MetricDelta) -> str:
    """One row: the figure, before, after and the change (percentage points for shares)."""
    share = key not in (*_COUNTS, "backtracks_per_journey")
    if key.startswith("outcome:"):  # the outcome's id exactly as in the map
        label = "outcome " + key.removeprefix("outcome:")
    else:
        label = _COUNTS.get(key, key.replace("_", " "))

    def value(x: float | None) -> str:
        if x is None:
            return "n/a"
        return f"{x:.2%}" if share else f"{x:.3f}"

    change = "n/a"
    if m.delta is not None:
        change = f"{m.delta * 100:+.2f} pts" if share else f"{m.delta:+.3f}"
    return f"{label:<26}{value(m.before):>10}  {value(m.after):>10}  {change}"
