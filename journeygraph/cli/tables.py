"""The tables ``--csv`` writes: one CSV per table into a folder, or one chosen table.

Each table has the columns of the Python API's ``to_frame(name)`` of the same name
(``Analysis``, ``CredibleIntervals`` with an ``intervals_`` prefix, ``MapDiff``), so a
spreadsheet and a notebook show the same rows. Text cells carry the formula guard of
:mod:`journeygraph._csv`; every file is written with :func:`journeygraph._files.atomic_write`
after every target has been checked.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import journeygraph as jg
from journeygraph._csv import csv_text
from journeygraph._files import atomic_write, check_targets
from journeygraph._terminal import write_data
from journeygraph.cli.options import UsageError
from journeygraph.errors import JourneyGraphError, did_you_mean

__all__ = [
    "ANALYSIS_TABLES",
    "DIFF_TABLES",
    "INTERVAL_TABLES",
    "CsvPlan",
    "Table",
    "add_csv_options",
    "analysis_tables",
    "diff_tables",
    "interval_tables",
    "path_table",
    "plan_csv",
]

ANALYSIS_TABLES = (
    "summary",
    "outcomes",
    "touchpoints",
    "leaks",
    "switching",
    "switching_by_stage",
    "removal_effects",
    "sensitivity",
    "stage_flow",
    "stage_exits",
    "move_flows",
)
INTERVAL_TABLES = (
    "intervals_summary",
    "intervals_outcomes",
    "intervals_leaks",
    "intervals_switching",
)
DIFF_TABLES = ("metrics", "touchpoints", "moves", "changes")


@dataclass(frozen=True, slots=True)
class Table:
    """Column names and rows (dicts keyed by column; a missing key is an empty cell)."""

    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def _table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Table:
    return Table(tuple(columns), [dict(r) for r in rows])


# -- the tables of each result ------------------------------------------------------


def analysis_tables(res: jg.Analysis) -> dict[str, Table]:
    """Every table of an analysis, named as :meth:`journeygraph.Analysis.to_frame` names them.

    ``summary`` (the headline figures) and ``stage_exits`` (stage -> outcome flow) have
    no ``to_frame`` counterpart; ``touchpoints`` holds the expected visits.
    """
    d = res.to_dict()
    figures: dict[str, float] = {
        "conversion_probability": res.conversion_probability,
        "churn_probability": res.churn_probability,
        "competitor_probability": res.competitor_probability,
        "expected_steps": res.expected_steps,
        "steps_variance": res.steps_variance,
    }
    if res.expected_time is not None:
        figures["expected_hours"] = res.expected_time.mean
    kinds = {o.id: o.kind for o in res.map.outcomes}
    outcomes = list(res.outcome_probabilities)
    touchpoints = [
        {
            **{k: v for k, v in r.items() if k != "absorption"},
            **{f"absorption_{o}": p for o, p in r["absorption"].items()},
        }
        for r in d["touchpoints"]
    ]
    per_touchpoint = ("touchpoint", "expected_visits", "steps_mean", "steps_variance")
    return {
        "summary": _table(
            ("figure", "value"), ({"figure": k, "value": v} for k, v in figures.items())
        ),
        "outcomes": _table(
            ("outcome", "kind", "probability"),
            (
                {"outcome": o, "kind": kinds[o], "probability": p}
                for o, p in res.outcome_probabilities.items()
            ),
        ),
        "touchpoints": _table(
            (*per_touchpoint, "removal_effect", *(f"absorption_{o}" for o in outcomes)),
            touchpoints,
        ),
        "leaks": _table(("touchpoint", "flow", "share", "exit_rate"), d["leaks"]),
        "switching": _table(("touchpoint", "competitor", "flow", "share"), d["switching"]),
        "switching_by_stage": _table(
            ("stage", "competitor", "flow"),
            (
                {"stage": s, "competitor": c, "flow": f}
                for s, comp in res.switching_by_stage.items()
                for c, f in comp.items()
            ),
        ),
        "removal_effects": _table(
            ("touchpoint", "removal_effect"),
            ({"touchpoint": k, "removal_effect": v} for k, v in res.removal_effects.items()),
        ),
        "sensitivity": _table(
            ("touchpoint", "churn_exit", "gain", "conversion"), d["sensitivity"]["ranked"]
        ),
        "stage_flow": _table(("from", "to", "flow"), d["stage_flow"]["moves"]),
        "stage_exits": _table(("stage", "outcome", "flow"), d["stage_flow"]["exits"]),
        "move_flows": _table(("from", "to", "flow"), d["move_flows"]),
    }


_INTERVAL = ("mean", "lower", "upper")
_SHARE = ("share_mean", "share_lower", "share_upper")


def interval_tables(ci: jg.CredibleIntervals) -> dict[str, Table]:
    """The tables of :meth:`journeygraph.CredibleIntervals.to_frame`, prefixed ``intervals_``.

    ``intervals_removal_effects`` only when the removal effects were sampled.
    """
    figures = {
        "conversion_probability": ci.conversion_probability,
        "churn_probability": ci.churn_probability,
        "competitor_probability": ci.competitor_probability,
        "expected_steps": ci.expected_steps,
    }
    tables = {
        "intervals_summary": _table(
            ("figure", *_INTERVAL), ({"figure": k, **v.to_dict()} for k, v in figures.items())
        ),
        "intervals_outcomes": _table(
            ("outcome", *_INTERVAL),
            ({"outcome": o, **v.to_dict()} for o, v in ci.outcome_probabilities.items()),
        ),
        "intervals_leaks": _table(
            ("touchpoint", *_INTERVAL, *_SHARE),
            ({"touchpoint": x.touchpoint, **_flow_share(x.flow, x.share)} for x in ci.leaks),
        ),
        "intervals_switching": _table(
            ("touchpoint", "competitor", *_INTERVAL, *_SHARE),
            (
                {"touchpoint": x.touchpoint, "competitor": x.competitor}
                | _flow_share(x.flow, x.share)
                for x in ci.switching
            ),
        ),
    }
    if ci.removal_effects is not None:
        tables["intervals_removal_effects"] = _table(
            ("touchpoint", *_INTERVAL),
            ({"touchpoint": tp, **v.to_dict()} for tp, v in ci.removal_effects.items()),
        )
    return tables


def _flow_share(flow: jg.CredibleInterval, share: jg.CredibleInterval) -> dict[str, float]:
    return {**flow.to_dict(), **{f"share_{k}": v for k, v in share.to_dict().items()}}


def diff_tables(diff: jg.MapDiff) -> dict[str, Table]:
    """The tables of :meth:`journeygraph.MapDiff.to_frame`: metrics, touchpoints, moves, changes.

    With intervals, metric rows add ``lower``, ``upper`` and ``credible``.
    """
    d = diff.to_dict()
    delta = ("before", "after", "delta", "lower", "upper", "credible")
    move = ("from", "to", "before", "after", "delta", "weight_before", "weight_after")
    moves = [
        {"change": kind, **m}
        for kind in ("added", "removed", "reweighted")
        for m in d["structure"][f"moves_{kind}"]
    ]
    return {
        "metrics": _table(
            ("metric", *delta), ({"metric": k, **_delta(m)} for k, m in d["metrics"].items())
        ),
        "touchpoints": _table(
            ("touchpoint", "metric", *delta),
            (
                {"touchpoint": tp, "metric": k, **_delta(m)}
                for tp, metrics in d["touchpoint_metrics"].items()
                for k, m in metrics.items()
            ),
        ),
        "moves": _table(("change", *move), moves),
        "changes": _table(
            ("touchpoint", "field", "before", "after"), d["structure"]["touchpoints_changed"]
        ),
    }


def _delta(m: Mapping[str, Any]) -> dict[str, Any]:
    """A metric of ``MapDiff.to_dict()`` as one row: its interval's ends beside it."""
    row = {k: m[k] for k in ("before", "after", "delta")}
    if "interval" in m:
        row.update(lower=m["interval"]["lower"], upper=m["interval"]["upper"])
        row["credible"] = m["credible"]
    return row


