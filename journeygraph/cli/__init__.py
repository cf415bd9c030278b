"""The ``journeygraph`` command line: argparse -> public API -> print.

One module per command; each has ``add_parser(commands, common)`` (its flags) and
``run(args)`` (calls the public API and prints). To add a command, write such a module
and list it in :data:`journeygraph.cli.parser.COMMANDS`.

- :mod:`~journeygraph.cli.app`: :func:`main`: exit codes, one-line errors, Ctrl-C,
  the terminal sanitiser;
- :mod:`~journeygraph.cli.parser`: :func:`build_parser` from the command modules;
- :mod:`~journeygraph.cli.options`: flags and argument checks shared by commands;
- :mod:`~journeygraph.cli.tables`: the tables ``--csv`` writes;
- the commands: ``validate``, ``analyze``, ``paths``, ``whatif``, ``compare``,
  ``render``, ``explore``, ``simulate``, ``fit``, ``schema``, ``demo``.

Exit codes: 0 success, 1 a user error (one message, no traceback; ``--debug`` shows
it), 2 a usage error, 130 interrupted. Commands that report numbers take ``--json``.
"""

from __future__ import annotations

from journeygraph.cli.app import main
from journeygraph.cli.parser import build_parser

__all__ = ["build_parser", "main"]

#: The parser's former name, which tests/test_docs.py and older hooks import.
_parser = build_parser
