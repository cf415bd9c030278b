"""``main()``: run one command; errors become one line and an exit code."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import journeygraph as jg
from journeygraph._files import protect_inputs
from journeygraph._terminal import visible_streams
from journeygraph.cli.options import Command, UsageError
from journeygraph.cli.parser import build_parser
from journeygraph.errors import JourneyGraphError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Everything printed is made visible text (control characters from maps and logs are
    shown as escapes, :mod:`journeygraph._terminal`), and no command writes over a file
    it read (:func:`journeygraph._files.protect_inputs`). No traceback is printed unless
    ``--debug`` is given: a user error exits 1 and a usage error 2 with one line each,
    Ctrl-C exits 130 with one line.
    """
    # Known before parsing, so a Ctrl-C while the parser is built obeys it too.
    debug = "--debug" in (sys.argv[1:] if argv is None else list(argv))
    with visible_streams(), protect_inputs():
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            debug = debug or args.debug  # also an abbreviation such as --deb
            if not getattr(args, "command", None):
                parser.print_help(sys.stderr)
                return 2
            command: Command = args.run
            with _warnings_to_stderr():
                return command(args)
        except UsageError as exc:
            print(f"journeygraph {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except JourneyGraphError as exc:
            if debug:
                raise
            print(f"journeygraph: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            if debug:
                raise
            print("journeygraph: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except MemoryError:
            if debug:
                raise
            print(
                "journeygraph: error: not enough memory for this command; use a smaller "
                "map, log or count (see docs/reliability.md)",
                file=sys.stderr,
            )
            return 1
        except Exception as exc:
            if debug:
                raise
            print(
                f"journeygraph: internal error: {type(exc).__name__}: {exc}\n"
                "  this is a bug in journeygraph: rerun with --debug to see the traceback, "
                "and report it",
                file=sys.stderr,
            )
            return 1


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