def path_table(paths: Sequence[jg.JourneyPath]) -> Table:
    """``rank, probability, moves, outcome, path``; ``path`` joins the touchpoints with
    ``" > "``, as attribution path tables do (:func:`journeygraph.fit_paths` reads them)."""
    return _table(
        ("rank", "probability", "moves", "outcome", "path"),
        (
            {
                "rank": rank,
                "probability": p.probability,
                "moves": p.moves,
                "outcome": p.outcome,
                "path": " > ".join(p.touchpoints),
            }
            for rank, p in enumerate(paths, 1)
        ),
    )


# -- --csv and --table ----------------------------------------------------------------


def add_csv_options(p: argparse.ArgumentParser, tables: str) -> None:
    """``--csv PATH`` and ``--table NAME``; ``tables`` lists the command's table names."""
    p.add_argument(
        "--csv",
        metavar="PATH",
        help=f"write the tables as CSV: one file per table into the folder PATH ({tables}); "
        "with --table, that one table to the file PATH (- prints it)",
    )
    p.add_argument("--table", metavar="NAME", help="with --csv: write only this table")


@dataclass(frozen=True, slots=True)
class CsvPlan:
    """Where each table goes: a checked file, or ``None`` for standard output."""

    targets: dict[str, Path | None]
    folder: Path | None

    def write(self, tables: Mapping[str, Table]) -> list[Path]:
        """Write the planned tables (each atomically); returns the files written."""
        written: list[Path] = []
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JourneyGraphError(
                    f"{self.folder}: cannot create the folder for --csv: {exc.strerror or exc}"
                ) from None
        for name, target in self.targets.items():
            text = csv_text(tables[name].columns, tables[name].rows)
            if target is None:
                write_data(text)
            else:
                written.append(atomic_write(target, text))
        return written

    def report(self) -> str:
        """The ``wrote ...`` line a command prints after writing to files."""
        if self.folder is not None:
            return f"wrote {len(self.targets)} CSV tables to {self.folder}/"
        return "".join(f"wrote {t}" for t in self.targets.values() if t is not None)

    @property
    def to_stdout(self) -> bool:
        """True when the one table is printed instead of a report."""
        return None in self.targets.values()


