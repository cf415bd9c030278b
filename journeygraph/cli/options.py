"""Flags and argument checks that several commands share.

A usage mistake that argparse cannot see (``--draws`` without ``--intervals``) raises
:class:`UsageError`; :func:`journeygraph.cli.main` prints it as one line and exits 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from typing import TypeAlias

from journeygraph.simulate import MAX_JOURNEYS
from journeygraph.uncertainty import MAX_DRAWS

__all__ = [
    "Command",
    "Commands",
    "UsageError",
    "add_interval_options",
    "add_picture_options",
    "check_interval_options",
    "journeys",
    "pairs",
    "positive_int",
]

#: What a parsed command runs: ``args.run(args)`` returns the exit code.
Command: TypeAlias = Callable[[argparse.Namespace], int]
#: The sub-command registry that each command module's ``add_parser`` adds itself to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UsageError(Exception):
    """A usage mistake in the command's arguments: one line on stderr, exit code 2."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def journeys(text: str) -> int:
    """An argparse type: a number of journeys to simulate, within the memory limit."""
    value = positive_int(text)
    if value > MAX_JOURNEYS:
        raise argparse.ArgumentTypeError(
            f"{value:,} journeys is more than the limit of {MAX_JOURNEYS:,} (set by memory "
            "use; see docs/reliability.md); simulate in parts with different --seed values"
        )
    return value


def pairs(items: Iterable[str], flag: str, example: str) -> dict[str, str]:
    """``["OLD=NEW", ...]`` as a dict; a malformed item is a :class:`UsageError`."""
    found: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise UsageError(f"{flag} {item!r}: write {example}")
        found[old] = new
    return found


def add_interval_options(p: argparse.ArgumentParser, *, what: str, level: bool = True) -> None:
    """``--intervals`` with ``--draws``, ``--level``, ``--seed`` and ``--prior``."""
    p.add_argument("--intervals", action="store_true", help=what)
    p.add_argument(
        "--draws",
        type=int,
        metavar="N",
        help=f"posterior draws for --intervals (default 1000, at most {MAX_DRAWS:,})",
    )
    if level:
        p.add_argument(
            "--level", type=float, metavar="L", help="interval probability for --intervals (0.9)"
        )
    p.add_argument("--seed", type=int, metavar="S", help="random seed for --intervals")
    p.add_argument(
        "--prior",
        type=float,
        metavar="P",
        help="Dirichlet prior added to every weight for --intervals (default 0.1; "
        "docs/analysis.md)",
    )


def check_interval_options(args: argparse.Namespace) -> None:
    """Refuse ``--draws``/``--level``/``--seed``/``--prior`` without ``--intervals`` or
    out of range (and the command's other interval flags without ``--intervals``)."""
    names = [n for n in ("draws", "level", "seed", "prior") if hasattr(args, n)]
    given = [f"--{n}" for n in names if getattr(args, n) is not None]
    if given and not args.intervals:
        raise UsageError(f"{', '.join(given)} only apply with --intervals")
    if args.draws is not None and args.draws < 2:
        raise UsageError("--draws must be at least 2")
    if args.draws is not None and args.draws > MAX_DRAWS:
        raise UsageError(
            f"--draws {args.draws:,} is more than the limit of {MAX_DRAWS:,} (set by memory "
            "use; see docs/reliability.md); 1,000 to 10,000 draws give stable intervals"
        )
    if getattr(args, "level", None) is not None and not 0 < args.level < 1:
        raise UsageError("--level must be between 0 and 1 (e.g. 0.9)")
    if getattr(args, "prior", None) is not None and not 0 < args.prior < math.inf:
        raise UsageError("--prior must be a number above 0 (e.g. 0.1 or 0.5)")


def add_picture_options(p: argparse.ArgumentParser) -> None:
    """``--preset`` and ``--lang``, shared by render and compare."""
    p.add_argument(
        "--preset",
        choices=["full", "slide"],
        default="full",
        help="full: everything (default); slide: 16:9, text >= 12 px at 1280 px wide, "
        "the strongest moves only",
    )
    p.add_argument(
        "--lang",
        choices=["en", "ko"],
        default="en",
        help="language of the interface words (legend, headings, summary): en or ko",
    )