def plan_csv(
    args: argparse.Namespace, names: Sequence[str], inputs: Iterable[str | None] = ()
) -> CsvPlan | None:
    """Check ``--csv``/``--table`` and every target before any work; ``None`` without ``--csv``.

    ``names`` are the tables the command will have; ``inputs`` the files it reads, which
    no table may overwrite.
    """
    if args.csv is None:
        if args.table is not None:
            raise UsageError("--table needs --csv PATH (a file, or - to print the table)")
        return None
    shown = ", ".join(names)
    if args.table is not None and args.table not in names:
        raise UsageError(
            f"--table {args.table!r}: no such table{did_you_mean(args.table, names)}; "
            f"this command writes {shown}"
        )
    if args.csv == "-":
        if args.table is None:
            raise UsageError(f"--csv - prints one table: add --table NAME (one of {shown})")
        if args.json:
            raise UsageError("--csv - and --json both print to standard output; choose one")
        return CsvPlan({args.table: None}, None)
    files = [Path(i) for i in inputs if i not in (None, "-")]
    if args.table is not None:
        target = Path(args.csv)
        check_targets([target], inputs=files)
        return CsvPlan({args.table: target}, None)
    folder = Path(args.csv)
    if folder.exists() and not folder.is_dir():
        raise JourneyGraphError(
            f"{folder}: --csv without --table names a folder (one CSV file per table), "
            f"and this is a file; name a folder, or add --table NAME to write one table"
        )
    targets: dict[str, Path | None] = {n: folder / f"{n}.csv" for n in names}
    check_targets([t for t in targets.values() if t is not None], inputs=files, create_folders=True)
    return CsvPlan(targets, folder)
